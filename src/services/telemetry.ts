// Owns what devices report: readings, statuses and frames; stored first, then announced. Every read
// is scoped to one printer. Each printer's newest reading, status and frame are held: rebuilt from the database
// at start (and when Redis is back), kept up to date by this instance's reports and other instances' (remote
// events).
import type { EventBus } from "../events.ts";
import type { ImageMime } from "../images.ts";
import type { AsyncStore, StoreWriteQueue } from "../store/async-store.ts";
import type { Bucket, FrameMeta, FrameSource, ReadingRow, StatusRow } from "../store/store.ts";
import { dayRange } from "../time.ts";

/** A repeated status's "last seen" reaches the database at most this often. */
const SEEN_WRITE_MS = 30_000;

/** Who reported something: the printer it is about and the device row that said it. */
export type Reporter = { printerId: number; deviceId: number };

/**
 * Each record* resolves with the row id once the row is committed, and only then announces it. Each printer's
 * newest reading, status and frame are loaded at start (`load`) and then kept in memory.
 */
export function createTelemetryService(deps: {
  store: AsyncStore;
  writes: StoreWriteQueue;
  events: EventBus;
  imageRetention: number;
  zone: string;
}) {
  const { store, events, writes } = deps;
  // Each printer's newest reading, status and frame, kept as they are stored: the overview and the API ask
  // for them on every request, and a lookup per printer per request is what would grow with the fleet.
  type Newest = { reading: ReadingRow | null; status: StatusRow | null; frame: FrameMeta | null };
  const newest = new Map<number, Newest>();
  const seenWrittenAt = new Map<number, number>();
  const slot = (printerId: number) => {
    const n = newest.get(printerId) ?? { reading: null, status: null, frame: null };
    newest.set(printerId, n);
    return n;
  };
  // A printer removed takes its data with it; one renamed keeps it (and a new one has none yet).
  events.on(
    "printersChanged",
    ({ printerId, removed }) => {
      if (removed) newest.delete(printerId);
    },
    { remote: true },
  );
  // What another instance stored: held here too, so this instance's pages and cards show it.
  events.on(
    "reading",
    (r, remote) => {
      if (remote) slot(r.printer_id).reading = r;
    },
    { remote: true },
  );
  events.on(
    "status",
    (s, remote) => {
      if (remote) slot(s.printer_id).status = s;
    },
    { remote: true },
  );
  events.on(
    "frame",
    ({ bytes: _, ...meta }, remote) => {
      if (remote) slot(meta.printer_id).frame = meta;
    },
    { remote: true },
  );
  const newer = <T extends { id: number }>(held: T | null, stored: T | null) =>
    held && (!stored || held.id >= stored.id) ? held : stored;
  return {
    async recordReading(by: Reporter, temperature: number, humidity: number): Promise<number> {
      const row = {
        id: 0,
        printer_id: by.printerId,
        device_id: by.deviceId,
        recorded_at: Date.now(),
        temperature,
        humidity,
      };
      row.id = await writes.run(
        "readings",
        "insert",
        by.printerId,
        by.deviceId,
        row.recorded_at,
        temperature,
        humidity,
      );
      const n = slot(by.printerId);
      n.reading = row;
      events.emit("reading", row);
      return row.id;
    },
    async recordStatus(by: Reporter, status: string): Promise<number> {
      const now = Date.now();
      // The same status again only moves "last seen": kept in memory, written at most every 30 s.
      const held = newest.get(by.printerId)?.status;
      const written = seenWrittenAt.get(by.printerId) ?? 0;
      if (held && held.status === status && held.device_id === by.deviceId && now - written < SEEN_WRITE_MS) {
        const row = { ...held, last_seen_at: now };
        slot(by.printerId).status = row;
        events.emit("status", row);
        return row.id;
      }
      const row = await writes.run("statuses", "record", by.printerId, by.deviceId, now, status);
      seenWrittenAt.set(by.printerId, now);
      const n = slot(by.printerId);
      n.status = row;
      events.emit("status", row);
      return row.id;
    },
    async recordFrame(by: Reporter, mime: ImageMime, bytes: Uint8Array, source: FrameSource = "device") {
      const at = Date.now();
      const keep = deps.imageRetention;
      const id = await writes.run("frames", "insert", by.printerId, by.deviceId, at, mime, bytes, keep, source);
      const size = bytes.length;
      const meta = { id, printer_id: by.printerId, device_id: by.deviceId, recorded_at: at, mime, size, source };
      const n = slot(by.printerId);
      n.frame = meta;
      events.emit("frame", { ...meta, bytes });
      return id;
    },
    /** A validator for one day's readings (see store.readings.stamp); null for a malformed day. */
    async dayStamp(printerId: number, day: string) {
      const range = dayRange(day, deps.zone);
      return range ? await store.readings.stamp(printerId, range.start, range.end) : null;
    },
    /** Readings of one calendar day in the configured zone, oldest first; null for a malformed day. */
    async readingsOfDay(printerId: number, day: string) {
      const range = dayRange(day, deps.zone);
      return range ? await store.readings.between(printerId, range.start, range.end) : null;
    },
    /** Hourly or daily min/avg/max from `fromDay` to `toDay` inclusive; null for malformed days. */
    async summaries(printerId: number, bucket: Bucket, fromDay: string, toDay: string) {
      const from = dayRange(fromDay, deps.zone);
      const to = dayRange(toDay, deps.zone);
      if (!from || !to || to.end <= from.start) return null;
      return await store.readings.summaries(printerId, bucket, from.start, to.end);
    },
    /**
     * Reads each printer's newest rows, keeping what is held when it is as new (a status's "last seen" is held
     * ahead of the database): at start, and after Redis was down (other instances' reports were missed).
     */
    async refresh(printerIds: number[]) {
      await Promise.all(
        printerIds.map(async (id) => {
          const [reading, status, frame] = await Promise.all([
            store.readings.latest(id),
            store.statuses.latest(id),
            store.frames.latest(id),
          ]);
          const n = slot(id);
          n.reading = newer(n.reading, reading);
          n.status = newer(n.status, status);
          n.frame = newer(n.frame, frame);
        }),
      );
    },
    latest(printerId: number): Newest {
      const n = newest.get(printerId);
      return n ? { ...n } : { reading: null, status: null, frame: null };
    },
    frames: (printerId: number, limit?: number) => store.frames.list(printerId, limit),
    frame: (id: number) => store.frames.byId(id),
  };
}

export type TelemetryService = ReturnType<typeof createTelemetryService>;
