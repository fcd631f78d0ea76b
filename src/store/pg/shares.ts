// Owns the share_links and share_opens tables on PostgreSQL: the same methods and results as ../shares.ts.
import type { Promisified } from "../async-store.ts";
import {
  type NewShare,
  SHARE_OPENS_KEPT,
  type ShareListRow,
  type ShareOpenRow,
  type ShareRow,
  type shareStatements,
} from "../shares.ts";
import { atomic, changes, one, type Pg, rows } from "./run.ts";

export function pgShareStatements(pg: Pg): Promisified<ReturnType<typeof shareStatements>> {
  const { sql } = pg;
  return {
    insert: async (s: NewShare) =>
      (await one<{ id: number }>(sql`INSERT INTO share_links
        (token_hash, job_id, printer_id, created_by, created_at, expires_at)
        VALUES (${s.token_hash}, ${s.job_id}::int8, ${s.printer_id}::int8, ${s.created_by}, ${s.created_at},
          ${s.expires_at}) RETURNING id`))!.id,
    byHash: (hash: string) => one<ShareRow>(sql`SELECT * FROM share_links WHERE token_hash = ${hash}`),
    list: (now: number, endedLimit: number) =>
      rows<ShareListRow>(sql`SELECT s.*, j.name AS job_name, p.name AS printer_name FROM share_links s
        LEFT JOIN jobs j ON j.id = s.job_id LEFT JOIN printers p ON p.id = s.printer_id
        WHERE (s.revoked_at IS NULL AND s.expires_at > ${now}) OR s.id IN (SELECT id FROM share_links
          WHERE revoked_at IS NOT NULL OR expires_at <= ${now} ORDER BY id DESC LIMIT ${endedLimit})
        ORDER BY s.id DESC`),
    revoke: async (id: number, at: number) =>
      (await changes(sql`UPDATE share_links SET revoked_at = ${at} WHERE id = ${id} AND revoked_at IS NULL`)) > 0,
    /** The count, the log line and the trim: pipelined in one transaction. */
    recordOpen: (id: number, at: number, address: string) =>
      atomic(pg, async ({ sql: tx }) => {
        await Promise.all([
          tx`UPDATE share_links SET opened = opened + 1, last_opened_at = ${at} WHERE id = ${id}`,
          tx`INSERT INTO share_opens (share_id, at, address) VALUES (${id}, ${at}, ${address})`,
          tx`DELETE FROM share_opens WHERE share_id = ${id} AND id NOT IN
            (SELECT id FROM share_opens WHERE share_id = ${id} ORDER BY id DESC LIMIT ${SHARE_OPENS_KEPT})`,
        ]);
      }),
    opens: (id: number, limit: number) =>
      rows<ShareOpenRow>(sql`SELECT * FROM share_opens WHERE share_id = ${id} ORDER BY id DESC LIMIT ${limit}`),
    deleteOfPrinter: async (printerId: number) => {
      await sql`DELETE FROM share_links WHERE printer_id = ${printerId}
        OR job_id IN (SELECT id FROM jobs WHERE printer_id = ${printerId})`;
    },
  };
}
