// Owns the statuses table on PostgreSQL: the same methods and results as ../statuses.ts.
import type { Promisified } from "../async-store.ts";
import type { StatusRow, statusStatements } from "../statuses.ts";
import { one, type Pg } from "./run.ts";

export function pgStatusStatements({ sql }: Pg): Promisified<ReturnType<typeof statusStatements>> {
  return {
    /**
     * SQLite's read-then-write as one statement (so it pipelines in a batch): the device's current row is seen
     * again when its status and printer match, else a new row is stored. Either way the row as it now is.
     */
    record: async (printerId: number, deviceId: number, at: number, status: string) =>
      (await one<StatusRow>(sql`
        WITH cur AS (
          SELECT id, status = ${status}::text AND printer_id = ${printerId}::int8 AS same FROM statuses
          WHERE device_id = ${deviceId}::int8 ORDER BY recorded_at DESC, id DESC LIMIT 1
        ), seen AS (
          UPDATE statuses s SET last_seen_at = ${at}::int8 FROM cur WHERE s.id = cur.id AND cur.same RETURNING s.*
        ), added AS (
          INSERT INTO statuses (printer_id, device_id, recorded_at, last_seen_at, status)
          SELECT ${printerId}::int8, ${deviceId}::int8, ${at}::int8, ${at}::int8, ${status}::text
          WHERE NOT EXISTS (SELECT 1 FROM cur WHERE cur.same) RETURNING *
        )
        SELECT * FROM seen UNION ALL SELECT * FROM added`))!,
    latest: (printerId: number) =>
      one<StatusRow>(
        sql`SELECT * FROM statuses WHERE printer_id = ${printerId} ORDER BY last_seen_at DESC, id DESC LIMIT 1`,
      ),
    deleteOfPrinter: async (printerId: number) => {
      await sql`DELETE FROM statuses WHERE printer_id = ${printerId}`;
    },
  };
}
