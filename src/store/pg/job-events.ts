// Owns the job_events table on PostgreSQL: the same methods and results as ../job-events.ts.
import type { Promisified } from "../async-store.ts";
import type { JobEventRow, jobEventStatements } from "../job-events.ts";
import { type Pg, rows } from "./run.ts";

export function pgJobEventStatements(pg: Pg): Promisified<ReturnType<typeof jobEventStatements>> {
  const { sql } = pg;
  return {
    add: async (jobId: number, at: number, kind: string, detail: string) => {
      await sql`INSERT INTO job_events (job_id, at, kind, detail) VALUES (${jobId}, ${at}, ${kind}, ${detail})`;
    },
    of: (jobId: number) => rows<JobEventRow>(sql`SELECT * FROM job_events WHERE job_id = ${jobId} ORDER BY at, id`),
  };
}
