// Migration 1: the first layerwatch schema (devices, users, sessions, readings, statuses, frames, intervals).
import type { Database } from "bun:sqlite";

/** The device this migration makes: everything an old-server database held was its. */
export const DEFAULT_DEVICE_ID = 1;
export const DEFAULT_INTERVALS = { image_delay: 10, temphum_delay: 10, status_delay: 10 } as const;

/** Instants are UTC milliseconds; images are bytes. */
export function initial(db: Database): void {
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
}
