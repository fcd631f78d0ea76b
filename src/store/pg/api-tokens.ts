// Owns the api_tokens table on PostgreSQL: the same methods and results as ../api-tokens.ts.
import { type ApiTokenJoined, type ApiTokenRow, type apiTokenStatements, splitJoined } from "../api-tokens.ts";
import type { Promisified } from "../async-store.ts";
import { changes, one, type Pg, rows } from "./run.ts";

export function pgApiTokenStatements(pg: Pg): Promisified<ReturnType<typeof apiTokenStatements>> {
  const { sql } = pg;
  return {
    insert: async (userId: number, name: string, hash: string, at: number) =>
      (await one<{ id: number }>(sql`INSERT INTO api_tokens (user_id, name, token_hash, created_at)
        VALUES (${userId}, ${name}, ${hash}, ${at}) RETURNING id`))!.id,
    byHash: async (hash: string) =>
      splitJoined(
        await one<ApiTokenJoined>(sql`SELECT t.*, u.username AS u_username, u.password_hash AS u_password_hash,
          u.role AS u_role, u.created_at AS u_created_at FROM api_tokens t JOIN users u ON u.id = t.user_id
          WHERE t.token_hash = ${hash} AND t.revoked_at IS NULL`),
      ),
    ofUser: (userId: number) =>
      rows<ApiTokenRow>(
        sql`SELECT * FROM api_tokens WHERE user_id = ${userId} AND revoked_at IS NULL ORDER BY id DESC`,
      ),
    touch: async (id: number, at: number) => {
      await sql`UPDATE api_tokens SET last_used_at = ${at} WHERE id = ${id}`;
    },
    revoke: async (id: number, userId: number, at: number) =>
      (await changes(
        sql`UPDATE api_tokens SET revoked_at = ${at} WHERE id = ${id} AND user_id = ${userId} AND revoked_at IS NULL`,
      )) > 0,
    revokeAllOfUser: (userId: number, at: number) =>
      changes(sql`UPDATE api_tokens SET revoked_at = ${at} WHERE user_id = ${userId} AND revoked_at IS NULL`),
  };
}
