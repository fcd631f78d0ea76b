// Owns the devices and device_tokens tables on PostgreSQL: the same methods and results as ../devices.ts.
import type { Promisified } from "../async-store.ts";
import type { DeviceTokenRow, deviceStatements } from "../devices.ts";
import { DEFAULT_DEVICE_ID, DEFAULT_PRINTER_ID } from "../migrations.ts";
import { atomic, changes, one, type Pg, rows } from "./run.ts";

const TOKEN = "SELECT t.*, d.printer_id FROM device_tokens t JOIN devices d ON d.id = t.device_id";

export function pgDeviceStatements(pg: Pg): Promisified<ReturnType<typeof deviceStatements>> {
  const { sql } = pg;
  return {
    /** Made on first use; two instances making it at once both get the one row (devices.name is unique). */
    async loginDevice(printerId: number) {
      if (printerId === DEFAULT_PRINTER_ID) return DEFAULT_DEVICE_ID;
      const name = `login device of printer ${printerId}`;
      const find = () =>
        one<{ id: number }>(sql`SELECT id FROM devices WHERE name = ${name} AND printer_id = ${printerId}`);
      const found = await find();
      if (found) return found.id;
      const made = await one<{ id: number }>(sql`INSERT INTO devices (name, printer_id, created_at)
        VALUES (${name}, ${printerId}, ${Date.now()}) ON CONFLICT (name) DO NOTHING RETURNING id`);
      return made?.id ?? (await find())!.id;
    },
    tokens: {
      insert: (printerId: number, name: string, tokenHash: string) =>
        atomic(pg, async ({ sql: tx }) => {
          const deviceName = `${name} #${crypto.randomUUID().slice(0, 8)}`;
          const now = Date.now();
          const [row] = await rows<{ id: number }>(tx`
            WITH d AS (
              INSERT INTO devices (name, printer_id, created_at)
              VALUES (${deviceName}, ${printerId}, ${now}) RETURNING id
            )
            INSERT INTO device_tokens (name, token_hash, device_id, created_at)
            SELECT ${name}, ${tokenHash}, d.id, ${now} FROM d RETURNING id`);
          return row!.id;
        }),
      byHash: (hash: string) =>
        one<DeviceTokenRow>(sql.unsafe(`${TOKEN} WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, [hash])),
      list: async (printerId?: number) => {
        const all = await rows<DeviceTokenRow>(sql.unsafe(`${TOKEN} WHERE t.revoked_at IS NULL ORDER BY t.id`));
        return printerId === undefined ? all : all.filter((t) => t.printer_id === printerId);
      },
      touch: async (id: number, at: number) => {
        await sql`UPDATE device_tokens SET last_used_at = ${at} WHERE id = ${id}`;
      },
      revoke: async (id: number) =>
        (await changes(
          sql`UPDATE device_tokens SET revoked_at = ${Date.now()} WHERE id = ${id} AND revoked_at IS NULL`,
        )) > 0,
    },
    deleteOfPrinter: (printerId: number) =>
      atomic(pg, async ({ sql: tx }) => {
        await Promise.all([
          tx`DELETE FROM device_tokens WHERE device_id IN (SELECT id FROM devices WHERE printer_id = ${printerId})`,
          tx`DELETE FROM devices WHERE printer_id = ${printerId}`,
        ]);
      }),
  };
}
