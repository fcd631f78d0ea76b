// The printer-state model on its own: report and status translation, merging and the state diff, as pure
// functions (no server). Real printers' reports are replayed from test/fixtures/bambu (sources in its README).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  applyChange,
  type BambuPrint,
  CANCELLED_ERROR,
  deviceFieldsOnly,
  emptyReportMemo,
  emptyState,
  type PrinterState,
  type ReportMemo,
  stateChange,
  stateFromDevice,
  stateFromReport,
} from "../../src/printer-state.ts";

const NOW = Date.UTC(2026, 11, 4, 12);
const report = (file: string): BambuPrint =>
  (JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/bambu", file), "utf8")) as { print: BambuPrint }).print;

/** Applies reports in order as the LAN link does; gives the state and each report's change. */
function replay(prints: BambuPrint[], start = emptyState(), memo: ReportMemo = emptyReportMemo()) {
  let state = start;
  const changes: (Partial<PrinterState> | null)[] = [];
  for (const print of prints) {
    const change = stateChange(state, stateFromReport(print, memo), NOW);
    changes.push(change);
    if (change) state = applyChange(state, change, NOW);
  }
  return { state, changes, memo };
}

/** Every value present and a real value: no undefined, no NaN, at any depth. */
function holes(value: unknown, path = "state"): string[] {
  if (value === undefined) return [path];
  if (typeof value === "number") return Number.isFinite(value) ? [] : [path];
  if (value && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => holes(v, `${path}.${k}`));
  return [];
}

const A1_IDLE = {
  gcode_state: "IDLE",
  stage: 0,
  percent: 0,
  layer: 0,
  total_layers: 0,
  remaining_min: 0,
  file: null,
  nozzle_temp: 27.8125,
  nozzle_target: 0,
  bed_temp: 29.75,
  bed_target: 0,
  speed_level: 2,
  light: "off",
  error: null,
  hms: [],
};

describe("a Bambu report as printer state", () => {
  test("an A1's full pushall gives every LAN field", () => {
    expect(stateFromReport(report("a1-idle.json"), emptyReportMemo())).toEqual(A1_IDLE as Partial<PrinterState>);
  });

  const replays = [
    ["a1-idle.json"],
    ["a1mini-idle.json"],
    ["p1p-failed.json"],
    ["p1s-finish.json", "p1s-finish.delta1.json", "p1s-finish.delta2.json"],
    ["x1c-finish.json"],
    ["h2d-running.json", "h2d-running.delta1.json"],
  ];
  for (const files of replays)
    test(`${files.join(" then ")} gives a state with no undefined or NaN`, () => {
      const { state } = replay(files.map(report));
      expect(holes(state)).toEqual([]);
      expect(state.gcode_state).toMatch(/^[A-Z]+$/);
      expect(Object.keys(state).sort()).toEqual(Object.keys(emptyState()).sort());
    });

  test("the other models' reports read as their printers showed them", () => {
    expect(replay([report("p1p-failed.json")]).state).toMatchObject({
      gcode_state: "FAILED",
      file: "Fidget Collection",
      layer: 1,
      total_layers: 70,
      remaining_min: 759,
      error: null,
    });
    expect(replay([report("x1c-finish.json")]).state).toMatchObject({
      gcode_state: "FINISH",
      stage: -1,
      percent: 100,
      layer: 480,
      total_layers: 480,
      file: "Garden Hose Healer: Male fitting",
      light: "on",
    });
    expect(replay([report("h2d-running.json")]).state).toMatchObject({
      gcode_state: "RUNNING",
      file: "Number 10 House Numbers_plate_1",
      bed_temp: 100,
      bed_target: 100,
      total_layers: 26,
      light: "on",
    });
  });

  test("a P1S's deltas change only the bed temperature they carry", () => {
    const { state, changes } = replay(
      ["p1s-finish.json", "p1s-finish.delta1.json", "p1s-finish.delta2.json"].map(report),
    );
    expect(changes.slice(1)).toEqual([{ bed_temp: 11.96875 }, { bed_temp: 12 }]);
    expect(state).toMatchObject({ gcode_state: "FINISH", layer: 260, total_layers: 260, percent: 100, bed_temp: 12 });
  });

  test("a delta of three keys gives three fields and keeps the rest", () => {
    const memo = emptyReportMemo();
    const { state } = replay([report("a1-idle.json")], emptyState(), memo);
    const delta = { layer_num: 5, mc_percent: 10, nozzle_temper: 220, sequence_id: "7" };
    expect(stateFromReport(delta, memo)).toEqual({ layer: 5, percent: 10, nozzle_temp: 220 });
    const after = replay([delta], state, memo).state;
    expect(after).toMatchObject({ ...A1_IDLE, layer: 5, percent: 10, nozzle_temp: 220 } as Partial<PrinterState>);
  });

  test("a delta with nothing the state shows changes nothing (the H2D's `stat`)", () => {
    const { changes } = replay(["h2d-running.json", "h2d-running.delta1.json"].map(report));
    expect(changes[1]).toBeNull();
  });

  test("nested objects (AMS, device, upgrade state) give no field and break nothing", () => {
    const delta = {
      ams: { ams: [{ id: "0", humidity: "4", tray: [{ id: "0", remain: 80 }] }], tray_now: "255" },
      device: { extruder: { info: [{ id: 0, temp: 14745864 }] } },
      upgrade_state: { status: "IDLE", new_ver_list: [] },
      layer_num: { value: 3 },
    };
    expect(stateFromReport(delta, emptyReportMemo())).toEqual({});
  });

  test("unknown keys are ignored", () => {
    const delta = { wifi_signal: "-48dBm", command: "push_status", msg: 1, fan_gear: 0, not_a_key: "x" };
    expect(stateFromReport(delta, emptyReportMemo())).toEqual({});
  });

  test("a key of the wrong type is ignored; numbers sent as text are read", () => {
    const wrong = {
      mc_percent: "abc",
      layer_num: null,
      gcode_state: 5,
      bed_temper: Number.NaN,
      hms: "none",
      lights_report: { node: "chamber_light", mode: "on" },
      spd_lvl: true,
      print_error: "oops",
      subtask_name: 7,
    };
    expect(stateFromReport(wrong, emptyReportMemo())).toEqual({});
    expect(stateFromReport({ mc_percent: "12", mc_remaining_time: " 30 " }, emptyReportMemo())).toEqual({
      percent: 12,
      remaining_min: 30,
    });
  });

  test("the file is subtask_name, else gcode_file, each remembered apart", () => {
    const memo = emptyReportMemo();
    expect(stateFromReport({ subtask_name: "benchy", gcode_file: "b.gcode" }, memo)).toEqual({ file: "benchy" });
    expect(stateFromReport({ gcode_file: "c.gcode" }, memo)).toEqual({ file: "benchy" });
    expect(stateFromReport({ subtask_name: "" }, memo)).toEqual({ file: "c.gcode" });
    expect(stateFromReport({ gcode_file: "" }, memo)).toEqual({ file: null });
  });

  test("HMS: named as the wiki does, with severity; the list replaces; bad entries dropped", () => {
    const memo = emptyReportMemo();
    const hms = [{ attr: 0x05000500, code: 0x00010007 }, { attr: 0x07002000, code: 0x00020001 }, { attr: 1 }];
    expect(stateFromReport({ hms }, memo).hms).toEqual([
      { code: "0500_0500_0001_0007", severity: "fatal" },
      { code: "0700_2000_0002_0001", severity: "serious" },
    ]);
    expect(stateFromReport({ hms: [] }, memo)).toEqual({ hms: [] });
  });

  test("speed outside 1–4, a missing chamber light and print_error read as the state says them", () => {
    const memo = emptyReportMemo();
    expect(stateFromReport({ spd_lvl: 9 }, memo)).toEqual({ speed_level: null });
    expect(stateFromReport({ lights_report: [{ node: "work_light", mode: "on" }] }, memo)).toEqual({ light: null });
    expect(stateFromReport({ print_error: CANCELLED_ERROR }, memo).error).toEqual({
      code: CANCELLED_ERROR,
      text: "cancelled by the user",
    });
    expect(stateFromReport({ print_error: 0 }, memo)).toEqual({ error: null });
  });
});

describe("a camera Pi's status as printer state", () => {
  test("only the keys it sent, named as the state names them", () => {
    expect(stateFromDevice({ gcode_status: "running", percentage: 40, current_layer: 3 })).toEqual({
      gcode_state: "RUNNING",
      percent: 40,
      layer: 3,
    });
  });

  test("null is unknown; an empty file name is none; the speed is a level 1–4", () => {
    expect(
      stateFromDevice({ remaining_time: null, file_name: "", print_speed: 2.4, nozzle_temperature: 210, status: "x" }),
    ).toEqual({ remaining_min: null, file: null, speed_level: 2, nozzle_temp: 210 });
    expect(stateFromDevice({ print_speed: 100 })).toEqual({ speed_level: null });
  });

  test("the error code, the timelapse flag, and what it may set while the LAN link is up", () => {
    const patch = stateFromDevice({ print_error_code: CANCELLED_ERROR, timelapse_status: true, bed_temperature: 60 });
    expect(patch).toEqual({
      error: { code: CANCELLED_ERROR, text: "cancelled by the user" },
      timelapse: true,
      bed_temp: 60,
    });
    expect(deviceFieldsOnly(patch)).toEqual({ timelapse: true });
  });
});

describe("the state diff", () => {
  const base = applyChange(emptyState(), { gcode_state: "RUNNING", layer: 4, hms: [], error: null }, NOW - 1000);

  test("only the fields whose value really changed; no change at all is null", () => {
    expect(stateChange(base, { gcode_state: "RUNNING", layer: 5, percent: null }, NOW)).toEqual({ layer: 5 });
    expect(stateChange(base, { gcode_state: "RUNNING", layer: 4 }, NOW)).toBeNull();
    expect(stateChange(base, {}, NOW)).toBeNull();
  });

  test("lists and the error compare by content, not identity", () => {
    const hms = [{ code: "0500_0500_0001_0007", severity: "fatal" as const }];
    const withHms = applyChange(base, { hms, error: { code: 1, text: "a" } }, NOW);
    expect(stateChange(withHms, { hms: [{ ...hms[0]! }], error: { code: 1, text: "a" } }, NOW)).toBeNull();
    expect(stateChange(withHms, { hms: [] }, NOW)).toEqual({ hms: [] });
    expect(stateChange(withHms, { error: { code: 2, text: "a" } }, NOW)).toEqual({ error: { code: 2, text: "a" } });
  });

  test("the finish time follows the minutes left only when they change", () => {
    const first = stateChange(base, { remaining_min: 42 }, NOW);
    expect(first).toEqual({ remaining_min: 42, eta: NOW + 42 * 60_000 });
    const held = applyChange(base, first!, NOW);
    expect(stateChange(held, { remaining_min: 42 }, NOW + 30_000)).toBeNull();
    const later = NOW + 30_000;
    expect(stateChange(held, { remaining_min: 41 }, later)).toEqual({ remaining_min: 41, eta: later + 41 * 60_000 });
    expect(stateChange(held, { remaining_min: null }, NOW)).toEqual({ remaining_min: null, eta: null });
  });

  test("updated_at and eta in a patch are not the source's to set", () => {
    expect(stateChange(base, { updated_at: 1, eta: 5 }, NOW)).toBeNull();
  });

  test("applying gives a new state stamped now and leaves the one listeners hold untouched", () => {
    const next = applyChange(base, { layer: 9 }, NOW);
    expect(next).toMatchObject({ layer: 9, gcode_state: "RUNNING", updated_at: NOW });
    expect(base.layer).toBe(4);
    expect(Object.keys(next)).toEqual(Object.keys(emptyState()));
  });
});
