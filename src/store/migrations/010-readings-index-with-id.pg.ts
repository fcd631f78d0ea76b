// Migration 10 on PostgreSQL: readings_by_printer_time(printer_id, recorded_at) INCLUDE (id), in place of the
// index without it. A day's stamp (count and max(id) of a printer's readings in a range) becomes an index-only
// scan instead of a visit to every row's heap page; the new index serves every query the old one did.
// Building it holds a write lock on readings for the build (seconds for millions of rows), once.
import type { PgMigration } from "../pg-migrate.ts";

export const readingsIndexWithId: PgMigration = async (tx) => {
  await tx.unsafe("CREATE INDEX readings_by_printer_time_id ON readings(printer_id, recorded_at) INCLUDE (id)");
  await tx.unsafe("DROP INDEX readings_by_printer_time");
  await tx.unsafe("ALTER INDEX readings_by_printer_time_id RENAME TO readings_by_printer_time");
};
