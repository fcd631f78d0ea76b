// Migration 9 on PostgreSQL: leases and delivery claims, as 009-leases-and-claims.ts.
import type { PgMigration } from "../pg-migrate.ts";

export const leasesAndClaims: PgMigration = async (tx) => {
  await tx.unsafe(`CREATE TABLE leases (
      name text PRIMARY KEY,
      holder text NOT NULL,
      epoch bigint NOT NULL,
      expires_at bigint NOT NULL
    )`);
  await tx.unsafe("ALTER TABLE notify_deliveries ADD COLUMN claimed_by text");
  await tx.unsafe("ALTER TABLE notify_deliveries ADD COLUMN claimed_until bigint");
};
