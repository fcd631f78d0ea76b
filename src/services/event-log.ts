// Owns the admin's log view: recent warnings and errors kept in the database, bounded in rows and rate.
import type { Level } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";

export const EVENT_LOG_ROWS = 500;
/** A runaway device repeating one mistake must not turn into a write per event on the SD card. */
const SAME_MESSAGE_EVERY_MS = 10 * 1000;

export function createEventLog(store: AsyncStore) {
  const lastWritten = new Map<string, { at: number; suppressed: number }>();
  return {
    record(level: Level, message: string, fields?: Record<string, unknown>): void {
      if (level !== "warn" && level !== "error") return;
      const now = Date.now();
      const key = `${level}|${message}`;
      const last = lastWritten.get(key);
      if (last && now - last.at < SAME_MESSAGE_EVERY_MS) {
        last.suppressed++;
        return;
      }
      const details = { ...fields, ...(last?.suppressed ? { repeated: last.suppressed } : {}) };
      lastWritten.set(key, { at: now, suppressed: 0 });
      if (lastWritten.size > 1000) lastWritten.clear();
      const json = JSON.stringify(details, (_k, v) => (v instanceof Error ? v.message : v));
      store.eventLog.append(level, message, json, EVENT_LOG_ROWS).catch(() => {
        // The log must never take the server down, e.g. when the disk is full.
      });
    },
    recent: (limit = 100) => store.eventLog.recent(limit),
  };
}

export type EventLog = ReturnType<typeof createEventLog>;
