// Owns what a Bambu printer's `print` report means: raw fields merged key by key (A1/P1 send deltas),
// then read as the printer state of PRINTERS.md §6.

import { hmsCode, type PrinterState } from "../services/printer-state.ts";
import { errorOf } from "../services/printers.ts";

export type RawPrint = Record<string, unknown>;

/** Merges a delta into the held raw report: scalars and lists replace, objects merge one level. */
export function mergeReport(held: RawPrint, delta: RawPrint): RawPrint {
  const out = { ...held };
  for (const [k, v] of Object.entries(delta)) {
    if (v && typeof v === "object" && !Array.isArray(v) && out[k] && typeof out[k] === "object")
      out[k] = { ...(out[k] as object), ...(v as object) };
    else out[k] = v;
  }
  return out;
}

const num = (v: unknown): number | null => {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : null;
};
const str = (v: unknown): string | null => (typeof v === "string" && v ? v : null);

/** The printer fields a merged report gives (eta is left to the printers service). */
export function stateFromReport(r: RawPrint): Partial<PrinterState> {
  const lights = Array.isArray(r.lights_report) ? (r.lights_report as { node?: string; mode?: string }[]) : [];
  const chamber = lights.find((l) => l.node === "chamber_light")?.mode;
  const hms = Array.isArray(r.hms) ? (r.hms as { attr?: unknown; code?: unknown }[]) : [];
  const spd = num(r.spd_lvl);
  return {
    gcode_state: str(r.gcode_state)?.toUpperCase() ?? null,
    stage: num(r.stg_cur),
    percent: num(r.mc_percent),
    layer: num(r.layer_num),
    total_layers: num(r.total_layer_num),
    remaining_min: num(r.mc_remaining_time),
    file: str(r.subtask_name) ?? str(r.gcode_file),
    nozzle_temp: num(r.nozzle_temper),
    nozzle_target: num(r.nozzle_target_temper),
    bed_temp: num(r.bed_temper),
    bed_target: num(r.bed_target_temper),
    speed_level: spd !== null && spd >= 1 && spd <= 4 ? spd : null,
    light: chamber === "on" || chamber === "off" ? chamber : null,
    error: errorOf(num(r.print_error)),
    hms: hms.flatMap((h) => {
      const attr = num(h.attr);
      const code = num(h.code);
      return attr === null || code === null ? [] : [hmsCode(attr, code)];
    }),
  };
}
