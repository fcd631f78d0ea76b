// Owns the queue tables: items in order with their status, and the printers whose plate waits to be cleared.
import type { Database } from "bun:sqlite";

export type QueueStatus = "queued" | "sending" | "printing" | "done" | "failed" | "cancelled";
export type QueueItemRow = {
  id: number;
  file_id: number;
  plate: number;
  /** The printer it must go to, or null when a rule picks one. */
  printer_id: number | null;
  /** {model?, nozzle_mm?, filament?} when a rule picks the printer. */
  rule_json: string | null;
  options_json: string;
  position: number;
  status: QueueStatus;
  /** The printer it went to. */
  assigned_printer: number | null;
  send_id: number | null;
  error: string | null;
  username: string;
  created_at: number;
  updated_at: number;
};
export type NewQueueItem = Pick<
  QueueItemRow,
  "file_id" | "plate" | "printer_id" | "rule_json" | "options_json" | "username" | "created_at"
>;

export function queueStatements(db: Database) {
  const q = {
    insert: db.query<{ id: number }, [number, number, number | null, string | null, string, string, number, number]>(
      `INSERT INTO queue_items (file_id, plate, printer_id, rule_json, options_json, position, status, username,
         created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(position), 0) + 1 FROM queue_items), 'queued', ?, ?, ?)
       RETURNING id`,
    ),
    byId: db.query<QueueItemRow, [number]>("SELECT * FROM queue_items WHERE id = ?"),
    list: db.query<QueueItemRow, []>("SELECT * FROM queue_items ORDER BY position, id"),
    setPosition: db.query<never, [number, number, number]>(
      "UPDATE queue_items SET position = ?, updated_at = ? WHERE id = ?",
    ),
    setStatus: db.query<never, [string, string | null, number, number]>(
      "UPDATE queue_items SET status = ?, error = ?, updated_at = ? WHERE id = ?",
    ),
    claim: db.query<{ id: number }, [number, number, number]>(
      `UPDATE queue_items SET status = 'sending', assigned_printer = ?, error = NULL, updated_at = ?
       WHERE id = ? AND status = 'queued' RETURNING id`,
    ),
    setSend: db.query<never, [number, number, number]>(
      "UPDATE queue_items SET send_id = ?, updated_at = ? WHERE id = ?",
    ),
    delete: db.query<never, [number]>("DELETE FROM queue_items WHERE id = ?"),
    plateDirty: db.query<never, [number, number]>(
      "INSERT INTO queue_plates (printer_id, since) VALUES (?, ?) ON CONFLICT (printer_id) DO NOTHING",
    ),
    plateCleared: db.query<never, [number]>("DELETE FROM queue_plates WHERE printer_id = ?"),
    dirtyPlates: db.query<{ printer_id: number; since: number }, []>("SELECT * FROM queue_plates ORDER BY printer_id"),
  };
  return {
    insert: (item: NewQueueItem) =>
      q.insert.get(
        item.file_id,
        item.plate,
        item.printer_id,
        item.rule_json,
        item.options_json,
        item.username,
        item.created_at,
        item.created_at,
      )!.id,
    byId: (id: number) => q.byId.get(id),
    list: () => q.list.all(),
    /** Moves an item to the `index`th place (0 first) among all items, renumbering them in one transaction. */
    move: db.transaction((id: number, index: number) => {
      const order = q.list.all().filter((r) => r.id !== id);
      const item = q.byId.get(id);
      if (!item) return;
      order.splice(Math.max(0, Math.min(index, order.length)), 0, item);
      const now = Date.now();
      for (const [i, r] of order.entries()) q.setPosition.run(i + 1, now, r.id);
    }),
    setStatus: (id: number, status: QueueStatus, error: string | null = null) =>
      void q.setStatus.run(status, error, Date.now(), id),
    /** Takes a queued item for a printer; false when another instance (or a change) took it first. */
    claim: (id: number, printerId: number) => !!q.claim.get(printerId, Date.now(), id),
    setSend: (id: number, sendId: number) => void q.setSend.run(sendId, Date.now(), id),
    delete: (id: number) => void q.delete.run(id),
    plateDirty: (printerId: number, since: number) => void q.plateDirty.run(printerId, since),
    plateCleared: (printerId: number) => void q.plateCleared.run(printerId),
    dirtyPlates: () => q.dirtyPlates.all(),
  };
}
