// Migration 7: notifications: targets (URLs; secrets inside, never shown back whole), a persisted delivery queue
// that is also the delivery log, browsers' push subscriptions, per-printer reading limits, app keys.
import type { Database } from "bun:sqlite";

export function notifications(db: Database): void {
  db.run(`CREATE TABLE notify_targets (
      id INTEGER PRIMARY KEY,
      url TEXT NOT NULL UNIQUE,
      from_config INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL,
      failures INTEGER NOT NULL DEFAULT 0,
      last_ok_at INTEGER,
      last_error TEXT
    )`);
  db.run(`CREATE TABLE notify_deliveries (
      id INTEGER PRIMARY KEY,
      target_id INTEGER NOT NULL REFERENCES notify_targets(id) ON DELETE CASCADE,
      event TEXT NOT NULL,
      message TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      next_at INTEGER NOT NULL,
      done_at INTEGER,
      last_error TEXT
    )`);
  db.run("CREATE INDEX notify_due ON notify_deliveries(status, next_at)");
  db.run("CREATE INDEX notify_by_target ON notify_deliveries(target_id, id)");
  db.run(`CREATE TABLE push_subscriptions (
      id INTEGER PRIMARY KEY,
      endpoint TEXT NOT NULL UNIQUE,
      p256dh TEXT NOT NULL,
      auth TEXT NOT NULL,
      user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
      created_at INTEGER NOT NULL
    )`);
  db.run(`CREATE TABLE app_keys (name TEXT PRIMARY KEY, value TEXT NOT NULL)`);
  for (const column of ["temp_high", "temp_low", "hum_high", "hum_low"])
    db.run(`ALTER TABLE printers ADD COLUMN ${column} REAL`);
}
