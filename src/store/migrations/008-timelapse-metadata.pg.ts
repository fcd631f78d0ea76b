// Migration 8 on PostgreSQL: a timelapse upload's Upload-Metadata header, as 008-timelapse-metadata.ts.
import type { PgMigration } from "../pg-migrate.ts";

export const timelapseMetadata: PgMigration = async (tx) => {
  await tx.unsafe("ALTER TABLE timelapses ADD COLUMN metadata text");
};
