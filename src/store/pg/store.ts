// Composes the PostgreSQL store: one module per table family, as ../store.ts, behind the AsyncStore interface.
import type { SQL } from "bun";
import type { AsyncStore, Promisified, StoreFamilies } from "../async-store.ts";
import type { Fence, JobRow, Outcome } from "../jobs.ts";
import { numbers } from "../pg.ts";
import { pgApiTokenStatements } from "./api-tokens.ts";
import { pgDeviceStatements } from "./devices.ts";
import { pgEventLogStatements } from "./event-log.ts";
import { pgExportStatements } from "./exports.ts";
import { pgFigureStatements } from "./figures.ts";
import { pgFrameStatements } from "./frames.ts";
import { pgIntervalStatements } from "./intervals.ts";
import { pgJobEventStatements } from "./job-events.ts";
import { pgJobStatements } from "./jobs.ts";
import { pgLeaseStatements } from "./leases.ts";
import { pgLibraryStatements } from "./library.ts";
import { pgNotifyStatements } from "./notify.ts";
import { pgPrinterActionStatements } from "./printer-actions.ts";
import { pgPrinterStatements } from "./printers.ts";
import { pgQueueStatements } from "./queue.ts";
import { pgReadingStatements } from "./readings.ts";
import { atomic, type Pg } from "./run.ts";
import { pgSendStatements } from "./sends.ts";
import { pgShareStatements } from "./shares.ts";
import { pgSpoolmanStatements } from "./spoolman.ts";
import { pgStatStatements } from "./stats.ts";
import { pgStatusStatements } from "./statuses.ts";
import { pgTimelapseStatements } from "./timelapses.ts";
import { pgSessionStatements, pgUserStatements } from "./users.ts";

/** Every family over `pg`: the pool, or an open transaction (the write queue builds one per batch). */
export function pgFamilies(pg: Pg, opts: { zone: string }): Promisified<StoreFamilies> {
  const devices = pgDeviceStatements(pg);
  const printers = pgPrinterStatements(pg);
  return {
    users: pgUserStatements(pg),
    sessions: pgSessionStatements(pg),
    readings: pgReadingStatements(pg, opts),
    statuses: pgStatusStatements(pg),
    frames: pgFrameStatements(pg),
    devices,
    deviceTokens: devices.tokens,
    apiTokens: pgApiTokenStatements(pg),
    eventLog: pgEventLogStatements(pg),
    intervals: pgIntervalStatements(pg),
    printerActions: pgPrinterActionStatements(pg),
    jobs: {
      ...pgJobStatements(pg),
      /**
       * Closes a print and adds it to the statistics, in one transaction: once, however often (or by however many
       * instances at once) it is closed; the row lock makes a second close wait and then see it closed.
       */
      close: (id: number, at: number, outcome: Outcome, fence: Fence = null) =>
        atomic(pg, async (tx) => {
          const [before] = numbers<JobRow>(await tx.sql`SELECT outcome FROM jobs WHERE id = ${id} FOR UPDATE`);
          const jobs = pgJobStatements(tx);
          await jobs.close(id, at, outcome, fence);
          // A fenced-out close leaves the job running: nothing to count then.
          const closed = before?.outcome === "running" ? await jobs.byId(id) : null;
          if (closed && closed.outcome !== "running") await pgStatStatements(tx, opts).addJob(closed);
        }),
    },
    jobEvents: pgJobEventStatements(pg),
    stats: pgStatStatements(pg, opts),
    notify: pgNotifyStatements(pg),
    leases: pgLeaseStatements(pg),
    timelapses: pgTimelapseStatements(pg),
    library: pgLibraryStatements(pg),
    sends: pgSendStatements(pg),
    queue: pgQueueStatements(pg),
    figures: pgFigureStatements(pg),
    exports: pgExportStatements(pg),
    shares: pgShareStatements(pg),
    spoolman: pgSpoolmanStatements(pg),
    printers: {
      ...printers,
      /** Removes a printer and everything it holds, in one transaction (its statements pipelined, in order). */
      delete: (id: number) =>
        atomic(pg, async (tx) => {
          const f = pgFamilies(tx, opts);
          await Promise.all([
            f.readings.deleteOfPrinter(id),
            f.statuses.deleteOfPrinter(id),
            f.frames.deleteOfPrinter(id),
            f.devices.deleteOfPrinter(id),
            f.printerActions.deleteOfPrinter(id),
            // Before the jobs: it finds the print links by the printer's jobs.
            f.shares.deleteOfPrinter(id),
            f.jobs.deleteOfPrinter(id),
            f.stats.deleteOfPrinter(id),
            f.printers.deleteRow(id),
          ]);
        }),
    },
  };
}

/** The store over a Bun.SQL pool opened by ../pg.ts (`bigint: true`) on a database migrated by ../pg-migrate.ts. */
export function createPgStore(sql: SQL, opts: { zone: string }): AsyncStore {
  return {
    ...pgFamilies({ sql, inTx: false }, opts),
    engine: "postgres",
    healthy: async () => {
      try {
        await sql`SELECT 1`;
        return true;
      } catch {
        return false;
      }
    },
    close: () => sql.close(),
  };
}
