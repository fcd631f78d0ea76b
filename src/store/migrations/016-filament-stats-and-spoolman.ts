// Migration 16: filament used per printer, month, type and colour, filled from the prints already ended; their room
// bands moved from "unknown filament" to their main filament's type; and Spoolman: which spool each AMS tray is
// linked to, and the filament uses to report to it (kept until Spoolman has taken them).
import type { Database } from "bun:sqlite";
import { contributionOf, type FilamentFacts, filamentFacts } from "../../print-stats.ts";
import type { JobRow } from "../jobs.ts";
import type { MigrationContext } from "../migrations.ts";

export function filamentStatsAndSpoolman(db: Database, ctx: MigrationContext): void {
  db.run(`CREATE TABLE print_filament_stats (
      printer_id INTEGER NOT NULL,
      month TEXT NOT NULL,
      type TEXT NOT NULL,
      color TEXT NOT NULL,
      prints INTEGER NOT NULL DEFAULT 0,
      grams REAL NOT NULL DEFAULT 0,
      grams_prints INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (printer_id, month, type, color)
    )`);
  db.run(`CREATE TABLE spoolman_links (
      printer_id INTEGER NOT NULL REFERENCES printers(id) ON DELETE CASCADE,
      tray INTEGER NOT NULL,
      spool_id INTEGER NOT NULL,
      spool_grams REAL,
      linked_by TEXT NOT NULL,
      linked_at INTEGER NOT NULL,
      PRIMARY KEY (printer_id, tray)
    )`);
  db.run(`CREATE TABLE spoolman_uses (
      id INTEGER PRIMARY KEY,
      job_id INTEGER NOT NULL,
      printer_id INTEGER NOT NULL,
      tray INTEGER NOT NULL,
      spool_id INTEGER NOT NULL,
      grams REAL NOT NULL,
      source TEXT NOT NULL CHECK (source IN ('plate', 'remain')),
      created_at INTEGER NOT NULL,
      reported_at INTEGER,
      attempts INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      UNIQUE (job_id, tray)
    )`);
  db.run("CREATE INDEX spoolman_uses_pending ON spoolman_uses(id) WHERE reported_at IS NULL");
  const filament = db.query(
    `INSERT INTO print_filament_stats (printer_id, month, type, color, prints, grams, grams_prints)
     VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (printer_id, month, type, color) DO UPDATE SET
       prints = print_filament_stats.prints + 1, grams = print_filament_stats.grams + excluded.grams,
       grams_prints = print_filament_stats.grams_prints + excluded.grams_prints`,
  );
  const roomOut = db.query(
    `UPDATE print_room_stats SET prints = prints - 1, failed = failed - ?
     WHERE printer_id = ? AND filament = '' AND measure = ? AND band = ?`,
  );
  const roomIn = db.query(
    `INSERT INTO print_room_stats (printer_id, filament, measure, band, prints, failed) VALUES (?, ?, ?, ?, 1, ?)
     ON CONFLICT (printer_id, filament, measure, band) DO UPDATE SET
       prints = print_room_stats.prints + 1, failed = print_room_stats.failed + excluded.failed`,
  );
  const trays = db.query<FilamentFacts["trays"][number], [number]>(
    "SELECT tray, type, color FROM job_filaments WHERE job_id = ? ORDER BY first_used_at, tray",
  );
  const sent = db.query<{ filaments_json: string; options_json: string }, [number]>(
    `SELECT p.filaments_json, s.options_json FROM sends s
     JOIN library_plates p ON p.file_id = s.file_id AND p.plate = s.plate
     WHERE s.job_id = ? ORDER BY s.id DESC LIMIT 1`,
  );
  for (const job of db.query<JobRow, []>("SELECT * FROM jobs WHERE outcome <> 'running' ORDER BY id").iterate()) {
    const c = contributionOf(job, ctx.zone, filamentFacts(trays.all(job.id), sent.get(job.id)));
    if (!c) continue;
    for (const f of c.filaments)
      filament.run(c.printer_id, c.month, f.type, f.color, f.grams ?? 0, f.grams === null ? 0 : 1);
    if (!c.filament) continue;
    for (const r of c.room) {
      roomOut.run(r.failed ? 1 : 0, c.printer_id, r.measure, r.band);
      roomIn.run(c.printer_id, c.filament, r.measure, r.band, r.failed ? 1 : 0);
    }
  }
  db.run("DELETE FROM print_room_stats WHERE filament = '' AND prints <= 0");
}
