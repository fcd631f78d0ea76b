// Migration 2: device tokens (a device may log in with one instead of a user's cookie) and the admin's log view.
import type { Database } from "bun:sqlite";

export function deviceTokensAndEventLog(db: Database): void {
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
}
