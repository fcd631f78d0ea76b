// Migration 3 on PostgreSQL: per-device reading summaries (backfilled in the configured zone, as on SQLite) and
// statuses' last_seen_at, as 003-summaries-and-status-changes.ts.
import { summaryBuckets } from "../../time.ts";
import type { PgMigration } from "../pg-migrate.ts";

export const summariesAndStatusChanges: PgMigration = async (tx, ctx) => {
  await tx.unsafe(`CREATE TABLE reading_summaries (
      device_id bigint NOT NULL REFERENCES devices(id),
      bucket text NOT NULL CHECK (bucket IN ('hour', 'day')),
      start_at bigint NOT NULL,
      count bigint NOT NULL,
      temp_sum double precision NOT NULL, temp_min double precision NOT NULL, temp_max double precision NOT NULL,
      hum_sum double precision NOT NULL, hum_min double precision NOT NULL, hum_max double precision NOT NULL,
      PRIMARY KEY (bucket, start_at, device_id)
    )`);
  await tx.unsafe("ALTER TABLE statuses ADD COLUMN last_seen_at bigint");
  await tx.unsafe("UPDATE statuses SET last_seen_at = recorded_at");
  // Buckets follow the zone's calendar, which only our code knows: read the readings (none on a new database).
  const readings = (await tx.unsafe("SELECT device_id, recorded_at, temperature, humidity FROM readings")) as {
    device_id: number | bigint;
    recorded_at: number | bigint;
    temperature: number;
    humidity: number;
  }[];
  for (const r of readings) {
    const b = summaryBuckets(Number(r.recorded_at), ctx.zone);
    for (const [bucket, start] of [
      ["hour", b.hour],
      ["day", b.day],
    ] as const)
      await tx.unsafe(
        `INSERT INTO reading_summaries
          (device_id, bucket, start_at, count, temp_sum, temp_min, temp_max, hum_sum, hum_min, hum_max)
        VALUES ($1, $2, $3, 1, $4, $4, $4, $5, $5, $5)
        ON CONFLICT (bucket, start_at, device_id) DO UPDATE SET
          count = reading_summaries.count + 1,
          temp_sum = reading_summaries.temp_sum + excluded.temp_sum,
          temp_min = least(reading_summaries.temp_min, excluded.temp_min),
          temp_max = greatest(reading_summaries.temp_max, excluded.temp_max),
          hum_sum = reading_summaries.hum_sum + excluded.hum_sum,
          hum_min = least(reading_summaries.hum_min, excluded.hum_min),
          hum_max = greatest(reading_summaries.hum_max, excluded.hum_max)`,
        [Number(r.device_id), bucket, start, r.temperature, r.humidity],
      );
  }
};
