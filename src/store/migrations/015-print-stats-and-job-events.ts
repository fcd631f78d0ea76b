// Migration 15: statistics kept as they happen (per printer and month: prints by outcome, printing time, errors
// met; per printer, filament and room band: prints and failures), filled here from the prints already ended; and
// each print's timeline of events (state changes, errors, pauses), for its flight recorder.
import type { Database } from "bun:sqlite";
import { contributionOf } from "../../print-stats.ts";
import type { JobRow } from "../jobs.ts";
import type { MigrationContext } from "../migrations.ts";

export function printStatsAndJobEvents(db: Database, ctx: MigrationContext): void {
  db.run(`CREATE TABLE print_stats (
      printer_id INTEGER NOT NULL,
      month TEXT NOT NULL,
      prints INTEGER NOT NULL DEFAULT 0,
      finished INTEGER NOT NULL DEFAULT 0,
      failed INTEGER NOT NULL DEFAULT 0,
      cancelled INTEGER NOT NULL DEFAULT 0,
      print_ms INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (printer_id, month)
    )`);
  db.run(`CREATE TABLE print_error_stats (
      printer_id INTEGER NOT NULL,
      month TEXT NOT NULL,
      kind TEXT NOT NULL,
      code TEXT NOT NULL,
      count INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (printer_id, month, kind, code)
    )`);
  db.run(`CREATE TABLE print_room_stats (
      printer_id INTEGER NOT NULL,
      filament TEXT NOT NULL,
      measure TEXT NOT NULL CHECK (measure IN ('humidity', 'temperature')),
      band INTEGER NOT NULL,
      prints INTEGER NOT NULL DEFAULT 0,
      failed INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (printer_id, filament, measure, band)
    )`);
  db.run(`CREATE TABLE job_events (
      id INTEGER PRIMARY KEY,
      job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      at INTEGER NOT NULL,
      kind TEXT NOT NULL,
      detail TEXT NOT NULL DEFAULT '{}'
    )`);
  db.run("CREATE INDEX job_events_by_job ON job_events(job_id, at)");
  const month = db.query(
    `INSERT INTO print_stats (printer_id, month, prints, finished, failed, cancelled, print_ms)
     VALUES (?, ?, 1, ?, ?, ?, ?) ON CONFLICT (printer_id, month) DO UPDATE SET
       prints = print_stats.prints + 1, finished = print_stats.finished + excluded.finished,
       failed = print_stats.failed + excluded.failed, cancelled = print_stats.cancelled + excluded.cancelled,
       print_ms = print_stats.print_ms + excluded.print_ms`,
  );
  const error = db.query(
    `INSERT INTO print_error_stats (printer_id, month, kind, code, count) VALUES (?, ?, ?, ?, 1)
     ON CONFLICT (printer_id, month, kind, code) DO UPDATE SET count = print_error_stats.count + 1`,
  );
  const room = db.query(
    `INSERT INTO print_room_stats (printer_id, filament, measure, band, prints, failed) VALUES (?, ?, ?, ?, 1, ?)
     ON CONFLICT (printer_id, filament, measure, band) DO UPDATE SET
       prints = print_room_stats.prints + 1, failed = print_room_stats.failed + excluded.failed`,
  );
  for (const job of db.query<JobRow, []>("SELECT * FROM jobs WHERE outcome <> 'running' ORDER BY id").iterate()) {
    const c = contributionOf(job, ctx.zone);
    if (!c) continue;
    const is = (o: string) => (c.outcome === o ? 1 : 0);
    month.run(c.printer_id, c.month, is("finished"), is("failed"), is("cancelled"), c.print_ms);
    for (const e of c.errors) error.run(c.printer_id, c.month, e.kind, e.code);
    for (const r of c.room) room.run(c.printer_id, c.filament, r.measure, r.band, r.failed ? 1 : 0);
  }
}
