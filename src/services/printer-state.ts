// Owns the shape of a printer's live state and how each source's report turns into it.

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

/** Fields only a device (camera Pi) knows; the LAN connection never overrides them. */
export const DEVICE_FIELDS: PrinterField[] = ["timelapse"];

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

/** Only the fields whose value differs: what a merge changed (empty = nothing new). */
export function changedFields(before: PrinterState, patch: Partial<PrinterState>): Partial<PrinterState> {
  const out: Partial<PrinterState> = {};
  for (const [k, v] of Object.entries(patch) as [keyof PrinterState, unknown][]) {
    if (k === "updated_at" || v === undefined) continue;
    if (JSON.stringify(before[k]) !== JSON.stringify(v)) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
