// Statistics and what the room does to prints, from prints with known outcomes, weather and errors: the API's, the
// CSV's and the page's numbers equal a computation made here; bands below min_prints are not relied on.
import { describe, expect, test } from "bun:test";
import type { Outcome } from "../src/store/store.ts";
import { useApp } from "./app-fixture.ts";
import { getPage } from "./helpers.ts";

const fx = useApp({ config: { printers: [{ name: "A1 workshop" }, { name: 'P1S, "garage"' }] as never } });
const HOUR = 3_600_000;

type Seed = {
  printer: number;
  /** A day in the middle of its month (UTC noon): far from any month boundary in Helsinki. */
  day: string;
  minutes: number;
  pausedMinutes?: number;
  outcome: Exclude<Outcome, "running">;
  errors?: { code: string; kind: "hms" | "print_error" }[];
  humidity?: number;
  temperature?: number;
};

/** A print as the job service leaves it: opened, its progress, errors and weather saved, then closed. */
function seed(s: Seed) {
  const { store } = fx.app;
  const start = Date.parse(`${s.day}T12:00:00Z`);
  const id = store.jobs.insert(s.printer, "part", "part.3mf", start);
  const job = store.jobs.byId(id)!;
  job.paused_ms = (s.pausedMinutes ?? 0) * 60_000;
  job.errors = JSON.stringify(s.errors ?? []);
  store.jobs.update(job);
  if (s.humidity !== undefined) {
    const t = s.temperature ?? 22;
    Object.assign(job, { temp_min: t, temp_max: t, temp_sum: t * 2, hum_min: s.humidity, hum_max: s.humidity });
    Object.assign(job, { hum_sum: s.humidity * 2, readings: 2, weather_points: "[]" });
    store.jobs.saveWeather(job);
  }
  store.jobs.close(id, start + s.minutes * 60_000, s.outcome);
  return id;
}

const SEEDS: Seed[] = [
  { printer: 1, day: "2026-03-15", minutes: 90, outcome: "finished", humidity: 41, temperature: 21.5 },
  {
    printer: 1,
    day: "2026-03-16",
    minutes: 30,
    pausedMinutes: 10,
    outcome: "failed",
    humidity: 72,
    temperature: 24.2,
    errors: [
      { code: "0300_0100_0003_0008", kind: "hms" },
      { code: "0300_4000", kind: "print_error" },
    ],
  },
  { printer: 1, day: "2026-03-17", minutes: 45, outcome: "cancelled", humidity: 73 },
  { printer: 1, day: "2026-04-14", minutes: 120, outcome: "finished", humidity: 48, temperature: 23 },
  {
    printer: 1,
    day: "2026-04-15",
    minutes: 60,
    outcome: "failed",
    humidity: 75,
    temperature: 25.9,
    errors: [{ code: "0300_0100_0003_0008", kind: "hms" }],
  },
  { printer: 2, day: "2026-04-15", minutes: 200, pausedMinutes: 20, outcome: "finished", humidity: 55 },
  {
    printer: 2,
    day: "2026-05-10",
    minutes: 15,
    outcome: "failed",
    errors: [{ code: "0300_4000", kind: "print_error" }],
  },
  { printer: 2, day: "2026-05-11", minutes: 80, outcome: "finished", humidity: 44, temperature: 20.1 },
];

/** The expected numbers, worked out from SEEDS alone. */
function expected(printer = 0) {
  const seeds = SEEDS.filter((s) => !printer || s.printer === printer);
  const months = new Map<string, { printer_id: number; month: string; list: Seed[] }>();
  for (const s of seeds) {
    const key = `${s.day.slice(0, 7)}|${s.printer}`;
    const m = months.get(key) ?? { printer_id: s.printer, month: s.day.slice(0, 7), list: [] };
    m.list.push(s);
    months.set(key, m);
  }
  const facts = (list: Seed[]) => {
    const n = (o: string) => list.filter((s) => s.outcome === o).length;
    const ms = list.reduce((a, s) => a + (s.minutes - (s.pausedMinutes ?? 0)) * 60_000, 0);
    return {
      prints: list.length,
      finished: n("finished"),
      failed: n("failed"),
      cancelled: n("cancelled"),
      print_hours: Math.round((ms / HOUR) * 100) / 100,
      success_rate: Math.round((n("finished") / list.length) * 10_000) / 10_000,
    };
  };
  const sorted = [...months.values()].sort((a, b) => a.month.localeCompare(b.month) || a.printer_id - b.printer_id);
  const errors = new Map<string, { kind: string; code: string; count: number }>();
  for (const s of seeds)
    for (const e of s.errors ?? []) {
      const k = `${e.kind}|${e.code}`;
      errors.set(k, { kind: e.kind, code: e.code, count: (errors.get(k)?.count ?? 0) + 1 });
    }
  return {
    months: sorted.map((m) => ({ printer_id: m.printer_id, month: m.month, ...facts(m.list) })),
    printers: [...new Set(sorted.map((m) => m.printer_id))].map((id) => ({
      printer_id: id,
      ...facts(seeds.filter((s) => s.printer === id)),
    })),
    errors: [...errors.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code)),
  };
}

/** Wilson score interval at 95 %, written out independently of the app's. */
function wilson95(k: number, n: number) {
  const z = 1.959964;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = p + (z * z) / (2 * n);
  const r = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return [Math.max(0, (c - r) / d), Math.min(1, (c + r) / d)];
}

const api = async <T>(path: string) => {
  const res = await fetch(`${fx.app.url}${path}`, { headers: { cookie: fx.cookie } });
  return { status: res.status, body: (await res.json()) as T };
};
const RANGE = "from=2026-01&to=2026-12";

describe("statistics", () => {
  test("the API gives prints, hours, success rate per printer and month, and the top errors with wiki links", async () => {
    for (const s of SEEDS) seed(s);
    type Want = ReturnType<typeof expected>;
    type Body = Omit<Want, "printers" | "errors"> & {
      printers: (Want["printers"][number] & { name: string })[];
      errors: (Want["errors"][number] & { wiki_url: string })[];
      filament: unknown[];
    };
    const { status, body } = await api<Body>(`/api/stats?${RANGE}`);
    expect(status).toBe(200);
    const want = expected();
    expect(body.months).toEqual(want.months);
    expect(body.printers.map(({ name: _n, ...p }) => p)).toEqual(want.printers);
    expect(body.printers.map((p) => p.name)).toEqual(["A1 workshop", 'P1S, "garage"']);
    expect(body.errors.map(({ wiki_url: _w, ...e }) => e)).toEqual(want.errors);
    expect(body.errors[0]!.wiki_url).toBe(
      "https://wiki.bambulab.com/en/x1/troubleshooting/hmscode/0300_0100_0003_0008",
    );
    expect(body.filament).toEqual([]);
  });

  test("a printer and a month range narrow the numbers; bad bounds and unknown printers are refused", async () => {
    const one = await api<ReturnType<typeof expected>>(`/api/stats?${RANGE}&printer_id=2`);
    expect(one.body.months).toEqual(expected(2).months);
    const april = await api<ReturnType<typeof expected>>("/api/stats?from=2026-04-01&to=2026-04-30");
    expect(april.body.months).toEqual(expected().months.filter((m) => m.month === "2026-04"));
    expect((await api("/api/stats?from=last-year")).status).toBe(400);
    expect((await api("/api/stats?from=2026-05&to=2026-01")).status).toBe(400);
    expect((await api("/api/stats?printer_id=77")).status).toBe(400);
    const anonymous = await fetch(`${fx.app.url}/api/stats`);
    expect(anonymous.status).toBe(401);
  });

  test("the CSV holds the same rows as the API, with names quoted and safe for spreadsheets", async () => {
    const res = await fetch(`${fx.app.url}/api/stats.csv?${RANGE}`, { headers: { cookie: fx.cookie } });
    expect(res.headers.get("content-type")).toContain("text/csv");
    const lines = (await res.text()).trimEnd().split("\r\n");
    expect(lines[0]).toBe("month,printer_id,printer,prints,finished,failed,cancelled,print_hours,success_rate");
    const names: Record<number, string> = { 1: "A1 workshop", 2: '"P1S, ""garage"""' };
    expect(lines.slice(1)).toEqual(
      expected().months.map((m) =>
        [
          m.month,
          m.printer_id,
          names[m.printer_id],
          m.prints,
          m.finished,
          m.failed,
          m.cancelled,
          m.print_hours,
          m.success_rate,
        ].join(","),
      ),
    );
  });

  test("the page shows the same numbers per printer and month, and the errors linked to the wiki", async () => {
    const page = await getPage(fx.app, `/stats?${RANGE}`, fx.cookie);
    expect(page.status).toBe(200);
    for (const p of expected().printers) {
      const row = new RegExp(`<tr data-printer="${p.printer_id}">([\\s\\S]*?)</tr>`).exec(page.text)![1]!;
      const cells = [...row.matchAll(/<td>([^<]*)<\/td>/g)].map((m) => m[1]);
      expect(cells).toEqual([
        String(p.prints),
        String(p.finished),
        String(p.failed),
        String(p.cancelled),
        p.print_hours.toFixed(2),
        `${(p.success_rate * 100).toFixed(1)} %`,
      ]);
    }
    expect(page.text).toContain('href="https://wiki.bambulab.com/en/x1/troubleshooting/hmscode/0300_0100_0003_0008"');
    expect(page.text).toContain("layerwatch-stats.csv");
  });

  test("a print closed twice is counted once", async () => {
    const before = (await api<ReturnType<typeof expected>>(`/api/stats?${RANGE}`)).body.months;
    const id = seed({ printer: 1, day: "2026-06-15", minutes: 60, outcome: "finished" });
    fx.app.store.jobs.close(id, Date.now(), "failed");
    const after = (await api<ReturnType<typeof expected>>(`/api/stats?${RANGE}`)).body.months;
    expect(after.length).toBe(before.length + 1);
    expect(after.at(-1)).toMatchObject({ month: "2026-06", prints: 1, finished: 1, failed: 0 });
    fx.app.store.db.run("DELETE FROM print_stats WHERE month = '2026-06'");
  });
});

describe("what the room does to prints", () => {
  type Band = {
    humidity_min: number;
    humidity_max: number;
    prints: number;
    failed: number;
    failure_rate: number;
    ci_low: number;
    ci_high: number;
    enough: boolean;
  };
  type TBand = Omit<Band, "humidity_min" | "humidity_max"> & { temp_min: number; temp_max: number };

  test("failure rate per humidity band, with the Wilson interval, and enough only from min_prints", async () => {
    const { body } = await api<{ min_prints: number; bands: Band[] }>("/api/stats/room");
    expect(body.min_prints).toBe(10);
    // Cancelled prints and prints without readings say nothing about the room.
    const counted = SEEDS.filter((s) => s.humidity !== undefined && s.outcome !== "cancelled");
    const bands = [...new Set(counted.map((s) => Math.floor(s.humidity! / 10) * 10))].sort((a, b) => a - b);
    expect(body.bands).toEqual(
      bands.map((b) => {
        const inBand = counted.filter((s) => Math.floor(s.humidity! / 10) * 10 === b);
        const failed = inBand.filter((s) => s.outcome === "failed").length;
        const [low, high] = wilson95(failed, inBand.length);
        const r4 = (x: number) => Math.round(x * 10_000) / 10_000;
        return {
          humidity_min: b,
          humidity_max: b + 10,
          prints: inBand.length,
          failed,
          failure_rate: r4(failed / inBand.length),
          ci_low: r4(low!),
          ci_high: r4(high!),
          enough: inBand.length >= 10,
        };
      }),
    );
  });

  test("temperature bands of 2 °C and one printer's bands", async () => {
    const { body } = await api<{ bands: TBand[] }>("/api/stats/room?by=temperature&printer_id=1");
    const counted = SEEDS.filter((s) => s.printer === 1 && s.humidity !== undefined && s.outcome !== "cancelled");
    const temps = counted.map((s) => Math.floor((s.temperature ?? 22) / 2) * 2);
    expect(body.bands.map((b) => [b.temp_min, b.temp_max, b.prints])).toEqual(
      [...new Set(temps)].sort((a, b) => a - b).map((t) => [t, t + 2, temps.filter((x) => x === t).length]),
    );
    expect((await api("/api/stats/room?by=pressure")).status).toBe(400);
  });

  test("the page shows each band, and 'too few prints' where a band is below min_prints", async () => {
    const page = await getPage(fx.app, "/stats", fx.cookie);
    const table = /<table class="stats-table" id="room-humidity">([\s\S]*?)<\/table>/.exec(page.text)![1]!;
    expect(table).toContain('data-band="70" data-enough="false"');
    expect(table).toContain("too few prints");
  });
});
