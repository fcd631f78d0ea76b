// Migration 10: nothing to change on SQLite. PostgreSQL's form makes readings_by_printer_time carry `id`, so a
// day's count/max(id) stamp is answered from the index alone; every SQLite index already ends with the rowid,
// which `readings.id` (INTEGER PRIMARY KEY) is. The number stays taken here so both engines count alike.
import type { Database } from "bun:sqlite";

export function readingsIndexWithId(_db: Database): void {}
