// Owns the users and sessions tables: accounts, roles, and hashed session tokens.
import type { Database } from "bun:sqlite";

/** viewer watches; operator also runs prints (send, queue, skip, pause, resume, stop); admin also configures. */
export type Role = "admin" | "operator" | "viewer";
export type UserRow = { id: number; username: string; password_hash: string; role: Role; created_at: number };
export type SessionRow = {
  token_hash: string;
  user_id: number;
  created_at: number;
  expires_at: number;
  persistent: number;
  last_seen_at: number;
};

export function userStatements(db: Database) {
  const q = {
    byName: db.query<UserRow, [string]>("SELECT * FROM users WHERE username = ?"),
    byId: db.query<UserRow, [number]>("SELECT * FROM users WHERE id = ?"),
    list: db.query<UserRow, []>("SELECT * FROM users ORDER BY username"),
    countAdmins: db.query<{ n: number }, []>("SELECT count(*) AS n FROM users WHERE role = 'admin'"),
    insert: db.query<{ id: number }, [string, string, Role, number]>(
      "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    ),
    setPasswordHash: db.query<never, [string, number]>("UPDATE users SET password_hash = ? WHERE id = ?"),
    delete: db.query<never, [number]>("DELETE FROM users WHERE id = ?"),
  };
  return {
    byName: (username: string) => q.byName.get(username),
    byId: (id: number) => q.byId.get(id),
    list: () => q.list.all(),
    countAdmins: () => q.countAdmins.get()!.n,
    insert: (username: string, passwordHash: string, role: Role) =>
      q.insert.get(username, passwordHash, role, Date.now())!.id,
    setPasswordHash: (id: number, hash: string) => void q.setPasswordHash.run(hash, id),
    delete: (id: number) => void q.delete.run(id),
  };
}

export function sessionStatements(db: Database) {
  const q = {
    insert: db.query<never, [string, number, number, number, number, number]>(
      `INSERT INTO sessions (token_hash, user_id, created_at, expires_at, persistent, last_seen_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    byHash: db.query<SessionRow, [string]>("SELECT * FROM sessions WHERE token_hash = ?"),
    touch: db.query<never, [number, number, string]>(
      "UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE token_hash = ?",
    ),
    delete: db.query<never, [string]>("DELETE FROM sessions WHERE token_hash = ?"),
    deleteForUser: db.query<never, [number, string]>("DELETE FROM sessions WHERE user_id = ? AND token_hash != ?"),
    deleteExpired: db.query<never, [number]>("DELETE FROM sessions WHERE expires_at <= ?"),
  };
  return {
    insert: (s: SessionRow) =>
      void q.insert.run(s.token_hash, s.user_id, s.created_at, s.expires_at, s.persistent, s.last_seen_at),
    byHash: (hash: string) => q.byHash.get(hash),
    touch: (hash: string, now: number, expiresAt: number) => void q.touch.run(now, expiresAt, hash),
    delete: (hash: string) => void q.delete.run(hash),
    /** Ends all of a user's sessions except `keepHash` (pass "" to end all). */
    deleteForUser: (userId: number, keepHash = "") => void q.deleteForUser.run(userId, keepHash),
    deleteExpired: (now: number) => void q.deleteExpired.run(now),
  };
}
