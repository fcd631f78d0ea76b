// Owns the statistics tables on PostgreSQL: the same methods and results as ../stats.ts.
import { contributionOf, type RoomMeasure } from "../../print-stats.ts";
import type { Promisified } from "../async-store.ts";
import type { JobRow } from "../jobs.ts";
import type { ErrorStatsRow, MonthStatsRow, RoomStatsRow, StatsRange, statStatements } from "../stats.ts";
import { atomic, type Pg, rows } from "./run.ts";

export function pgStatStatements(pg: Pg, opts: { zone: string }): Promisified<ReturnType<typeof statStatements>> {
  const { sql } = pg;
  return {
    /** Every upsert of the print, pipelined in one transaction. */
    addJob: async (job: JobRow) => {
      const c = contributionOf(job, opts.zone);
      if (!c) return;
      const is = (o: string) => (c.outcome === o ? 1 : 0);
      await atomic(pg, async ({ sql: tx }) => {
        await Promise.all([
          tx`INSERT INTO print_stats (printer_id, month, prints, finished, failed, cancelled, print_ms)
            VALUES (${c.printer_id}, ${c.month}, 1, ${is("finished")}, ${is("failed")}, ${is("cancelled")},
              ${c.print_ms})
            ON CONFLICT (printer_id, month) DO UPDATE SET
              prints = print_stats.prints + 1, finished = print_stats.finished + excluded.finished,
              failed = print_stats.failed + excluded.failed, cancelled = print_stats.cancelled + excluded.cancelled,
              print_ms = print_stats.print_ms + excluded.print_ms`,
          ...c.errors.map(
            (e) => tx`INSERT INTO print_error_stats (printer_id, month, kind, code, count)
              VALUES (${c.printer_id}, ${c.month}, ${e.kind}, ${e.code}, 1)
              ON CONFLICT (printer_id, month, kind, code) DO UPDATE SET count = print_error_stats.count + 1`,
          ),
          ...c.room.map(
            (r) => tx`INSERT INTO print_room_stats (printer_id, filament, measure, band, prints, failed)
              VALUES (${c.printer_id}, ${c.filament}, ${r.measure}, ${r.band}, 1, ${r.failed ? 1 : 0})
              ON CONFLICT (printer_id, filament, measure, band) DO UPDATE SET
                prints = print_room_stats.prints + 1, failed = print_room_stats.failed + excluded.failed`,
          ),
        ]);
      });
    },
    months: (r: StatsRange) =>
      rows<MonthStatsRow>(sql`SELECT printer_id, month, prints, finished, failed, cancelled, print_ms FROM print_stats
        WHERE month >= ${r.from} AND month <= ${r.to} AND (${r.printerId}::int8 = 0 OR printer_id = ${r.printerId}::int8)
        ORDER BY month, printer_id`),
    errors: (r: StatsRange, limit: number) =>
      rows<ErrorStatsRow>(sql`SELECT kind, code, sum(count)::int8 AS count FROM print_error_stats
        WHERE month >= ${r.from} AND month <= ${r.to} AND (${r.printerId}::int8 = 0 OR printer_id = ${r.printerId}::int8)
        GROUP BY kind, code ORDER BY count DESC, code LIMIT ${limit}`),
    room: (measure: RoomMeasure, printerId: number, filament: string) =>
      rows<RoomStatsRow>(sql`SELECT band, sum(prints)::int8 AS prints, sum(failed)::int8 AS failed
        FROM print_room_stats
        WHERE measure = ${measure} AND (${printerId}::int8 = 0 OR printer_id = ${printerId}::int8)
          AND (${filament}::text = '' OR filament = ${filament}::text)
        GROUP BY band ORDER BY band`),
    deleteOfPrinter: (printerId: number) =>
      atomic(pg, async ({ sql: tx }) => {
        await Promise.all([
          tx`DELETE FROM print_stats WHERE printer_id = ${printerId}`,
          tx`DELETE FROM print_error_stats WHERE printer_id = ${printerId}`,
          tx`DELETE FROM print_room_stats WHERE printer_id = ${printerId}`,
        ]);
      }),
  };
}
