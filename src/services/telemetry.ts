// Owns what devices report: readings, statuses and frames; stored first, then announced.
import type { EventBus } from "../events.ts";
import type { ImageMime } from "../images.ts";
import type { Store } from "../store/store.ts";
import type { WriteQueue } from "../store/write-queue.ts";
import { dayRange } from "../time.ts";

/** Each record* resolves with the row id once the row is committed, and only then announces it. */
export function createTelemetryService(deps: {
  store: Store;
  writes: WriteQueue;
  events: EventBus;
  imageRetention: number;
  zone: string;
}) {
  const { store, events, writes } = deps;
  return {
    async recordReading(deviceId: number, temperature: number, humidity: number): Promise<number> {
      const row = { id: 0, device_id: deviceId, recorded_at: Date.now(), temperature, humidity };
      row.id = await writes.run(() => store.readings.insert(deviceId, row.recorded_at, temperature, humidity));
      events.emit("reading", row);
      return row.id;
    },
    async recordStatus(deviceId: number, status: string): Promise<number> {
      const now = Date.now();
      const row = await writes.run(() => store.statuses.record(deviceId, now, status));
      events.emit("status", row);
      return row.id;
    },
    async recordFrame(deviceId: number, mime: ImageMime, bytes: Uint8Array): Promise<number> {
      const recordedAt = Date.now();
      const id = await writes.run(() => store.frames.insert(deviceId, recordedAt, mime, bytes, deps.imageRetention));
      events.emit("frame", { id, device_id: deviceId, recorded_at: recordedAt, mime, size: bytes.length, bytes });
      return id;
    },
    /** A validator for one day's readings (see store.readings.stamp); null for a malformed day. */
    dayStamp(day: string) {
      const range = dayRange(day, deps.zone);
      return range ? store.readings.stamp(range.start, range.end) : null;
    },
    /** Readings of one calendar day in the configured zone, oldest first; null for a malformed day. */
    readingsOfDay(day: string) {
      const range = dayRange(day, deps.zone);
      return range ? store.readings.between(range.start, range.end) : null;
    },
    /** Hourly or daily min/avg/max from `fromDay` to `toDay` inclusive; null for malformed days. */
    summaries(bucket: "hour" | "day", fromDay: string, toDay: string) {
      const from = dayRange(fromDay, deps.zone);
      const to = dayRange(toDay, deps.zone);
      if (!from || !to || to.end <= from.start) return null;
      return store.readings.summaries(bucket, from.start, to.end);
    },
    latest: () => ({ reading: store.readings.latest(), status: store.statuses.latest(), frame: store.frames.latest() }),
    frames: () => store.frames.list(),
    frame: (id: number) => store.frames.byId(id),
  };
}

export type TelemetryService = ReturnType<typeof createTelemetryService>;
