// Owns the printer-state model: a printer's live state and LAN health, what each source's report means
// (a camera Pi's status dictionary, a Bambu printer's `print` report and `get_version` answer) and what applying
// one changes. Pure: it imports only the pure model and AMS readers, so services, lan, realtime, events and views
// can all use it.
import { type AmsState, amsFromReport } from "./bambu-ams.ts";
import {
  type AmsKind,
  amsKindsFromVersion,
  type Firmware,
  familyOf,
  firmwareFromVersion,
  hasChamberSensor,
  modelFromVersion,
} from "./bambu-models.ts";

export type { AmsState, Firmware };

/** The printer fields of PRINTERS.md §6; null means unknown. */
export type PrinterState = {
  gcode_state: string | null;
  stage: number | null;
  percent: number | null;
  layer: number | null;
  total_layers: number | null;
  remaining_min: number | null;
  /** When the print should finish (ms since epoch), from remaining_min at the time it was reported. */
  eta: number | null;
  file: string | null;
  nozzle_temp: number | null;
  nozzle_target: number | null;
  bed_temp: number | null;
  bed_target: number | null;
  speed_level: number | null;
  light: "on" | "off" | null;
  error: { code: number; text: string } | null;
  hms: { code: string; severity: HmsSeverity }[];
  /** The camera Pi's own: whether it is taking a timelapse. */
  timelapse: boolean | null;
  /** The model the printer itself named (get_version); null until it answers. */
  model: string | null;
  firmware: Firmware[];
  /** Only on models with a real chamber thermometer (X1, X2, H2, P2S). */
  chamber_temp: number | null;
  sd_card: boolean | null;
  wifi_dbm: number | null;
  /** Fan speeds in percent; a fan the model does not have is null. */
  fans: Fans | null;
  /** The active nozzle's. */
  nozzle_type: string | null;
  nozzle_diameter: number | null;
  /** Dual-nozzle models (H2D): each extruder; [] on single-nozzle models. */
  extruders: Extruder[];
  ams: AmsState | null;
  /** Authorization Control: the printer only obeys signed commands (`fun` bit 0x20000000); null = not reported. */
  signing_required: boolean | null;
  /** Object ids of the running plate the printer skips (`s_obj`); [] when none or not reported. */
  skipped_objects: number[];
  updated_at: number;
};
export type Fans = { part: number | null; aux: number | null; chamber: number | null; heatbreak: number | null };
/** One extruder of a dual-nozzle printer: id 0 is the right nozzle, 1 the left. */
export type Extruder = {
  id: number;
  temp: number | null;
  target: number | null;
  nozzle_type: string | null;
  nozzle_diameter: number | null;
  active: boolean;
};
export type HmsSeverity = "fatal" | "serious" | "common" | "info";
export type PrinterField = Exclude<keyof PrinterState, "updated_at" | "eta">;
/** What applying a report changed: the new value of each field that really changed, nothing else. */
export type StateChange = Partial<PrinterState>;

/** `refused`: the printer is there but no longer takes LAN connections on 8883 (bound to farm software, LAN off). */
export type LanState = "off" | "connecting" | "connected" | "auth_failed" | "tls_mismatch" | "refused" | "error";
export type LanHealth = {
  state: LanState;
  since: number;
  last_message_at: number | null;
  reconnects: number;
  last_error: string | null;
  /** Why the built-in camera stopped, if it did. */
  camera_error?: string | null;
};

/** The newer camera client's status dictionary (PRINTERS.md §3), as validated: all keys optional, null = unknown. */
export type DeviceStatus = {
  status?: string | null;
  gcode_status?: string | null;
  percentage?: number | null;
  remaining_time?: number | null;
  current_layer?: number | null;
  total_layers?: number | null;
  bed_temperature?: number | null;
  nozzle_temperature?: number | null;
  file_name?: string | null;
  print_speed?: number | null;
  print_error_code?: number | null;
  nozzle_type?: string | null;
  nozzle_diameter?: number | null;
  running_and_printing?: boolean | null;
  timelapse_status?: boolean | null;
};

/** Fields only a device (camera Pi) knows; the LAN connection never overrides them. */
export const DEVICE_FIELDS: readonly PrinterField[] = ["timelapse"];

export const emptyState = (): PrinterState => ({
  gcode_state: null,
  stage: null,
  percent: null,
  layer: null,
  total_layers: null,
  remaining_min: null,
  eta: null,
  file: null,
  nozzle_temp: null,
  nozzle_target: null,
  bed_temp: null,
  bed_target: null,
  speed_level: null,
  light: null,
  error: null,
  hms: [],
  timelapse: null,
  model: null,
  firmware: [],
  chamber_temp: null,
  sd_card: null,
  wifi_dbm: null,
  fans: null,
  nozzle_type: null,
  nozzle_diameter: null,
  extruders: [],
  ams: null,
  signing_required: null,
  skipped_objects: [],
  updated_at: 0,
});

/** gcode states that mean a print is under way (a job is open). */
export const ACTIVE_STATES = ["PREPARE", "RUNNING", "PAUSE", "SLICING"];
/** The print_error Bambu firmware reports when the user cancels a print. */
export const CANCELLED_ERROR = 50348044;

const pad4 = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");
const SEVERITIES: Record<number, HmsSeverity> = { 1: "fatal", 2: "serious", 3: "common", 4: "info" };

/** An HMS entry as Bambu's wiki names it: XXXX_XXXX_XXXX_XXXX, with its severity. */
export function hmsCode(attr: number, code: number): { code: string; severity: HmsSeverity } {
  const id = `${pad4(attr >>> 16)}_${pad4(attr & 0xffff)}_${pad4(code >>> 16)}_${pad4(code & 0xffff)}`;
  return { code: id, severity: SEVERITIES[code >>> 16] ?? "info" };
}

/** print_error as the XXXX_XXXX form Bambu's wiki uses for it. */
export function printErrorCode(n: number): string {
  return `${pad4(n >>> 16)}_${pad4(n & 0xffff)}`;
}

export { hmsWikiUrl } from "./bambu-models.ts";

/** A print error code as the state shows it (0 or none: no error). */
export function errorOf(code: number | null): PrinterState["error"] {
  if (!code) return null;
  const text = code === CANCELLED_ERROR ? "cancelled by the user" : "see the printer's screen for what to do";
  return { code, text };
}

// ---------- a camera Pi's status dictionary ----------

/** The dictionary as printer fields: only the keys it sent (eta follows remaining_min when applied). */
export function stateFromDevice(s: DeviceStatus): Partial<PrinterState> {
  const out: Partial<PrinterState> = {};
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  if ("gcode_status" in s) out.gcode_state = typeof s.gcode_status === "string" ? s.gcode_status.toUpperCase() : null;
  if ("percentage" in s) out.percent = num(s.percentage);
  if ("remaining_time" in s) out.remaining_min = num(s.remaining_time);
  if ("current_layer" in s) out.layer = num(s.current_layer);
  if ("total_layers" in s) out.total_layers = num(s.total_layers);
  if ("bed_temperature" in s) out.bed_temp = num(s.bed_temperature);
  if ("nozzle_temperature" in s) out.nozzle_temp = num(s.nozzle_temperature);
  if ("file_name" in s) out.file = typeof s.file_name === "string" && s.file_name ? s.file_name : null;
  if ("print_speed" in s) {
    const v = num(s.print_speed);
    out.speed_level = v !== null && v >= 1 && v <= 4 ? Math.round(v) : null;
  }
  if ("print_error_code" in s) out.error = errorOf(num(s.print_error_code));
  if ("timelapse_status" in s) out.timelapse = typeof s.timelapse_status === "boolean" ? s.timelapse_status : null;
  return out;
}

/** Only the fields a device may set while the printer's own LAN connection is up. */
export function deviceFieldsOnly(patch: Partial<PrinterState>): Partial<PrinterState> {
  const out: Partial<PrinterState> = {};
  for (const k of DEVICE_FIELDS) if (k in patch) (out as Record<string, unknown>)[k] = patch[k];
  return out;
}

// ---------- a Bambu printer's `print` report ----------

/** A report's `print` object as it arrived (a full pushall or a delta of a few keys). */
export type BambuPrint = Record<string, unknown>;
/**
 * The report values a field is made of that a delta may carry apart: the file is subtask_name, else
 * gcode_file; the nested objects (device, ams, the external spools) merged deeply, delta over delta; what the
 * printer said it is (model, AMS unit kinds). Held per printer link, next to the state.
 */
export type ReportMemo = {
  subtask_name: string | null;
  gcode_file: string | null;
  nested: Record<string, unknown>;
  /** The model as best known (the printer's answer, its serial, the config): decides what is real. */
  model: string | null;
  amsKinds: Record<string, AmsKind>;
  /** signing_required was learnt from a refused command's echo, not from `fun`: forgotten on a new connection. */
  signingFromEcho: boolean;
};
export const emptyReportMemo = (model: string | null = null): ReportMemo => ({
  subtask_name: null,
  gcode_file: null,
  nested: {},
  model,
  amsKinds: {},
  signingFromEcho: false,
});
/** Report keys holding nested objects that deltas update piecewise. */
const NESTED_KEYS = ["device", "ams", "vt_tray", "vir_slot"];
/** The Wi-Fi signal is shown again once it moved this far from the shown value. */
const WIFI_STEP_DBM = 3;

/** A number, or a numeric string (Bambu sends some as text); undefined for anything else. */
const num = (v: unknown): number | undefined => {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
};
/** A string ("" meaning none: null); undefined for anything else. */
const str = (v: unknown): string | null | undefined => (typeof v === "string" ? v || null : undefined);

/** Report keys read as one number field each. */
const NUMBER_KEYS: [key: string, field: PrinterField][] = [
  ["stg_cur", "stage"],
  ["mc_percent", "percent"],
  ["layer_num", "layer"],
  ["total_layer_num", "total_layers"],
  ["mc_remaining_time", "remaining_min"],
  ["bed_temper", "bed_temp"],
  ["bed_target_temper", "bed_target"],
];

/**
 * The printer fields one report carries, as ha-bambulab's models read them: only the keys present in
 * this `print` object, so a delta of three keys gives at most three fields. A key of the wrong type is
 * ignored (the field keeps its value); keys the state has no field for are ignored. Updates `memo`.
 */
/** The err_code of a command refused because it was not signed (0x05024007). */
export const SIGNATURE_REFUSED = 84033543;

export function stateFromReport(
  print: BambuPrint,
  memo: ReportMemo,
  current: PrinterState = emptyState(),
): Partial<PrinterState> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of NUMBER_KEYS) {
    if (!(key in print)) continue;
    const v = num(print[key]);
    if (v !== undefined) out[field] = v;
  }
  // No stage: X1 sends -1 and P1 255 after a print.
  if (out.stage === -1 || out.stage === 255) out.stage = null;
  let nestedChanged = false;
  for (const key of NESTED_KEYS) {
    if (!(key in print)) continue;
    const v = print[key];
    if (!v || typeof v !== "object") continue;
    // A full report (the pushall answer, msg 0) states the whole object: units or spools it lacks are gone.
    if (print.msg === 0 || !(key in memo.nested)) memo.nested[key] = structuredClone(v);
    else memo.nested[key] = mergeDeep(memo.nested[key], v);
    nestedChanged = true;
  }
  const device = obj(memo.nested.device);
  const extruders = "device" in print ? extrudersOf(device) : null;
  if (extruders) out.extruders = extruders.length > 1 ? extruders : [];
  const active = extruders?.find((e) => e.active) ?? null;
  // Dual-nozzle models: the top-level nozzle_temper may be the idle nozzle's; the active extruder's is the one.
  const dual = (extruders ?? current.extruders).length > 1;
  if (!dual) {
    // One nozzle: the top-level keys (some single-nozzle firmware sends device temperatures unpacked).
    const t = num(print.nozzle_temper);
    const target = num(print.nozzle_target_temper);
    if (t !== undefined) out.nozzle_temp = t;
    if (target !== undefined) out.nozzle_target = target;
  } else if (active) {
    out.nozzle_temp = active.temp;
    out.nozzle_target = active.target;
  }
  if (active && (active.nozzle_type || active.nozzle_diameter)) {
    out.nozzle_type = active.nozzle_type;
    out.nozzle_diameter = active.nozzle_diameter;
  } else if (!dual) {
    if ("nozzle_type" in print) {
      const v = str(print.nozzle_type);
      if (v !== undefined) out.nozzle_type = v;
    }
    if ("nozzle_diameter" in print) {
      const v = num(print.nozzle_diameter);
      if (v !== undefined) out.nozzle_diameter = v > 0 ? v : null;
    }
  }
  if (!("bed_temper" in print) && "device" in print) {
    const bed = packed(obj(obj(device.bed).info).temp);
    if (bed) [out.bed_temp, out.bed_target] = bed;
  }
  const chamber = "device" in print ? packed(obj(obj(device.ctc).info).temp) : null;
  if (chamber) out.chamber_temp = chamber[0];
  else if ("chamber_temper" in print && hasChamberSensor(memo.model) && !obj(device.ctc).info) {
    const v = num(print.chamber_temper);
    if (v !== undefined) out.chamber_temp = v;
  }
  if (typeof print.sdcard === "boolean") out.sd_card = print.sdcard;
  if ("wifi_signal" in print) {
    const m = typeof print.wifi_signal === "string" ? /^\s*(-?\d+)\s*dBm/i.exec(print.wifi_signal) : null;
    // A1/P1 send the signal with every delta and it wanders by a dBm or two: only a real move is a change
    // (each change re-renders the printer for every viewer).
    if (m && (current.wifi_dbm === null || Math.abs(Number(m[1]) - current.wifi_dbm) >= WIFI_STEP_DBM))
      out.wifi_dbm = Number(m[1]);
  }
  const fans = fansOf(print, memo.model, current.fans);
  if (fans) out.fans = fans;
  if (typeof print.fun === "string" && /^[0-9a-f]{1,16}$/i.test(print.fun)) {
    // Only the low 32 bits matter here; the field is longer than a double holds exactly.
    out.signing_required = (Number.parseInt(print.fun.slice(-8), 16) & 0x20000000) !== 0;
    memo.signingFromEcho = false;
  }
  // A command echoed back as refused for want of a signature ("mqtt message verify failed"): what tells a printer
  // that sends no `fun` apart, without a probe (PRINTERS.md §4).
  if (typeof print.command === "string" && Number(print.err_code) === SIGNATURE_REFUSED && !("fun" in print)) {
    out.signing_required = true;
    memo.signingFromEcho = true;
  }
  if (nestedChanged && ("ams" in print || "vt_tray" in print || "vir_slot" in print || extruders))
    out.ams = amsFromReport(memo.nested, memo.amsKinds, familyOf(memo.model) === "A1" ? "AMS lite" : null);
  if ("gcode_state" in print) {
    const g = str(print.gcode_state);
    if (g !== undefined) out.gcode_state = g?.toUpperCase() ?? null;
  }
  if ("subtask_name" in print || "gcode_file" in print) {
    const subtask = str(print.subtask_name);
    const file = str(print.gcode_file);
    if (subtask !== undefined) memo.subtask_name = subtask;
    if (file !== undefined) memo.gcode_file = file;
    if (subtask !== undefined || file !== undefined) out.file = memo.subtask_name ?? memo.gcode_file;
  }
  if ("spd_lvl" in print) {
    const spd = num(print.spd_lvl);
    if (spd !== undefined) out.speed_level = spd >= 1 && spd <= 4 ? spd : null;
  }
  if ("print_error" in print) {
    const code = num(print.print_error);
    if (code !== undefined) out.error = errorOf(code);
  }
  // Some models tell a cancel only in fail_reason (or mc_print_error_code), with print_error 0.
  if (num(print.fail_reason) === CANCELLED_ERROR || num(print.mc_print_error_code) === CANCELLED_ERROR)
    out.error = errorOf(CANCELLED_ERROR);
  // A cancelled print stays cancelled: print_error returns to 0 seconds later, and a pushall repeats FAILED.
  const failedStill = (out.gcode_state ?? current.gcode_state) === "FAILED";
  if (failedStill && current.error?.code === CANCELLED_ERROR && "error" in out && !out.error) delete out.error;
  if (Array.isArray(print.lights_report)) {
    const chamber = (print.lights_report as unknown[]).find(
      (l): l is { mode?: unknown } =>
        !!l && typeof l === "object" && (l as { node?: unknown }).node === "chamber_light",
    )?.mode;
    out.light = chamber === "on" || chamber === "off" ? chamber : null;
  }
  if (Array.isArray(print.hms)) out.hms = hmsOf(print.hms as unknown[]);
  if (Array.isArray(print.s_obj)) out.skipped_objects = print.s_obj.filter((n): n is number => Number.isInteger(n));
  return out as Partial<PrinterState>;
}

/** The identity a get_version answer (`info` with its `module` list) gives, and the AMS kinds it names. */
export function stateFromVersion(info: Record<string, unknown>, memo: ReportMemo): Partial<PrinterState> {
  const out: Partial<PrinterState> = {};
  const model = modelFromVersion(info.module);
  if (model) {
    out.model = model;
    memo.model = model;
  }
  const firmware = firmwareFromVersion(info.module);
  if (firmware.length) out.firmware = firmware;
  const kinds = amsKindsFromVersion(info.module);
  if (Object.keys(kinds).length) {
    memo.amsKinds = kinds;
    if (memo.nested.ams) out.ams = amsFromReport(memo.nested, kinds, familyOf(memo.model) === "A1" ? "AMS lite" : null);
  }
  return out;
}

type Obj = Record<string, unknown>;
const EMPTY: Obj = {};
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : EMPTY);
const hasId = (v: unknown) => !!v && typeof v === "object" && !Array.isArray(v) && "id" in v;

/**
 * `delta` merged into `held` (a new value; `held` is not changed): objects key by key at every depth, lists of
 * objects with an `id` entry by entry (an extruder's or a tray's delta names only itself), other lists replaced.
 */
export function mergeDeep(held: unknown, delta: unknown): unknown {
  if (Array.isArray(delta)) {
    if (!Array.isArray(held) || !delta.length || !delta.every(hasId) || !held.every(hasId))
      return structuredClone(delta);
    const out = held.slice();
    for (const d of delta as Obj[]) {
      const i = out.findIndex((h) => (h as Obj).id === d.id);
      if (i === -1) out.push(structuredClone(d));
      else out[i] = mergeDeep(out[i], d);
    }
    return out;
  }
  if (!delta || typeof delta !== "object") return delta;
  if (!held || typeof held !== "object" || Array.isArray(held)) return structuredClone(delta);
  const out: Obj = { ...(held as Obj) };
  for (const [k, v] of Object.entries(delta as Obj)) out[k] = mergeDeep(out[k], v);
  return out;
}

/** A packed temperature (newer firmware): current in the low 16 bits, target in the high 16 bits. */
function packed(v: unknown): [number, number] | null {
  const n = num(v);
  if (n === undefined || n < 0) return null;
  return [n & 0xffff, Math.floor(n / 0x10000) & 0xffff];
}

/** Nozzle type codes of newer firmware (HS01): flow in the 2nd letter, material in the digits (pybambu). */
function nozzleTypeOf(code: unknown): string | null {
  if (typeof code !== "string" || code.length < 4) return str(code) ?? null;
  const flow = code[1] === "U" ? "tpu_high_flow" : code[1] === "H" || code[1] === "E" ? "high_flow_" : "";
  if (flow === "tpu_high_flow") return flow;
  const material = { "00": "stainless_steel", "01": "hardened_steel", "05": "tungsten_carbide" }[code.slice(2, 4)];
  return material ? flow + material : null;
}

/** device.extruder.info with device.nozzle.info: each extruder; the active one from extruder.state bits 4–7. */
function extrudersOf(device: Obj): Extruder[] | null {
  const extruder = obj(device.extruder);
  if (!Array.isArray(extruder.info)) return null;
  const state = num(extruder.state);
  const activeId = state === undefined ? 0 : (state >> 4) & 0xf;
  const nozzles = Array.isArray(obj(device.nozzle).info) ? (obj(device.nozzle).info as unknown[]) : [];
  const out: Extruder[] = [];
  for (const e of extruder.info as unknown[]) {
    const id = num(obj(e).id);
    if (id === undefined) continue;
    const t = packed(obj(e).temp);
    const nozzle = obj(nozzles.find((n) => num(obj(n).id) === id));
    const diameter = num(nozzle.diameter);
    out.push({
      id,
      temp: t ? t[0] : null,
      target: t ? t[1] : null,
      nozzle_type: nozzleTypeOf(nozzle.type),
      nozzle_diameter: diameter !== undefined && diameter > 0 ? Math.round(diameter * 100) / 100 : null,
      active: id === activeId,
    });
  }
  return out.sort((a, b) => a.id - b.id);
}

const FAN_KEYS: [key: string, fan: keyof Fans][] = [
  ["cooling_fan_speed", "part"],
  ["big_fan1_speed", "aux"],
  ["big_fan2_speed", "chamber"],
  ["heatbreak_fan_speed", "heatbreak"],
];
/** Fan speeds arrive as "0"–"15"; shown in percent, rounded to tens as the Bambu apps do. */
function fansOf(print: BambuPrint, model: string | null, current: Fans | null): Fans | null {
  let out: Fans | null = null;
  // A1 models have no auxiliary or chamber fan (they send "0" for both).
  const open = familyOf(model) === "A1";
  for (const [key, fan] of FAN_KEYS) {
    if (!(key in print)) continue;
    const v = num(print[key]);
    if (v === undefined) continue;
    out ??= { ...(current ?? { part: null, aux: null, chamber: null, heatbreak: null }) };
    out[fan] = open && (fan === "aux" || fan === "chamber") ? null : Math.round(v / 1.5) * 10;
  }
  return out;
}

function hmsOf(list: unknown[]): PrinterState["hms"] {
  const out: PrinterState["hms"] = [];
  for (const h of list) {
    if (!h || typeof h !== "object") continue;
    const attr = num((h as { attr?: unknown }).attr);
    const code = num((h as { code?: unknown }).code);
    if (attr !== undefined && code !== undefined) out.push(hmsCode(attr, code));
  }
  return out;
}

// ---------- applying ----------

/** Equal values: primitives by identity, the error and HMS list by content. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!a || !b || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!same(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * What applying `patch` to `state` changes: the fields whose value really differs, with their new
 * value; null when nothing does. The finish time (eta) follows remaining_min only when that changes:
 * the same minutes left a moment later are the same finish time, not a change.
 */
export function stateChange(state: PrinterState, patch: Partial<PrinterState>, now: number): StateChange | null {
  let out: StateChange | null = null;
  for (const k in patch) {
    if (k === "updated_at" || k === "eta") continue;
    const v = patch[k as keyof PrinterState];
    if (v === undefined || same(state[k as keyof PrinterState], v)) continue;
    out ??= {};
    (out as Record<string, unknown>)[k] = v;
  }
  if (out && "remaining_min" in out) {
    const eta = out.remaining_min == null ? null : now + out.remaining_min * 60_000;
    if (eta !== state.eta) out.eta = eta;
  }
  return out;
}

/** The state after a change (a new object: listeners may keep the one they were given). */
export const applyChange = (state: PrinterState, change: StateChange, now: number): PrinterState => ({
  ...state,
  ...change,
  updated_at: now,
});
