// Owns the readings and printer_summaries tables: raw temperature/humidity and their hourly/daily
// aggregates, every query scoped to one printer.
import type { Database } from "bun:sqlite";
import { summaryBuckets } from "../time.ts";

export type ReadingRow = {
  id: number;
  printer_id: number;
  device_id: number;
  recorded_at: number;
  temperature: number;
  humidity: number;
};
export type SummaryRow = {
  start_at: number;
  count: number;
  temp_min: number;
  temp_avg: number;
  temp_max: number;
  hum_min: number;
  hum_avg: number;
  hum_max: number;
};
export type Bucket = "hour" | "day";

export function readingStatements(db: Database, opts: { zone: string }) {
  const q = {
    insert: db.query<{ id: number }, [number, number, number, number, number]>(
      `INSERT INTO readings (printer_id, device_id, recorded_at, temperature, humidity)
       VALUES (?, ?, ?, ?, ?) RETURNING id`,
    ),
    upsertSummary: db.query<never, [number, Bucket, number, number, number]>(`
      INSERT INTO printer_summaries
        (printer_id, bucket, start_at, count, temp_sum, temp_min, temp_max, hum_sum, hum_min, hum_max)
      VALUES (?1, ?2, ?3, 1, ?4, ?4, ?4, ?5, ?5, ?5)
      ON CONFLICT (printer_id, bucket, start_at) DO UPDATE SET
        count = count + 1,
        temp_sum = temp_sum + excluded.temp_sum,
        temp_min = min(temp_min, excluded.temp_min),
        temp_max = max(temp_max, excluded.temp_max),
        hum_sum = hum_sum + excluded.hum_sum,
        hum_min = min(hum_min, excluded.hum_min),
        hum_max = max(hum_max, excluded.hum_max)`),
    between: db.query<ReadingRow, [number, number, number]>(
      `SELECT * FROM readings WHERE printer_id = ? AND recorded_at >= ? AND recorded_at < ?
       ORDER BY recorded_at, id`,
    ),
    stamp: db.query<{ n: number; m: number | null }, [number, number, number]>(
      `SELECT count(*) AS n, max(id) AS m FROM readings
       WHERE printer_id = ? AND recorded_at >= ? AND recorded_at < ?`,
    ),
    latest: db.query<ReadingRow, [number]>(
      "SELECT * FROM readings WHERE printer_id = ? ORDER BY recorded_at DESC, id DESC LIMIT 1",
    ),
    summaries: db.query<SummaryRow, [number, Bucket, number, number]>(`
      SELECT start_at, count, temp_min, temp_sum / count AS temp_avg, temp_max,
        hum_min, hum_sum / count AS hum_avg, hum_max
      FROM printer_summaries WHERE printer_id = ? AND bucket = ? AND start_at >= ? AND start_at < ?
      ORDER BY start_at`),
    oldestBefore: db.query<{ id: number }, [number, number]>(
      "SELECT id FROM readings WHERE recorded_at < ? ORDER BY recorded_at LIMIT ?",
    ),
    delete: db.query<never, [number]>("DELETE FROM readings WHERE id = ?"),
    deleteOfPrinter: db.query<never, [number]>("DELETE FROM readings WHERE printer_id = ?"),
    deleteSummariesOfPrinter: db.query<never, [number]>("DELETE FROM printer_summaries WHERE printer_id = ?"),
  };
  return {
    /** Stores a reading and folds it into its hour and day summaries, in one transaction. */
    insert: db.transaction((printerId: number, deviceId: number, at: number, temperature: number, humidity: number) => {
      const id = q.insert.get(printerId, deviceId, at, temperature, humidity)!.id;
      const b = summaryBuckets(at, opts.zone);
      q.upsertSummary.run(printerId, "hour", b.hour, temperature, humidity);
      q.upsertSummary.run(printerId, "day", b.day, temperature, humidity);
      return id;
    }),
    between: (printerId: number, start: number, end: number) => q.between.all(printerId, start, end),
    /** Changes whenever a reading in [start, end) is added or removed: a cheap cache validator. */
    stamp: (printerId: number, start: number, end: number) => {
      const r = q.stamp.get(printerId, start, end)!;
      return `${r.n}-${r.m ?? 0}`;
    },
    latest: (printerId: number) => q.latest.get(printerId),
    summaries: (printerId: number, bucket: Bucket, start: number, end: number) =>
      q.summaries.all(printerId, bucket, start, end),
    /** Deletes up to `limit` raw readings older than `before` (oldest first); summaries stay. */
    pruneBatch: db.transaction((before: number, limit: number) => {
      const ids = q.oldestBefore.all(before, limit);
      for (const { id } of ids) q.delete.run(id);
      return ids.length;
    }),
    deleteOfPrinter: (printerId: number) => {
      q.deleteOfPrinter.run(printerId);
      q.deleteSummariesOfPrinter.run(printerId);
    },
  };
}
