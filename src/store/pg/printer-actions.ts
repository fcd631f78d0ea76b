// Owns the printer_actions table on PostgreSQL: the same methods and results as ../printer-actions.ts.
import type { Promisified } from "../async-store.ts";
import type { PrinterActionRow, printerActionStatements } from "../printer-actions.ts";
import { atomic, type Pg, rows } from "./run.ts";

export function pgPrinterActionStatements(pg: Pg): Promisified<ReturnType<typeof printerActionStatements>> {
  const { sql } = pg;
  return {
    /** The action, then the trim to the newest `keep`: pipelined in one transaction. */
    record: (row: Omit<PrinterActionRow, "id">, keep = 1000) =>
      atomic(pg, async ({ sql: tx }) => {
        await Promise.all([
          tx`INSERT INTO printer_actions (printer_id, at, username, action, via, result, detail)
            VALUES (${row.printer_id}, ${row.at}, ${row.username}, ${row.action}, ${row.via}, ${row.result},
              ${row.detail})`,
          tx`DELETE FROM printer_actions WHERE id <= (SELECT max(id) FROM printer_actions) - ${keep}::int8`,
        ]);
      }),
    recent: (limit: number) =>
      rows<PrinterActionRow>(sql`SELECT * FROM printer_actions ORDER BY id DESC LIMIT ${limit}`),
    between: (printerId: number, from: number, to: number) =>
      rows<PrinterActionRow>(sql`SELECT * FROM printer_actions WHERE printer_id = ${printerId} AND at >= ${from}
        AND at <= ${to} ORDER BY at, id`),
    deleteOfPrinter: async (printerId: number) => {
      await sql`DELETE FROM printer_actions WHERE printer_id = ${printerId}`;
    },
  };
}
