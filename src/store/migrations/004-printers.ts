// Migration 4: printers. Every device, reading, status and frame so far is printer 1's; summaries are kept per
// printer (not per device) so a printer's week and month read one row per bucket.
import type { Database } from "bun:sqlite";

/** Printer 1 holds everything that existed before printers did; `/3d` and `/api/temphum` mean it. */
export const DEFAULT_PRINTER_ID = 1;

export function printers(db: Database): void {
  db.run(`CREATE TABLE printers (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE COLLATE NOCASE,
      model TEXT NOT NULL DEFAULT 'A1',
      host TEXT NOT NULL DEFAULT '',
      serial TEXT NOT NULL DEFAULT '',
      access_code TEXT NOT NULL DEFAULT '',
      mqtt_port INTEGER NOT NULL DEFAULT 8883,
      camera INTEGER NOT NULL DEFAULT 1,
      camera_port INTEGER NOT NULL DEFAULT 6000,
      tls TEXT NOT NULL DEFAULT 'pin' CHECK (tls IN ('pin', 'insecure')),
      tls_fingerprint TEXT,
      from_config INTEGER NOT NULL DEFAULT 0,
      state_json TEXT,
      created_at INTEGER NOT NULL
    )`);
  db.run("INSERT INTO printers (id, name, created_at) VALUES (?, 'Printer', ?)", [DEFAULT_PRINTER_ID, Date.now()]);
  // No REFERENCES: SQLite cannot add one with a non-null default; the store deletes a printer's rows itself.
  for (const table of ["devices", "readings", "statuses", "frames"])
    db.run(`ALTER TABLE ${table} ADD COLUMN printer_id INTEGER NOT NULL DEFAULT ${DEFAULT_PRINTER_ID}`);
  db.run("ALTER TABLE frames ADD COLUMN source TEXT NOT NULL DEFAULT 'device'");
  db.run("CREATE INDEX readings_by_printer_time ON readings(printer_id, recorded_at)");
  db.run("CREATE INDEX statuses_by_printer_seen ON statuses(printer_id, last_seen_at)");
  db.run("CREATE INDEX frames_by_printer ON frames(printer_id, id)");
  db.run("CREATE INDEX devices_by_printer ON devices(printer_id)");
  db.run(`CREATE TABLE printer_summaries (
      printer_id INTEGER NOT NULL,
      bucket TEXT NOT NULL CHECK (bucket IN ('hour', 'day')),
      start_at INTEGER NOT NULL,
      count INTEGER NOT NULL,
      temp_sum REAL NOT NULL, temp_min REAL NOT NULL, temp_max REAL NOT NULL,
      hum_sum REAL NOT NULL, hum_min REAL NOT NULL, hum_max REAL NOT NULL,
      PRIMARY KEY (printer_id, bucket, start_at)
    ) WITHOUT ROWID`);
  db.run(`INSERT INTO printer_summaries
      SELECT d.printer_id, s.bucket, s.start_at, sum(s.count), sum(s.temp_sum), min(s.temp_min), max(s.temp_max),
        sum(s.hum_sum), min(s.hum_min), max(s.hum_max)
      FROM reading_summaries s JOIN devices d ON d.id = s.device_id
      GROUP BY d.printer_id, s.bucket, s.start_at`);
  db.run("DROP TABLE reading_summaries");
}
