// Migration 9: leases (what exactly one instance does: a printer's link, housekeeping), each with its holder,
// an epoch that grows on every takeover and an expiry; and a claim on a notification delivery (who is sending it,
// until when), so each is sent by one instance.
import type { Database } from "bun:sqlite";

export function leasesAndClaims(db: Database): void {
  db.run(`CREATE TABLE leases (
      name TEXT PRIMARY KEY,
      holder TEXT NOT NULL,
      epoch INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
  db.run("ALTER TABLE notify_deliveries ADD COLUMN claimed_by TEXT");
  db.run("ALTER TABLE notify_deliveries ADD COLUMN claimed_until INTEGER");
}
