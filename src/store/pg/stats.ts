// Owns the statistics tables on PostgreSQL: the same methods and results as ../stats.ts.
import { contributionOf, type FilamentFacts, filamentFacts, type RoomMeasure } from "../../print-stats.ts";
import type { Promisified } from "../async-store.ts";
import type { JobRow } from "../jobs.ts";
import type {
  ErrorStatsRow,
  FilamentStatsRow,
  MonthStatsRow,
  RoomStatsRow,
  StatsRange,
  statStatements,
} from "../stats.ts";
import { atomic, one, type Pg, rows } from "./run.ts";

export function pgStatStatements(pg: Pg, opts: { zone: string }): Promisified<ReturnType<typeof statStatements>> {
  const { sql } = pg;
  const factsOf = async (jobId: number) => {
    const [trays, sent] = await Promise.all([
      rows<FilamentFacts["trays"][number]>(sql`SELECT tray, type, color FROM job_filaments WHERE job_id = ${jobId}
        ORDER BY first_used_at, tray`),
      one<{ filaments_json: string; options_json: string }>(sql`SELECT p.filaments_json, s.options_json FROM sends s
        JOIN library_plates p ON p.file_id = s.file_id AND p.plate = s.plate
        WHERE s.job_id = ${jobId} ORDER BY s.id DESC LIMIT 1`),
    ]);
    return filamentFacts(trays, sent);
  };
  return {
    /** Every upsert of the print, pipelined in one transaction. */
    addJob: async (job: JobRow) => {
      const c = contributionOf(job, opts.zone, await factsOf(job.id));
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
          ...c.filaments.map(
            (f) => tx`INSERT INTO print_filament_stats (printer_id, month, type, color, prints, grams, grams_prints)
              VALUES (${c.printer_id}, ${c.month}, ${f.type}, ${f.color}, 1, ${f.grams ?? 0},
                ${f.grams === null ? 0 : 1})
              ON CONFLICT (printer_id, month, type, color) DO UPDATE SET
                prints = print_filament_stats.prints + 1, grams = print_filament_stats.grams + excluded.grams,
                grams_prints = print_filament_stats.grams_prints + excluded.grams_prints`,
          ),
        ]);
      });
    },
    filamentFacts: factsOf,
    filaments: (r: StatsRange) =>
      rows<FilamentStatsRow>(sql`SELECT type, color, sum(prints)::int8 AS prints, sum(grams)::float8 AS grams,
          sum(grams_prints)::int8 AS grams_prints
        FROM print_filament_stats
        WHERE month >= ${r.from} AND month <= ${r.to} AND (${r.printerId}::int8 = 0 OR printer_id = ${r.printerId}::int8)
        GROUP BY type, color ORDER BY grams DESC, prints DESC, type, color`),
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
          tx`DELETE FROM print_filament_stats WHERE printer_id = ${printerId}`,
        ]);
      }),
  };
}
