// Statistics by filament: prints with known AMS trays, some sent from the library (their plate's grams, mapped to
// trays by ams_mapping), give filament per type and colour in the API, the CSV and the page, and room bands per
// filament type (the print's main filament), equal to a computation made here.
import { describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import { getPage } from "./helpers.ts";

const fx = useApp({ config: { printers: [{ name: "A1 workshop" }, { name: "P1S" }] as never } });

type Tray = { tray: number; type: string; color: string };
type Seed = {
  printer: number;
  day: string;
  outcome: "finished" | "failed" | "cancelled";
  trays: Tray[];
  /** Sent from the library: the plate's filaments, and the ams_mapping the send asked for. */
  plate?: { filaments: { type: string; color: string; grams: number }[]; ams_mapping: number[] };
  humidity?: number;
};

const PLA_RED = { type: "PLA", color: "FF0000FF" };
const PLA_BLACK = { type: "PLA", color: "000000FF" };
const PETG_BLUE = { type: "PETG", color: "0A2989FF" };
const SEEDS: Seed[] = [
  { printer: 1, day: "2026-03-10", outcome: "finished", trays: [{ tray: 0, ...PLA_RED }], humidity: 41 },
  {
    printer: 1,
    day: "2026-03-11",
    outcome: "failed",
    trays: [
      { tray: 1, ...PETG_BLUE },
      { tray: 0, ...PLA_RED },
    ],
    humidity: 72,
  },
  // Sent from the library: tray 2 holds black PLA (the slicer called it grey: the AMS wins); 12.5 g + 3.25 g.
  {
    printer: 2,
    day: "2026-04-02",
    outcome: "finished",
    trays: [
      { tray: 2, ...PLA_BLACK },
      { tray: 1, ...PETG_BLUE },
    ],
    plate: {
      filaments: [
        { type: "PLA", color: "#808080", grams: 12.5 },
        { type: "PETG", color: "#0a2989", grams: 3.25 },
      ],
      ams_mapping: [2, 1],
    },
    humidity: 75,
  },
  // From the library, PETG the most grams: its main filament is PETG though PLA was used first.
  {
    printer: 2,
    day: "2026-04-03",
    outcome: "failed",
    trays: [
      { tray: 0, ...PLA_RED },
      { tray: 1, ...PETG_BLUE },
    ],
    plate: {
      filaments: [
        { type: "PLA", color: "#FF0000", grams: 1 },
        { type: "PETG", color: "#0A2989", grams: 40 },
      ],
      ams_mapping: [0, 1],
    },
    humidity: 73,
  },
  { printer: 1, day: "2026-05-20", outcome: "cancelled", trays: [{ tray: 0, ...PLA_BLACK }], humidity: 50 },
  { printer: 1, day: "2026-05-21", outcome: "finished", trays: [], humidity: 52 },
];

let fileSeq = 0;
function seed(s: Seed) {
  const { store } = fx.app;
  const start = Date.parse(`${s.day}T12:00:00Z`);
  const id = store.jobs.insert(s.printer, "part", "part.3mf", start);
  for (const [i, t] of s.trays.entries())
    store.jobs.addFilament({ job_id: id, tray: t.tray, type: t.type, color: t.color, brand: null, first_used_at: i });
  if (s.plate) {
    const db = store.db;
    const file = ++fileSeq + 1000;
    db.run(
      "INSERT INTO library_files (id, name, size, sha256, uploaded_by, created_at) VALUES (?, 'f', 1, 'x', 'a', 0)",
      [file],
    );
    db.run(
      `INSERT INTO library_plates (file_id, plate, name, filaments_json, objects_json, thumbnail)
       VALUES (?, 1, 'Plate 1', ?, '[]', 0)`,
      [file, JSON.stringify(s.plate.filaments)],
    );
    db.run(
      `INSERT INTO sends (printer_id, file_id, plate, options_json, task_id, remote_name, status, progress, job_id,
         username, created_at, updated_at) VALUES (?, ?, 1, ?, 1, 'f', 'started', 1, ?, 'a', 0, 0)`,
      [s.printer, file, JSON.stringify({ ams_mapping: s.plate.ams_mapping }), id],
    );
  }
  if (s.humidity !== undefined) {
    const job = store.jobs.byId(id)!;
    Object.assign(job, { temp_min: 22, temp_max: 22, temp_sum: 44, hum_min: s.humidity, hum_max: s.humidity });
    Object.assign(job, { hum_sum: s.humidity * 2, readings: 2, weather_points: "[]" });
    store.jobs.saveWeather(job);
  }
  store.jobs.close(id, start + 3_600_000, s.outcome);
}

const hex = (c: string) => `#${c.replace("#", "").slice(0, 6).toUpperCase()}`;

/** Filament per type and colour, worked out from SEEDS alone. */
function expectedFilament(printer = 0) {
  const out = new Map<string, { type: string; color: string; grams: number; prints: number; grams_prints: number }>();
  for (const s of SEEDS.filter((x) => !printer || x.printer === printer)) {
    const uses: { type: string; color: string; grams: number | null }[] = s.plate
      ? s.plate.filaments.map((f, i) => {
          const t = s.trays.find((x) => x.tray === s.plate!.ams_mapping[i]);
          return { type: t?.type ?? f.type, color: hex(t?.color ?? f.color), grams: f.grams };
        })
      : s.trays.map((t) => ({ type: t.type, color: hex(t.color), grams: null }));
    for (const u of uses) {
      const k = `${u.type}|${u.color}`;
      const o = out.get(k) ?? { type: u.type, color: u.color, grams: 0, prints: 0, grams_prints: 0 };
      o.prints++;
      if (u.grams !== null) {
        o.grams += u.grams;
        o.grams_prints++;
      }
      out.set(k, o);
    }
  }
  return [...out.values()]
    .map((o) => ({ ...o, grams: o.grams_prints ? o.grams : null }))
    .sort(
      (a, b) =>
        (b.grams ?? 0) - (a.grams ?? 0) ||
        b.prints - a.prints ||
        a.type.localeCompare(b.type) ||
        a.color.localeCompare(b.color),
    );
}

/** Humidity bands (10 %) of finished and failed prints whose main filament is `type`. */
function expectedRoom(type: string) {
  const bands = new Map<number, { prints: number; failed: number }>();
  for (const s of SEEDS) {
    if (s.outcome === "cancelled" || s.humidity === undefined) continue;
    const main = s.plate
      ? s.plate.filaments.reduce((m, f, i) => (f.grams > m.grams ? { grams: f.grams, i } : m), { grams: -1, i: 0 })
      : null;
    const mainType = main
      ? (s.trays.find((t) => t.tray === s.plate!.ams_mapping[main.i])?.type ?? s.plate!.filaments[main.i]!.type)
      : (s.trays[0]?.type ?? "");
    if (mainType !== type) continue;
    const band = Math.floor(s.humidity / 10) * 10;
    const b = bands.get(band) ?? { prints: 0, failed: 0 };
    b.prints++;
    if (s.outcome === "failed") b.failed++;
    bands.set(band, b);
  }
  return [...bands].sort((a, b) => a[0] - b[0]).map(([band, b]) => ({ humidity_min: band, ...b }));
}

const api = async <T>(path: string) => {
  const res = await fetch(`${fx.app.url}${path}`, { headers: { cookie: fx.cookie } });
  return { status: res.status, body: (await res.json()) as T };
};
const RANGE = "from=2026-01&to=2026-12";
type FilamentOut = ReturnType<typeof expectedFilament>;

describe("statistics by filament", () => {
  test("filament per type and colour: grams from library plates, prints from the AMS trays", async () => {
    for (const s of SEEDS) seed(s);
    const all = await api<{ filament: FilamentOut }>(`/api/stats?${RANGE}`);
    expect(all.status).toBe(200);
    expect(all.body.filament).toEqual(expectedFilament());
    // Worked out by hand too: black PLA 12.5 g of 1 print known (2 prints), blue PETG 43.25 g of 2 (3 prints).
    expect(all.body.filament.find((f) => f.type === "PETG")).toEqual({
      type: "PETG",
      color: "#0A2989",
      grams: 43.25,
      prints: 3,
      grams_prints: 2,
    });
    expect(all.body.filament.find((f) => f.color === "#000000")).toMatchObject({ grams: 12.5, prints: 2 });
    const one = await api<{ filament: FilamentOut }>(`/api/stats?${RANGE}&printer_id=1`);
    expect(one.body.filament).toEqual(expectedFilament(1));
    expect(one.body.filament.every((f) => f.grams === null)).toBe(true);
  });

  test("room bands per filament type use each print's main filament", async () => {
    for (const type of ["PLA", "PETG"]) {
      const room = await api<{ bands: { humidity_min: number; prints: number; failed: number }[] }>(
        `/api/stats/room?filament=${type}`,
      );
      expect(room.body.bands.map(({ humidity_min, prints, failed }) => ({ humidity_min, prints, failed }))).toEqual(
        expectedRoom(type),
      );
    }
    // Every filament together still counts the print with no filament known.
    const all = await api<{ bands: { prints: number }[] }>("/api/stats/room");
    const counted = SEEDS.filter((s) => s.outcome !== "cancelled" && s.humidity !== undefined).length;
    expect(all.body.bands.reduce((n, b) => n + b.prints, 0)).toBe(counted);
  });

  test("the CSV and the page show the same filament numbers", async () => {
    const res = await fetch(`${fx.app.url}/api/stats.csv?${RANGE}&table=filament`, {
      headers: { cookie: fx.cookie },
    });
    expect(res.headers.get("content-type")).toContain("text/csv");
    const lines = (await res.text()).trimEnd().split("\r\n");
    expect(lines[0]).toBe("type,color,prints,grams,grams_prints");
    expect(lines.slice(1)).toEqual(
      expectedFilament().map((f) => [f.type, f.color, f.prints, f.grams ?? "", f.grams_prints].join(",")),
    );
    const bad = await fetch(`${fx.app.url}/api/stats.csv?${RANGE}&table=nope`, { headers: { cookie: fx.cookie } });
    expect(bad.status).toBe(400);
    const page = await getPage(fx.app, `/stats?${RANGE}&filament=PETG`, fx.cookie);
    expect(page.status).toBe(200);
    for (const f of expectedFilament()) {
      expect(page.text).toContain(`data-type="${f.type}" data-color="${f.color}"`);
      if (f.grams !== null) expect(page.text).toContain(f.grams.toFixed(1));
    }
    expect(page.text).toContain('<option value="PETG" selected');
  });
});
