// Owns the statuses table: a device's status text, stored as changes with when it was last seen.
import type { Database } from "bun:sqlite";

export type StatusRow = {
  id: number;
  printer_id: number;
  device_id: number;
  recorded_at: number;
  last_seen_at: number;
  status: string;
};

export function statusStatements(db: Database) {
  const q = {
    insert: db.query<{ id: number }, [number, number, number, string]>(
      `INSERT INTO statuses (printer_id, device_id, recorded_at, last_seen_at, status)
       VALUES (?1, ?2, ?3, ?3, ?4) RETURNING id`,
    ),
    latestOfDevice: db.query<StatusRow, [number]>(
      "SELECT * FROM statuses WHERE device_id = ? ORDER BY recorded_at DESC, id DESC LIMIT 1",
    ),
    see: db.query<never, [number, number]>("UPDATE statuses SET last_seen_at = ? WHERE id = ?"),
    latest: db.query<StatusRow, [number]>(
      "SELECT * FROM statuses WHERE printer_id = ? ORDER BY last_seen_at DESC, id DESC LIMIT 1",
    ),
    deleteOfPrinter: db.query<never, [number]>("DELETE FROM statuses WHERE printer_id = ?"),
  };
  return {
    /** A status equal to the device's current one only moves last_seen_at: changes are stored, not repeats. */
    record: db.transaction((printerId: number, deviceId: number, at: number, status: string): StatusRow => {
      const current = q.latestOfDevice.get(deviceId);
      if (current && current.status === status && current.printer_id === printerId) {
        q.see.run(at, current.id);
        return { ...current, last_seen_at: at };
      }
      const id = q.insert.get(printerId, deviceId, at, status)!.id;
      return { id, printer_id: printerId, device_id: deviceId, recorded_at: at, last_seen_at: at, status };
    }),
    latest: (printerId: number) => q.latest.get(printerId),
    deleteOfPrinter: (printerId: number) => void q.deleteOfPrinter.run(printerId),
  };
}
