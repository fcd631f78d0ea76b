// Owns the spoolman_links and spoolman_uses tables: which Spoolman spool each AMS tray is linked to, and the
// filament each ended print used per linked tray, kept until Spoolman has taken it (so an outage loses nothing).
import type { Database } from "bun:sqlite";

export type SpoolLinkRow = {
  printer_id: number;
  tray: number;
  spool_id: number;
  /** The spool's net filament weight when new (Spoolman's initial_weight, else its filament's weight); null unknown. */
  spool_grams: number | null;
  linked_by: string;
  linked_at: number;
};
/** Where a use's grams came from: the library plate's slicer figures, or the tray's remain % drop. */
export type UseSource = "plate" | "remain";
export type SpoolUseRow = {
  id: number;
  job_id: number;
  printer_id: number;
  tray: number;
  spool_id: number;
  grams: number;
  source: UseSource;
  created_at: number;
  reported_at: number | null;
  attempts: number;
  last_error: string | null;
  /** When Spoolman refused it for good (not pending until an admin tries it again); null otherwise. */
  refused_at: number | null;
};
export type NewSpoolUse = Pick<
  SpoolUseRow,
  "job_id" | "printer_id" | "tray" | "spool_id" | "grams" | "source" | "created_at"
>;

export function spoolmanStatements(db: Database) {
  const q = {
    link: db.query<never, [number, number, number, number | null, string, number]>(
      `INSERT INTO spoolman_links (printer_id, tray, spool_id, spool_grams, linked_by, linked_at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (printer_id, tray) DO UPDATE SET spool_id = excluded.spool_id, spool_grams = excluded.spool_grams,
         linked_by = excluded.linked_by, linked_at = excluded.linked_at`,
    ),
    unlink: db.query<never, [number, number]>("DELETE FROM spoolman_links WHERE printer_id = ? AND tray = ?"),
    links: db.query<SpoolLinkRow, [number]>("SELECT * FROM spoolman_links WHERE printer_id = ? ORDER BY tray"),
    addUse: db.query<{ id: number }, [number, number, number, number, number, string, number]>(
      `INSERT INTO spoolman_uses (job_id, printer_id, tray, spool_id, grams, source, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, tray) DO NOTHING RETURNING id`,
    ),
    pending: db.query<SpoolUseRow, [number]>(
      "SELECT * FROM spoolman_uses WHERE reported_at IS NULL AND refused_at IS NULL ORDER BY id LIMIT ?",
    ),
    refusedUses: db.query<SpoolUseRow, [number]>(
      "SELECT * FROM spoolman_uses WHERE reported_at IS NULL AND refused_at IS NOT NULL ORDER BY id DESC LIMIT ?",
    ),
    refused: db.query<never, [number, string, number]>(
      "UPDATE spoolman_uses SET refused_at = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
    ),
    retry: db.query<SpoolUseRow, [number]>(
      `UPDATE spoolman_uses SET refused_at = NULL WHERE id = ? AND refused_at IS NOT NULL AND reported_at IS NULL
       RETURNING *`,
    ),
    reported: db.query<never, [number, number]>(
      "UPDATE spoolman_uses SET reported_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
    ),
    failed: db.query<never, [string, number]>(
      "UPDATE spoolman_uses SET attempts = attempts + 1, last_error = ? WHERE id = ?",
    ),
    ofJob: db.query<SpoolUseRow, [number]>("SELECT * FROM spoolman_uses WHERE job_id = ? ORDER BY tray"),
  };
  return {
    /** Links a tray to a spool (replacing its link). */
    link: (l: SpoolLinkRow) =>
      void q.link.run(l.printer_id, l.tray, l.spool_id, l.spool_grams, l.linked_by, l.linked_at),
    unlink: (printerId: number, tray: number) => void q.unlink.run(printerId, tray),
    links: (printerId: number) => q.links.all(printerId),
    /** Keeps a use to report; null when this job's tray already has one (a print is reported once). */
    addUse: (u: NewSpoolUse) =>
      q.addUse.get(u.job_id, u.printer_id, u.tray, u.spool_id, u.grams, u.source, u.created_at)?.id ?? null,
    /** Uses Spoolman has not taken yet, oldest first. */
    pending: (limit: number) => q.pending.all(limit),
    reported: (id: number, at: number) => void q.reported.run(at, id),
    failed: (id: number, error: string) => void q.failed.run(error.slice(0, 300), id),
    /** Marks a use Spoolman refused for good: kept with its error, no longer pending. */
    refused: (id: number, error: string, at: number) => void q.refused.run(at, error.slice(0, 300), id),
    /** Uses refused for good and not reported, newest first. */
    refusedUses: (limit: number) => q.refusedUses.all(limit),
    /** Makes a refused use pending again; the use, or null when it is not a refused one. */
    retry: (id: number) => q.retry.get(id) ?? null,
    ofJob: (jobId: number) => q.ofJob.all(jobId),
  };
}
