// Owns opening the SQLite file: pragmas, the legacy upgrade, migrations, and clear errors when it cannot.
import { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import type { Logger } from "../log.ts";
import { isLegacyDatabase, upgradeLegacyDatabase } from "./legacy.ts";
import { migrate } from "./migrations.ts";

/** The database could not be opened or upgraded; the file is left as it was. */
export class StoreOpenError extends Error {}

function explain(path: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/not a database|malformed|file is encrypted/i.test(msg))
    return `database ${path} is not a readable SQLite database (${msg}); it was left untouched`;
  if (/readonly|read-only/i.test(msg))
    return `database ${path} is read-only (${msg}); give the service user write access to the file and its folder`;
  if (/unable to open/i.test(msg))
    return `cannot open database ${path} (${msg}); check that its folder exists and is writable`;
  if (/disk is full|SQLITE_FULL/i.test(msg)) return `cannot write database ${path}: the disk is full`;
  return `cannot open database ${path}: ${msg}`;
}

export function openDatabase(path: string, opts: { zone: string; log: Logger }): Database {
  let db: Database | undefined;
  try {
    const existed = path !== ":memory:" && existsSync(path);
    db = new Database(path, { create: true, readwrite: true, strict: true });
    // A quick read proves it is a database before anything writes to it.
    db.query("SELECT count(*) FROM sqlite_master").get();
    if (existed) {
      const check = db.query("PRAGMA quick_check").get() as { quick_check: string };
      if (check.quick_check !== "ok") throw new Error(`integrity check failed: ${check.quick_check}`);
    }
    db.run("PRAGMA journal_mode = WAL");
    // FULL: an acknowledged event survives a power cut, not only a crash; group commit keeps it cheap.
    db.run("PRAGMA synchronous = FULL");
    db.run("PRAGMA busy_timeout = 5000");
    db.run("PRAGMA foreign_keys = ON");
    if (isLegacyDatabase(db)) {
      opts.log.info("upgrading a database written by the old server", { path });
      const report = upgradeLegacyDatabase(db, { path, zone: opts.zone });
      opts.log.info("old database upgraded", report);
    }
    migrate(db, { zone: opts.zone });
    return db;
  } catch (err) {
    db?.close();
    throw new StoreOpenError(explain(path, err));
  }
}
