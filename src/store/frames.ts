// Owns the frames table: each printer's newest camera frames (from its devices or its built-in camera).
import type { Database } from "bun:sqlite";
import type { ImageMime } from "../images.ts";

/** Where a frame came from: a camera Pi (device) or the printer's own camera. */
export type FrameSource = "device" | "printer";
export type FrameMeta = {
  id: number;
  printer_id: number;
  device_id: number;
  recorded_at: number;
  mime: ImageMime;
  size: number;
  source: FrameSource;
};
export type FrameRow = FrameMeta & { bytes: Uint8Array };

const META = "id, printer_id, device_id, recorded_at, mime, length(bytes) AS size, source";

export function frameStatements(db: Database) {
  const q = {
    insert: db.query<{ id: number }, [number, number, number, string, Uint8Array, FrameSource]>(
      `INSERT INTO frames (printer_id, device_id, recorded_at, mime, bytes, source)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
    ),
    // The id of the oldest frame to keep; everything of that printer and source below it goes.
    keepFrom: db.query<{ id: number }, [number, FrameSource, number]>(
      "SELECT id FROM frames WHERE printer_id = ? AND source = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
    ),
    pruneBelow: db.query<never, [number, FrameSource, number]>(
      "DELETE FROM frames WHERE printer_id = ? AND source = ? AND id <= ?",
    ),
    byId: db.query<FrameRow, [number]>(`SELECT ${META}, bytes FROM frames WHERE id = ?`),
    latest: db.query<FrameMeta, [number]>(`SELECT ${META} FROM frames WHERE printer_id = ? ORDER BY id DESC LIMIT 1`),
    latestOf: db.query<FrameMeta, [number, FrameSource]>(
      `SELECT ${META} FROM frames WHERE printer_id = ? AND source = ? ORDER BY id DESC LIMIT 1`,
    ),
    list: db.query<FrameMeta, [number, number]>(
      `SELECT ${META} FROM frames WHERE printer_id = ? ORDER BY id DESC LIMIT ?`,
    ),
    deleteOfPrinter: db.query<never, [number]>("DELETE FROM frames WHERE printer_id = ?"),
  };
  return {
    /** Stores a frame and keeps only the printer's newest `keep` of that source, in one transaction. */
    insert: db.transaction(
      (
        printerId: number,
        deviceId: number,
        at: number,
        mime: ImageMime,
        bytes: Uint8Array,
        keep: number,
        source: FrameSource = "device",
      ) => {
        const id = q.insert.get(printerId, deviceId, at, mime, bytes, source)!.id;
        const edge = q.keepFrom.get(printerId, source, keep);
        if (edge) q.pruneBelow.run(printerId, source, edge.id);
        return id;
      },
    ),
    byId: (id: number) => q.byId.get(id),
    /** The printer's newest frame's metadata (no bytes), of one source or either. */
    latest: (printerId: number, source?: FrameSource) =>
      source ? q.latestOf.get(printerId, source) : q.latest.get(printerId),
    list: (printerId: number, limit = 1000) => q.list.all(printerId, limit),
    deleteOfPrinter: (printerId: number) => void q.deleteOfPrinter.run(printerId),
  };
}
