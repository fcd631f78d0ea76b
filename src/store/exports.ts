// Owns the pages CSV exports read: a printer's readings (with each one's device) and prints, in order, a page at a
// time by keyset (never OFFSET), so an export of a year costs one page of memory and each page one index range.
import type { Database } from "bun:sqlite";
import type { JobRow } from "./jobs.ts";

export type ExportReading = {
  id: number;
  recorded_at: number;
  device_id: number;
  device: string;
  temperature: number;
  humidity: number;
};
/**
 * One page of a printer's readings in [from, to), oldest first: `deviceId` 0 = every device; `after` the last row of
 * the previous page (null for the first).
 */
export type ReadingPage = {
  printerId: number;
  deviceId: number;
  from: number;
  to: number;
  after: { at: number; id: number } | null;
  limit: number;
};
/** One page of prints started in [from, to), oldest first: `printerId` 0 = every printer; after a job id. */
export type JobPage = { printerId: number; from: number; to: number; afterId: number; limit: number };

export function exportStatements(db: Database) {
  const q = {
    // The first term keeps the index range on (printer_id, recorded_at); the second steps past the page's last row.
    readings: db.query<ExportReading, [number, number, number, number, number, number]>(
      `SELECT r.id, r.recorded_at, r.device_id, d.name AS device, r.temperature, r.humidity
       FROM readings r JOIN devices d ON d.id = r.device_id
       WHERE r.printer_id = ?1 AND (?2 = 0 OR r.device_id = ?2) AND r.recorded_at >= ?3 AND r.recorded_at < ?4
         AND (r.recorded_at > ?3 OR r.id > ?5)
       ORDER BY r.recorded_at, r.id LIMIT ?6`,
    ),
    jobs: db.query<JobRow, [number, number, number, number, number]>(
      `SELECT * FROM jobs WHERE (?1 = 0 OR printer_id = ?1) AND started_at >= ?2 AND started_at < ?3 AND id > ?4
       ORDER BY id LIMIT ?5`,
    ),
  };
  return {
    readingPage: (p: ReadingPage) =>
      q.readings.all(p.printerId, p.deviceId, p.after?.at ?? p.from, p.to, p.after?.id ?? -1, p.limit),
    jobPage: (p: JobPage) => q.jobs.all(p.printerId, p.from, p.to, p.afterId, p.limit),
  };
}
