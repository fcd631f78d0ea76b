// Owns the insight numbers (PRINTERS.md §9 Insight API): prints, printing hours and success rate per printer and
// month, the most frequent errors, and what the room does to prints (failure rate per humidity or temperature band
// with a Wilson 95 % interval, "enough" only from min_prints up). Everything is read from aggregates the store
// keeps as prints end, so no request scans prints or readings. It also says when the room is, right now, in a band
// where prints have failed markedly more often: that band's lower bound above the other bands' rate.
import type { EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import { BAND_WIDTH, bandOf, type RoomMeasure, wilson } from "../print-stats.ts";
import { hmsWikiUrl } from "../printer-state.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { MonthStatsRow, RoomStatsRow } from "../store/store.ts";
import { dayOf } from "../time.ts";

/** Below this many prints a band's rate is shown but not relied on. */
export const ROOM_MIN_PRINTS = 10;
const TOP_ERRORS = 20;
const HOUR_MS = 3_600_000;

export type PrinterTotals = {
  printer_id: number;
  prints: number;
  finished: number;
  failed: number;
  cancelled: number;
  print_hours: number;
  /** Finished of all prints ended; null with none. */
  success_rate: number | null;
};
export type RoomBand = {
  min: number;
  max: number;
  prints: number;
  failed: number;
  failure_rate: number | null;
  ci_low: number;
  ci_high: number;
  enough: boolean;
};
export type RoomWarning = {
  measure: RoomMeasure;
  value: number;
  band: RoomBand;
  /** The failure rate of every other band together. */
  others_rate: number;
  others_prints: number;
};

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

function totals(printerId: number, rows: MonthStatsRow[]): PrinterTotals {
  const t = { printer_id: printerId, prints: 0, finished: 0, failed: 0, cancelled: 0, print_ms: 0 };
  for (const r of rows) {
    t.prints += r.prints;
    t.finished += r.finished;
    t.failed += r.failed;
    t.cancelled += r.cancelled;
    t.print_ms += r.print_ms;
  }
  const { print_ms, ...rest } = t;
  return {
    ...rest,
    print_hours: round(print_ms / HOUR_MS, 2),
    success_rate: t.prints ? round(t.finished / t.prints) : null,
  };
}

export function roomBands(rows: RoomStatsRow[], measure: RoomMeasure, minPrints = ROOM_MIN_PRINTS): RoomBand[] {
  return rows.map((r) => {
    const ci = wilson(r.failed, r.prints);
    return {
      min: r.band,
      max: r.band + BAND_WIDTH[measure],
      prints: r.prints,
      failed: r.failed,
      failure_rate: r.prints ? round(r.failed / r.prints) : null,
      ci_low: round(ci.low),
      ci_high: round(ci.high),
      enough: r.prints >= minPrints,
    };
  });
}

/** The band `value` falls in when it is markedly worse than the rest (both sides with enough prints), else null. */
export function markedlyWorse(bands: RoomBand[], measure: RoomMeasure, value: number, minPrints = ROOM_MIN_PRINTS) {
  const at = bandOf(value, measure);
  const band = bands.find((b) => b.min === at);
  if (!band?.enough) return null;
  let prints = 0;
  let failed = 0;
  for (const b of bands)
    if (b !== band) {
      prints += b.prints;
      failed += b.failed;
    }
  if (prints < minPrints) return null;
  const others = failed / prints;
  return band.ci_low > others ? { measure, value, band, others_rate: round(others), others_prints: prints } : null;
}

/** A room reading older than this says nothing about the room now. */
export const ROOM_NOW_MS = 15 * 60_000;

/** The warning in words, from a template with {value} {unit} {band} {failed} {prints} {low} {high} {others}. */
export function describeWarning(w: RoomWarning, template: string): string {
  const unit = w.measure === "humidity" ? "%" : "°C";
  const p = (x: number) => (x * 100).toFixed(0);
  const vars: Record<string, string> = {
    value: String(Math.round(w.value * 10) / 10),
    unit,
    band: `${w.band.min}–${w.band.max} ${unit}`,
    failed: String(w.band.failed),
    prints: String(w.band.prints),
    low: p(w.band.ci_low),
    high: p(w.band.ci_high),
    others: p(w.others_rate),
  };
  return template.replace(/\{(\w+)\}/g, (whole, k: string) => vars[k] ?? whole);
}

export function createStatsService(deps: {
  store: AsyncStore;
  events: EventBus;
  log: Logger;
  zone: string;
  /** The printer's name, or undefined for one that is gone. */
  printerName: (printerId: number) => string | undefined;
  minPrints?: number;
}) {
  const { store, zone } = deps;
  const minPrints = deps.minPrints ?? ROOM_MIN_PRINTS;
  // Each printer's room bands (every filament), for the warning when a print starts: read again when one ends.
  const roomCache = new Map<number, Record<RoomMeasure, RoomBand[]>>();
  async function loadRoom(printerId: number) {
    const [humidity, temperature] = await Promise.all([
      store.stats.room("humidity", printerId, ""),
      store.stats.room("temperature", printerId, ""),
    ]);
    roomCache.set(printerId, {
      humidity: roomBands(humidity, "humidity", minPrints),
      temperature: roomBands(temperature, "temperature", minPrints),
    });
  }
  deps.events.on("printersChanged", ({ printerId, removed }) => {
    if (removed) roomCache.delete(printerId);
    else if (!roomCache.has(printerId)) loadRoom(printerId).catch(() => undefined);
  });
  deps.events.on("job", ({ kind, job }) => {
    if (kind === "started") return;
    loadRoom(job.printer_id).catch((err) =>
      deps.log.error("reading the room statistics failed", { printer: job.printer_id, error: err as Error }),
    );
  });

  /** `YYYY-MM` or `YYYY-MM-DD` → its month; null for anything else. */
  const monthOf = (text: string | undefined) => (text && /^\d{4}-\d{2}(-\d{2})?$/.test(text) ? text.slice(0, 7) : null);

  return {
    minPrints,
    /** The range asked for, or the twelve months up to this one; null when a bound is not a month or a day. */
    range(from?: string, to?: string): { from: string; to: string } | null {
      const now = dayOf(Date.now(), zone).slice(0, 7);
      const [y, m] = now.split("-").map(Number) as [number, number];
      const yearAgo = `${m === 12 ? y : y - 1}-${String((m % 12) + 1).padStart(2, "0")}`;
      const f = from ? monthOf(from) : yearAgo;
      const t = to ? monthOf(to) : now;
      return f && t ? { from: f, to: t } : null;
    },

    async summary(range: { from: string; to: string }, printerId = 0) {
      const r = { ...range, printerId };
      const [months, errors, filaments] = await Promise.all([
        store.stats.months(r),
        store.stats.errors(r, TOP_ERRORS),
        store.stats.filaments(r),
      ]);
      const byPrinter = new Map<number, MonthStatsRow[]>();
      for (const m of months) byPrinter.set(m.printer_id, [...(byPrinter.get(m.printer_id) ?? []), m]);
      return {
        from: range.from,
        to: range.to,
        printers: [...byPrinter].map(([id, rows]) => ({ ...totals(id, rows), name: deps.printerName(id) ?? null })),
        months: months.map((m) => {
          const { print_hours, success_rate } = totals(m.printer_id, [m]);
          const { print_ms: _ms, ...counts } = m;
          return { ...counts, print_hours, success_rate };
        }),
        // Grams are known only for prints sent from the library (the plate's slicer figures): grams adds those up,
        // grams_prints says how many of the prints that is, and grams is null when none of them knew.
        filament: filaments.map((f) => ({
          type: f.type,
          color: f.color,
          grams: f.grams_prints ? round(f.grams, 2) : null,
          prints: f.prints,
          grams_prints: f.grams_prints,
        })),
        errors: errors.map((e) => ({ ...e, wiki_url: hmsWikiUrl(e.code) })),
      };
    },

    async room(measure: RoomMeasure, printerId = 0, filament = "") {
      const rows = await store.stats.room(measure, printerId, filament);
      return { min_prints: minPrints, measure, bands: roomBands(rows, measure, minPrints) };
    },

    /**
     * Whether the room now (these values) is in a band where this printer's prints failed markedly more often, from
     * the bands read at start and whenever one of its prints ends (the notify rules cannot wait for a query); null
     * until the printer's bands are read.
     */
    roomWarningNow(printerId: number, now: { temperature: number; humidity: number } | null): RoomWarning | null {
      const bands = roomCache.get(printerId);
      if (!bands) {
        loadRoom(printerId).catch(() => undefined);
        return null;
      }
      if (!now) return null;
      return (
        markedlyWorse(bands.humidity, "humidity", now.humidity, minPrints) ??
        markedlyWorse(bands.temperature, "temperature", now.temperature, minPrints)
      );
    },
    /** Reads every printer's room bands (at start). */
    load: (printerIds: number[]) => Promise.all(printerIds.map(loadRoom)),
  };
}

export type StatsService = ReturnType<typeof createStatsService>;
