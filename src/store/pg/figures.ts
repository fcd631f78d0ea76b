// Owns the /metrics counts on PostgreSQL: the same methods and results as ../figures.ts (the size is the database's).
import type { Promisified } from "../async-store.ts";
import type { DeliveryCount, DeviceCount, figureStatements, JobCount } from "../figures.ts";
import { one, type Pg, rows } from "./run.ts";

export function pgFigureStatements(pg: Pg): Promisified<ReturnType<typeof figureStatements>> {
  const { sql } = pg;
  return {
    jobCounts: () =>
      rows<JobCount>(sql`SELECT printer_id, outcome, count(*) AS n FROM jobs
        GROUP BY printer_id, outcome ORDER BY printer_id, outcome`),
    deliveryCounts: () =>
      rows<DeliveryCount>(sql`SELECT target_id, status, count(*) AS n FROM notify_deliveries
        GROUP BY target_id, status ORDER BY target_id, status`),
    deviceCounts: () =>
      rows<DeviceCount>(sql`SELECT printer_id, count(*) AS n FROM devices GROUP BY printer_id ORDER BY printer_id`),
    databaseBytes: async () =>
      (await one<{ n: number }>(sql`SELECT pg_database_size(current_database())::int8 AS n`))!.n,
  };
}
