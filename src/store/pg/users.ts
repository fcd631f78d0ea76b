// Owns the users and sessions tables on PostgreSQL: the same methods and results as ../users.ts.
import type { Promisified } from "../async-store.ts";
import type { Role, SessionRow, sessionStatements, UserRow, userStatements } from "../users.ts";
import { one, type Pg, rows } from "./run.ts";

export function pgUserStatements({ sql }: Pg): Promisified<ReturnType<typeof userStatements>> {
  return {
    byName: (username: string) => one<UserRow>(sql`SELECT * FROM users WHERE username = ${username}`),
    byId: (id: number) => one<UserRow>(sql`SELECT * FROM users WHERE id = ${id}`),
    // COLLATE "C": SQLite's default (binary) order, whatever the database's locale.
    list: () => rows<UserRow>(sql`SELECT * FROM users ORDER BY username COLLATE "C"`),
    countAdmins: async () => (await one<{ n: number }>(sql`SELECT count(*) AS n FROM users WHERE role = 'admin'`))!.n,
    insert: async (username: string, passwordHash: string, role: Role) =>
      (await one<{ id: number }>(sql`INSERT INTO users (username, password_hash, role, created_at)
        VALUES (${username}, ${passwordHash}, ${role}, ${Date.now()}) RETURNING id`))!.id,
    setPasswordHash: async (id: number, hash: string) => {
      await sql`UPDATE users SET password_hash = ${hash} WHERE id = ${id}`;
    },
    delete: async (id: number) => {
      await sql`DELETE FROM users WHERE id = ${id}`;
    },
  };
}

export function pgSessionStatements({ sql }: Pg): Promisified<ReturnType<typeof sessionStatements>> {
  return {
    insert: async (s: SessionRow) => {
      await sql`INSERT INTO sessions (token_hash, user_id, created_at, expires_at, persistent, last_seen_at)
        VALUES (${s.token_hash}, ${s.user_id}, ${s.created_at}, ${s.expires_at}, ${s.persistent}, ${s.last_seen_at})`;
    },
    byHash: (hash: string) => one<SessionRow>(sql`SELECT * FROM sessions WHERE token_hash = ${hash}`),
    touch: async (hash: string, now: number, expiresAt: number) => {
      await sql`UPDATE sessions SET last_seen_at = ${now}, expires_at = ${expiresAt} WHERE token_hash = ${hash}`;
    },
    delete: async (hash: string) => {
      await sql`DELETE FROM sessions WHERE token_hash = ${hash}`;
    },
    deleteForUser: async (userId: number, keepHash = "") => {
      await sql`DELETE FROM sessions WHERE user_id = ${userId} AND token_hash != ${keepHash}`;
    },
    deleteExpired: async (now: number) => {
      await sql`DELETE FROM sessions WHERE expires_at <= ${now}`;
    },
  };
}
