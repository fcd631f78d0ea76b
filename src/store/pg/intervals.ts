// Owns the capture_intervals table on PostgreSQL: the same methods and results as ../intervals.ts.
import type { Promisified } from "../async-store.ts";
import type { Intervals, intervalStatements } from "../intervals.ts";
import { one, type Pg } from "./run.ts";

export function pgIntervalStatements({ sql }: Pg): Promisified<ReturnType<typeof intervalStatements>> {
  return {
    get: async () =>
      (await one<Intervals>(sql`SELECT image_delay, temphum_delay, status_delay FROM capture_intervals WHERE id = 1`))!,
    set: async (i: Intervals) => {
      await sql`UPDATE capture_intervals SET image_delay = ${i.image_delay}, temphum_delay = ${i.temphum_delay},
        status_delay = ${i.status_delay}, updated_at = ${Date.now()} WHERE id = 1`;
    },
  };
}
