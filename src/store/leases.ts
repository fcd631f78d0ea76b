// Owns the leases table: what exactly one instance does (a printer's link, housekeeping) is held under a named
// lease with its holder, an epoch that grows on every takeover, and an expiry. On SQLite the process clock is the
// only clock (one instance); the PostgreSQL twin (pg/leases.ts) takes every instant from the database's clock.
import type { Database } from "bun:sqlite";

export type LeaseRow = { name: string; holder: string; epoch: number; expires_at: number };

export function leaseStatements(db: Database) {
  const q = {
    claim: db.query<never, [string, string, number, number]>(
      `INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?1, ?2, 1, ?3 + ?4)
       ON CONFLICT (name) DO UPDATE SET
         epoch = CASE WHEN leases.holder = excluded.holder THEN leases.epoch ELSE leases.epoch + 1 END,
         holder = excluded.holder, expires_at = excluded.expires_at
       WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3`,
    ),
    get: db.query<LeaseRow, [string]>("SELECT * FROM leases WHERE name = ?"),
    release: db.query<never, [string, string]>("UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ?"),
    live: db.query<LeaseRow, [string, number]>(
      "SELECT * FROM leases WHERE substr(name, 1, length(?1)) = ?1 AND expires_at > ?2 ORDER BY name",
    ),
  };
  return {
    /**
     * Takes the lease when it is free, expired or already this holder's, for `ttlMs` from now (a renewal is the
     * same call); the epoch grows when the holder changes. Gives the row as it is after: another holder's when
     * it is taken.
     */
    claim: db.transaction((name: string, holder: string, ttlMs: number): LeaseRow => {
      q.claim.run(name, holder, Date.now(), ttlMs);
      return q.get.get(name)!;
    }),
    /** Lets the lease go at once (a clean stop), when this holder has it. */
    release: (name: string, holder: string) => void q.release.run(name, holder),
    /** The leases not expired whose names start with `prefix`, by name. */
    live: (prefix: string) => q.live.all(prefix, Date.now()),
  };
}
