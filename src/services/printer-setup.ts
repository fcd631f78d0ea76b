// Owns the rules for what a printer may be set up as (config, Settings and the API share them).
import { cameraKind } from "../camera-kind.ts";
import { type Message, msg } from "../i18n.ts";
import type { PrinterSetup, TlsMode } from "../store/store.ts";

export const MAX_PRINTER_NAME = 64;
export const TLS_MODES: TlsMode[] = ["pin", "insecure"];

export type SetupErrors = Partial<Record<keyof PrinterSetup, Message>>;
export type SetupResult = { ok: true; value: PrinterSetup } | { ok: false; errors: SetupErrors };

const HOST = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:]{2,39}\]?$/;

/** A name with a control character (a newline, a tab) would break a page or a log line. */
const hasControl = (s: string) => [...s].some((c) => c.charCodeAt(0) < 32);

function text(v: unknown): string | undefined {
  if (typeof v === "string") return v.trim();
  if (typeof v === "number") return String(v);
  return undefined;
}

function port(v: unknown): number | null {
  const s = text(v);
  return s && /^\d{1,5}$/.test(s) && Number(s) >= 1 && Number(s) <= 65535 ? Number(s) : null;
}

function bool(raw: unknown): boolean | null {
  // A form sends a hidden "off" before the checkbox's "on": the last value is the answer.
  const v = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (typeof v === "boolean") return v;
  const s = text(v)?.toLowerCase();
  if (s === "on" || s === "true" || s === "1") return true;
  if (s === "off" || s === "false" || s === "0" || s === "") return false;
  return null;
}

/**
 * Checks raw values (a form, JSON or a config entry) over `base` (the printer as it is, for an edit).
 * An access code left empty on an edit keeps the stored one: it is never sent back to a page.
 */
export function parsePrinterSetup(raw: Record<string, unknown>, base?: PrinterSetup): SetupResult {
  const errors: SetupErrors = {};
  const has = (k: keyof PrinterSetup) => raw[k] !== undefined && raw[k] !== null;
  const name = has("name") ? text(raw.name) : base?.name;
  if (!name || name.length > MAX_PRINTER_NAME || hasControl(name))
    errors.name = msg("printerNameRule", { n: MAX_PRINTER_NAME });
  const model = has("model") ? text(raw.model) : (base?.model ?? "A1");
  if (!model || model.length > 32) errors.model = msg("printerModelRule");
  const host = has("host") ? text(raw.host) : (base?.host ?? "");
  if (host === undefined || (host !== "" && !HOST.test(host))) errors.host = msg("printerHostRule");
  const serial = has("serial") ? text(raw.serial)?.toUpperCase() : (base?.serial ?? "");
  if (serial === undefined || (serial !== "" && !/^[A-Z0-9]{8,32}$/.test(serial)))
    errors.serial = msg("printerSerialRule");
  const code = has("access_code") ? text(raw.access_code) : undefined;
  const accessCode = code ? code : (base?.access_code ?? "");
  if (code && !/^[A-Za-z0-9]{4,32}$/.test(code)) errors.access_code = msg("printerCodeRule");
  const mqttPort = has("mqtt_port") ? port(raw.mqtt_port) : (base?.mqtt_port ?? 8883);
  if (mqttPort === null) errors.mqtt_port = msg("printerPortRule");
  const cameraPort = has("camera_port") ? port(raw.camera_port) : (base?.camera_port ?? 6000);
  if (cameraPort === null) errors.camera_port = msg("printerPortRule");
  const ftpsPort = has("ftps_port") ? port(raw.ftps_port) : (base?.ftps_port ?? 990);
  if (ftpsPort === null) errors.ftps_port = msg("printerPortRule");
  const rtspPort = has("rtsp_port") ? port(raw.rtsp_port) : (base?.rtsp_port ?? 322);
  if (rtspPort === null) errors.rtsp_port = msg("printerPortRule");
  // Every model with a built-in camera uses it unless told not to (port 6000 on A1/P1, RTSPS on X1/P2S/H2/X2D).
  const defaultCamera = cameraKind(model ?? "") !== null;
  const camera = has("camera") ? bool(raw.camera) : base ? base.camera === 1 : defaultCamera;
  if (camera === null) errors.camera = msg("printerBoolRule");
  const tls = has("tls") ? text(raw.tls) : (base?.tls ?? "pin");
  if (!TLS_MODES.includes(tls as TlsMode)) errors.tls = msg("printerTlsRule");
  // A LAN connection needs all three: where, which printer, and its code.
  if (host && !errors.host && !errors.serial && !errors.access_code) {
    if (!serial) errors.serial = msg("printerLanNeeds");
    if (!accessCode) errors.access_code = msg("printerLanNeeds");
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name: name!,
      model: model!,
      host: host!,
      serial: serial!,
      access_code: accessCode,
      mqtt_port: mqttPort!,
      camera: camera ? 1 : 0,
      camera_port: cameraPort!,
      ftps_port: ftpsPort!,
      rtsp_port: rtspPort!,
      tls: tls as TlsMode,
    },
  };
}
