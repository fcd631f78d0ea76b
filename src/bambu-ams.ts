// Owns what a Bambu report's filament part means: each AMS unit (AMS, AMS lite, AMS 2 Pro, AMS HT) with its
// trays, the external spool (vt_tray, or vir_slot on newer models), and the tray printing now. Read from the
// report as held after merging its deltas (PRINTERS.md §4, §9 AMS bullet). Pure: it imports only model facts.
import type { AmsKind } from "./bambu-models.ts";

export type Tray = {
  /** Global tray id: unit × 4 + slot for AMS/lite/2 Pro, the unit id (128–135) for an AMS HT, 254/255 external. */
  id: number;
  slot: number;
  type: string | null;
  /** RRGGBBAA, as the printer sends it; null when the slot is empty or unknown. */
  color: string | null;
  brand: string | null;
  /** Bambu's filament preset id (tray_info_idx, e.g. GFA00). */
  preset: string | null;
  /** Remaining filament in percent; null when the printer does not know (non-RFID spools send -1). */
  remain: number | null;
  active: boolean;
};
export type AmsUnit = {
  id: number;
  kind: AmsKind | null;
  /** Relative humidity in percent (humidity_raw, newer firmware), else null. */
  humidity: number | null;
  /** The 1 (dry) – 5 (wet) index every firmware sends. */
  humidity_level: number | null;
  temp: number | null;
  trays: Tray[];
};
export type AmsState = { units: AmsUnit[]; external: Tray[]; tray_now: number | null };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const num = (v: unknown): number | null => {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? n : null;
};
const str = (v: unknown): string | null => (typeof v === "string" && v.trim() ? v.trim() : null);

/** Bambu Studio's unit type: the low four bits of the unit's `info` (hex text). */
const KIND_BITS: Record<number, AmsKind> = { 1: "AMS", 2: "AMS lite", 3: "AMS 2 Pro", 4: "AMS HT" };
function kindOf(unit: Obj, id: number, known: Record<string, AmsKind>): AmsKind | null {
  if (known[String(id)]) return known[String(id)]!;
  const info = typeof unit.info === "string" && /^[0-9a-f]+$/i.test(unit.info) ? Number.parseInt(unit.info, 16) : null;
  if (info !== null && KIND_BITS[info & 0xf]) return KIND_BITS[info & 0xf]!;
  return id >= 128 ? "AMS HT" : null;
}

function trayOf(raw: Obj, id: number, slot: number, now: number | null): Tray {
  const type = str(raw.tray_type);
  const color = str(raw.tray_color);
  const remain = num(raw.remain);
  return {
    id,
    slot,
    type,
    // An empty slot reports 00000000 (and no type): show no colour rather than a transparent one.
    color: type && color && /^[0-9A-Fa-f]{8}$/.test(color) ? color.toUpperCase() : null,
    brand: str(raw.tray_sub_brands),
    preset: str(raw.tray_info_idx),
    remain: type && remain !== null && remain >= 0 && remain <= 100 ? remain : null,
    active: now === id,
  };
}

/** tray_now as a global tray id: 255 = nothing loaded (null). */
function trayNowOf(ams: Obj | undefined, device: Obj | undefined): number | null {
  // Dual-nozzle models (H2D) keep the loaded tray per extruder in `snow` (AMS id << 8 | slot); the active one counts.
  const extruder = isObj(device?.extruder) ? device.extruder : undefined;
  const info = Array.isArray(extruder?.info) ? (extruder.info as unknown[]).filter(isObj) : [];
  const count = num(extruder?.state);
  if (info.length > 1 && count !== null) {
    const active = (count >> 4) & 0xf;
    const snow = num(info.find((e) => num(e.id) === active)?.snow);
    if (snow !== null) {
      const unit = snow >> 8;
      const slot = snow & 0xff;
      // Units 255 and 254 are the two external spools (vir_slot ids 254 and 255); slot 255 is "nothing loaded".
      if (unit === 0xff || unit === 0xfe) return slot === 0xff ? null : unit === 0xff ? 254 : 255;
      return unit >= 128 ? unit : unit * 4 + (slot & 0x3);
    }
  }
  const now = num(ams?.tray_now);
  return now === null || now === 255 ? null : now;
}

/** The filament part of the held report: null when the printer has reported none. */
export function amsFromReport(
  held: Obj,
  known: Record<string, AmsKind> = {},
  /** The kind when nothing else tells it: an A1's unit is an AMS lite, the only one it takes. */
  fallback: AmsKind | null = null,
): AmsState | null {
  const ams = isObj(held.ams) ? held.ams : undefined;
  const device = isObj(held.device) ? held.device : undefined;
  const vt = isObj(held.vt_tray) ? [held.vt_tray] : [];
  const vir = Array.isArray(held.vir_slot) ? (held.vir_slot as unknown[]).filter(isObj) : [];
  if (!ams && !vt.length && !vir.length) return null;
  const now = trayNowOf(ams, device);
  const units: AmsUnit[] = [];
  for (const raw of Array.isArray(ams?.ams) ? (ams.ams as unknown[]).filter(isObj) : []) {
    const id = num(raw.id);
    if (id === null) continue;
    const trays: Tray[] = [];
    for (const t of Array.isArray(raw.tray) ? (raw.tray as unknown[]).filter(isObj) : []) {
      const slot = num(t.id);
      if (slot === null) continue;
      trays.push(trayOf(t, id >= 128 ? id : id * 4 + slot, slot, now));
    }
    trays.sort((a, b) => a.slot - b.slot);
    const humidity = num(raw.humidity_raw);
    const level = num(raw.humidity);
    const temp = num(raw.temp);
    units.push({
      id,
      kind: kindOf(raw, id, known) ?? fallback,
      // An AMS powering up sends nonsense (0, 0.0): out-of-range values are unknown, as pybambu treats them.
      humidity: humidity !== null && humidity >= 1 && humidity <= 100 ? humidity : null,
      humidity_level: level !== null && level >= 1 && level <= 5 ? level : null,
      temp: temp !== null && temp > 0 && temp <= 100 ? temp : null,
      trays,
    });
  }
  units.sort((a, b) => a.id - b.id);
  // vir_slot (newer models) lists every external spool; vt_tray is the older single one.
  // An external spool has no RFID reader: its `remain` (0) says nothing.
  const external = (vir.length ? vir : vt).map((t, i) => ({
    ...trayOf(t, num(t.id) ?? 254 + i, i, now),
    remain: null,
  }));
  return { units, external, tray_now: now };
}

/** The trays a print draws on now: the active one, as the job records it. */
export const activeTray = (ams: AmsState | null): Tray | null =>
  ams?.units.flatMap((u) => u.trays).find((t) => t.active) ?? ams?.external.find((t) => t.active) ?? null;
