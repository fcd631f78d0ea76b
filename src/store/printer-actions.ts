// Owns the printer_actions table: the audit of control actions (pause, stop, light...), newest kept.
import type { Database } from "bun:sqlite";

export type PrinterActionRow = {
  id: number;
  printer_id: number;
  at: number;
  username: string;
  action: string;
  via: string;
  result: string;
  detail: string;
};

export function printerActionStatements(db: Database) {
  const q = {
    insert: db.query<never, [number, number, string, string, string, string, string]>(
      `INSERT INTO printer_actions (printer_id, at, username, action, via, result, detail)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    trim: db.query<never, [number]>(
      "DELETE FROM printer_actions WHERE id <= (SELECT max(id) FROM printer_actions) - ?",
    ),
    recent: db.query<PrinterActionRow, [number]>("SELECT * FROM printer_actions ORDER BY id DESC LIMIT ?"),
    between: db.query<PrinterActionRow, [number, number, number]>(
      "SELECT * FROM printer_actions WHERE printer_id = ? AND at >= ? AND at <= ? ORDER BY at, id",
    ),
    deleteOfPrinter: db.query<never, [number]>("DELETE FROM printer_actions WHERE printer_id = ?"),
  };
  return {
    /** Records an action and keeps the newest `keep`. */
    record(row: Omit<PrinterActionRow, "id">, keep = 1000) {
      q.insert.run(row.printer_id, row.at, row.username, row.action, row.via, row.result, row.detail);
      q.trim.run(keep);
    },
    recent: (limit: number) => q.recent.all(limit),
    /** One printer's actions from `from` to `to` (both included), oldest first. */
    between: (printerId: number, from: number, to: number) => q.between.all(printerId, from, to),
    deleteOfPrinter: (printerId: number) => void q.deleteOfPrinter.run(printerId),
  };
}
