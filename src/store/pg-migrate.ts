// Owns the schema's history on PostgreSQL: migration N here is the same change as SQLite's migration N (each
// NNN-*.pg.ts beside its NNN-*.ts), applied under an advisory lock so instances starting together migrate once.
import type { SQL, TransactionSQL } from "bun";
import { initial } from "./migrations/001-initial.pg.ts";
import { deviceTokensAndEventLog } from "./migrations/002-device-tokens-and-event-log.pg.ts";
import { summariesAndStatusChanges } from "./migrations/003-summaries-and-status-changes.pg.ts";
import { printers } from "./migrations/004-printers.pg.ts";
import { printerActions } from "./migrations/005-printer-actions.pg.ts";
import { jobsAndTimelapses } from "./migrations/006-jobs-and-timelapses.pg.ts";
import { notifications } from "./migrations/007-notifications.pg.ts";
import { timelapseMetadata } from "./migrations/008-timelapse-metadata.pg.ts";
import { leasesAndClaims } from "./migrations/009-leases-and-claims.pg.ts";
import { readingsIndexWithId } from "./migrations/010-readings-index-with-id.pg.ts";
import { jobFilaments } from "./migrations/011-job-filaments.pg.ts";
import { operatorsLibrarySends } from "./migrations/012-operators-library-sends.pg.ts";
import { queue } from "./migrations/013-queue.pg.ts";
import { shareLinks } from "./migrations/014-share-links.pg.ts";
import { printStatsAndJobEvents } from "./migrations/015-print-stats-and-job-events.pg.ts";
import { filamentStatsAndSpoolman } from "./migrations/016-filament-stats-and-spoolman.pg.ts";
import { apiTokens } from "./migrations/017-api-tokens.pg.ts";
import { spoolmanRefusedUses } from "./migrations/018-spoolman-refused-uses.pg.ts";
import { printerFtpsPinAndRtspPort } from "./migrations/019-printer-ftps-pin-and-rtsp-port.pg.ts";
import type { MigrationContext } from "./migrations.ts";
import { SCHEMA_VERSION } from "./migrations.ts";

export type PgMigration = (tx: TransactionSQL, ctx: MigrationContext) => Promise<void>;

/** Entry N is migration N, as in migrations.ts; both lists grow together (a test holds them to one length). */
export const PG_MIGRATIONS: PgMigration[] = [
  initial,
  deviceTokensAndEventLog,
  summariesAndStatusChanges,
  printers,
  printerActions,
  jobsAndTimelapses,
  notifications,
  timelapseMetadata,
  leasesAndClaims,
  readingsIndexWithId,
  jobFilaments,
  operatorsLibrarySends,
  queue,
  shareLinks,
  printStatsAndJobEvents,
  filamentStatsAndSpoolman,
  apiTokens,
  spoolmanRefusedUses,
  printerFtpsPinAndRtspPort,
];

/** The advisory lock every instance takes to migrate (one database, one key: "lwmg"). */
export const MIGRATION_LOCK = 0x6c776d67;

/** PostgreSQL has no user_version: one row per applied migration, the largest is where the database stands. */
const VERSION_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version bigint PRIMARY KEY,
    applied_at bigint NOT NULL
  )`;

export async function pgSchemaVersion(sql: SQL | TransactionSQL): Promise<number> {
  const [row] = await sql`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`;
  if (!row.present) return 0;
  const [v] = await sql`SELECT coalesce(max(version), 0)::int4 AS version FROM schema_migrations`;
  return v.version as number;
}

/** Applies every migration past the database's version; see pgMigrateTo. */
export async function pgMigrate(sql: SQL, ctx: MigrationContext): Promise<number> {
  return pgMigrateTo(sql, SCHEMA_VERSION, ctx);
}

/**
 * Each migration in its own transaction that first takes the migration lock and reads the version again, so a
 * second instance waits, then finds the work done. Returns how many migrations this call applied.
 */
export async function pgMigrateTo(sql: SQL, target: number, ctx: MigrationContext): Promise<number> {
  if (PG_MIGRATIONS.length !== SCHEMA_VERSION)
    throw new Error(`${PG_MIGRATIONS.length} PostgreSQL migrations for ${SCHEMA_VERSION} SQLite ones`);
  let applied = 0;
  for (;;) {
    const done = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`;
      await tx.unsafe(VERSION_TABLE);
      const from = await pgSchemaVersion(tx);
      if (from > SCHEMA_VERSION)
        throw new Error(
          `database schema version ${from} is newer than this layerwatch understands (${SCHEMA_VERSION}); ` +
            "upgrade layerwatch",
        );
      if (from >= target) return true;
      await PG_MIGRATIONS[from]!(tx, ctx);
      await tx`INSERT INTO schema_migrations (version, applied_at) VALUES (${from + 1}, ${Date.now()})`;
      return false;
    });
    if (done) return applied;
    applied++;
  }
}
