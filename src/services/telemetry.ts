// Owns what devices report: readings, statuses and frames; stored first, then announced.
import type { EventBus } from "../events.ts";
import type { ImageMime } from "../images.ts";
import type { Store } from "../store/store.ts";
import { dayRange } from "../time.ts";

export function createTelemetryService(deps: { store: Store; events: EventBus; imageRetention: number; zone: string }) {
  const { store, events } = deps;
  return {
    recordReading(deviceId: number, temperature: number, humidity: number): number {
      const row = { id: 0, device_id: deviceId, recorded_at: Date.now(), temperature, humidity };
      row.id = store.readings.insert(deviceId, row.recorded_at, temperature, humidity);
      events.emit("reading", row);
      return row.id;
    },
    recordStatus(deviceId: number, status: string): number {
      const row = { id: 0, device_id: deviceId, recorded_at: Date.now(), status };
      row.id = store.statuses.insert(deviceId, row.recorded_at, status);
      events.emit("status", row);
      return row.id;
    },
    recordFrame(deviceId: number, mime: ImageMime, bytes: Uint8Array): number {
      const recordedAt = Date.now();
      const id = store.frames.insert(deviceId, recordedAt, mime, bytes, deps.imageRetention);
      events.emit("frame", { id, device_id: deviceId, recorded_at: recordedAt, mime, size: bytes.length, bytes });
      return id;
    },
    /** Readings of one calendar day in the configured zone, oldest first; null for a malformed day. */
    readingsOfDay(day: string) {
      const range = dayRange(day, deps.zone);
      return range ? store.readings.between(range.start, range.end) : null;
    },
    latest: () => ({ reading: store.readings.latest(), status: store.statuses.latest(), frame: store.frames.list()[0] ?? null }),
    frames: () => store.frames.list(),
    frame: (id: number) => store.frames.byId(id),
  };
}

export type TelemetryService = ReturnType<typeof createTelemetryService>;
