// Owns the CSV export pages on PostgreSQL: the same methods, keysets and results as ../exports.ts.
import type { Promisified } from "../async-store.ts";
import type { ExportReading, exportStatements, JobPage, ReadingPage } from "../exports.ts";
import type { JobRow } from "../jobs.ts";
import { type Pg, rows } from "./run.ts";

export function pgExportStatements(pg: Pg): Promisified<ReturnType<typeof exportStatements>> {
  const { sql } = pg;
  return {
    readingPage: (p: ReadingPage) => {
      const from = p.after?.at ?? p.from;
      return rows<ExportReading>(sql`
        SELECT r.id, r.recorded_at, r.device_id, d.name AS device, r.temperature, r.humidity
        FROM readings r JOIN devices d ON d.id = r.device_id
        WHERE r.printer_id = ${p.printerId} AND (${p.deviceId}::int8 = 0 OR r.device_id = ${p.deviceId}::int8)
          AND r.recorded_at >= ${from}::int8 AND r.recorded_at < ${p.to}::int8
          AND (r.recorded_at > ${from}::int8 OR r.id > ${p.after?.id ?? -1}::int8)
        ORDER BY r.recorded_at, r.id LIMIT ${p.limit}`);
    },
    jobPage: (p: JobPage) =>
      rows<JobRow>(sql`SELECT * FROM jobs
        WHERE (${p.printerId}::int8 = 0 OR printer_id = ${p.printerId}::int8)
          AND started_at >= ${p.from}::int8 AND started_at < ${p.to}::int8 AND id > ${p.afterId}::int8
        ORDER BY id LIMIT ${p.limit}`),
  };
}
