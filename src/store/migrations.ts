// Owns the schema's history: the numbered, forward-only migrations (one file each in migrations/) in their order,
// and running them; PRAGMA user_version says where a database stands.
import type { Database } from "bun:sqlite";
import { initial } from "./migrations/001-initial.ts";
import { deviceTokensAndEventLog } from "./migrations/002-device-tokens-and-event-log.ts";
import { summariesAndStatusChanges } from "./migrations/003-summaries-and-status-changes.ts";
import { printers } from "./migrations/004-printers.ts";
import { printerActions } from "./migrations/005-printer-actions.ts";
import { jobsAndTimelapses } from "./migrations/006-jobs-and-timelapses.ts";
import { notifications } from "./migrations/007-notifications.ts";
import { timelapseMetadata } from "./migrations/008-timelapse-metadata.ts";
import { leasesAndClaims } from "./migrations/009-leases-and-claims.ts";
import { readingsIndexWithId } from "./migrations/010-readings-index-with-id.ts";
import { jobFilaments } from "./migrations/011-job-filaments.ts";
import { operatorsLibrarySends } from "./migrations/012-operators-library-sends.ts";
import { queue } from "./migrations/013-queue.ts";
import { shareLinks } from "./migrations/014-share-links.ts";
import { printStatsAndJobEvents } from "./migrations/015-print-stats-and-job-events.ts";
import { filamentStatsAndSpoolman } from "./migrations/016-filament-stats-and-spoolman.ts";
import { apiTokens } from "./migrations/017-api-tokens.ts";
import { spoolmanRefusedUses } from "./migrations/018-spoolman-refused-uses.ts";
import { printerFtpsPinAndRtspPort } from "./migrations/019-printer-ftps-pin-and-rtsp-port.ts";

export { DEFAULT_DEVICE_ID, DEFAULT_INTERVALS } from "./migrations/001-initial.ts";
export { DEFAULT_PRINTER_ID } from "./migrations/004-printers.ts";

export type Migration = (db: Database, ctx: MigrationContext) => void;
export type MigrationContext = { zone: string };

/**
 * Migration N is the Nth entry; a new one is appended, and one that has shipped is never edited (its SQL text
 * too stays byte for byte: SQLite keeps it in sqlite_master).
 */
const migrations: Migration[] = [
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

export const SCHEMA_VERSION = migrations.length;

export function schemaVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/** Applies every migration past the database's version, each in its own transaction. */
export function migrate(db: Database, ctx: MigrationContext): void {
  migrateTo(db, SCHEMA_VERSION, ctx);
}

export function migrateTo(db: Database, target: number, ctx: MigrationContext): void {
  const from = schemaVersion(db);
  if (from > SCHEMA_VERSION)
    throw new Error(
      `database schema version ${from} is newer than this layerwatch understands (${SCHEMA_VERSION}); ` +
        "upgrade layerwatch",
    );
  for (let v = from; v < target; v++) {
    db.transaction(() => {
      migrations[v]!(db, ctx);
      db.run(`PRAGMA user_version = ${v + 1}`);
    })();
  }
}
