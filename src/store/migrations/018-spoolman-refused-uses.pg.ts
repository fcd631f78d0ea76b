// Migration 18 on PostgreSQL: Spoolman uses refused for good, as 018-spoolman-refused-uses.ts.
import type { PgMigration } from "../pg-migrate.ts";

export const spoolmanRefusedUses: PgMigration = async (tx) => {
  await tx.unsafe("ALTER TABLE spoolman_uses ADD COLUMN refused_at bigint");
  await tx.unsafe("DROP INDEX spoolman_uses_pending");
  await tx.unsafe(
    "CREATE INDEX spoolman_uses_pending ON spoolman_uses(id) WHERE reported_at IS NULL AND refused_at IS NULL",
  );
};
