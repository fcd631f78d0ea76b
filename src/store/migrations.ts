// Owns the schema: numbered, forward-only migrations; PRAGMA user_version says where a database stands.
import type { Database } from "bun:sqlite";

export const DEFAULT_DEVICE_ID = 1;
export const DEFAULT_INTERVALS = { image_delay: 10, temphum_delay: 10, status_delay: 10 } as const;

type Migration = (db: Database) => void;

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
      DEFAULT_INTERVALS.image_delay, DEFAULT_INTERVALS.temphum_delay, DEFAULT_INTERVALS.status_delay, now,
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
];

export const SCHEMA_VERSION = migrations.length;

export function schemaVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/** Applies every migration past the database's version, each in its own transaction. */
export function migrate(db: Database): void {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION)
    throw new Error(`database schema version ${from} is newer than this layerwatch understands (${SCHEMA_VERSION}); upgrade layerwatch`);
  for (let v = from; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      migrations[v]!(db);
      db.run(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}
