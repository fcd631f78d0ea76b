// Owns the timelapses table on PostgreSQL: the same methods and results as ../timelapses.ts.
import type { Promisified } from "../async-store.ts";
import type { NewTimelapse, TimelapseRow, timelapseStatements } from "../timelapses.ts";
import { one, type Pg, rows } from "./run.ts";

export function pgTimelapseStatements({ sql }: Pg): Promisified<ReturnType<typeof timelapseStatements>> {
  return {
    insert: async (r: NewTimelapse) =>
      (await one<{ id: number }>(sql`INSERT INTO timelapses
        (printer_id, job_id, upload_id, filename, filetype, size, path, created_at, metadata)
        VALUES (${r.printer_id}, ${r.job_id}::int8, ${r.upload_id}, ${r.filename}, ${r.filetype}, ${r.size}, ${r.path},
          ${r.created_at}, ${r.metadata}::text) RETURNING id`))!.id,
    byId: (id: number) => one<TimelapseRow>(sql`SELECT * FROM timelapses WHERE id = ${id}`),
    byUpload: (uploadId: string) => one<TimelapseRow>(sql`SELECT * FROM timelapses WHERE upload_id = ${uploadId}`),
    setReceived: async (id: number, received: number) => {
      await sql`UPDATE timelapses SET received = ${received} WHERE id = ${id}`;
    },
    complete: async (id: number, at: number, path: string) => {
      await sql`UPDATE timelapses SET completed_at = ${at}, path = ${path} WHERE id = ${id}`;
    },
    ofPrinter: (printerId: number) =>
      rows<TimelapseRow>(sql`SELECT * FROM timelapses WHERE printer_id = ${printerId} AND completed_at IS NOT NULL
        ORDER BY created_at DESC, id DESC`),
    oldestDone: () =>
      rows<TimelapseRow>(sql`SELECT * FROM timelapses WHERE completed_at IS NOT NULL ORDER BY created_at, id`),
    pending: () => rows<TimelapseRow>(sql`SELECT * FROM timelapses WHERE completed_at IS NULL ORDER BY id`),
    usage: async () =>
      (await one<{ done: number; pending: number }>(sql`SELECT
        coalesce(sum(CASE WHEN completed_at IS NOT NULL THEN size END), 0)::int8 AS done,
        coalesce(sum(CASE WHEN completed_at IS NULL THEN size END), 0)::int8 AS pending FROM timelapses`))!,
    deleteRow: async (id: number) => {
      await sql`DELETE FROM timelapses WHERE id = ${id}`;
    },
    jobOfPrinter: async (jobId: number, printerId: number) =>
      (await one<{ id: number }>(sql`SELECT id FROM jobs WHERE id = ${jobId} AND printer_id = ${printerId}`))?.id ??
      null,
    jobAround: async (printerId: number, at: number, graceMs: number) =>
      (
        await one<{ id: number }>(sql`SELECT id FROM jobs WHERE printer_id = ${printerId} AND started_at <= ${at}::int8
          AND (ended_at IS NULL OR ended_at >= ${at}::int8 - ${graceMs}::int8)
          ORDER BY started_at DESC, id DESC LIMIT 1`)
      )?.id ?? null,
  };
}
