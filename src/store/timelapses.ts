// Owns the timelapses table: one row per tus upload of a video (PRINTERS.md §8); the bytes live in media_dir.
import type { Database } from "bun:sqlite";

export type TimelapseRow = {
  id: number;
  printer_id: number;
  job_id: number | null;
  upload_id: string;
  filename: string;
  filetype: string;
  size: number;
  received: number;
  /** The file's name inside media_dir (never a client-supplied name). */
  path: string;
  created_at: number;
  completed_at: number | null;
  /** The creation's Upload-Metadata header as sent (tus HEAD answers with it), or null when none was sent. */
  metadata: string | null;
};

export type NewTimelapse = Pick<
  TimelapseRow,
  "printer_id" | "job_id" | "upload_id" | "filename" | "filetype" | "size" | "path" | "created_at" | "metadata"
>;

export function timelapseStatements(db: Database) {
  const q = {
    insert: db.query<
      { id: number },
      [number, number | null, string, string, string, number, string, number, string | null]
    >(
      `INSERT INTO timelapses (printer_id, job_id, upload_id, filename, filetype, size, path, created_at, metadata)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    ),
    byId: db.query<TimelapseRow, [number]>("SELECT * FROM timelapses WHERE id = ?"),
    byUpload: db.query<TimelapseRow, [string]>("SELECT * FROM timelapses WHERE upload_id = ?"),
    setReceived: db.query<never, [number, number]>("UPDATE timelapses SET received = ? WHERE id = ?"),
    complete: db.query<never, [number, string, number]>(
      "UPDATE timelapses SET completed_at = ?, path = ? WHERE id = ?",
    ),
    ofPrinter: db.query<TimelapseRow, [number]>(
      `SELECT * FROM timelapses WHERE printer_id = ? AND completed_at IS NOT NULL
       ORDER BY created_at DESC, id DESC`,
    ),
    oldestDone: db.query<TimelapseRow, []>(
      "SELECT * FROM timelapses WHERE completed_at IS NOT NULL ORDER BY created_at, id",
    ),
    pending: db.query<TimelapseRow, []>("SELECT * FROM timelapses WHERE completed_at IS NULL ORDER BY id"),
    usage: db.query<{ done: number; pending: number }, []>(
      `SELECT coalesce(sum(CASE WHEN completed_at IS NOT NULL THEN size END), 0) AS done,
              coalesce(sum(CASE WHEN completed_at IS NULL THEN size END), 0) AS pending FROM timelapses`,
    ),
    deleteRow: db.query<never, [number]>("DELETE FROM timelapses WHERE id = ?"),
    jobOf: db.query<{ id: number }, [number, number]>("SELECT id FROM jobs WHERE id = ? AND printer_id = ?"),
    // The newest job running at `at`, or that ended at most `grace` ms before it.
    jobAround: db.query<{ id: number }, [number, number, number]>(
      `SELECT id FROM jobs WHERE printer_id = ?1 AND started_at <= ?2 AND (ended_at IS NULL OR ended_at >= ?2 - ?3)
       ORDER BY started_at DESC, id DESC LIMIT 1`,
    ),
  };
  return {
    insert: (row: NewTimelapse) =>
      q.insert.get(
        row.printer_id,
        row.job_id,
        row.upload_id,
        row.filename,
        row.filetype,
        row.size,
        row.path,
        row.created_at,
        row.metadata,
      )!.id,
    byId: (id: number) => q.byId.get(id),
    byUpload: (uploadId: string) => q.byUpload.get(uploadId),
    setReceived: (id: number, received: number) => void q.setReceived.run(received, id),
    complete: (id: number, at: number, path: string) => void q.complete.run(at, path, id),
    /** A printer's finished videos, newest first. */
    ofPrinter: (printerId: number) => q.ofPrinter.all(printerId),
    /** Every finished video, oldest first: the order the quota prunes in. */
    oldestDone: () => q.oldestDone.all(),
    /** Uploads still under way (or abandoned). */
    pending: () => q.pending.all(),
    /** Bytes of finished videos, and bytes reserved by uploads under way. */
    usage: () => q.usage.get()!,
    deleteRow: (id: number) => void q.deleteRow.run(id),
    /** The job `jobId` if it is one of this printer's, else null. */
    jobOfPrinter: (jobId: number, printerId: number) => q.jobOf.get(jobId, printerId)?.id ?? null,
    jobAround: (printerId: number, at: number, graceMs: number) => q.jobAround.get(printerId, at, graceMs)?.id ?? null,
  };
}

export type TimelapseStatements = ReturnType<typeof timelapseStatements>;
