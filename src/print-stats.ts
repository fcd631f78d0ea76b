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
  /** Filament type, where the print's AMS data names it; "" when unknown. */
  filament: string;
};

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
export function contributionOf(job: JobRow, zone: string): StatsContribution | null {
  if (job.outcome === "running" || job.ended_at === null) return null;
  const errors = errorsOf(job.errors);
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
    filament: "",
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
