// Owns the schema: numbered, forward-only migrations; PRAGMA user_version says where a database stands.
import type { Database } from "bun:sqlite";
import { summaryBuckets } from "../time.ts";
import { laterMigrations } from "./migrations-later.ts";

export const DEFAULT_DEVICE_ID = 1;
/** Printer 1 holds everything that existed before printers did; `/3d` and `/api/temphum` mean it. */
export const DEFAULT_PRINTER_ID = 1;
export const DEFAULT_INTERVALS = { image_delay: 10, temphum_delay: 10, status_delay: 10 } as const;

export type Migration = (db: Database, ctx: MigrationContext) => void;
export type MigrationContext = { zone: string };

const migrations: Migration[] = [
  // 1: the first layerwatch schema. Instants are UTC milliseconds; images are bytes.
  (db) => {
    const now = Date.now();
    db.run(`CREATE TABLE devices (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      created_at INTEGER NOT NULL
    )`);
    db.run("INSERT INTO devices (id, name, created_at) VALUES (?, 'printer', ?)", [DEFAULT_DEVICE_ID, now]);
    db.run(`CREATE TABLE users (
      id INTEGER PRIMARY KEY,
      username TEXT NOT NULL UNIQUE,
      password_hash TEXT NOT NULL,
      role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'viewer')),
      created_at INTEGER NOT NULL
    )`);
    db.run(`CREATE TABLE sessions (
      token_hash TEXT PRIMARY KEY,
      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      persistent INTEGER NOT NULL,
      last_seen_at INTEGER NOT NULL
    )`);
    db.run("CREATE INDEX sessions_by_user ON sessions(user_id)");
    db.run(`CREATE TABLE readings (
      id INTEGER PRIMARY KEY,
      device_id INTEGER NOT NULL REFERENCES devices(id),
      recorded_at INTEGER NOT NULL,
      temperature REAL NOT NULL,
      humidity REAL NOT NULL
    )`);
    db.run("CREATE INDEX readings_by_time ON readings(recorded_at)");
    db.run(`CREATE TABLE statuses (
      id INTEGER PRIMARY KEY,
      device_id INTEGER NOT NULL REFERENCES devices(id),
      recorded_at INTEGER NOT NULL,
      status TEXT NOT NULL
    )`);
    db.run("CREATE INDEX statuses_by_time ON statuses(recorded_at)");
    db.run(`CREATE TABLE frames (
      id INTEGER PRIMARY KEY,
      device_id INTEGER NOT NULL REFERENCES devices(id),
      recorded_at INTEGER NOT NULL,
      mime TEXT NOT NULL,
      bytes BLOB NOT NULL
    )`);
    db.run(`CREATE TABLE capture_intervals (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      image_delay INTEGER NOT NULL,
      temphum_delay INTEGER NOT NULL,
      status_delay INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`);
    db.run("INSERT INTO capture_intervals VALUES (1, ?, ?, ?, ?)", [
      DEFAULT_INTERVALS.image_delay,
      DEFAULT_INTERVALS.temphum_delay,
      DEFAULT_INTERVALS.status_delay,
      now,
    ]);
  },
  // 2: device tokens (a device may log in with one instead of a user's cookie) and the admin's log view.
  (db) => {
    db.run(`CREATE TABLE device_tokens (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      token_hash TEXT NOT NULL UNIQUE,
      device_id INTEGER NOT NULL REFERENCES devices(id),
      created_at INTEGER NOT NULL,
      last_used_at INTEGER,
      revoked_at INTEGER
    )`);
    db.run(`CREATE TABLE event_log (
      id INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      level TEXT NOT NULL,
      message TEXT NOT NULL,
      details TEXT NOT NULL
    )`);
  },
  // 3: hourly/daily reading summaries kept as readings arrive (raw rows may be pruned; these stay),
  //    and statuses stored as changes with the time the same status was last seen.
  (db, ctx) => {
    db.run(`CREATE TABLE reading_summaries (
      device_id INTEGER NOT NULL REFERENCES devices(id),
      bucket TEXT NOT NULL CHECK (bucket IN ('hour', 'day')),
      start_at INTEGER NOT NULL,
      count INTEGER NOT NULL,
      temp_sum REAL NOT NULL, temp_min REAL NOT NULL, temp_max REAL NOT NULL,
      hum_sum REAL NOT NULL, hum_min REAL NOT NULL, hum_max REAL NOT NULL,
      PRIMARY KEY (bucket, start_at, device_id)
    ) WITHOUT ROWID`);
    db.run("ALTER TABLE statuses ADD COLUMN last_seen_at INTEGER");
    db.run("UPDATE statuses SET last_seen_at = recorded_at");
    backfillSummaries(db, ctx.zone);
  },
  // 4: printers. Every device, reading, status and frame so far is printer 1's; summaries are kept per
  //    printer (not per device) so a printer's week and month read one row per bucket.
  (db) => {
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
  },
  ...laterMigrations,
];

/** Builds summaries for readings already present (an upgraded database), in one pass. */
function backfillSummaries(db: Database, zone: string): void {
  const upsert = deviceSummaryUpsert(db);
  for (const r of db.query("SELECT device_id, recorded_at, temperature, humidity FROM readings").iterate() as Iterable<{
    device_id: number;
    recorded_at: number;
    temperature: number;
    humidity: number;
  }>) {
    const b = summaryBuckets(r.recorded_at, zone);
    upsert.run(r.device_id, "hour", b.hour, r.temperature, r.humidity);
    upsert.run(r.device_id, "day", b.day, r.temperature, r.humidity);
  }
}

/** Migration 3's per-device summary row (frozen: migration 4 folds these into per-printer rows). */
function deviceSummaryUpsert(db: Database) {
  return db.query<never, [number, string, number, number, number]>(`
    INSERT INTO reading_summaries
      (device_id, bucket, start_at, count, temp_sum, temp_min, temp_max, hum_sum, hum_min, hum_max)
    VALUES (?1, ?2, ?3, 1, ?4, ?4, ?4, ?5, ?5, ?5)
    ON CONFLICT (bucket, start_at, device_id) DO UPDATE SET
      count = count + 1,
      temp_sum = temp_sum + excluded.temp_sum,
      temp_min = min(temp_min, excluded.temp_min),
      temp_max = max(temp_max, excluded.temp_max),
      hum_sum = hum_sum + excluded.hum_sum,
      hum_min = min(hum_min, excluded.hum_min),
      hum_max = max(hum_max, excluded.hum_max)`);
}

export const SCHEMA_VERSION = migrations.length;

export function schemaVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/** Applies every migration past the database's version, each in its own transaction. */
export function migrate(db: Database, ctx: MigrationContext): void {
  migrateTo(db, SCHEMA_VERSION, ctx);
}

export function migrateTo(db: Database, target: number, ctx: MigrationContext): void {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION)
    throw new Error(
      `database schema version ${from} is newer than this layerwatch understands (${SCHEMA_VERSION}); ` +
        "upgrade layerwatch",
    );
  for (let v = from; v < target; v++) {
    db.transaction(() => {
      migrations[v]!(db, ctx);
      db.run(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}
