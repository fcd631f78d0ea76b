// Migration 13: the print queue (PRINTERS.md §9): items naming a library file's plate and a printer or a rule, in
// order, each with its status and the send that started it; and per printer whether its plate waits to be cleared.
import type { Database } from "bun:sqlite";

export function queue(db: Database): void {
  db.run(`CREATE TABLE queue_items (
      id INTEGER PRIMARY KEY,
      file_id INTEGER NOT NULL REFERENCES library_files(id) ON DELETE CASCADE,
      plate INTEGER NOT NULL,
      printer_id INTEGER REFERENCES printers(id) ON DELETE CASCADE,
      rule_json TEXT,
      options_json TEXT NOT NULL,
      position INTEGER NOT NULL,
      status TEXT NOT NULL,
      assigned_printer INTEGER,
      send_id INTEGER,
      error TEXT,
      username TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    )`);
  db.run("CREATE INDEX queue_items_by_position ON queue_items(status, position)");
  // A printer whose last queued print ended waits here until a person confirms its plate is clear.
  db.run(`CREATE TABLE queue_plates (
      printer_id INTEGER PRIMARY KEY REFERENCES printers(id) ON DELETE CASCADE,
      since INTEGER NOT NULL
    )`);
}
