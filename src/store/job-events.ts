// Owns the job_events table: a print's timeline as the job service saw it (state changes, errors and HMS codes
// first seen, pauses and resumes), for its flight recorder.
import type { Database } from "bun:sqlite";

export type JobEventRow = { id: number; job_id: number; at: number; kind: string; detail: string };

export function jobEventStatements(db: Database) {
  const q = {
    insert: db.query<never, [number, number, string, string]>(
      "INSERT INTO job_events (job_id, at, kind, detail) VALUES (?, ?, ?, ?)",
    ),
    of: db.query<JobEventRow, [number]>("SELECT * FROM job_events WHERE job_id = ? ORDER BY at, id"),
  };
  return {
    /** `detail` is JSON. */
    add: (jobId: number, at: number, kind: string, detail: string) => void q.insert.run(jobId, at, kind, detail),
    of: (jobId: number) => q.of.all(jobId),
  };
}
