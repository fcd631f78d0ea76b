// Owns the printer-state model: a printer's live state and LAN health, what each source's report means
// (a camera Pi's status dictionary, a Bambu printer's `print` report) and what applying one changes.
// Pure: it imports nothing, so services, lan, realtime, events and views can all use it.

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
  updated_at: number;
};
export type HmsSeverity = "fatal" | "serious" | "common" | "info";
export type PrinterField = Exclude<keyof PrinterState, "updated_at" | "eta">;
/** What applying a report changed: the new value of each field that really changed, nothing else. */
export type StateChange = Partial<PrinterState>;

export type LanState = "off" | "connecting" | "connected" | "auth_failed" | "tls_mismatch" | "error";
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

export const hmsWikiUrl = (code: string) => `https://wiki.bambulab.com/en/x1/troubleshooting/hmscode/${code}`;

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
 * gcode_file. Held per connection, next to the state, and updated by the reports that carry them.
 */
export type ReportMemo = { subtask_name: string | null; gcode_file: string | null };
export const emptyReportMemo = (): ReportMemo => ({ subtask_name: null, gcode_file: null });

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
  ["nozzle_temper", "nozzle_temp"],
  ["nozzle_target_temper", "nozzle_target"],
  ["bed_temper", "bed_temp"],
  ["bed_target_temper", "bed_target"],
];

/**
 * The printer fields one report carries, as ha-bambulab's models read them: only the keys present in
 * this `print` object, so a delta of three keys gives at most three fields. A key of the wrong type is
 * ignored (the field keeps its value); keys the state has no field for are ignored. Updates `memo`.
 */
export function stateFromReport(print: BambuPrint, memo: ReportMemo): Partial<PrinterState> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of NUMBER_KEYS) {
    if (!(key in print)) continue;
    const v = num(print[key]);
    if (v !== undefined) out[field] = v;
  }
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
  if (Array.isArray(print.lights_report)) {
    const chamber = (print.lights_report as unknown[]).find(
      (l): l is { mode?: unknown } =>
        !!l && typeof l === "object" && (l as { node?: unknown }).node === "chamber_light",
    )?.mode;
    out.light = chamber === "on" || chamber === "off" ? chamber : null;
  }
  if (Array.isArray(print.hms)) out.hms = hmsOf(print.hms as unknown[]);
  return out as Partial<PrinterState>;
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
