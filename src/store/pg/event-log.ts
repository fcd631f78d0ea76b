// Owns the event_log table on PostgreSQL: the same methods and results as ../event-log.ts.
import type { Promisified } from "../async-store.ts";
import type { eventLogStatements, LogRow } from "../event-log.ts";
import { atomic, type Pg, rows } from "./run.ts";

export function pgEventLogStatements(pg: Pg): Promisified<ReturnType<typeof eventLogStatements>> {
  return {
    /** The line, then the trim to the newest `keep`: pipelined in one transaction. */
    append: (level: string, message: string, details: string, keep: number) =>
      atomic(pg, async ({ sql: tx }) => {
        await Promise.all([
          tx`INSERT INTO event_log (at, level, message, details)
            VALUES (${Date.now()}, ${level}, ${message}, ${details})`,
          tx`DELETE FROM event_log WHERE id <= (SELECT max(id) FROM event_log) - ${keep}::int8`,
        ]);
      }),
    recent: (limit: number) => rows<LogRow>(pg.sql`SELECT * FROM event_log ORDER BY id DESC LIMIT ${limit}`),
  };
}
