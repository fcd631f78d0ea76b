// Data written straight into the SQLite file while the server is stopped: a year of printer 1's readings,
// and 20 printers with millions of readings over past days plus today's for half of them.
import { Database } from "bun:sqlite";
import { statStatements } from "../src/store/stats.ts";
import { dayOf, dayRange, shiftDay } from "../src/time.ts";
import { ZONE } from "./lib.ts";

function open(path: string) {
  const db = new Database(path);
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = OFF");
  db.run("PRAGMA cache_size = -262144");
  db.run("PRAGMA temp_store = MEMORY");
  return db;
}
function close(db: Database) {
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
}
const count = (db: Database) => (db.query("SELECT count(*) AS n FROM readings").get() as { n: number }).n;

/** A year of readings at 10 s intervals. */
export function seedYear(path: string) {
  const db = open(path);
  const end = Date.now() - 60_000;
  const start = end - 365 * 86400_000;
  db.run(`INSERT INTO readings (device_id, recorded_at, temperature, humidity)
    WITH RECURSIVE t(ts) AS (SELECT ${start} UNION ALL SELECT ts + 10000 FROM t WHERE ts + 10000 < ${end})
    SELECT 1, ts, 20 + ((ts / 60000) % 100) / 20.0, 40 + ((ts / 90000) % 200) / 10.0 FROM t`);
  // Summaries by UTC hour/day-start with Helsinki's winter offset: close enough for load, not for display.
  for (const [bucket, size] of [
    ["hour", 3600000],
    ["day", 86400000],
  ] as const) {
    db.run(`INSERT OR IGNORE INTO printer_summaries
        (printer_id, bucket, start_at, count, temp_sum, temp_min, temp_max, hum_sum, hum_min, hum_max)
      SELECT 1, '${bucket}', ((recorded_at + 7200000) / ${size}) * ${size} - 7200000 AS b, count(*),
        sum(temperature), min(temperature), max(temperature), sum(humidity), min(humidity), max(humidity)
      FROM readings GROUP BY b`);
  }
  const n = count(db);
  close(db);
  return { rows: n, midDay: new Date(start + 180 * 86400_000).toISOString().slice(0, 10) };
}

export const FLEET = 20;
/** Printers with today's readings (1..TODAY_PRINTERS); the rest have only past days. */
const TODAY_PRINTERS = 10;
const VALUES = `20 + ((ts / 60000) % 100) / 20.0 + p * 0.1, 40 + ((ts / 90000) % 200) / 10.0`;

/**
 * Printers 2..FLEET (printer 1 exists), and past readings number `from` to `to - 1` of the fleet: reading
 * n is printer 1 + n % FLEET's, 10 s × (1 + n / FLEET) before today's start, so more readings reach
 * further back. The first call also adds today's readings (10 s apart, up to a minute ago) for printers
 * 1..TODAY_PRINTERS. Summaries are added for the new rows: hours straight from them (Helsinki is a whole
 * number of hours off UTC), days rebuilt from the hours with the zone's real day starts.
 */
export function seedFleet(path: string, from: number, to: number) {
  const db = open(path);
  const now = Date.now();
  const today = dayOf(now, ZONE);
  const todayStart = dayRange(today, ZONE)!.start;
  const t0 = performance.now();
  const insertPrinter = db.query("INSERT OR IGNORE INTO printers (id, name, model, created_at) VALUES (?, ?, ?, ?)");
  for (let id = 2; id <= FLEET; id++) insertPrinter.run(id, `Bench printer ${id}`, id % 2 ? "P1S" : "A1", now);
  const firstNew = (db.query("SELECT coalesce(max(id), 0) AS m FROM readings").get() as { m: number }).m;
  db.run(`INSERT INTO readings (printer_id, device_id, recorded_at, temperature, humidity)
    WITH RECURSIVE t(n) AS (SELECT ${from} UNION ALL SELECT n + 1 FROM t WHERE n + 1 < ${to}),
      r(p, ts) AS (SELECT 1 + n % ${FLEET}, ${todayStart} - 10000 * (1 + n / ${FLEET}) FROM t)
    SELECT p, 1, ts, ${VALUES} FROM r`);
  const todayEnd = now - 60_000;
  if (from === 0)
    db.run(`INSERT INTO readings (printer_id, device_id, recorded_at, temperature, humidity)
      WITH RECURSIVE t(ts) AS (SELECT ${todayStart} UNION ALL SELECT ts + 10000 FROM t WHERE ts + 10000 < ${todayEnd}),
        ps(p) AS (SELECT 1 UNION ALL SELECT p + 1 FROM ps WHERE p < ${TODAY_PRINTERS})
      SELECT p, 1, ts, ${VALUES} FROM ps CROSS JOIN t ORDER BY ts, p`);
  const insertSeconds = (performance.now() - t0) / 1000;
  db.run(`INSERT INTO printer_summaries
      (printer_id, bucket, start_at, count, temp_sum, temp_min, temp_max, hum_sum, hum_min, hum_max)
    SELECT printer_id, 'hour', (recorded_at / 3600000) * 3600000 AS b, count(*),
      sum(temperature), min(temperature), max(temperature), sum(humidity), min(humidity), max(humidity)
    FROM readings WHERE id > ${firstNew} GROUP BY printer_id, b
    ON CONFLICT (printer_id, bucket, start_at) DO UPDATE SET
      count = count + excluded.count, temp_sum = temp_sum + excluded.temp_sum,
      temp_min = min(temp_min, excluded.temp_min), temp_max = max(temp_max, excluded.temp_max),
      hum_sum = hum_sum + excluded.hum_sum, hum_min = min(hum_min, excluded.hum_min),
      hum_max = max(hum_max, excluded.hum_max)`);
  const oldest = (db.query("SELECT min(recorded_at) AS m FROM readings").get() as { m: number }).m;
  db.run("CREATE TEMP TABLE days (start_at INTEGER PRIMARY KEY, end_at INTEGER NOT NULL)");
  const insertDay = db.query("INSERT INTO days VALUES (?, ?)");
  for (let d = dayOf(oldest, ZONE); d <= today; d = shiftDay(d, 1)) {
    const range = dayRange(d, ZONE)!;
    insertDay.run(range.start, range.end);
  }
  db.run("DELETE FROM printer_summaries WHERE bucket = 'day'");
  db.run(`INSERT INTO printer_summaries
      (printer_id, bucket, start_at, count, temp_sum, temp_min, temp_max, hum_sum, hum_min, hum_max)
    SELECT h.printer_id, 'day', d.start_at, sum(h.count), sum(h.temp_sum), min(h.temp_min), max(h.temp_max),
      sum(h.hum_sum), min(h.hum_min), max(h.hum_max)
    FROM days d JOIN printer_summaries h ON h.bucket = 'hour' AND h.start_at >= d.start_at AND h.start_at < d.end_at
    GROUP BY h.printer_id, d.start_at`);
  const n = count(db);
  close(db);
  return { rows: n, insertSeconds, days: Math.round((todayStart - oldest) / 86400_000) };
}

const ERROR_CODES = ["0300_0100_0003_0008", "0700_2000_0002_0001", "0C00_0100_0001_0004", "0500_0500_0001_0007"];

/**
 * `n` ended prints over the past two years, spread over the fleet's printers, each with an outcome, printing time,
 * an error now and then and the room's weather; then the statistics the server keeps as prints end, built from
 * them by the store's own code (as if each had been closed by the server).
 */
export function seedJobs(path: string, n: number) {
  const db = open(path);
  const now = Date.now();
  const span = 2 * 365 * 86400_000;
  const firstNew = (db.query("SELECT coalesce(max(id), 0) AS m FROM jobs").get() as { m: number }).m;
  const insert = db.query(
    `INSERT INTO jobs (printer_id, name, file, started_at, ended_at, outcome, layer, total_layers, paused_ms, errors,
      temp_min, temp_max, temp_sum, hum_min, hum_max, hum_sum, readings)
     VALUES (?, ?, ?, ?, ?, ?, 100, 100, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const printer = 1 + (i % FLEET);
      const start = now - span + Math.floor((i / n) * span);
      const minutes = 20 + ((i * 37) % 400);
      const humidity = 30 + ((i * 13) % 50);
      const temperature = 18 + ((i * 7) % 12);
      // Humid rooms fail more often, so the room analysis has something to find.
      const outcome = i % 23 === 0 ? "cancelled" : (i * 17) % 100 < (humidity > 65 ? 30 : 8) ? "failed" : "finished";
      const errors = outcome === "failed" ? [{ code: ERROR_CODES[i % ERROR_CODES.length], kind: "hms" }] : [];
      const readings = Math.max(1, Math.floor(minutes / 5));
      insert.run(
        printer,
        `part-${i}`,
        `part-${i}.3mf`,
        start,
        start + minutes * 60_000,
        outcome,
        (i % 5) * 60_000,
        JSON.stringify(errors),
        temperature - 1,
        temperature + 1,
        temperature * readings,
        humidity - 2,
        humidity + 2,
        humidity * readings,
        readings,
      );
    }
    const stats = statStatements(db, { zone: ZONE });
    for (const job of db.query("SELECT * FROM jobs WHERE id > ? ORDER BY id").iterate(firstNew))
      stats.addJob(job as Parameters<typeof stats.addJob>[0]);
  })();
  const jobs = (db.query("SELECT count(*) AS n FROM jobs").get() as { n: number }).n;
  close(db);
  return { jobs };
}
