// Migration 5: every control action on a printer (who, when, what, how it ended), for the admin's audit.
import type { Database } from "bun:sqlite";

export function printerActions(db: Database): void {
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
}
