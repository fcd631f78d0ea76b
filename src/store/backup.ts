// Owns database backups and restores at the file level: a consistent copy of the SQLite file while the server writes
// (`VACUUM INTO` from one read transaction: one snapshot, the writer never waits), a PostgreSQL database copied into
// an SQLite file (copy.ts, one repeatable-read snapshot), each checked before it takes its name; whether a server
// has a database open; and putting a backup in place of a stopped server's database.
import { Database } from "bun:sqlite";
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import type { Logger } from "../log.ts";
import { redactUrl } from "../urls.ts";
import { CopyError, copyDatabase } from "./copy.ts";
import { isLegacyDatabase } from "./legacy.ts";
import { SCHEMA_VERSION, schemaVersion } from "./migrations.ts";
import { createPgStore } from "./pg/store.ts";
import { openPostgres } from "./pg.ts";

/** A backup or restore that did not happen; `code` is the command's exit code (as copy-db's). */
export class BackupError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export type BackupResult = { bytes: number; seconds: number };

const SUFFIXES = ["", "-wal", "-shm", "-journal"];
const removeFiles = (path: string) => {
  for (const s of SUFFIXES) rmSync(`${path}${s}`, { force: true });
};

/** Writes a file's data and its directory entry to disk: a backup that claims success survives a power cut. */
function syncToDisk(path: string) {
  for (const target of [path, dirname(path)]) {
    const fd = openSync(target, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** `PRAGMA integrity_check` of a finished copy; throws unless it says "ok". */
export function checkCopy(path: string): { version: number } {
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.query("PRAGMA integrity_check").values() as [string][];
    if (rows.length !== 1 || rows[0]![0] !== "ok")
      throw new Error(
        `the copy failed its integrity check: ${rows
          .map((r) => r[0])
          .join("; ")
          .slice(0, 300)}`,
      );
    return { version: schemaVersion(db) };
  } finally {
    db.close();
  }
}

/**
 * Copies the SQLite database at `from` to a new file `to` while a server may be writing it: `VACUUM INTO` reads one
 * snapshot (every transaction committed before it began, none after) and writes a compact file, which is checked
 * and synced under a temporary name and only then renamed to `to`. Synchronous: run it in a worker inside the server.
 */
export function backupSqliteFile(from: string, to: string): BackupResult {
  const started = performance.now();
  if (!existsSync(from)) throw new BackupError(`database ${from}: no such file`, 3);
  const partial = `${to}.partial`;
  removeFiles(partial);
  let db: Database | undefined;
  try {
    db = new Database(from, { readwrite: true, create: false });
    db.run("PRAGMA busy_timeout = 10000");
    db.run("VACUUM INTO ?", [partial]);
  } catch (err) {
    removeFiles(partial);
    throw new BackupError(`backing up ${from} failed: ${(err as Error).message}`, 1);
  } finally {
    db?.close();
  }
  try {
    checkCopy(partial);
    syncToDisk(partial);
    renameSync(partial, to);
  } catch (err) {
    removeFiles(partial);
    throw new BackupError(`backing up ${from} failed: ${(err as Error).message}`, 1);
  }
  return { bytes: statSync(to).size, seconds: (performance.now() - started) / 1000 };
}

/**
 * Where the worker's module is. In the compiled binary it is an entry point of its own (deploy/build.ts), named from
 * the entry points' common folder (src/); a URL next to this module resolves to nothing there.
 */
function workerPath(): string {
  if (import.meta.url.startsWith("file:///$bunfs/")) return "./store/backup-worker.ts";
  return new URL("./backup-worker.ts", import.meta.url).href;
}

/** The same in a worker thread: a big file takes seconds, during which the server's event loop must keep serving. */
export function backupSqliteInWorker(from: string, to: string): Promise<BackupResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerPath());
    worker.onmessage = (e: MessageEvent<{ ok: true; result: BackupResult } | { ok: false; error: string }>) => {
      void worker.terminate();
      if (e.data.ok) resolve(e.data.result);
      else reject(new BackupError(e.data.error, 1));
    };
    worker.onerror = (e) => {
      void worker.terminate();
      reject(new BackupError(`the backup worker failed: ${e.message}`, 1));
    };
    worker.postMessage({ from, to });
  });
}

/** Copies PostgreSQL into a new SQLite file (one snapshot, counts compared, then checked like any backup). */
export async function backupPostgres(
  url: string,
  to: string,
  opts: { zone: string; log: Logger },
): Promise<BackupResult> {
  const started = performance.now();
  const partial = `${to}.partial`;
  removeFiles(partial);
  try {
    const result = await copyDatabase(url, partial, {
      force: false,
      zone: opts.zone,
      log: opts.log,
      progress: () => {},
    });
    if (!result.match) {
      const differ = result.counts.filter((c) => c.source !== c.target).map((c) => c.table);
      throw new BackupError(`the copy of ${redactUrl(url)} lost rows in ${differ.join(", ")}`, 1);
    }
    checkCopy(partial);
    syncToDisk(partial);
    renameSync(partial, to);
  } catch (err) {
    removeFiles(partial);
    if (err instanceof BackupError) throw err;
    if (err instanceof CopyError) throw new BackupError(err.message, err.code);
    throw new BackupError(`backing up ${redactUrl(url)} failed: ${(err as Error).message}`, 1);
  }
  return { bytes: statSync(to).size, seconds: (performance.now() - started) / 1000 };
}

/**
 * Whether a process has the SQLite database open. Every connection to a WAL database holds a shared lock on its
 * shared-memory file for as long as it is open (SQLite's own "am I the last one" check); asking for the database in
 * exclusive locking mode needs that lock alone, so it fails while any server has the file open, idle or not, and
 * succeeds once every one has stopped (the kernel drops a killed process's locks). A failing probe disturbs nobody.
 */
export function sqliteInUse(path: string): boolean {
  if (!existsSync(path)) return false;
  const db = new Database(path, { readwrite: true, create: false });
  try {
    db.run("PRAGMA busy_timeout = 0");
    db.run("PRAGMA locking_mode = EXCLUSIVE");
    db.run("BEGIN EXCLUSIVE");
    db.run("COMMIT");
    return false;
  } catch (err) {
    if (/locked|busy/i.test((err as Error).message)) return true;
    throw err;
  } finally {
    db.close();
  }
}

/** A backup file fit to restore: a readable SQLite file that passes its integrity check, at a version this knows. */
function checkBackup(path: string): void {
  if (!existsSync(path)) throw new BackupError(`backup ${path}: no such file`, 3);
  let version: number;
  try {
    const db = new Database(path, { readonly: true });
    const legacy = isLegacyDatabase(db);
    db.close();
    version = legacy ? 0 : checkCopy(path).version;
  } catch (err) {
    throw new BackupError(`backup ${path} is not a sound SQLite database (${(err as Error).message})`, 3);
  }
  if (version > SCHEMA_VERSION)
    throw new BackupError(
      `backup ${path} is at schema version ${version}, newer than this layerwatch (${SCHEMA_VERSION}): upgrade first`,
      3,
    );
}

/** When something was set aside, for its name: 20261204T171500Z. */
const stamp = (now: Date) =>
  now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");

/**
 * Puts the backup at `from` in place of the SQLite database `to`, which no server may have open. The backup is
 * copied (the file given is left as it is) and checked under a temporary name; the database it replaces, with its
 * journal, is kept beside it as `<to>.before-restore-<time>`; then the copy takes the database's name. The server
 * migrates an older backup when it starts on it.
 */
export function restoreSqlite(from: string, to: string, now = new Date()): { keptAs: string | null } {
  checkBackup(from);
  if (sqliteInUse(to))
    throw new BackupError(
      `database ${to} is open in a running layerwatch: stop it first (e.g. systemctl stop layerwatch), then restore`,
      4,
    );
  const restoring = `${to}.restoring`;
  removeFiles(restoring);
  try {
    const src = new Database(from, { readonly: true });
    try {
      src.run("VACUUM INTO ?", [restoring]);
    } finally {
      src.close();
    }
    checkCopy(restoring);
    syncToDisk(restoring);
  } catch (err) {
    removeFiles(restoring);
    throw new BackupError(`restoring ${from} failed: ${(err as Error).message}`, 1);
  }
  let keptAs: string | null = null;
  if (existsSync(to)) {
    keptAs = `${to}.before-restore-${stamp(now)}`;
    for (const s of SUFFIXES) if (existsSync(`${to}${s}`)) renameSync(`${to}${s}`, `${keptAs}${s}`);
  }
  renameSync(restoring, to);
  syncToDisk(to);
  return { keptAs };
}

/**
 * Copies the backup into PostgreSQL (copy.ts; `force` replaces what it holds). Refused while any instance runs on it:
 * every running instance keeps a lease renewed in the database (one that was killed lets go within its 10 s).
 */
export async function restorePostgres(
  from: string,
  url: string,
  opts: { zone: string; log: Logger; force: boolean; progress: (line: string) => void },
): Promise<void> {
  checkBackup(from);
  const sql = openPostgres(url, { max: 1 });
  let holders: string[] = [];
  try {
    holders = (await createPgStore(sql, { zone: opts.zone }).leases.live("")).map((l) => l.holder);
  } catch {
    // No layerwatch schema there yet (or no server to ask): the copy below says what is wrong.
  } finally {
    await sql.close();
  }
  if (holders.length)
    throw new BackupError(
      `${redactUrl(url)} is in use by running layerwatch instances (${[...new Set(holders)].join(", ")}): ` +
        "stop them all first (a killed one lets go within 10 s), then restore",
      4,
    );
  try {
    const result = await copyDatabase(from, url, opts);
    if (!result.match) throw new BackupError(`restoring into ${redactUrl(url)}: the row counts differ`, 1);
  } catch (err) {
    if (err instanceof CopyError) throw new BackupError(err.message, err.code);
    throw err;
  }
}
