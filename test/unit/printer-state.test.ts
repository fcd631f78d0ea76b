// The printer-state model on its own: report and status translation, merging and the state diff, as pure
// functions (no server). Real printers' reports are replayed from test/fixtures/bambu (sources in its README).
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  applyChange,
  type BambuPrint,
  CANCELLED_ERROR,
  deviceFieldsOnly,
  emptyReportMemo,
  emptyState,
  mergeDeep,
  type PrinterState,
  type ReportMemo,
  stateChange,
  stateFromDevice,
  stateFromReport,
  stateFromVersion,
} from "../../src/printer-state.ts";

const NOW = Date.UTC(2026, 11, 4, 12);
const report = (file: string): BambuPrint =>
  (JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/bambu", file), "utf8")) as { print: BambuPrint }).print;

/** Applies reports in order as the LAN link does; gives the state and each report's change. */
function replay(prints: BambuPrint[], start = emptyState(), memo: ReportMemo = emptyReportMemo()) {
  let state = start;
  const changes: (Partial<PrinterState> | null)[] = [];
  for (const print of prints) {
    const change = stateChange(state, stateFromReport(print, memo, state), NOW);
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
  skipped_objects: [],
  sd_card: true,
  wifi_dbm: -48,
  fans: { part: 0, aux: null, chamber: null, heatbreak: 0 },
  nozzle_type: "stainless_steel",
  nozzle_diameter: 0.4,
};

describe("a Bambu report as printer state", () => {
  test("an A1's full pushall gives every LAN field", () => {
    const out = stateFromReport(report("a1-idle.json"), emptyReportMemo("A1"));
    expect(out).toMatchObject(A1_IDLE as Partial<PrinterState>);
    // The A1 sends chamber_temper 5 (it has no chamber thermometer) and no `fun`: neither is a field.
    expect(Object.keys(out).sort()).toEqual([...Object.keys(A1_IDLE), "ams"].sort());
  });

  const replays = [
    ["a1-idle.json"],
    ["a1mini-idle.json"],
    ["p1p-failed.json"],
    ["p1s-finish.json", "p1s-finish.delta1.json", "p1s-finish.delta2.json"],
    ["x1c-finish.json"],
    ["x1c-4ams-finish.json"],
    ["h2d-running.json", "h2d-running.delta1.json", "h2d-running.delta2.json", "h2d-running.delta3.json"],
    ["h2s-running.json"],
    ["h2c-failed.json"],
    ["p2s-running.json"],
    ["x2d-running.json"],
    ["a2l-idle.json"],
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
      stage: null,
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
    // Their Wi-Fi signal (-67, -68 dBm against the full report's -68) is the usual jitter, not a change.
    expect(changes.slice(1)).toEqual([{ bed_temp: 11.96875 }, { bed_temp: 12 }]);
    expect(state).toMatchObject({ gcode_state: "FINISH", layer: 260, total_layers: 260, percent: 100, bed_temp: 12 });
  });

  test("a delta of three keys gives three fields and keeps the rest", () => {
    const memo = emptyReportMemo("A1");
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

  test("nested objects the state has no field for (upgrade state) give none; malformed ones break nothing", () => {
    const delta = {
      ams: { ams: [{ id: "0", humidity: "4", tray: [{ id: "0", remain: 80 }] }], tray_now: "255" },
      device: { extruder: { info: [{ id: 0, temp: 14745864 }] } },
      upgrade_state: { status: "IDLE", new_ver_list: [] },
      layer_num: { value: 3 },
    };
    const out = stateFromReport(delta, emptyReportMemo());
    expect(out.ams?.units[0]?.trays[0]).toMatchObject({ id: 0, type: null, remain: null, color: null });
    expect(out.extruders).toEqual([]);
    expect(Object.keys(out).sort()).toEqual(["ams", "extruders"]);
    const junk = { device: "x", ams: 5, vt_tray: null, vir_slot: [1, "a", null], upgrade_state: {} };
    expect(holes(stateFromReport(junk, emptyReportMemo()))).toEqual([]);
  });

  test("unknown keys are ignored", () => {
    const delta = { command: "push_status", msg: 1, fan_gear: 0, not_a_key: "x", sequence_id: "9" };
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

  test("the skipped objects are s_obj's ids; a list replaces, other values keep what was known", () => {
    const { state, changes } = replay([{ s_obj: [187, "x", 1.5] }, { s_obj: "none" }, { s_obj: [187, 215] }]);
    expect(changes[0]).toEqual({ skipped_objects: [187] });
    expect(changes[1]).toBeNull();
    expect(state.skipped_objects).toEqual([187, 215]);
    expect(emptyState().skipped_objects).toEqual([]);
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

/** A model's reports replayed as its link reads them: its get_version answer first when the fixture has one. */
function replayModel(base: string, deltas: string[] = []) {
  const memo = emptyReportMemo();
  let state = emptyState();
  const version = join(import.meta.dir, "../fixtures/bambu", `${base}.version.json`);
  if (existsSync(version)) {
    const info = (JSON.parse(readFileSync(version, "utf8")) as { info: Record<string, unknown> }).info;
    state = applyChange(state, stateFromVersion(info, memo), NOW);
  }
  const changes: (Partial<PrinterState> | null)[] = [];
  for (const file of [`${base}.json`, ...deltas]) {
    const change = stateChange(state, stateFromReport(report(file), memo, state), NOW);
    changes.push(change);
    if (change) state = applyChange(state, change, NOW);
  }
  return { state, changes, memo };
}

describe("every model's reports", () => {
  test("the H2D: two extruders with packed temperatures; the active one is the nozzle", () => {
    const { state } = replayModel("h2d-running");
    expect(state.extruders).toEqual([
      { id: 0, temp: 264, target: 225, nozzle_type: "hardened_steel", nozzle_diameter: 0.4, active: true },
      { id: 1, temp: 40, target: 0, nozzle_type: "high_flow_hardened_steel", nozzle_diameter: 0.4, active: false },
    ]);
    // The top-level nozzle_temper (40) is the idle left nozzle's.
    expect(state).toMatchObject({ nozzle_temp: 264, nozzle_target: 225, chamber_temp: 48, model: "H2D" });
  });

  test("nested deltas merge deeply: the active extruder changes, temperatures and nozzles stay", () => {
    const { state, changes } = replayModel("h2d-running", [
      "h2d-running.delta1.json",
      "h2d-running.delta2.json",
      "h2d-running.delta3.json",
    ]);
    expect(changes[1]).toBeNull();
    expect(changes[2]).toMatchObject({ nozzle_temp: 40, nozzle_target: 0, nozzle_type: "high_flow_hardened_steel" });
    expect(state.extruders.map((e) => [e.id, e.temp, e.target, e.nozzle_type, e.nozzle_diameter, e.active])).toEqual([
      [0, 264, 225, "stainless_steel", 0.2, false],
      [1, 40, 0, "tungsten_carbide", 0.6, true],
    ]);
    expect(state).toMatchObject({ nozzle_type: "tungsten_carbide", nozzle_diameter: 0.6, bed_temp: 100 });
    expect(state.ams?.units.map((u) => u.id)).toEqual([0, 128]);
  });

  test("a one-entry delta of a list of ids changes that entry only", () => {
    const held = {
      info: [
        { id: 0, temp: 1, snow: 3 },
        { id: 1, temp: 2 },
      ],
      state: 2,
    };
    expect(mergeDeep(held, { info: [{ id: 1, temp: 9 }] })).toEqual({
      info: [
        { id: 0, temp: 1, snow: 3 },
        { id: 1, temp: 9 },
      ],
      state: 2,
    });
    expect(held.info[1]).toEqual({ id: 1, temp: 2 });
    expect(mergeDeep({ list: [1, 2] }, { list: [3] })).toEqual({ list: [3] });
  });

  test("the chamber temperature only where the printer has a thermometer", () => {
    expect(replayModel("x1c-4ams-finish").state.chamber_temp).toBe(25);
    expect(replayModel("p2s-running").state.chamber_temp).toBe(47);
    expect(replayModel("h2s-running").state.chamber_temp).toBe(60);
    expect(replayModel("a2l-idle").state.chamber_temp).toBeNull();
    const a1 = stateFromReport(report("a1-idle.json"), emptyReportMemo("A1"));
    expect(a1.chamber_temp).toBeUndefined();
    // An X1 on firmware without device.ctc: chamber_temper is real there.
    expect(stateFromReport({ chamber_temper: 31 }, emptyReportMemo("X1C")).chamber_temp).toBe(31);
    expect(stateFromReport({ chamber_temper: 5 }, emptyReportMemo("P1S")).chamber_temp).toBeUndefined();
  });

  test("stage, SD card, Wi-Fi, fans and nozzle as each model sent them", () => {
    expect(replayModel("x2d-running").state).toMatchObject({
      stage: 0,
      sd_card: false,
      wifi_dbm: -72,
      fans: { part: 70, aux: 10, chamber: 70, heatbreak: 50 },
      nozzle_temp: 250,
      nozzle_type: "hardened_steel",
      nozzle_diameter: 0.4,
    });
    expect(replayModel("h2d-running").state.stage).toBe(14);
    expect(replayModel("x1c-4ams-finish").state.stage).toBeNull();
    expect(stateFromReport({ wifi_signal: "<redacted>" }, emptyReportMemo())).toEqual({});
    const at = (dbm: number) => ({ ...emptyState(), wifi_dbm: dbm });
    expect(stateFromReport({ wifi_signal: "-50dBm" }, emptyReportMemo(), at(-48))).toEqual({});
    expect(stateFromReport({ wifi_signal: "-51dBm" }, emptyReportMemo(), at(-48))).toEqual({ wifi_dbm: -51 });
  });

  test("Authorization Control from bit 0x20000000 of `fun`; no `fun`, no answer", () => {
    expect(stateFromReport({ fun: "3EC1AFFF9CFF" }, emptyReportMemo()).signing_required).toBe(true);
    expect(stateFromReport({ fun: "3EC18FFF9CFF" }, emptyReportMemo()).signing_required).toBe(false);
    expect(stateFromReport({ fun: "zz" }, emptyReportMemo())).toEqual({});
    expect(replayModel("a1mini-idle").state.signing_required).toBeNull();
  });

  test("a command echoed with err_code 84033543 (not signed) marks Authorization Control where `fun` is missing", () => {
    const memo = emptyReportMemo();
    const echo = { command: "pause", sequence_id: "7", err_code: 84033543, result: "failed" };
    expect(stateFromReport(echo, memo)).toEqual({ signing_required: true });
    expect(memo.signingFromEcho).toBe(true);
    expect(stateFromReport({ command: "pause", err_code: 0, result: "success" }, emptyReportMemo())).toEqual({});
    // A `fun` says it outright, and wins.
    expect(stateFromReport({ fun: "3EC18FFF9CFF" }, memo).signing_required).toBe(false);
    expect(memo.signingFromEcho).toBe(false);
  });
});

describe("a cancelled print stays cancelled", () => {
  test("a cancel told only in fail_reason (the H2C) reads as cancelled", () => {
    expect(replayModel("h2c-failed").state).toMatchObject({ gcode_state: "FAILED", error: { code: CANCELLED_ERROR } });
  });

  test("print_error back to 0, and a pushall repeating FAILED, leave it cancelled", () => {
    const memo = emptyReportMemo("P1S");
    let state = applyChange(emptyState(), { gcode_state: "RUNNING" }, NOW);
    for (const print of [
      { gcode_state: "FAILED", print_error: CANCELLED_ERROR },
      { print_error: 0 },
      { ...report("p1p-failed.json"), msg: 0 },
    ]) {
      const change = stateChange(state, stateFromReport(print, memo, state), NOW);
      if (change) state = applyChange(state, change, NOW);
      expect(state.error?.code).toBe(CANCELLED_ERROR);
    }
    // A new print clears it as usual.
    const next = stateFromReport({ gcode_state: "PREPARE", print_error: 0 }, memo, state);
    expect(next).toMatchObject({ gcode_state: "PREPARE", error: null });
  });

  test("a real failure is not taken for a cancel", () => {
    expect(replayModel("p1p-failed").state.error).toBeNull();
    expect(stateFromReport({ gcode_state: "FAILED", fail_reason: "0" }, emptyReportMemo()).error).toBeUndefined();
  });
});

describe("AMS", () => {
  test("every unit kind, with trays numbered as the printer numbers them", () => {
    const { ams } = replayModel("x1c-4ams-finish").state;
    expect(ams?.units.map((u) => [u.id, u.kind, u.trays.map((t) => t.id)])).toEqual([
      [0, "AMS", [0, 1, 2, 3]],
      [1, "AMS", [4, 5, 6, 7]],
      [2, "AMS 2 Pro", [8, 9, 10, 11]],
      [128, "AMS HT", [128]],
    ]);
    expect(ams?.units[0]).toMatchObject({ humidity: 8, humidity_level: 5, temp: 26.2 });
    expect(ams?.units[0]?.trays[0]).toEqual({
      id: 0,
      slot: 0,
      type: "PLA",
      color: "000000FF",
      brand: "PLA Matte",
      preset: "GFA01",
      remain: 93,
      active: false,
    });
    expect(ams?.units[2]?.trays[0]).toMatchObject({ type: null, color: null, remain: null });
  });

  test("the kind from the unit's own info bits when get_version has not answered", () => {
    const { ams } = replay([report("x1c-4ams-finish.json")]).state;
    expect(ams?.units.map((u) => u.kind)).toEqual(["AMS", "AMS", "AMS 2 Pro", "AMS HT"]);
    const lite = replay([report("a1mini-idle.json")]).state.ams;
    expect(lite?.units[0]?.kind).toBe("AMS lite");
    // An A1's report names no kind (no `info`): the A1 family takes only the AMS lite.
    expect(replay([report("a1-idle.json")]).state.ams?.units[0]?.kind).toBeNull();
    const a1 = replay([report("a1-idle.json")], emptyState(), emptyReportMemo("A1")).state.ams;
    expect(a1?.units[0]?.kind).toBe("AMS lite");
  });

  test("the tray printing now: tray_now, or the active extruder's on a dual-nozzle printer", () => {
    expect(replayModel("p2s-running").state.ams?.tray_now).toBe(3);
    expect(replayModel("p2s-running").state.ams?.units[0]?.trays[3]).toMatchObject({ type: "PETG", active: true });
    const h2d = replayModel("h2d-running").state.ams;
    expect(h2d?.tray_now).toBe(128);
    expect(h2d?.units[1]?.trays[0]).toMatchObject({ id: 128, type: "PA-GF", active: true });
    // The left extruder (nothing loaded) becomes active.
    expect(replayModel("h2d-running", ["h2d-running.delta2.json"]).state.ams?.tray_now).toBeNull();
  });

  test("the external spool: vt_tray, or vir_slot's two on newer models", () => {
    const a1 = replay([report("a1-idle.json")]).state.ams;
    expect(a1?.external).toEqual([
      { id: 254, slot: 0, type: "PLA", color: "FFFFFFFF", brand: null, preset: "GFA00", remain: null, active: false },
    ]);
    expect(replayModel("h2d-running").state.ams?.external.map((t) => t.id)).toEqual([254, 255]);
  });

  test("an AMS delta of one tray keeps the other trays and units", () => {
    const memo = emptyReportMemo();
    let { state } = replay([report("x1c-4ams-finish.json")], emptyState(), memo);
    const delta = { ams: { ams: [{ id: "1", tray: [{ id: "2", remain: 12 }] }], tray_now: "6" } };
    state = applyChange(state, stateFromReport(delta, memo, state), NOW);
    expect(state.ams?.units.length).toBe(4);
    expect(state.ams?.units[1]?.trays[2]).toMatchObject({ id: 6, type: "ABS", remain: 12, active: true });
    expect(state.ams?.units[0]?.trays[0]?.remain).toBe(93);
  });
});
