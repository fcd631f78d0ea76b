// Migration 8: a timelapse upload's Upload-Metadata header as the client sent it, which tus HEAD gives back.
import type { Database } from "bun:sqlite";

export function timelapseMetadata(db: Database): void {
  db.run("ALTER TABLE timelapses ADD COLUMN metadata TEXT");
}
