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
}
