// Owns the leases table on PostgreSQL: the same methods and results as ../leases.ts, every instant read from the
// database's clock (clock_timestamp, in milliseconds), so instances whose clocks differ still agree on who holds what.
import type { Promisified } from "../async-store.ts";
import type { LeaseRow, leaseStatements } from "../leases.ts";
import { one, type Pg, rows } from "./run.ts";

export function pgLeaseStatements({ sql }: Pg): Promisified<ReturnType<typeof leaseStatements>> {
  return {
    // One statement: the upsert, or (when another holds the lease) the row as it was; a row another instance
    // inserted after this statement's snapshot is read again.
    claim: async (name: string, holder: string, ttlMs: number) =>
      (await one<LeaseRow>(sql`WITH up AS (
          INSERT INTO leases (name, holder, epoch, expires_at)
          VALUES (${name}, ${holder}, 1, (extract(epoch FROM clock_timestamp()) * 1000)::int8 + ${ttlMs}::int8)
          ON CONFLICT (name) DO UPDATE SET
            epoch = CASE WHEN leases.holder = excluded.holder THEN leases.epoch ELSE leases.epoch + 1 END,
            holder = excluded.holder, expires_at = excluded.expires_at
          WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.expires_at - ${ttlMs}::int8
          RETURNING *)
        SELECT * FROM up
        UNION ALL SELECT * FROM leases WHERE name = ${name} AND NOT EXISTS (SELECT 1 FROM up)`)) ??
      (await one<LeaseRow>(sql`SELECT * FROM leases WHERE name = ${name}`))!,
    release: async (name: string, holder: string) => {
      await sql`UPDATE leases SET expires_at = 0 WHERE name = ${name} AND holder = ${holder}`;
    },
    live: (prefix: string) =>
      rows<LeaseRow>(sql`SELECT * FROM leases WHERE starts_with(name, ${prefix})
        AND expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::int8 ORDER BY name`),
  };
}
