// Every Bambu model against the real app: each model's real reports (test/fixtures/bambu) replayed by a fake
// printer speaking the real protocol (MQTT over TLS 1.2, pushall, get_version), checked in the printer's state,
// GET /api/printers/:id and its page against the report's own values.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import { login, printerEntry, startApp, type TestApp, until } from "./helpers.ts";

type Print = Record<string, unknown>;
const FIXTURES = join(import.meta.dir, "fixtures/bambu");
const read = (file: string) => JSON.parse(readFileSync(join(FIXTURES, file), "utf8"));

/**
 * Each fixture as a printer: its full report, the deltas that follow it, its get_version modules (none for the
 * reports collected without one: those printers never answer, and the serial's prefix names the model).
 */
const MODELS: { base: string; model: string; serial: string; deltas?: string[] }[] = [
  { base: "a1-idle", model: "A1", serial: "03919A3B0100001" },
  { base: "a1mini-idle", model: "A1 mini", serial: "0309DA3B0100002" },
  { base: "a2l-idle", model: "A2L", serial: "26A00A3B0100003" },
  { base: "p1p-failed", model: "P1P", serial: "01S00A3B0100004" },
  { base: "p1s-finish", model: "P1S", serial: "01P00A3B0100005", deltas: ["p1s-finish.delta1", "p1s-finish.delta2"] },
  { base: "p2s-running", model: "P2S", serial: "22E00A3B0100006" },
  { base: "x1c-finish", model: "X1C", serial: "00M00A3B0100007" },
  { base: "x1c-4ams-finish", model: "X1C", serial: "00M00A3B0100008" },
  { base: "x2d-running", model: "X2D", serial: "20P00A3B0100009" },
  {
    base: "h2d-running",
    model: "H2D",
    serial: "09400A3B0100010",
    deltas: ["h2d-running.delta1", "h2d-running.delta2", "h2d-running.delta3"],
  },
  { base: "h2s-running", model: "H2S", serial: "09300A3B0100011" },
  { base: "h2c-failed", model: "H2C", serial: "31B00A3B0100012" },
];

type ApiTray = { id: number; type: string | null; color: string | null; remain: number | null; active: boolean };
type ApiPrinter = {
  model: string;
  model_source: string;
  model_configured: string;
  firmware: { module: string; version: string }[];
  sources: { lan: string };
  state: Record<string, unknown> & {
    extruders: { id: number; temp: number; target: number; active: boolean }[];
    ams: { units: { id: number; kind: string | null; trays: ApiTray[] }[]; external: ApiTray[] } | null;
  };
};

let app: TestApp;
let cookie: string;
const printers: FakePrinter[] = [];
/** One more printer, an A1 with an AMS lite, for the print that records its filaments. */
let a1: FakePrinter;
const A1_ID = MODELS.length + 1;
const api = async (id: number) =>
  (await (await fetch(`${app.url}/api/printers/${id}`, { headers: { cookie } })).json()) as ApiPrinter;
const page = async (id: number) => await (await fetch(`${app.url}/printers/${id}`, { headers: { cookie } })).text();

beforeAll(async () => {
  for (const m of MODELS) {
    const version = join(FIXTURES, `${m.base}.version.json`);
    const modules = existsSync(version) ? read(`${m.base}.version.json`).info.module : null;
    // The pushall answer is the report as the printer sent it (the fake adds command, msg 0, sequence_id).
    printers.push(await startFakePrinter({ serial: m.serial, report: read(`${m.base}.json`).print, modules }));
  }
  a1 = await startFakePrinter({ commandDelayMs: 20 });
  const all = [...printers, a1];
  app = await startApp({
    // Every one configured as an A1: the printer (or its serial) corrects it.
    printers: [...MODELS.map((m) => m.base), "a1-jobs"].map((name, i) =>
      printerEntry(all[i]!, { name, camera: false, tls: "pin" }),
    ) as never,
  });
  cookie = await login(app);
});
afterAll(async () => {
  await app?.close();
  await Promise.all([...printers, a1].map((p) => p?.close()));
});

/** What the state should show for a report's own values (those every model sends at the top level). */
function expected(print: Print) {
  const out: Record<string, unknown> = { gcode_state: print.gcode_state, total_layers: print.total_layer_num };
  if (typeof print.subtask_name === "string" && print.subtask_name) out.file = print.subtask_name;
  if (typeof print.mc_percent === "number") out.percent = print.mc_percent;
  return out;
}

describe("every model through the fake printer into the app", () => {
  for (const [i, m] of MODELS.entries()) {
    test(`${m.base}: the model, state, AMS trays and page follow the printer's own reports`, async () => {
      const id = i + 1;
      const full = read(`${m.base}.json`).print as Print;
      const first = await until(
        () => api(id),
        (p) => p.sources.lan === "connected" && p.state?.gcode_state === full.gcode_state,
      );
      for (const d of m.deltas ?? []) printers[i]!.report(read(`${d}.json`).print);
      const last = m.deltas?.length ? read(`${m.deltas.at(-1)}.json`).print : null;
      const p = await until(
        () => api(id),
        (p) => !last || !("bed_temper" in last) || p.state.bed_temp === last.bed_temper,
      );
      const answered = existsSync(join(FIXTURES, `${m.base}.version.json`));
      expect({ model: p.model, source: p.model_source, configured: p.model_configured }).toEqual({
        model: m.model,
        source: answered ? "printer" : "serial",
        configured: "A1",
      });
      if (answered) expect(p.firmware[0]?.module).toBe("ota");
      // get_version once per connection (one connection here).
      expect(printers[i]!.versionRequests).toBe(1);
      expect(p.state).toMatchObject(expected(full));
      expect(JSON.stringify(p.state)).not.toContain("NaN");
      expect(first.state.updated_at).toBeTruthy();
      // The AMS trays as the report has them: each unit's tray types and colours.
      const ams = (full.ams as { ams?: { id: string; tray: Print[] }[] } | undefined)?.ams ?? [];
      expect(p.state.ams?.units.map((u) => u.id) ?? []).toEqual(ams.map((u) => Number(u.id)).sort((a, b) => a - b));
      for (const unit of ams) {
        const shown = p.state.ams?.units.find((u) => u.id === Number(unit.id));
        for (const tray of unit.tray) {
          const t = shown?.trays.find(
            (x) => x.id === (Number(unit.id) >= 128 ? Number(unit.id) : Number(unit.id) * 4 + Number(tray.id)),
          );
          expect(t?.type ?? null).toBe((tray.tray_type as string) || null);
          if (tray.tray_type) expect(t?.color).toBe(String(tray.tray_color).toUpperCase());
        }
      }
      const html = await page(id);
      expect(html).toContain(m.model);
      for (const unit of ams)
        for (const tray of unit.tray) if (tray.tray_type) expect(html).toContain(String(tray.tray_type));
    });
  }

  test("the H2D: two nozzles, the active one is the nozzle; its nested deltas kept the rest", async () => {
    const id = MODELS.findIndex((m) => m.base === "h2d-running") + 1;
    const p = await until(
      () => api(id),
      (p) => p.state?.extruders?.[1]?.active === true && p.state.nozzle_diameter === 0.6,
    );
    expect(p.state.extruders.map((e) => [e.id, e.temp, e.target, e.active])).toEqual([
      [0, 264, 225, false],
      [1, 40, 0, true],
    ]);
    expect(p.state).toMatchObject({ nozzle_temp: 40, bed_temp: 100, chamber_temp: 48, signing_required: true });
    const html = await page(id);
    // stg_cur 14 in words; the firmware the printer named; both in Settings too.
    expect(html).toContain("Cleaning the nozzle tip");
    expect(html).toContain("01.01.02.07");
    const settings = await (await fetch(`${app.url}/settings`, { headers: { cookie } })).text();
    expect(settings).toContain("H2D (as the printer says) · Firmware 01.01.02.07");
    expect(html).toContain('data-extruder="0"');
    expect(html).toContain('data-extruder="1"');
  });

  test("a cancel told only in fail_reason (the H2C) is shown as Cancelled, also after a pushall", async () => {
    const id = MODELS.findIndex((m) => m.base === "h2c-failed") + 1;
    const p = await until(
      () => api(id),
      (p) => p.sources.lan === "connected" && p.state?.gcode_state === "FAILED",
    );
    expect((p.state.error as { code: number }).code).toBe(50348044);
    printers[id - 1]!.report({ print_error: 0, fail_reason: "0", mc_print_error_code: "0" });
    printers[id - 1]!.report({ gcode_state: "FAILED", msg: 0, print_error: 0 });
    // Reports on one connection arrive in order: once this one shows, the two before it were applied.
    printers[id - 1]!.report({ wifi_signal: "-33dBm" });
    await until(
      () => api(id),
      (p) => p.state.wifi_dbm === -33,
    );
    expect(await page(id)).toContain("Cancelled");
    expect(((await api(id)).state.error as { code: number }).code).toBe(50348044);
  });
});

describe("a print's filaments", () => {
  const tray = (id: string, tray_type: string, tray_color: string) => ({ id, tray_type, tray_color, remain: 80 });
  const ams = (now: string) => ({
    ams: [{ id: "0", humidity: "4", temp: "0.0", tray: [tray("0", "PLA", "FFFFFFFF"), tray("1", "PETG", "0A2989FF")] }],
    tray_now: now,
  });

  test("a job records each tray it drew from; its page, the history and the API show them", async () => {
    a1.set({ ams: ams("0") });
    await until(
      () => api(A1_ID),
      (p) => p.sources.lan === "connected" && p.state?.ams?.units.length === 1,
    );
    a1.set({ gcode_state: "RUNNING", subtask_name: "two colours", total_layer_num: 4, layer_num: 1 });
    a1.set({ ams: ams("1"), layer_num: 2 });
    a1.set({ gcode_state: "FINISH", layer_num: 4 });
    type Job = { id: number; outcome: string; filaments: { tray: number; type: string; color: string }[] };
    const [job] = await until(
      async () =>
        (await (await fetch(`${app.url}/api/printers/${A1_ID}/jobs`, { headers: { cookie } })).json()) as Job[],
      (jobs) => jobs[0]?.outcome === "finished",
    );
    expect(job!.filaments).toEqual([
      { tray: 0, type: "PLA", color: "FFFFFFFF", brand: null },
      { tray: 1, type: "PETG", color: "0A2989FF", brand: null },
    ] as never);
    const one = (await (await fetch(`${app.url}/api/jobs/${job!.id}`, { headers: { cookie } })).json()) as Job;
    expect(one.filaments.map((f) => f.type)).toEqual(["PLA", "PETG"]);
    for (const path of [`/jobs/${job!.id}`, `/printers/${A1_ID}/history`]) {
      const html = await (await fetch(`${app.url}${path}`, { headers: { cookie } })).text();
      expect(html).toContain('fill="#0A2989"');
      expect(html).toContain("PETG");
    }
  });
});
