// Owns the capture intervals the device is told to use, and their rules (PROTOCOL.md §3).
import type { EventBus } from "../events.ts";
import { type Message, msg } from "../i18n.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { Intervals } from "../store/store.ts";

export const INTERVAL_MINIMUMS: Intervals = { image_delay: 5, temphum_delay: 1, status_delay: 1 };
/** A day: anything longer is surely a typo, and keeps values far from integer overflow on the device. */
export const INTERVAL_MAXIMUM = 86400;

export type IntervalErrors = Partial<Record<keyof Intervals, Message>>;

/** Checks raw form/API values; gives whole-second intervals or a message per bad field. */
export function parseIntervals(
  raw: Record<string, unknown>,
): { ok: true; value: Intervals } | { ok: false; errors: IntervalErrors } {
  const errors: IntervalErrors = {};
  const value = {} as Intervals;
  for (const key of Object.keys(INTERVAL_MINIMUMS) as (keyof Intervals)[]) {
    const v = raw[key];
    const text = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim() : "";
    const min = INTERVAL_MINIMUMS[key];
    if (!/^\d+$/.test(text)) errors[key] = msg("intervalWhole", { min });
    else if (Number(text) < min) errors[key] = msg("intervalMin", { min });
    else if (Number(text) > INTERVAL_MAXIMUM) errors[key] = msg("intervalMax", { max: INTERVAL_MAXIMUM });
    else value[key] = Number(text);
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value };
}

export async function createIntervalService(deps: { store: AsyncStore; events: EventBus }) {
  // Read on every tile render: held in memory (rebuilt from the database at start and when Redis is back, and
  // taken from other instances' announcements), the database only written on change.
  let current = await deps.store.intervals.get();
  deps.events.on(
    "intervals",
    (i, remote) => {
      if (remote) current = { ...i };
    },
    { remote: true },
  );
  return {
    get: (): Intervals => current,
    /** Reads the intervals again (another instance may have changed them while Redis was down). */
    async refresh() {
      current = await deps.store.intervals.get();
    },
    /** Stores new intervals and announces them (the hub pushes timelapse_conf to devices). */
    async set(value: Intervals): Promise<void> {
      await deps.store.intervals.set(value);
      current = { ...value };
      deps.events.emit("intervals", current);
    },
  };
}

export type IntervalService = Awaited<ReturnType<typeof createIntervalService>>;
