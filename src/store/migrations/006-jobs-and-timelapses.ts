// Migration 6: prints (jobs) with their weather and frame archive, and timelapse videos (files in media_dir).
import type { Database } from "bun:sqlite";

export function jobsAndTimelapses(db: Database): void {
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
}
