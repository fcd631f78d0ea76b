// Composes the store: one module of named prepared statements per table family, over one database.
import type { Database } from "bun:sqlite";
import { apiTokenStatements } from "./api-tokens.ts";
import { deviceStatements } from "./devices.ts";
import { eventLogStatements } from "./event-log.ts";
import { exportStatements } from "./exports.ts";
import { figureStatements } from "./figures.ts";
import { frameStatements } from "./frames.ts";
import { intervalStatements } from "./intervals.ts";
import { jobEventStatements } from "./job-events.ts";
import type { Fence, Outcome } from "./jobs.ts";
import { jobStatements } from "./jobs.ts";
import { leaseStatements } from "./leases.ts";
import { libraryStatements } from "./library.ts";
import { notifyStatements } from "./notify.ts";
import { printerActionStatements } from "./printer-actions.ts";
import { printerStatements } from "./printers.ts";
import { queueStatements } from "./queue.ts";
import { readingStatements } from "./readings.ts";
import { sendStatements } from "./sends.ts";
import { shareStatements } from "./shares.ts";
import { spoolmanStatements } from "./spoolman.ts";
import { statStatements } from "./stats.ts";
import { statusStatements } from "./statuses.ts";
import { timelapseStatements } from "./timelapses.ts";
import { sessionStatements, userStatements } from "./users.ts";

export type { ApiTokenRow, ApiTokenUser } from "./api-tokens.ts";
export type { DeviceTokenRow } from "./devices.ts";
export type { LogRow } from "./event-log.ts";
export type { ExportReading, JobPage, ReadingPage } from "./exports.ts";
export type { DeliveryCount, DeviceCount, JobCount } from "./figures.ts";
export type { FrameMeta, FrameRow, FrameSource } from "./frames.ts";
export type { Intervals } from "./intervals.ts";
export type { JobEventRow } from "./job-events.ts";
export type { JobFilament, JobFrameMeta, JobListRow, JobRow, Outcome } from "./jobs.ts";
export type { LeaseRow } from "./leases.ts";
export type { LibraryFileRow, LibraryPlateRow, LibraryQuery, NewLibraryFile } from "./library.ts";
export type { DeliveryRow, PushSubscriptionRow, TargetRow } from "./notify.ts";
export type { PrinterActionRow } from "./printer-actions.ts";
export type { PrinterData, PrinterRow, PrinterSetup, TlsMode } from "./printers.ts";
export type { NewQueueItem, QueueItemRow, QueueStatus } from "./queue.ts";
export type { Bucket, ReadingRow, SummaryRow } from "./readings.ts";
export type { NewSend, SendChange, SendRow, SendStatus } from "./sends.ts";
export type { NewShare, ShareListRow, ShareOpenRow, ShareRow } from "./shares.ts";
export type { NewSpoolUse, SpoolLinkRow, SpoolUseRow, UseSource } from "./spoolman.ts";
export type { ErrorStatsRow, FilamentStatsRow, MonthStatsRow, RoomStatsRow, StatsRange } from "./stats.ts";
export type { StatusRow } from "./statuses.ts";
export type { NewTimelapse, TimelapseRow } from "./timelapses.ts";
export type { Role, SessionRow, UserRow } from "./users.ts";

export function createStore(db: Database, opts: { zone: string }) {
  const devices = deviceStatements(db);
  const readings = readingStatements(db, opts);
  const statuses = statusStatements(db);
  const frames = frameStatements(db);
  const printers = printerStatements(db);
  const printerActions = printerActionStatements(db);
  const jobs = jobStatements(db);
  const stats = statStatements(db, opts);
  const shares = shareStatements(db);
  return {
    db,
    users: userStatements(db),
    sessions: sessionStatements(db),
    readings,
    statuses,
    frames,
    devices,
    deviceTokens: devices.tokens,
    apiTokens: apiTokenStatements(db),
    eventLog: eventLogStatements(db),
    intervals: intervalStatements(db),
    printerActions,
    jobs: {
      ...jobs,
      /** Closes a print and adds it to the statistics, in one transaction: once, however often it is closed. */
      close: db.transaction((id: number, at: number, outcome: Outcome, fence: Fence = null) => {
        const wasOpen = jobs.byId(id)?.outcome === "running";
        jobs.close(id, at, outcome, fence);
        if (wasOpen) stats.addJob(jobs.byId(id)!);
      }),
    },
    jobEvents: jobEventStatements(db),
    stats,
    notify: notifyStatements(db),
    leases: leaseStatements(db),
    timelapses: timelapseStatements(db),
    library: libraryStatements(db),
    sends: sendStatements(db),
    queue: queueStatements(db),
    figures: figureStatements(db),
    exports: exportStatements(db),
    shares,
    spoolman: spoolmanStatements(db),
    printers: {
      ...printers,
      /** Removes a printer and everything it holds, in one transaction. */
      delete: db.transaction((id: number) => {
        readings.deleteOfPrinter(id);
        statuses.deleteOfPrinter(id);
        frames.deleteOfPrinter(id);
        devices.deleteOfPrinter(id);
        printerActions.deleteOfPrinter(id);
        // Before the jobs: it finds the print links by the printer's jobs.
        shares.deleteOfPrinter(id);
        jobs.deleteOfPrinter(id);
        stats.deleteOfPrinter(id);
        printers.deleteRow(id);
      }),
    },
    /** Whether the database still answers a query (for /healthz). */
    healthy: () => {
      try {
        db.query("SELECT 1").get();
        return true;
      } catch {
        return false;
      }
    },
    close: () => {
      try {
        db.run("PRAGMA wal_checkpoint(TRUNCATE)");
      } finally {
        db.close();
      }
    },
  };
}

export type Store = ReturnType<typeof createStore>;
