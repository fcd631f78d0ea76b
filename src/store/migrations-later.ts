// Owns migrations 5 onwards (printer actions, jobs and timelapses, notifications): appended to the list in
// migrations.ts, numbered by their place there. Forward-only; never edit one that has shipped.
import type { Migration } from "./migrations.ts";

export const laterMigrations: Migration[] = [
  // 5: every control action on a printer (who, when, what, how it ended), for the admin's audit.
  (db) => {
    db.run(`CREATE TABLE printer_actions (
      id INTEGER PRIMARY KEY,
      printer_id INTEGER NOT NULL,
      at INTEGER NOT NULL,
      username TEXT NOT NULL,
      action TEXT NOT NULL,
      via TEXT NOT NULL,
      result TEXT NOT NULL,
      detail TEXT NOT NULL DEFAULT ''
    )`);
    db.run("CREATE INDEX printer_actions_by_time ON printer_actions(at)");
  },
  // 6: prints (jobs) with their weather and frame archive, and timelapse videos (files in media_dir).
  (db) => {
    db.run(`CREATE TABLE jobs (
      id INTEGER PRIMARY KEY,
      printer_id INTEGER NOT NULL,
      name TEXT NOT NULL,
      file TEXT NOT NULL DEFAULT '',
      started_at INTEGER NOT NULL,
      ended_at INTEGER,
      outcome TEXT NOT NULL DEFAULT 'running'
        CHECK (outcome IN ('running', 'finished', 'failed', 'cancelled')),
      layer INTEGER,
      total_layers INTEGER,
      paused_ms INTEGER NOT NULL DEFAULT 0,
      paused_since INTEGER,
      errors TEXT NOT NULL DEFAULT '[]',
      temp_min REAL, temp_max REAL, temp_sum REAL NOT NULL DEFAULT 0,
      hum_min REAL, hum_max REAL, hum_sum REAL NOT NULL DEFAULT 0,
      readings INTEGER NOT NULL DEFAULT 0,
      weather_points TEXT NOT NULL DEFAULT '[]'
    )`);
    db.run("CREATE INDEX jobs_by_printer ON jobs(printer_id, started_at)");
    db.run("CREATE INDEX jobs_by_start ON jobs(started_at)");
    db.run(`CREATE TABLE job_frames (
      id INTEGER PRIMARY KEY,
      job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      recorded_at INTEGER NOT NULL,
      layer INTEGER,
      mime TEXT NOT NULL,
      bytes BLOB NOT NULL
    )`);
    db.run("CREATE INDEX job_frames_by_job ON job_frames(job_id, id)");
    db.run(`CREATE TABLE timelapses (
      id INTEGER PRIMARY KEY,
      printer_id INTEGER NOT NULL,
      job_id INTEGER,
      upload_id TEXT NOT NULL UNIQUE,
      filename TEXT NOT NULL,
      filetype TEXT NOT NULL DEFAULT 'video/mp4',
      size INTEGER NOT NULL,
      received INTEGER NOT NULL DEFAULT 0,
      path TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      completed_at INTEGER
    )`);
    db.run("CREATE INDEX timelapses_by_printer ON timelapses(printer_id, created_at)");
  },
  // 7: notifications: targets (URLs; secrets inside, never shown back whole), a persisted delivery queue
  //    that is also the delivery log, browsers' push subscriptions, per-printer reading limits, app keys.
  (db) => {
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
  },
  // 8: a timelapse upload's Upload-Metadata header as the client sent it, which tus HEAD gives back.
  (db) => {
    db.run("ALTER TABLE timelapses ADD COLUMN metadata TEXT");
  },
];
