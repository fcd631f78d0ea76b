// Owns the counts /metrics reports that only the database knows: jobs by outcome, notification deliveries by status,
// registered devices, and the database's size. Grouped counts over small tables (the delivery log is trimmed).
import type { Database } from "bun:sqlite";

export type JobCount = { printer_id: number; outcome: string; n: number };
export type DeliveryCount = { target_id: number; status: string; n: number };
export type DeviceCount = { printer_id: number; n: number };

export function figureStatements(db: Database) {
  const q = {
    jobs: db.query<JobCount, []>(
      "SELECT printer_id, outcome, count(*) AS n FROM jobs GROUP BY printer_id, outcome ORDER BY printer_id, outcome",
    ),
    deliveries: db.query<DeliveryCount, []>(
      `SELECT target_id, status, count(*) AS n FROM notify_deliveries
       GROUP BY target_id, status ORDER BY target_id, status`,
    ),
    devices: db.query<DeviceCount, []>(
      "SELECT printer_id, count(*) AS n FROM devices GROUP BY printer_id ORDER BY printer_id",
    ),
    size: db.query<{ n: number }, []>(
      "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()",
    ),
  };
  return {
    /** Jobs stored, per printer and outcome. */
    jobCounts: () => q.jobs.all(),
    /** Deliveries in the delivery log, per target and status. */
    deliveryCounts: () => q.deliveries.all(),
    /** Devices registered, per printer. */
    deviceCounts: () => q.devices.all(),
    /** Bytes the database takes (SQLite: the main file's pages, without the WAL). */
    databaseBytes: () => q.size.get()!.n,
  };
}
