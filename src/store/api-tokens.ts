// Owns the api_tokens table: users' personal API tokens, kept by their hash, with when each was last used.
import type { Database } from "bun:sqlite";
import type { UserRow } from "./users.ts";

export type ApiTokenRow = {
  id: number;
  user_id: number;
  name: string;
  token_hash: string;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
};
/** A live token with its user (a revoked token, or one whose user is gone, has none). */
export type ApiTokenUser = { token: ApiTokenRow; user: UserRow };

type Joined = ApiTokenRow & {
  u_username: string;
  u_password_hash: string;
  u_role: UserRow["role"];
  u_created_at: number;
};
const JOINED = `SELECT t.*, u.username AS u_username, u.password_hash AS u_password_hash, u.role AS u_role,
    u.created_at AS u_created_at FROM api_tokens t JOIN users u ON u.id = t.user_id
  WHERE t.token_hash = ? AND t.revoked_at IS NULL`;

export function splitJoined(row: Joined | null | undefined): ApiTokenUser | null {
  if (!row) return null;
  const { u_username, u_password_hash, u_role, u_created_at, ...token } = row;
  return {
    token,
    user: {
      id: token.user_id,
      username: u_username,
      password_hash: u_password_hash,
      role: u_role,
      created_at: u_created_at,
    },
  };
}
export type { Joined as ApiTokenJoined };

export function apiTokenStatements(db: Database) {
  const q = {
    insert: db.query<{ id: number }, [number, string, string, number]>(
      "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    ),
    byHash: db.query<Joined, [string]>(JOINED),
    ofUser: db.query<ApiTokenRow, [number]>(
      "SELECT * FROM api_tokens WHERE user_id = ? AND revoked_at IS NULL ORDER BY id DESC",
    ),
    touch: db.query<never, [number, number]>("UPDATE api_tokens SET last_used_at = ? WHERE id = ?"),
    revoke: db.query<never, [number, number, number]>(
      "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
    ),
    revokeAllOfUser: db.query<never, [number, number]>(
      "UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
    ),
  };
  return {
    insert: (userId: number, name: string, hash: string, at: number) => q.insert.get(userId, name, hash, at)!.id,
    /** The live token of this hash and its user, or null. */
    byHash: (hash: string) => splitJoined(q.byHash.get(hash)),
    /** A user's live tokens, newest first. */
    ofUser: (userId: number) => q.ofUser.all(userId),
    touch: (id: number, at: number) => void q.touch.run(at, id),
    /** True when the user's live token is revoked now (another user's token is left alone). */
    revoke: (id: number, userId: number, at: number) => q.revoke.run(at, id, userId).changes > 0,
    /** Revokes every live token of the user; how many were live. */
    revokeAllOfUser: (userId: number, at: number) => q.revokeAllOfUser.run(at, userId).changes,
  };
}
