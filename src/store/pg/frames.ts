// Owns the frames table on PostgreSQL: the same methods and results as ../frames.ts.

import type { ImageMime } from "../../images.ts";
import type { Promisified } from "../async-store.ts";
import type { FrameMeta, FrameRow, FrameSource, frameStatements } from "../frames.ts";
import { atomic, one, type Pg, rows } from "./run.ts";

const META = "id, printer_id, device_id, recorded_at, mime, length(bytes) AS size, source";

export function pgFrameStatements(pg: Pg): Promisified<ReturnType<typeof frameStatements>> {
  const { sql } = pg;
  return {
    /** The frame, then the prune of that printer and source to the newest `keep`: pipelined in one transaction. */
    insert: (
      printerId: number,
      deviceId: number,
      at: number,
      mime: ImageMime,
      bytes: Uint8Array,
      keep: number,
      source: FrameSource = "device",
    ) =>
      atomic(pg, async ({ sql: tx }) => {
        const [inserted] = await Promise.all([
          one<{ id: number }>(tx`INSERT INTO frames (printer_id, device_id, recorded_at, mime, bytes, source)
            VALUES (${printerId}, ${deviceId}, ${at}, ${mime}, ${bytes}, ${source}) RETURNING id`),
          tx`DELETE FROM frames WHERE printer_id = ${printerId} AND source = ${source} AND id <= (
            SELECT id FROM frames WHERE printer_id = ${printerId} AND source = ${source}
            ORDER BY id DESC LIMIT 1 OFFSET ${keep})`,
        ]);
        return inserted!.id;
      }),
    byId: (id: number) => one<FrameRow>(sql.unsafe(`SELECT ${META}, bytes FROM frames WHERE id = $1`, [id])),
    latest: (printerId: number, source?: FrameSource) =>
      source
        ? one<FrameMeta>(
            sql.unsafe(`SELECT ${META} FROM frames WHERE printer_id = $1 AND source = $2 ORDER BY id DESC LIMIT 1`, [
              printerId,
              source,
            ]),
          )
        : one<FrameMeta>(
            sql.unsafe(`SELECT ${META} FROM frames WHERE printer_id = $1 ORDER BY id DESC LIMIT 1`, [printerId]),
          ),
    list: (printerId: number, limit = 1000) =>
      rows<FrameMeta>(
        sql.unsafe(`SELECT ${META} FROM frames WHERE printer_id = $1 ORDER BY id DESC LIMIT $2`, [printerId, limit]),
      ),
    deleteOfPrinter: async (printerId: number) => {
      await sql`DELETE FROM frames WHERE printer_id = ${printerId}`;
    },
  };
}
