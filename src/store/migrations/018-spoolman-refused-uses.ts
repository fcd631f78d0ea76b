// Migration 18: a filament use Spoolman refuses for good (the spool deleted there, say) is marked refused, so it is
// no longer pending: it waits for an admin's "Try again" instead of being retried ahead of every newer use.
import type { Database } from "bun:sqlite";

export function spoolmanRefusedUses(db: Database): void {
  db.run("ALTER TABLE spoolman_uses ADD COLUMN refused_at INTEGER");
  db.run("DROP INDEX spoolman_uses_pending");
  db.run("CREATE INDEX spoolman_uses_pending ON spoolman_uses(id) WHERE reported_at IS NULL AND refused_at IS NULL");
}
