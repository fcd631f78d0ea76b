// Owns the queue tables on PostgreSQL: the same methods and results as ../queue.ts.
import type { Promisified } from "../async-store.ts";
import type { NewQueueItem, QueueItemRow, QueueStatus, queueStatements } from "../queue.ts";
import { atomic, one, type Pg, rows } from "./run.ts";

export function pgQueueStatements(pg: Pg): Promisified<ReturnType<typeof queueStatements>> {
  const { sql } = pg;
  return {
    insert: (item: NewQueueItem) =>
      atomic(pg, async ({ sql: tx }) => {
        // Two inserts at once must not take one position: the table is locked for the moment it takes.
        await tx`LOCK TABLE queue_items IN SHARE ROW EXCLUSIVE MODE`;
        const row = await one<{ id: number }>(tx`INSERT INTO queue_items (file_id, plate, printer_id, rule_json,
            options_json, position, status, username, created_at, updated_at)
          VALUES (${item.file_id}, ${item.plate}, ${item.printer_id}, ${item.rule_json}, ${item.options_json},
            (SELECT coalesce(max(position), 0) + 1 FROM queue_items), 'queued', ${item.username}, ${item.created_at},
            ${item.created_at})
          RETURNING id`);
        return row!.id;
      }),
    byId: (id: number) => one<QueueItemRow>(sql`SELECT * FROM queue_items WHERE id = ${id}`),
    list: () => rows<QueueItemRow>(sql`SELECT * FROM queue_items ORDER BY position, id`),
    move: (id: number, index: number) =>
      atomic(pg, async ({ sql: tx }) => {
        await tx`LOCK TABLE queue_items IN SHARE ROW EXCLUSIVE MODE`;
        const all = await rows<QueueItemRow>(tx`SELECT * FROM queue_items ORDER BY position, id`);
        const item = all.find((r) => r.id === id);
        if (!item) return;
        const order = all.filter((r) => r.id !== id);
        order.splice(Math.max(0, Math.min(index, order.length)), 0, item);
        const now = Date.now();
        await Promise.all(
          order.map((r, i) => tx`UPDATE queue_items SET position = ${i + 1}, updated_at = ${now} WHERE id = ${r.id}`),
        );
      }),
    setStatus: async (id: number, status: QueueStatus, error: string | null = null) => {
      await sql`UPDATE queue_items SET status = ${status}, error = ${error}, updated_at = ${Date.now()}
        WHERE id = ${id}`;
    },
    claim: async (id: number, printerId: number) =>
      !!(await one(sql`UPDATE queue_items SET status = 'sending', assigned_printer = ${printerId}, error = NULL,
          updated_at = ${Date.now()} WHERE id = ${id} AND status = 'queued' RETURNING id`)),
    setSend: async (id: number, sendId: number) => {
      await sql`UPDATE queue_items SET send_id = ${sendId}, updated_at = ${Date.now()} WHERE id = ${id}`;
    },
    delete: async (id: number) => {
      await sql`DELETE FROM queue_items WHERE id = ${id}`;
    },
    plateDirty: async (printerId: number, since: number) => {
      await sql`INSERT INTO queue_plates (printer_id, since) VALUES (${printerId}, ${since})
        ON CONFLICT (printer_id) DO NOTHING`;
    },
    plateCleared: async (printerId: number) => {
      await sql`DELETE FROM queue_plates WHERE printer_id = ${printerId}`;
    },
    dirtyPlates: () => rows<{ printer_id: number; since: number }>(sql`SELECT * FROM queue_plates ORDER BY printer_id`),
  };
}
