// Owns the statistics tables (print_stats, print_error_stats, print_room_stats): aggregates an ended print is added
// to once, when it is closed (see print-stats.ts), and read per printer and month range.
import type { Database } from "bun:sqlite";
import { contributionOf, type FilamentFacts, filamentFacts, type RoomMeasure } from "../print-stats.ts";
import type { JobRow } from "./jobs.ts";

export type MonthStatsRow = {
  printer_id: number;
  month: string;
  prints: number;
  finished: number;
  failed: number;
  cancelled: number;
  print_ms: number;
};
export type ErrorStatsRow = { kind: string; code: string; count: number };
export type RoomStatsRow = { band: number; prints: number; failed: number };
/** Filament used per type and colour: grams added from the prints that knew them (grams_prints of prints). */
export type FilamentStatsRow = { type: string; color: string; prints: number; grams: number; grams_prints: number };
/** A month range, both ends included (`YYYY-MM`), and a printer (0 = every printer). */
export type StatsRange = { from: string; to: string; printerId: number };

export function statStatements(db: Database, opts: { zone: string }) {
  const q = {
    month: db.query<never, [number, string, number, number, number, number]>(
      `INSERT INTO print_stats (printer_id, month, prints, finished, failed, cancelled, print_ms)
       VALUES (?, ?, 1, ?, ?, ?, ?) ON CONFLICT (printer_id, month) DO UPDATE SET
         prints = print_stats.prints + 1, finished = print_stats.finished + excluded.finished,
         failed = print_stats.failed + excluded.failed, cancelled = print_stats.cancelled + excluded.cancelled,
         print_ms = print_stats.print_ms + excluded.print_ms`,
    ),
    error: db.query<never, [number, string, string, string]>(
      `INSERT INTO print_error_stats (printer_id, month, kind, code, count) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (printer_id, month, kind, code) DO UPDATE SET count = print_error_stats.count + 1`,
    ),
    room: db.query<never, [number, string, string, number, number]>(
      `INSERT INTO print_room_stats (printer_id, filament, measure, band, prints, failed) VALUES (?, ?, ?, ?, 1, ?)
       ON CONFLICT (printer_id, filament, measure, band) DO UPDATE SET
         prints = print_room_stats.prints + 1, failed = print_room_stats.failed + excluded.failed`,
    ),
    filament: db.query<never, [number, string, string, string, number, number]>(
      `INSERT INTO print_filament_stats (printer_id, month, type, color, prints, grams, grams_prints)
       VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (printer_id, month, type, color) DO UPDATE SET
         prints = print_filament_stats.prints + 1, grams = print_filament_stats.grams + excluded.grams,
         grams_prints = print_filament_stats.grams_prints + excluded.grams_prints`,
    ),
    trays: db.query<FilamentFacts["trays"][number], [number]>(
      "SELECT tray, type, color FROM job_filaments WHERE job_id = ? ORDER BY first_used_at, tray",
    ),
    sent: db.query<{ filaments_json: string; options_json: string }, [number]>(
      `SELECT p.filaments_json, s.options_json FROM sends s
       JOIN library_plates p ON p.file_id = s.file_id AND p.plate = s.plate
       WHERE s.job_id = ? ORDER BY s.id DESC LIMIT 1`,
    ),
    filaments: db.query<FilamentStatsRow, [string, string, number]>(
      `SELECT type, color, sum(prints) AS prints, sum(grams) AS grams, sum(grams_prints) AS grams_prints
       FROM print_filament_stats WHERE month >= ?1 AND month <= ?2 AND (?3 = 0 OR printer_id = ?3)
       GROUP BY type, color ORDER BY grams DESC, prints DESC, type, color`,
    ),
    months: db.query<MonthStatsRow, [string, string, number]>(
      `SELECT printer_id, month, prints, finished, failed, cancelled, print_ms FROM print_stats
       WHERE month >= ?1 AND month <= ?2 AND (?3 = 0 OR printer_id = ?3) ORDER BY month, printer_id`,
    ),
    errors: db.query<ErrorStatsRow, [string, string, number, number]>(
      `SELECT kind, code, sum(count) AS count FROM print_error_stats
       WHERE month >= ?1 AND month <= ?2 AND (?3 = 0 OR printer_id = ?3)
       GROUP BY kind, code ORDER BY count DESC, code LIMIT ?4`,
    ),
    rooms: db.query<RoomStatsRow, [string, number, string]>(
      `SELECT band, sum(prints) AS prints, sum(failed) AS failed FROM print_room_stats
       WHERE measure = ?1 AND (?2 = 0 OR printer_id = ?2) AND (?3 = '' OR filament = ?3)
       GROUP BY band ORDER BY band`,
    ),
    deleteMonths: db.query<never, [number]>("DELETE FROM print_stats WHERE printer_id = ?"),
    deleteErrors: db.query<never, [number]>("DELETE FROM print_error_stats WHERE printer_id = ?"),
    deleteRooms: db.query<never, [number]>("DELETE FROM print_room_stats WHERE printer_id = ?"),
    deleteFilaments: db.query<never, [number]>("DELETE FROM print_filament_stats WHERE printer_id = ?"),
  };
  const factsOf = (jobId: number) => filamentFacts(q.trays.all(jobId), q.sent.get(jobId));
  return {
    /** Adds an ended print to the aggregates (the caller makes sure it is added once: see store.ts jobs.close). */
    addJob: (job: JobRow) => {
      const c = contributionOf(job, opts.zone, factsOf(job.id));
      if (!c) return;
      const is = (o: string) => (c.outcome === o ? 1 : 0);
      q.month.run(c.printer_id, c.month, is("finished"), is("failed"), is("cancelled"), c.print_ms);
      for (const e of c.errors) q.error.run(c.printer_id, c.month, e.kind, e.code);
      for (const r of c.room) q.room.run(c.printer_id, c.filament, r.measure, r.band, r.failed ? 1 : 0);
      for (const f of c.filaments)
        q.filament.run(c.printer_id, c.month, f.type, f.color, f.grams ?? 0, f.grams === null ? 0 : 1);
    },
    /** What the store knows of a job's filaments (its trays, its library plate). */
    filamentFacts: (jobId: number) => factsOf(jobId),
    /** Filament per type and colour over the range, most grams first. */
    filaments: (r: StatsRange) => q.filaments.all(r.from, r.to, r.printerId),
    months: (r: StatsRange) => q.months.all(r.from, r.to, r.printerId),
    errors: (r: StatsRange, limit: number) => q.errors.all(r.from, r.to, r.printerId, limit),
    /** Prints and failures per room band; printerId 0 = every printer, filament "" = every filament. */
    room: (measure: RoomMeasure, printerId: number, filament: string) => q.rooms.all(measure, printerId, filament),
    deleteOfPrinter: (printerId: number) => {
      q.deleteMonths.run(printerId);
      q.deleteErrors.run(printerId);
      q.deleteRooms.run(printerId);
      q.deleteFilaments.run(printerId);
    },
  };
}
