// Stored data over time: hourly and daily summaries in the configured zone, retention, status de-duplication,
// and a dense day's chart points.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { dayRange, zonedToUtc } from "../src/time.ts";
import {
  collect,
  connected,
  connectSocket,
  emitWithAck,
  getPage,
  login,
  sleep,
  startApp,
  type TestApp,
  until,
} from "./helpers.ts";

const ZONE = "Europe/Helsinki";
let app: TestApp;
let cookie: string;
beforeAll(async () => {
  app = await startApp({ timezone: ZONE, device_rate_limit: 0, raw_retention_days: 30 });
  cookie = await login(app);
});
afterAll(async () => {
  await app.close();
});

const api = async (path: string) => JSON.parse((await getPage(app, path, cookie)).text);
const at = (day: string, h: number, m: number) => {
  const [y, mo, d] = day.split("-").map(Number);
  return zonedToUtc(y!, mo!, d!, ZONE, h, m);
};
type Summary = {
  start: string;
  count: number;
  temperature: { min: number; avg: number; max: number };
  humidity: { min: number; avg: number; max: number };
};

describe("summaries", () => {
  test("a day's summary equals the aggregate of its raw rows, and so does each hour's", async () => {
    let seed = 7;
    const r = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let i = 0; i < 500; i++)
      app.store.readings.insert(
        1,
        1,
        at("2025-03-10", Math.floor(r() * 24), Math.floor(r() * 60)),
        Math.round((15 + r() * 15) * 10) / 10,
        Math.round(r() * 1000) / 10,
      );
    const raw = (await api("/api/temphum?date=2025-03-10")) as {
      timestamp: string;
      temperature: number;
      humidity: number;
    }[];
    expect(raw.length).toBe(500);
    const [day] = (await api("/api/temphum/summary?from=2025-03-10&to=2025-03-10&bucket=day")) as Summary[];
    const temps = raw.map((x) => x.temperature);
    expect(day!.count).toBe(500);
    expect(day!.start).toBe("2025-03-10T00:00:00.000+02:00");
    expect(day!.temperature.min).toBe(Math.min(...temps));
    expect(day!.temperature.max).toBe(Math.max(...temps));
    expect(day!.temperature.avg).toBeCloseTo(temps.reduce((a, b) => a + b, 0) / temps.length, 2);
    expect(day!.humidity.max).toBe(Math.max(...raw.map((x) => x.humidity)));

    const hours = (await api("/api/temphum/summary?from=2025-03-10&to=2025-03-10&bucket=hour")) as Summary[];
    expect(hours.reduce((n, h) => n + h.count, 0)).toBe(500);
    for (const h of hours) {
      const inHour = raw.filter((x) => x.timestamp.slice(0, 13) === h.start.slice(0, 13));
      expect(h.count).toBe(inHour.length);
      expect(h.temperature.max).toBe(Math.max(...inHour.map((x) => x.temperature)));
    }
  });

  test("a reading arriving out of order updates the right (older) bucket", async () => {
    app.store.readings.insert(1, 1, at("2025-03-12", 9, 0), 20, 50);
    app.store.readings.insert(1, 1, at("2025-03-13", 9, 0), 21, 50);
    app.store.readings.insert(1, 1, at("2025-03-12", 23, 59), 40, 10); // late arrival for the day before
    const days = (await api("/api/temphum/summary?from=2025-03-12&to=2025-03-13&bucket=day")) as Summary[];
    expect(days.map((d) => [d.start.slice(0, 10), d.count, d.temperature.max])).toEqual([
      ["2025-03-12", 2, 40],
      ["2025-03-13", 1, 21],
    ]);
  });

  test("the day bucket follows the configured zone across a DST change", async () => {
    // Helsinki moves to summer time on 2025-03-30: that day has 23 hours.
    for (let h = 0; h < 24; h++) if (h !== 3) app.store.readings.insert(1, 1, at("2025-03-30", h, 30), 10, 10);
    const [d] = (await api("/api/temphum/summary?from=2025-03-30&to=2025-03-30&bucket=day")) as Summary[];
    expect(d!.count).toBe(23);
    const hours = (await api("/api/temphum/summary?from=2025-03-30&to=2025-03-30&bucket=hour")) as Summary[];
    expect(hours.length).toBe(23);
    const range = dayRange("2025-03-30", ZONE)!;
    expect(range.end - range.start).toBe(23 * 3600000);
  });

  test("bad summary requests answer 400 with a reason", async () => {
    for (const q of [
      "bucket=week",
      "from=2025-13-01",
      "from=2025-03-10&to=2025-03-01",
      "from=2020-01-01&to=2025-01-01&bucket=hour",
    ]) {
      const res = await getPage(app, `/api/temphum/summary?${q}`, cookie);
      expect(`${q} ${res.status}`).toBe(`${q} 400`);
      expect(JSON.parse(res.text).error).toBeTruthy();
    }
  });
});

describe("retention", () => {
  test("pruning drops raw readings past the window, keeps their summaries, does not hold up live ingest", async () => {
    const old = Date.now() - 40 * 86400000;
    const insertMany = app.store.db.transaction(() => {
      for (let i = 0; i < 6000; i++) app.store.readings.insert(1, 1, old + i * 1000, 18, 40);
    });
    insertMany();
    const oldDay = new Date(old).toISOString().slice(0, 10);
    const before = (await api(`/api/temphum/summary?from=${oldDay}&to=${oldDay}&bucket=day`)) as Summary[];
    const device = await connected(connectSocket(app, { cookie }));
    const pruning = app.retention.pruneOnce();
    const acks: { ok: boolean; id: number }[] = [];
    for (let i = 0; i < 30; i++) acks.push(await emitWithAck(device, "temphum", { temperature: 22, humidity: 30 }));
    const pruned = await pruning;
    device.disconnect();
    expect(pruned).toBeGreaterThanOrEqual(6000);
    expect(acks.every((a) => a.ok)).toBe(true);
    const stillOld = app.store.db
      .query("SELECT count(*) AS n FROM readings WHERE recorded_at < ?")
      .get(Date.now() - 30 * 86400000) as { n: number };
    expect(stillOld.n).toBe(0);
    expect(await api(`/api/temphum/summary?from=${oldDay}&to=${oldDay}&bucket=day`)).toEqual(before);
    for (const a of acks) expect(app.store.db.query("SELECT id FROM readings WHERE id = ?").get(a.id)).toBeTruthy();
  });
});

describe("status de-duplication", () => {
  test("a repeated status moves its last-seen time instead of adding rows; a change adds one", async () => {
    const device = await connected(connectSocket(app, { cookie }));
    const viewer = await connected(connectSocket(app, { cookie }));
    const seen = collect<{ status: string; recorded_at: number; since: number }>(viewer, "status2v");
    const count = () => (app.store.db.query("SELECT count(*) AS n FROM statuses").get() as { n: number }).n;
    const before = count();
    const first = await emitWithAck<{ ok: boolean; id: number }>(device, "status", { status: "printing" });
    for (let i = 0; i < 4; i++) {
      await sleep(5); // time to pass, not a wait for anything: each repeat is seen at a later millisecond
      const again = await emitWithAck<{ id: number }>(device, "status", { status: "printing" });
      expect(again.id).toBe(first.id);
    }
    expect(count()).toBe(before + 1);
    await emitWithAck(device, "status", { status: "finished" });
    expect(count()).toBe(before + 2);
    await until(
      () => seen.length,
      (n) => n >= 6,
    );
    expect(seen.map((s) => s.status)).toEqual(["printing", "printing", "printing", "printing", "printing", "finished"]);
    expect(seen[4]!.recorded_at).toBeGreaterThan(seen[0]!.recorded_at);
    expect(seen[4]!.since).toBe(seen[0]!.since);
    const latest = await api("/api/latest");
    expect(latest.status.status).toBe("finished");
    device.disconnect();
    viewer.disconnect();
  });
});

describe("chart points", () => {
  test("a dense day is averaged down to at most 1,440 chart points, keeping the day's span and mean", async () => {
    const { chartPoints } = await import("../views/dashboard.tsx");
    const start = Date.UTC(2025, 0, 1);
    const rows = Array.from({ length: 86400 }, (_, i) => ({
      id: i,
      printer_id: 1,
      device_id: 1,
      recorded_at: start + i * 1000,
      temperature: 20 + (i % 100) / 100,
      humidity: 50,
    }));
    const points = chartPoints(rows);
    expect(points.length).toBeLessThanOrEqual(1440);
    expect(points.length).toBeGreaterThan(1400);
    expect(points[0]!.recorded_at).toBeLessThan(start + 60_000);
    expect(points.at(-1)!.recorded_at).toBeGreaterThan(start + 86400_000 - 60_000);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(points.map((p) => p.temperature))).toBeCloseTo(mean(rows.map((r) => r.temperature)), 2);
    expect(chartPoints(rows.slice(0, 100))).toHaveLength(100);
  });
});
