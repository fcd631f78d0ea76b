// Owns the share_links and share_opens tables: read-only links kept by their token's hash, and when they opened.
import type { Database } from "bun:sqlite";

export type ShareRow = {
  id: number;
  token_hash: string;
  job_id: number | null;
  printer_id: number | null;
  created_by: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  opened: number;
  last_opened_at: number | null;
};
export type ShareListRow = ShareRow & { job_name: string | null; printer_name: string | null };
export type NewShare = Pick<
  ShareRow,
  "token_hash" | "job_id" | "printer_id" | "created_by" | "created_at" | "expires_at"
>;
export type ShareOpenRow = { id: number; share_id: number; at: number; address: string };

/** Each link keeps the newest this many opens (the count keeps them all). */
export const SHARE_OPENS_KEPT = 50;

export function shareStatements(db: Database) {
  const q = {
    insert: db.query<{ id: number }, [string, number | null, number | null, string, number, number]>(
      `INSERT INTO share_links (token_hash, job_id, printer_id, created_by, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
    ),
    byHash: db.query<ShareRow, [string]>("SELECT * FROM share_links WHERE token_hash = ?"),
    list: db.query<ShareListRow, [number, number]>(
      `SELECT s.*, j.name AS job_name, p.name AS printer_name FROM share_links s LEFT JOIN jobs j ON j.id = s.job_id
       LEFT JOIN printers p ON p.id = s.printer_id
       WHERE (s.revoked_at IS NULL AND s.expires_at > ?1) OR s.id IN (SELECT id FROM share_links
         WHERE revoked_at IS NOT NULL OR expires_at <= ?1 ORDER BY id DESC LIMIT ?2)
       ORDER BY s.id DESC`,
    ),
    revoke: db.query<never, [number, number]>(
      "UPDATE share_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
    ),
    opened: db.query<never, [number, number]>(
      "UPDATE share_links SET opened = opened + 1, last_opened_at = ?1 WHERE id = ?2",
    ),
    insertOpen: db.query<never, [number, number, string]>(
      "INSERT INTO share_opens (share_id, at, address) VALUES (?, ?, ?)",
    ),
    trimOpens: db.query<never, [number, number]>(
      `DELETE FROM share_opens WHERE share_id = ?1 AND id NOT IN
       (SELECT id FROM share_opens WHERE share_id = ?1 ORDER BY id DESC LIMIT ?2)`,
    ),
    opens: db.query<ShareOpenRow, [number, number]>(
      "SELECT * FROM share_opens WHERE share_id = ? ORDER BY id DESC LIMIT ?",
    ),
    deleteOfPrinter: db.query<never, [number]>(
      "DELETE FROM share_links WHERE printer_id = ?1 OR job_id IN (SELECT id FROM jobs WHERE printer_id = ?1)",
    ),
  };
  return {
    insert: (s: NewShare) =>
      q.insert.get(s.token_hash, s.job_id, s.printer_id, s.created_by, s.created_at, s.expires_at)!.id,
    byHash: (hash: string) => q.byHash.get(hash),
    /**
     * Every link live at `now` and the newest `endedLimit` ended ones (revoked or expired), newest first, with the
     * shared print's (or printer's) name: a live link is never left out, so it can always be seen and revoked.
     */
    list: (now: number, endedLimit: number) => q.list.all(now, endedLimit),
    /** True when the link was live and is revoked now. */
    revoke: (id: number, at: number) => q.revoke.run(at, id).changes > 0,
    /** Counts an open and logs it, keeping the newest SHARE_OPENS_KEPT. */
    recordOpen: db.transaction((id: number, at: number, address: string) => {
      q.opened.run(at, id);
      q.insertOpen.run(id, at, address);
      q.trimOpens.run(id, SHARE_OPENS_KEPT);
    }),
    opens: (id: number, limit: number) => q.opens.all(id, limit),
    /**
     * Deletes the links to a printer and to its prints (their opens go with them), before the printer and its
     * jobs go: ids are reused, so a link left behind would open the next printer or print given that id.
     */
    deleteOfPrinter: (printerId: number) => void q.deleteOfPrinter.run(printerId),
  };
}
