// Owns readings and printer_summaries on PostgreSQL: the methods, results and zone buckets of ../readings.ts.
import { summaryBuckets } from "../../time.ts";
import type { Promisified } from "../async-store.ts";
import type { Bucket, ReadingRow, readingStatements, SummaryRow } from "../readings.ts";
import { atomic, one, type Pg, rows } from "./run.ts";

export function pgReadingStatements(pg: Pg, opts: { zone: string }): Promisified<ReturnType<typeof readingStatements>> {
  const { sql } = pg;
  return {
    /**
     * One statement: the reading and its hour and day rows (two keys, so one upsert may touch both). One round
     * trip, and it pipelines with its neighbours in the write queue's batch.
     */
    insert: async (printerId: number, deviceId: number, at: number, temperature: number, humidity: number) => {
      const b = summaryBuckets(at, opts.zone);
      const [row] = await rows<{ id: number }>(sql`
        WITH r AS (
          INSERT INTO readings (printer_id, device_id, recorded_at, temperature, humidity)
          VALUES (${printerId}, ${deviceId}, ${at}, ${temperature}::float8, ${humidity}::float8) RETURNING id
        ), s AS (
          INSERT INTO printer_summaries AS p
            (printer_id, bucket, start_at, count, temp_sum, temp_min, temp_max, hum_sum, hum_min, hum_max)
          SELECT ${printerId}::int8, v.bucket, v.start_at::int8, 1, t, t, t, h, h, h
          FROM (VALUES ('hour', ${b.hour}::int8), ('day', ${b.day}::int8)) AS v(bucket, start_at),
            (VALUES (${temperature}::float8, ${humidity}::float8)) AS x(t, h)
          ON CONFLICT (printer_id, bucket, start_at) DO UPDATE SET
            count = p.count + 1,
            temp_sum = p.temp_sum + excluded.temp_sum,
            temp_min = least(p.temp_min, excluded.temp_min),
            temp_max = greatest(p.temp_max, excluded.temp_max),
            hum_sum = p.hum_sum + excluded.hum_sum,
            hum_min = least(p.hum_min, excluded.hum_min),
            hum_max = greatest(p.hum_max, excluded.hum_max)
        )
        SELECT id FROM r`);
      return row!.id;
    },
    between: (printerId: number, start: number, end: number) =>
      rows<ReadingRow>(sql`SELECT * FROM readings
        WHERE printer_id = ${printerId} AND recorded_at >= ${start} AND recorded_at < ${end} ORDER BY recorded_at, id`),
    stamp: async (printerId: number, start: number, end: number) => {
      const r = (await one<{ n: number; m: number | null }>(sql`SELECT count(*) AS n, max(id) AS m FROM readings
        WHERE printer_id = ${printerId} AND recorded_at >= ${start} AND recorded_at < ${end}`))!;
      return `${r.n}-${r.m ?? 0}`;
    },
    latest: (printerId: number) =>
      one<ReadingRow>(
        sql`SELECT * FROM readings WHERE printer_id = ${printerId} ORDER BY recorded_at DESC, id DESC LIMIT 1`,
      ),
    summaries: (printerId: number, bucket: Bucket, start: number, end: number) =>
      rows<SummaryRow>(sql`
        SELECT start_at, count, temp_min, temp_sum / count AS temp_avg, temp_max,
          hum_min, hum_sum / count AS hum_avg, hum_max
        FROM printer_summaries
        WHERE printer_id = ${printerId} AND bucket = ${bucket} AND start_at >= ${start} AND start_at < ${end}
        ORDER BY start_at`),
    pruneBatch: async (before: number, limit: number) =>
      (
        await sql`DELETE FROM readings WHERE id IN (
          SELECT id FROM readings WHERE recorded_at < ${before} ORDER BY recorded_at, id LIMIT ${limit})`
      ).count as number,
    deleteOfPrinter: (printerId: number) =>
      atomic(pg, async ({ sql: tx }) => {
        await Promise.all([
          tx`DELETE FROM readings WHERE printer_id = ${printerId}`,
          tx`DELETE FROM printer_summaries WHERE printer_id = ${printerId}`,
        ]);
      }),
  };
}
