// Migration 11: the filaments each print used, one row per tray it drew from (type and colour as the AMS said).
import type { Database } from "bun:sqlite";

export function jobFilaments(db: Database): void {
  db.run(`CREATE TABLE job_filaments (
      job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      tray INTEGER NOT NULL,
      type TEXT NOT NULL,
      color TEXT,
      brand TEXT,
      first_used_at INTEGER NOT NULL,
      PRIMARY KEY (job_id, tray)
    )`);
}
