// Owns what one ended print adds to the statistics (PRINTERS.md §9 Insight API): its month in the zone, printing
// time, outcome, the distinct errors it met, and the room's band while it ran. The store adds it to per-printer
// aggregates when the print is closed, so statistics never scan prints or readings per request.
import type { JobRow } from "./store/jobs.ts";
import { dayOf } from "./time.ts";

/** Room bands: humidity in steps of 10 %, temperature in steps of 2 °C (the band is named by its lower bound). */
export const BAND_WIDTH = { humidity: 10, temperature: 2 } as const;
export type RoomMeasure = keyof typeof BAND_WIDTH;

export type StatsContribution = {
  printer_id: number;
  /** `YYYY-MM` of the start, in the zone. */
  month: string;
  outcome: "finished" | "failed" | "cancelled";
  /** Printing time: start to end less the time paused. */
  print_ms: number;
  errors: { code: string; kind: string }[];
  /** Only finished and failed prints with room readings count here (a cancel says nothing about the room). */
  room: { measure: RoomMeasure; band: number; failed: boolean }[];
  /** The print's main filament type (most grams, else the first tray used); "" when unknown. */
  filament: string;
  /** Each filament the print used, once per type and colour. */
  filaments: FilamentUse[];
};

/** A filament a print used: grams from its library plate when it was sent from the library, else null (unknown). */
export type FilamentUse = { type: string; color: string; grams: number | null };
/** What the store knows of a print's filaments: the trays it drew from, and its plate when sent from the library. */
export type FilamentFacts = {
  trays: { tray: number; type: string; color: string | null }[];
  plate: { filaments: { type: string; color: string; grams: number | null }[]; ams_mapping: number[] } | null;
};

/** `#RRGGBB` upper case from a tray's RRGGBBAA or a slicer's #RRGGBB[AA]; "" when not a colour. */
export function colorKey(color: string | null | undefined): string {
  const m = /^#?([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(color ?? "");
  return m ? `#${m[1]!.toUpperCase()}` : "";
}

/**
 * The filaments a print used. Sent from the library: the plate's filaments with their grams, each named by the AMS
 * tray ams_mapping gave it when that tray was seen (what was really loaded), else as the slicer named it. Otherwise
 * the trays the print drew from, grams unknown. Entries of the same type and colour are added together.
 */
export function filamentUses(facts: FilamentFacts): FilamentUse[] {
  const out = new Map<string, FilamentUse>();
  const add = (type: string, color: string, grams: number | null) => {
    const t = type.trim().slice(0, 40);
    if (!t) return;
    const key = `${t}|${color}`;
    const had = out.get(key);
    if (!had) out.set(key, { type: t, color, grams });
    else if (grams !== null) had.grams = (had.grams ?? 0) + grams;
  };
  const plate = facts.plate?.filaments.length ? facts.plate : null;
  if (plate)
    plate.filaments.forEach((f, i) => {
      const tray = facts.trays.find((t) => t.tray === plate.ams_mapping[i]);
      const grams =
        f.grams !== null && Number.isFinite(f.grams) && f.grams >= 0 ? Math.round(f.grams * 100) / 100 : null;
      add(tray?.type ?? f.type, colorKey(tray ? tray.color : f.color), grams);
    });
  else for (const t of facts.trays) add(t.type, colorKey(t.color), null);
  return [...out.values()];
}

/** FilamentFacts from the store's rows (the plate's filaments_json and the send's options_json); bad JSON = none. */
export function filamentFacts(
  trays: FilamentFacts["trays"],
  sent: { filaments_json: string; options_json: string } | null | undefined,
): FilamentFacts {
  const parse = (text: string): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  };
  if (!sent) return { trays, plate: null };
  const list = parse(sent.filaments_json);
  const mapping = (parse(sent.options_json) as { ams_mapping?: unknown } | null)?.ams_mapping;
  const filaments = (Array.isArray(list) ? list : []).map((f) => ({
    type: typeof f?.type === "string" ? f.type : "",
    color: typeof f?.color === "string" ? f.color : "",
    grams: typeof f?.grams === "number" ? f.grams : null,
  }));
  const ams_mapping = Array.isArray(mapping) ? mapping.map((m) => (typeof m === "number" ? m : -1)) : [];
  return { trays, plate: { filaments, ams_mapping } };
}

/** The type of the filament with the most grams, else of the first one used; "" with none. */
export function mainFilament(uses: FilamentUse[]): string {
  let main = uses[0];
  for (const u of uses) if ((u.grams ?? -1) > (main?.grams ?? -1)) main = u;
  return main?.type ?? "";
}

export const bandOf = (value: number, measure: RoomMeasure) =>
  Math.floor(value / BAND_WIDTH[measure]) * BAND_WIDTH[measure];

/** The distinct errors a print's `errors` JSON names; anything unreadable is left out (closing must not fail). */
function errorsOf(text: string): { code: string; kind: string }[] {
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  const out = new Map<string, { code: string; kind: string }>();
  for (const e of list) {
    const code = (e as { code?: unknown })?.code;
    if (typeof code !== "string" && typeof code !== "number") continue;
    const kind = (e as { kind?: unknown }).kind === "hms" ? "hms" : "print_error";
    out.set(`${kind}|${code}`, { code: String(code).slice(0, 64), kind });
  }
  return [...out.values()];
}

/** What an ended print adds; null for one still running. */
export function contributionOf(job: JobRow, zone: string, facts?: FilamentFacts): StatsContribution | null {
  if (job.outcome === "running" || job.ended_at === null) return null;
  const errors = errorsOf(job.errors);
  const filaments = facts ? filamentUses(facts) : [];
  const room: StatsContribution["room"] = [];
  if (job.readings > 0 && job.outcome !== "cancelled") {
    const failed = job.outcome === "failed";
    room.push({ measure: "humidity", band: bandOf(job.hum_sum / job.readings, "humidity"), failed });
    room.push({ measure: "temperature", band: bandOf(job.temp_sum / job.readings, "temperature"), failed });
  }
  return {
    printer_id: job.printer_id,
    month: dayOf(job.started_at, zone).slice(0, 7),
    outcome: job.outcome,
    print_ms: Math.max(0, job.ended_at - job.started_at - job.paused_ms),
    errors,
    room,
    filament: mainFilament(filaments),
    filaments,
  };
}

/** Wilson score interval (95 %) for `failed` of `n`: honest bounds for a small sample. */
export function wilson(failed: number, n: number, z = 1.959964): { low: number; high: number } {
  if (n === 0) return { low: 0, high: 1 };
  const p = failed / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
