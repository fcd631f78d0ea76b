// Migration 11 on PostgreSQL: the filaments each print used, as 011-job-filaments.ts.
import type { PgMigration } from "../pg-migrate.ts";

export const jobFilaments: PgMigration = async (tx) => {
  await tx.unsafe(`CREATE TABLE job_filaments (
      job_id bigint NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
      tray bigint NOT NULL,
      type text NOT NULL,
      color text,
      brand text,
      first_used_at bigint NOT NULL,
      PRIMARY KEY (job_id, tray)
    )`);
};
