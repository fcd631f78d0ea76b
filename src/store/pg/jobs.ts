// Owns the jobs and job_frames tables on PostgreSQL: the same methods and results as ../jobs.ts.
import type { Promisified } from "../async-store.ts";
import type { JobFilament, JobFrameMeta, JobListRow, JobRow, jobStatements, Outcome } from "../jobs.ts";
import { atomic, one, type Pg, rows } from "./run.ts";

export function pgJobStatements(pg: Pg): Promisified<ReturnType<typeof jobStatements>> {
  const { sql } = pg;
  return {
    insert: async (printerId: number, name: string, file: string, at: number) =>
      (await one<{ id: number }>(sql`INSERT INTO jobs (printer_id, name, file, started_at)
        VALUES (${printerId}, ${name}, ${file}, ${at}) RETURNING id`))!.id,
    byId: (id: number) => one<JobRow>(sql`SELECT * FROM jobs WHERE id = ${id}`),
    open: () => rows<JobRow>(sql`SELECT * FROM jobs WHERE outcome = 'running' ORDER BY id`),
    update: async (j: JobRow) => {
      await sql`UPDATE jobs SET layer = ${j.layer}::int8, total_layers = ${j.total_layers}::int8,
        paused_ms = ${j.paused_ms}, paused_since = ${j.paused_since}::int8, errors = ${j.errors} WHERE id = ${j.id}`;
    },
    saveWeather: async (j: JobRow) => {
      await sql`UPDATE jobs SET temp_min = ${j.temp_min}::float8, temp_max = ${j.temp_max}::float8,
        temp_sum = ${j.temp_sum}::float8, hum_min = ${j.hum_min}::float8, hum_max = ${j.hum_max}::float8,
        hum_sum = ${j.hum_sum}::float8, readings = ${j.readings}, weather_points = ${j.weather_points}
        WHERE id = ${j.id}`;
    },
    close: async (id: number, at: number, outcome: Outcome) => {
      await sql`UPDATE jobs SET ended_at = ${at}, outcome = ${outcome} WHERE id = ${id}`;
    },
    list: (opts: { printerId?: number; outcome?: string; before?: number; limit: number }) => {
      const printerId = opts.printerId ?? 0;
      const outcome = opts.outcome ?? "";
      return rows<JobListRow>(sql`SELECT j.*,
          (SELECT count(*) FROM job_frames f WHERE f.job_id = j.id) AS frames,
          (SELECT max(f.id) FROM job_frames f WHERE f.job_id = j.id) AS thumb
        FROM jobs j
        WHERE (${printerId}::int8 = 0 OR j.printer_id = ${printerId}::int8)
          AND (${outcome}::text = '' OR j.outcome = ${outcome}::text)
          AND j.id < ${opts.before ?? Number.MAX_SAFE_INTEGER}::int8
        ORDER BY j.id DESC LIMIT ${opts.limit}`);
    },
    addFrame: async (jobId: number, at: number, layer: number | null, mime: string, bytes: Uint8Array) =>
      (await one<{ id: number }>(sql`INSERT INTO job_frames (job_id, recorded_at, layer, mime, bytes)
        VALUES (${jobId}, ${at}, ${layer}::int8, ${mime}, ${bytes}) RETURNING id`))!.id,
    frames: (jobId: number) =>
      rows<JobFrameMeta>(sql`SELECT id, job_id, recorded_at, layer, length(bytes) AS size FROM job_frames
        WHERE job_id = ${jobId} ORDER BY id`),
    frame: (id: number) =>
      one<{ id: number; job_id: number; mime: string; bytes: Uint8Array }>(
        sql`SELECT id, job_id, mime, bytes FROM job_frames WHERE id = ${id}`,
      ),
    deleteFrame: async (id: number) => {
      await sql`DELETE FROM job_frames WHERE id = ${id}`;
    },
    archiveBytes: async () =>
      (await one<{ n: number }>(sql`SELECT coalesce(sum(length(bytes)), 0)::int8 AS n FROM job_frames`))!.n,
    timelapseOf: async (jobId: number) =>
      (
        await one<{ id: number }>(sql`SELECT id FROM timelapses WHERE job_id = ${jobId} AND completed_at IS NOT NULL
          ORDER BY id DESC LIMIT 1`)
      )?.id ?? null,
    /** One statement: the oldest job's archive is measured and deleted together. */
    pruneOldestArchive: async () =>
      (
        await one<{ n: number }>(sql`
          WITH o AS (
            SELECT job_id, sum(length(bytes))::int8 AS n FROM job_frames
            WHERE job_id = (SELECT min(job_id) FROM job_frames) GROUP BY job_id
          ), d AS (DELETE FROM job_frames WHERE job_id IN (SELECT job_id FROM o))
          SELECT n FROM o`)
      )?.n ?? 0,
    addFilament: async (f: JobFilament) => {
      await sql`INSERT INTO job_filaments (job_id, tray, type, color, brand, first_used_at)
        VALUES (${f.job_id}, ${f.tray}, ${f.type}, ${f.color}::text, ${f.brand}::text, ${f.first_used_at})
        ON CONFLICT (job_id, tray) DO NOTHING`;
    },
    filaments: async (jobIds: number[]) =>
      jobIds.length
        ? rows<JobFilament>(sql`SELECT * FROM job_filaments WHERE job_id = ANY(${jobIds}::int8[])
            ORDER BY job_id, first_used_at, tray`)
        : [],
    deleteOfPrinter: (printerId: number) =>
      atomic(pg, async ({ sql: tx }) => {
        await Promise.all([
          tx`DELETE FROM job_frames WHERE job_id IN (SELECT id FROM jobs WHERE printer_id = ${printerId})`,
          tx`DELETE FROM job_filaments WHERE job_id IN (SELECT id FROM jobs WHERE printer_id = ${printerId})`,
          tx`DELETE FROM jobs WHERE printer_id = ${printerId}`,
        ]);
      }),
  };
}
