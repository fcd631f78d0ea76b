// Migration 12 on PostgreSQL: as 012-operators-library-sends.ts.
import type { PgMigration } from "../pg-migrate.ts";

export const operatorsLibrarySends: PgMigration = async (tx) => {
  await tx.unsafe("ALTER TABLE users DROP CONSTRAINT users_role_check");
  await tx.unsafe("ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('admin', 'operator', 'viewer'))");
};
