// Owns the device event rules of PROTOCOL.md §2: one validator per event, giving a value or a message.
import { decodeBase64Image, type ImageMime, MAX_IMAGE_BYTES, sniffImage } from "../images.ts";
import type { DeviceStatus } from "../printer-state.ts";

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };
const bad = (error: string): Checked<never> => ({ ok: false, error });
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof ArrayBuffer);

export const TEMPERATURE_RANGE = [-50, 150] as const;
export const HUMIDITY_RANGE = [0, 100] as const;
export const MAX_STATUS_LENGTH = 256;

function inRange(name: string, v: unknown, [lo, hi]: readonly [number, number], unit: string): Checked<number> {
  if (v === undefined || v === null) return bad(`${name} is missing`);
  if (typeof v !== "number") return bad(`${name} must be a number, got ${typeof v}`);
  if (!Number.isFinite(v)) return bad(`${name} must be a finite number`);
  if (v < lo || v > hi) return bad(`${name} ${v} is out of range ${lo}..${hi} ${unit}`);
  return { ok: true, value: v };
}

export function checkTemphum(payload: unknown): Checked<{ temperature: number; humidity: number }> {
  if (!isObject(payload)) return bad("temphum payload must be an object { temperature, humidity }");
  const t = inRange("temperature", payload.temperature, TEMPERATURE_RANGE, "°C");
  if (!t.ok) return t;
  const h = inRange("humidity", payload.humidity, HUMIDITY_RANGE, "%");
  if (!h.ok) return h;
  return { ok: true, value: { temperature: t.value, humidity: h.value } };
}

/** The newer camera client's status keys (PRINTERS.md §3): type and range of each; all may be null. */
type KeyRule =
  | { type: "string"; max: number }
  | { type: "number"; min: number; max: number; int?: boolean }
  | {
      type: "boolean";
    };
const STATUS_KEYS: Record<keyof DeviceStatus, KeyRule> = {
  status: { type: "string", max: MAX_STATUS_LENGTH },
  gcode_status: { type: "string", max: 32 },
  percentage: { type: "number", min: 0, max: 100 },
  remaining_time: { type: "number", min: 0, max: 1e6 },
  current_layer: { type: "number", min: 0, max: 1e6, int: true },
  total_layers: { type: "number", min: 0, max: 1e6, int: true },
  bed_temperature: { type: "number", min: -50, max: 200 },
  nozzle_temperature: { type: "number", min: -50, max: 500 },
  file_name: { type: "string", max: 256 },
  print_speed: { type: "number", min: 0, max: 1000 },
  print_error_code: { type: "number", min: 0, max: 0xffffffff, int: true },
  nozzle_type: { type: "string", max: 64 },
  nozzle_diameter: { type: "number", min: 0, max: 5 },
  running_and_printing: { type: "boolean" },
  timelapse_status: { type: "boolean" },
};

function checkKey(key: string, rule: KeyRule, v: unknown): string | null {
  if (v === null) return null;
  if (rule.type === "string") {
    if (typeof v !== "string") return `${key} must be a string or null, got ${typeof v}`;
    return v.length > rule.max ? `${key} must be at most ${rule.max} characters` : null;
  }
  if (rule.type === "boolean") return typeof v === "boolean" ? null : `${key} must be true, false or null`;
  if (typeof v !== "number" || !Number.isFinite(v)) return `${key} must be a number or null, got ${typeof v}`;
  if (rule.int && !Number.isInteger(v)) return `${key} must be a whole number`;
  return v < rule.min || v > rule.max ? `${key} ${v} is out of range ${rule.min}..${rule.max}` : null;
}

/**
 * Accepts { status: "text" } exactly as before, or the newer client's dictionary, checked key by key
 * (unknown keys ignored). `text` is what the status tile shows; `printer` is set for a dictionary.
 */
export function checkStatus(payload: unknown): Checked<{ status: string | null; printer: DeviceStatus | null }> {
  if (!isObject(payload)) return bad("status payload must be an object { status }");
  const structured = Object.keys(payload).some((k) => k !== "status" && k in STATUS_KEYS);
  if (!structured) {
    if (typeof payload.status !== "string")
      return bad(payload.status === undefined ? "status is missing" : "status must be a string");
    const status = payload.status.trim();
    if (!status) return bad("status must not be empty");
    if (status.length > MAX_STATUS_LENGTH) return bad(`status must be at most ${MAX_STATUS_LENGTH} characters`);
    return { ok: true, value: { status, printer: null } };
  }
  const printer: Record<string, unknown> = {};
  for (const [key, rule] of Object.entries(STATUS_KEYS) as [string, KeyRule][]) {
    if (!(key in payload) || payload[key] === undefined) continue;
    const problem = checkKey(key, rule, payload[key]);
    if (problem) return bad(problem);
    printer[key] = typeof payload[key] === "string" ? (payload[key] as string).trim() : (payload[key] as never);
  }
  const text = (typeof printer.status === "string" && printer.status) || printer.gcode_status;
  return {
    ok: true,
    value: { status: typeof text === "string" && text ? text : null, printer: printer as DeviceStatus },
  };
}

/** Accepts { image: base64 }, { image: <binary> } or the raw bytes as the event's argument. */
export function checkImage(payload: unknown): Checked<{ mime: ImageMime; bytes: Uint8Array }> {
  const raw = isObject(payload) ? payload.image : payload;
  let bytes: Uint8Array | null;
  if (typeof raw === "string") {
    // Base64 carries 3 bytes per 4 characters: reject before decoding something hopeless.
    if (raw.length > Math.ceil(MAX_IMAGE_BYTES / 3) * 4 + 64)
      return bad(`image is larger than ${MAX_IMAGE_BYTES / 1048576} MiB`);
    bytes = decodeBase64Image(raw);
    if (!bytes) return bad("image is not valid base64");
  } else if (raw instanceof Uint8Array) bytes = raw;
  else if (raw instanceof ArrayBuffer) bytes = new Uint8Array(raw);
  else return bad(raw === undefined || raw === null ? "image is missing" : "image must be base64 text or binary");
  if (bytes.length === 0) return bad("image is empty");
  if (bytes.length > MAX_IMAGE_BYTES) return bad(`image is larger than ${MAX_IMAGE_BYTES / 1048576} MiB`);
  const mime = sniffImage(bytes);
  if (!mime) return bad("image is not a JPEG or PNG");
  return { ok: true, value: { mime, bytes } };
}

export const DEVICE_ACTIONS = ["pause", "resume", "stop", "home", "timelapse_start", "timelapse_stop", "run_gcode"];

/** A device's answer to printerAction: { action, result: bool }. */
export function checkActionAnswer(payload: unknown): Checked<{ action: string; result: boolean }> {
  if (!isObject(payload)) return bad("printerAction answer must be an object { action, result }");
  if (typeof payload.action !== "string" || !DEVICE_ACTIONS.includes(payload.action))
    return bad(`action must be one of ${DEVICE_ACTIONS.join(", ")}`);
  if (typeof payload.result !== "boolean") return bad("result must be true or false");
  return { ok: true, value: { action: payload.action, result: payload.result } };
}
