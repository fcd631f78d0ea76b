// Owns the event_log table: the recent warnings and errors the admin sees.
import type { Database } from "bun:sqlite";

export type LogRow = { id: number; at: number; level: string; message: string; details: string };

export function eventLogStatements(db: Database) {
  const q = {
    insert: db.query<never, [number, string, string, string]>(
      "INSERT INTO event_log (at, level, message, details) VALUES (?, ?, ?, ?)",
    ),
    trim: db.query<never, [number]>("DELETE FROM event_log WHERE id <= (SELECT max(id) FROM event_log) - ?"),
    recent: db.query<LogRow, [number]>("SELECT * FROM event_log ORDER BY id DESC LIMIT ?"),
  };
  return {
    /** Appends a line and keeps only the newest `keep`. */
    append: (level: string, message: string, details: string, keep: number) => {
      q.insert.run(Date.now(), level, message, details);
      q.trim.run(keep);
    },
    recent: (limit: number) => q.recent.all(limit),
  };
}
