// Migration 12: the operator role (between viewer and admin), the print library (sliced files and their plates)
// and sends (a file going to a printer and the print it should start).
import type { Database } from "bun:sqlite";

/** The users table as migration 1 made it, with the role check widened to take operators. */
const USERS = `CREATE TABLE users_widened (
      id INTEGER PRIMARY KEY,
      username TEXT NOT NULL UNIQUE,
      password_hash TEXT NOT NULL,
      role TEXT NOT NULL DEFAULT 'admin' CHECK (role IN ('admin', 'operator', 'viewer')),
      created_at INTEGER NOT NULL
    )`;

export function operatorsLibrarySends(db: Database): void {
  // SQLite cannot change a check in place, and dropping the old table cascades (foreign keys are on, and the
  // pragma cannot change inside the migration's transaction): keep the rows that reference users, rebuild, put
  // them back. Renaming the new table to `users` makes the existing references point at it.
  db.run("CREATE TEMP TABLE keep_sessions AS SELECT * FROM sessions");
  db.run("CREATE TEMP TABLE keep_push AS SELECT * FROM push_subscriptions");
  db.run(USERS);
  db.run("INSERT INTO users_widened SELECT id, username, password_hash, role, created_at FROM users");
  db.run("DROP TABLE users");
  db.run("ALTER TABLE users_widened RENAME TO users");
  db.run("INSERT INTO sessions SELECT * FROM keep_sessions");
  db.run("INSERT INTO push_subscriptions SELECT * FROM keep_push");
  db.run("DROP TABLE keep_sessions");
  db.run("DROP TABLE keep_push");

  db.run("ALTER TABLE printers ADD COLUMN ftps_port INTEGER NOT NULL DEFAULT 990");
  // The file's bytes live in media_dir/library/<id>.gcode.3mf, each plate's thumbnail beside it; tags are
  // stored as ",a,b," so one LIKE finds a whole tag.
  db.run(`CREATE TABLE library_files (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      size INTEGER NOT NULL,
      sha256 TEXT NOT NULL,
      tags TEXT NOT NULL DEFAULT ',',
      uploaded_by TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`);
  db.run("CREATE INDEX library_files_by_name ON library_files(name)");
  db.run(`CREATE TABLE library_plates (
      file_id INTEGER NOT NULL REFERENCES library_files(id) ON DELETE CASCADE,
      plate INTEGER NOT NULL,
      name TEXT NOT NULL,
      estimate_s INTEGER,
      model TEXT,
      nozzle_mm REAL,
      filaments_json TEXT NOT NULL,
      objects_json TEXT NOT NULL,
      thumbnail INTEGER NOT NULL,
      PRIMARY KEY (file_id, plate)
    )`);
  // A send: one file's plate going to one printer, and whether the print it asked for started.
  db.run(`CREATE TABLE sends (
      id INTEGER PRIMARY KEY,
      printer_id INTEGER NOT NULL REFERENCES printers(id) ON DELETE CASCADE,
      file_id INTEGER REFERENCES library_files(id) ON DELETE SET NULL,
      plate INTEGER NOT NULL,
      options_json TEXT NOT NULL,
      task_id INTEGER NOT NULL,
      remote_name TEXT NOT NULL,
      status TEXT NOT NULL,
      progress REAL NOT NULL,
      reason TEXT,
      error TEXT,
      job_id INTEGER REFERENCES jobs(id) ON DELETE SET NULL,
      username TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`);
  db.run("CREATE INDEX sends_by_job ON sends(job_id)");
  db.run("CREATE INDEX sends_by_printer ON sends(printer_id, id)");
}
