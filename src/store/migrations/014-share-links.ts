// Migration 14: share links: a read-only link to one print (or one printer) for someone without an account, kept
// by the hash of its token, with its expiry, revocation, and when it was opened.
import type { Database } from "bun:sqlite";

export function shareLinks(db: Database): void {
  db.run(`CREATE TABLE share_links (
      id INTEGER PRIMARY KEY,
      token_hash TEXT NOT NULL UNIQUE,
      job_id INTEGER,
      printer_id INTEGER,
      created_by TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL,
      revoked_at INTEGER,
      opened INTEGER NOT NULL DEFAULT 0,
      last_opened_at INTEGER,
      CHECK (job_id IS NOT NULL OR printer_id IS NOT NULL)
    )`);
  db.run(`CREATE TABLE share_opens (
      id INTEGER PRIMARY KEY,
      share_id INTEGER NOT NULL REFERENCES share_links(id) ON DELETE CASCADE,
      at INTEGER NOT NULL,
      address TEXT NOT NULL
    )`);
  db.run("CREATE INDEX share_opens_by_share ON share_opens(share_id, id)");
}
