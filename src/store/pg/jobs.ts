// Owns the jobs and job_frames tables on PostgreSQL: the same methods and results as ../jobs.ts.
import type { Promisified } from "../async-store.ts";
import {
  type Fence,
  FencedOut,
  type JobFilament,
  type JobFrameMeta,
  type JobListRow,
  type JobRow,
  type jobStatements,
  type Outcome,
} from "../jobs.ts";
import { atomic, one, type Pg, rows } from "./run.ts";

/**
 * The fence's condition as three parameters of a statement (all null without one). FOR SHARE: a takeover's claim
 * (an UPDATE of the lease row) waits for the fenced write's transaction, so the new holder reads what it wrote.
 */
const HELD = `(? ::text IS NULL OR EXISTS (SELECT 1 FROM leases
  WHERE name = ? ::text AND holder = ? ::text AND epoch = ? ::int8 FOR SHARE))`;
const fenceArgs = (f: Fence) => [f?.lease ?? null, f?.lease ?? null, f?.holder ?? null, f?.epoch ?? null];

export function pgJobStatements(pg: Pg): Promisified<ReturnType<typeof jobStatements>> {
  const { sql } = pg;
  /** Numbers `?` placeholders from $1 on (the fenced statements are plain text with parameters). */
  const numbered = (text: string) => {
    let n = 0;
    return text.replace(/\?/g, () => `$${++n}`);
  };
  const fenced = (text: string, args: unknown[]) => sql.unsafe(numbered(text), args);
  /** The id a fenced insert returned; none means the fence held it back. */
  const inserted = (row: { id: number } | null, fence: Fence) => {
    if (row) return row.id;
    throw new FencedOut(fence?.lease ?? "?");
  };
  return {
    insert: async (printerId: number, name: string, file: string, at: number, fence: Fence = null) =>
      inserted(
        await one<{ id: number }>(
          fenced(
            `INSERT INTO jobs (printer_id, name, file, started_at) SELECT ?::int8, ?::text, ?::text, ?::int8
              WHERE ${HELD} RETURNING id`,
            [printerId, name, file, at, ...fenceArgs(fence)],
          ),
        ),
        fence,
      ),
    byId: (id: number) => one<JobRow>(sql`SELECT * FROM jobs WHERE id = ${id}`),
    open: () => rows<JobRow>(sql`SELECT * FROM jobs WHERE outcome = 'running' ORDER BY id`),
    update: async (j: JobRow, fence: Fence = null) => {
      await fenced(
        `UPDATE jobs SET layer = ?::int8, total_layers = ?::int8, paused_ms = ?::int8, paused_since = ?::int8,
          errors = ?::text WHERE id = ?::int8 AND ${HELD}`,
        [j.layer, j.total_layers, j.paused_ms, j.paused_since, j.errors, j.id, ...fenceArgs(fence)],
      );
    },
    saveWeather: async (j: JobRow, fence: Fence = null) => {
      await fenced(
        `UPDATE jobs SET temp_min = ?::float8, temp_max = ?::float8, temp_sum = ?::float8, hum_min = ?::float8,
          hum_max = ?::float8, hum_sum = ?::float8, readings = ?::int8, weather_points = ?::text
          WHERE id = ?::int8 AND ${HELD}`,
        [
          j.temp_min,
          j.temp_max,
          j.temp_sum,
          j.hum_min,
          j.hum_max,
          j.hum_sum,
          j.readings,
          j.weather_points,
          j.id,
          ...fenceArgs(fence),
        ],
      );
    },
    close: async (id: number, at: number, outcome: Outcome, fence: Fence = null) => {
      await fenced(`UPDATE jobs SET ended_at = ?::int8, outcome = ?::text WHERE id = ?::int8 AND ${HELD}`, [
        at,
        outcome,
        id,
        ...fenceArgs(fence),
      ]);
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
    addFrame: async (
      jobId: number,
      at: number,
      layer: number | null,
      mime: string,
      bytes: Uint8Array,
      fence: Fence = null,
    ) =>
      inserted(
        await one<{ id: number }>(
          fenced(
            `INSERT INTO job_frames (job_id, recorded_at, layer, mime, bytes)
              SELECT ?::int8, ?::int8, ?::int8, ?::text, ?::bytea WHERE ${HELD} RETURNING id`,
            [jobId, at, layer, mime, bytes, ...fenceArgs(fence)],
          ),
        ),
        fence,
      ),
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
