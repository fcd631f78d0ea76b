// Migration 3: hourly/daily reading summaries kept as readings arrive (raw rows may be pruned; these stay),
// and statuses stored as changes with the time the same status was last seen.
import type { Database } from "bun:sqlite";
import { summaryBuckets } from "../../time.ts";
import type { MigrationContext } from "../migrations.ts";

/** Per-device summaries, backfilled from the readings already present. */
export function summariesAndStatusChanges(db: Database, ctx: MigrationContext): void {
  db.run(`CREATE TABLE reading_summaries (
      device_id INTEGER NOT NULL REFERENCES devices(id),
      bucket TEXT NOT NULL CHECK (bucket IN ('hour', 'day')),
      start_at INTEGER NOT NULL,
      count INTEGER NOT NULL,
      temp_sum REAL NOT NULL, temp_min REAL NOT NULL, temp_max REAL NOT NULL,
      hum_sum REAL NOT NULL, hum_min REAL NOT NULL, hum_max REAL NOT NULL,
      PRIMARY KEY (bucket, start_at, device_id)
    ) WITHOUT ROWID`);
  db.run("ALTER TABLE statuses ADD COLUMN last_seen_at INTEGER");
  db.run("UPDATE statuses SET last_seen_at = recorded_at");
  backfillSummaries(db, ctx.zone);
}

/** Builds summaries for readings already present (an upgraded database), in one pass. */
function backfillSummaries(db: Database, zone: string): void {
  const upsert = deviceSummaryUpsert(db);
  for (const r of db.query("SELECT device_id, recorded_at, temperature, humidity FROM readings").iterate() as Iterable<{
    device_id: number;
    recorded_at: number;
    temperature: number;
    humidity: number;
  }>) {
    const b = summaryBuckets(r.recorded_at, zone);
    upsert.run(r.device_id, "hour", b.hour, r.temperature, r.humidity);
    upsert.run(r.device_id, "day", b.day, r.temperature, r.humidity);
  }
}

/** Migration 3's per-device summary row (frozen: migration 4 folds these into per-printer rows). */
function deviceSummaryUpsert(db: Database) {
  return db.query<never, [number, string, number, number, number]>(`
    INSERT INTO reading_summaries
      (device_id, bucket, start_at, count, temp_sum, temp_min, temp_max, hum_sum, hum_min, hum_max)
    VALUES (?1, ?2, ?3, 1, ?4, ?4, ?4, ?5, ?5, ?5)
    ON CONFLICT (bucket, start_at, device_id) DO UPDATE SET
      count = count + 1,
      temp_sum = temp_sum + excluded.temp_sum,
      temp_min = min(temp_min, excluded.temp_min),
      temp_max = max(temp_max, excluded.temp_max),
      hum_sum = hum_sum + excluded.hum_sum,
      hum_min = min(hum_min, excluded.hum_min),
      hum_max = max(hum_max, excluded.hum_max)`);
}
