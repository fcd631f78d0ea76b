// Owns the devices and device_tokens tables: each device belongs to one printer; a token is a device.
import type { Database } from "bun:sqlite";
import { DEFAULT_DEVICE_ID, DEFAULT_PRINTER_ID } from "./migrations.ts";

export type DeviceTokenRow = {
  id: number;
  name: string;
  token_hash: string;
  device_id: number;
  printer_id: number;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
};

const TOKEN = "SELECT t.*, d.printer_id FROM device_tokens t JOIN devices d ON d.id = t.device_id";

export function deviceStatements(db: Database) {
  const q = {
    insertDevice: db.query<{ id: number }, [string, number, number]>(
      "INSERT INTO devices (name, printer_id, created_at) VALUES (?, ?, ?) RETURNING id",
    ),
    deviceByName: db.query<{ id: number }, [string, number]>(
      "SELECT id FROM devices WHERE name = ? AND printer_id = ?",
    ),
    insertToken: db.query<{ id: number }, [string, string, number, number]>(
      "INSERT INTO device_tokens (name, token_hash, device_id, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    ),
    tokenByHash: db.query<DeviceTokenRow, [string]>(`${TOKEN} WHERE t.token_hash = ? AND t.revoked_at IS NULL`),
    listTokens: db.query<DeviceTokenRow, []>(`${TOKEN} WHERE t.revoked_at IS NULL ORDER BY t.id`),
    touchToken: db.query<never, [number, number]>("UPDATE device_tokens SET last_used_at = ? WHERE id = ?"),
    revokeToken: db.query<never, [number, number]>(
      "UPDATE device_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
    ),
    deleteTokensOfPrinter: db.query<never, [number]>(
      "DELETE FROM device_tokens WHERE device_id IN (SELECT id FROM devices WHERE printer_id = ?)",
    ),
    deleteDevicesOfPrinter: db.query<never, [number]>("DELETE FROM devices WHERE printer_id = ?"),
  };
  return {
    /** The device row that cookie (form login) devices of a printer report as; made on first use. */
    loginDevice(printerId: number): number {
      if (printerId === DEFAULT_PRINTER_ID) return DEFAULT_DEVICE_ID;
      const name = `login device of printer ${printerId}`;
      return q.deviceByName.get(name, printerId)?.id ?? q.insertDevice.get(name, printerId, Date.now())!.id;
    },
    tokens: {
      /** A token belongs to a device row of its own, so its events are told apart from others'. */
      insert: db.transaction((printerId: number, name: string, tokenHash: string) => {
        const deviceName = `${name} #${crypto.randomUUID().slice(0, 8)}`;
        const deviceId = q.insertDevice.get(deviceName, printerId, Date.now())!.id;
        return q.insertToken.get(name, tokenHash, deviceId, Date.now())!.id;
      }),
      byHash: (hash: string) => q.tokenByHash.get(hash),
      /** Live tokens, of one printer or of all. */
      list: (printerId?: number) => {
        const all = q.listTokens.all();
        return printerId === undefined ? all : all.filter((t) => t.printer_id === printerId);
      },
      touch: (id: number, at: number) => void q.touchToken.run(at, id),
      revoke: (id: number) => q.revokeToken.run(Date.now(), id).changes > 0,
    },
    deleteOfPrinter: (printerId: number) => {
      q.deleteTokensOfPrinter.run(printerId);
      q.deleteDevicesOfPrinter.run(printerId);
    },
  };
}
