// Owns copying a whole database between engines (an SQLite file or PostgreSQL, either way): every table of the
// schema in foreign-key order, in batches, streaming, explicit ids kept, counts checked on both sides.
import { Database } from "bun:sqlite";
import { chmodSync, chownSync, existsSync, renameSync, rmSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { SQL, TransactionSQL } from "bun";
import type { Logger } from "../log.ts";
import { redactUrl } from "../urls.ts";
import { openDatabase } from "./db.ts";
import { isLegacyDatabase } from "./legacy.ts";
import { syncIdentity } from "./migrations/001-initial.pg.ts";
import { SCHEMA_VERSION, schemaVersion } from "./migrations.ts";
import { openPostgres } from "./pg.ts";
import { pgMigrate, pgSchemaVersion } from "./pg-migrate.ts";

/**
 * Every table of the schema at SCHEMA_VERSION, with the keys of the rows its migrations seed (a target holding
 * only those is empty). A migration that adds a table adds it here: test/copy-db.test.ts fails until it does.
 */
export const COPIED_TABLES: Record<string, { seeded: readonly (number | string)[] }> = {
  devices: { seeded: [1] },
  users: { seeded: [] },
  sessions: { seeded: [] },
  readings: { seeded: [] },
  statuses: { seeded: [] },
  frames: { seeded: [] },
  capture_intervals: { seeded: [1] },
  device_tokens: { seeded: [] },
  event_log: { seeded: [] },
  printers: { seeded: [1] },
  printer_summaries: { seeded: [] },
  printer_actions: { seeded: [] },
  jobs: { seeded: [] },
  job_frames: { seeded: [] },
  job_filaments: { seeded: [] },
  timelapses: { seeded: [] },
  notify_targets: { seeded: [] },
  notify_deliveries: { seeded: [] },
  push_subscriptions: { seeded: [] },
  app_keys: { seeded: [] },
  leases: { seeded: [] },
  library_files: { seeded: [] },
  library_plates: { seeded: [] },
  sends: { seeded: [] },
  queue_items: { seeded: [] },
  queue_plates: { seeded: [] },
  share_links: { seeded: [] },
  share_opens: { seeded: [] },
  print_stats: { seeded: [] },
  print_error_stats: { seeded: [] },
  print_room_stats: { seeded: [] },
  job_events: { seeded: [] },
  print_filament_stats: { seeded: [] },
  spoolman_links: { seeded: [] },
  spoolman_uses: { seeded: [] },
  api_tokens: { seeded: [] },
};

/** Tables an SQLite file may hold beside the schema: SQLite's own, and old-server rows the upgrade kept aside. */
const SQLITE_EXTRA = /^(sqlite_.*|legacy_rejects)$/;

/** A refusal or failure the command prints as one line; `code` is the exit code. */
export class CopyError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export type TableSchema = {
  name: string;
  columns: string[];
  /** The primary key's columns: batches follow it (keyset pagination, never OFFSET). */
  key: string[];
  /** Tables this one's foreign keys point at. */
  references: string[];
  /** Whether a column holds bytes (a batch then holds fewer rows). */
  blobs: boolean;
};

type Row = unknown[];

/** One side of a copy: what both engines offer, read and write. */
interface Side {
  readonly label: string;
  tables(): Promise<TableSchema[]>;
  count(table: string): Promise<number>;
  /** Rows in key order after `after` (the previous batch's last key), at most `limit`. */
  batch(table: TableSchema, after: Row | null, limit: number): Promise<Row[]>;
  close(): Promise<void>;
}

interface Target extends Side {
  /** Rows beyond the seeded ones, per table that has any. */
  userRows(tables: TableSchema[]): Promise<Record<string, number>>;
  /** Runs the whole write: PostgreSQL in one transaction; SQLite a transaction a batch, into a file renamed last. */
  write(fn: (w: Writer) => Promise<void>): Promise<void>;
}

interface Writer {
  empty(tables: TableSchema[]): Promise<void>;
  /** Sends one batch; the returned promise settles when it is stored (PostgreSQL pipelines the next read). */
  insert(table: TableSchema, rows: Row[]): Promise<void>;
  finish(tables: TableSchema[]): Promise<void>;
}

export function isPostgresUrl(s: string): boolean {
  return /^postgres(ql)?:\/\//i.test(s);
}

function hideSecret(message: string, url: string): string {
  let password = "";
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {}
  return password ? message.split(password).join("***") : message;
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Foreign-key order: a table after every table it references; ties in name order so runs are repeatable. */
export function foreignKeyOrder(tables: TableSchema[]): TableSchema[] {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const done = new Set<string>();
  const out: TableSchema[] = [];
  const visit = (t: TableSchema, path: string[]) => {
    if (done.has(t.name)) return;
    if (path.includes(t.name)) throw new Error(`foreign keys form a cycle: ${[...path, t.name].join(" → ")}`);
    for (const r of [...t.references].sort()) {
      const ref = byName.get(r);
      if (ref && r !== t.name) visit(ref, [...path, t.name]);
    }
    done.add(t.name);
    out.push(t);
  };
  for (const t of [...tables].sort((a, b) => a.name.localeCompare(b.name))) visit(t, []);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// SQLite

function sqliteTables(db: Database, extra = false): TableSchema[] {
  const names = (
    db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
  )
    .map((r) => r.name)
    .filter((n) => extra || !SQLITE_EXTRA.test(n));
  return names.map((name) => {
    const cols = db.query(`PRAGMA table_info(${q(name)})`).all() as { name: string; type: string; pk: number }[];
    const fks = db.query(`PRAGMA foreign_key_list(${q(name)})`).all() as { table: string }[];
    return {
      name,
      columns: cols.map((c) => c.name),
      key: cols
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name),
      references: [...new Set(fks.map((f) => f.table))],
      blobs: cols.some((c) => /BLOB/i.test(c.type)),
    };
  });
}

function keyAfter(table: TableSchema, after: Row | null, placeholder: (i: number) => string): string {
  if (!after) return "";
  const cols = table.key.map(q).join(", ");
  const params = table.key.map((_, i) => placeholder(i + 1)).join(", ");
  return `WHERE (${cols}) > (${params})`;
}

function keyOf(table: TableSchema, row: Row): Row {
  return table.key.map((k) => row[table.columns.indexOf(k)]);
}

class SqliteSide implements Target {
  label: string;
  /** A new target file is written under a temporary name and takes its own name only when the copy is done. */
  partialOf: string | null = null;
  done = false;
  constructor(
    readonly db: Database,
    readonly path: string,
  ) {
    this.label = path;
  }
  async tables() {
    return sqliteTables(this.db);
  }
  async count(table: string) {
    return (this.db.query(`SELECT count(*) AS n FROM ${q(table)}`).get() as { n: number }).n;
  }
  async batch(table: TableSchema, after: Row | null, limit: number) {
    const sql =
      `SELECT ${table.columns.map(q).join(", ")} FROM ${q(table.name)} ${keyAfter(table, after, (i) => `?${i}`)} ` +
      `ORDER BY ${table.key.map(q).join(", ")} LIMIT ${limit}`;
    return this.db.query(sql).values(...((after ?? []) as never[])) as Row[];
  }
  async userRows(tables: TableSchema[]) {
    const out: Record<string, number> = {};
    for (const t of tables) {
      const seeded = COPIED_TABLES[t.name]?.seeded ?? [];
      const where = seeded.length ? `WHERE ${q(t.key[0]!)} NOT IN (${seeded.map(() => "?").join(", ")})` : "";
      const n = (
        this.db.query(`SELECT count(*) AS n FROM ${q(t.name)} ${where}`).get(...(seeded as never[])) as {
          n: number;
        }
      ).n;
      if (n > 0) out[t.name] = n;
    }
    return out;
  }
  async write(fn: (w: Writer) => Promise<void>) {
    const db = this.db;
    const statements = new Map<string, ReturnType<Database["prepare"]>>();
    await fn({
      async empty(tables) {
        db.transaction(() => {
          for (const t of [...tables].reverse()) db.run(`DELETE FROM ${q(t.name)}`);
        })();
      },
      async insert(table, rows) {
        let stmt = statements.get(table.name);
        if (!stmt) {
          stmt = db.prepare(
            `INSERT INTO ${q(table.name)} (${table.columns.map(q).join(", ")}) ` +
              `VALUES (${table.columns.map(() => "?").join(", ")})`,
          );
          statements.set(table.name, stmt);
        }
        const insert = stmt;
        db.transaction(() => {
          for (const row of rows) insert.run(...(row as never[]));
        })();
      },
      async finish() {
        for (const s of statements.values()) s.finalize();
      },
    });
  }
  async close() {
    try {
      this.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch {}
    this.db.close();
    if (!this.partialOf) return;
    if (!this.done) return removeDatabaseFile(this.path);
    const final = this.partialOf;
    if (existsSync(final)) {
      // The replaced file's mode and owner carry over (a root-run copy must not leave root's file to the service).
      const old = statSync(final);
      chmodSync(this.path, old.mode & 0o7777);
      try {
        chownSync(this.path, old.uid, old.gid);
      } catch {}
    }
    // Its old journal first: a stale -wal beside the new file would be replayed into it.
    for (const suffix of ["-wal", "-shm", "-journal"]) rmSync(`${final}${suffix}`, { force: true });
    renameSync(this.path, final);
  }
}

function removeDatabaseFile(path: string): void {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${path}${suffix}`, { force: true });
}

function notEmptyError(label: string, busy: Record<string, number>): CopyError {
  const list = Object.entries(busy)
    .map(([t, n]) => `${t} ${n}`)
    .join(", ");
  return new CopyError(
    `target ${label} is not empty (${list}); add --force to replace everything in it with the source`,
    4,
  );
}

/** The source file, read-only, after checking it is a layerwatch database at this version (or upgrading an old
 * server's database the way starting the app does). */
function openSqliteSource(path: string, opts: { zone: string; log: Logger }): SqliteSide {
  if (!existsSync(path)) throw new CopyError(`source ${path}: no such file`, 3);
  let db: Database;
  try {
    db = new Database(path, { readonly: true });
    db.query("SELECT count(*) FROM sqlite_master").get();
  } catch (err) {
    throw new CopyError(`source ${path} is not a readable SQLite database (${(err as Error).message})`, 3);
  }
  if (isLegacyDatabase(db)) {
    db.close();
    opts.log.info(`source ${path} was written by the old server: upgrading it first, as starting layerwatch does`);
    try {
      openDatabase(path, opts).close();
    } catch (err) {
      throw new CopyError(`source ${(err as Error).message}`, 3);
    }
    db = new Database(path, { readonly: true });
  }
  const version = schemaVersion(db);
  if (version !== SCHEMA_VERSION) {
    db.close();
    throw new CopyError(versionMessage(`source ${path}`, version), 3);
  }
  return new SqliteSide(db, path);
}

function versionMessage(what: string, version: number): string {
  if (version === 0) return `${what} holds no layerwatch database (schema version 0)`;
  if (version > SCHEMA_VERSION)
    return `${what} is at schema version ${version}, newer than this layerwatch (${SCHEMA_VERSION}): upgrade it`;
  return (
    `${what} is at schema version ${version}, this layerwatch copies version ${SCHEMA_VERSION}: ` +
    "start this layerwatch version on it once (it migrates at start), then copy"
  );
}

/**
 * The copy is written to a new file, `PATH.copying`, made the way the app makes a database, and renamed to PATH
 * only when it is complete: an interrupted copy never leaves a half-filled database under the name the app opens,
 * and --force replaces an existing file in one step. An existing PATH is only read first, to refuse it when it
 * holds data (without --force) or is not layerwatch's.
 */
async function openSqliteTarget(path: string, opts: { zone: string; log: Logger; force: boolean }) {
  if (existsSync(path)) await checkExistingTarget(path, opts.force);
  const partial = `${path}.copying`;
  try {
    removeDatabaseFile(partial);
    const side = new SqliteSide(openDatabase(partial, opts), partial);
    side.partialOf = path;
    side.label = path;
    return side;
  } catch (err) {
    throw new CopyError(`target ${(err as Error).message.split(partial).join(path)}`, 3);
  }
}

async function checkExistingTarget(path: string, force: boolean): Promise<void> {
  let db: Database | undefined;
  try {
    db = new Database(path, { readonly: true });
    db.query("SELECT count(*) FROM sqlite_master").get();
  } catch (err) {
    db?.close();
    throw new CopyError(
      `target ${path} is not a readable SQLite database (${(err as Error).message}); left as it is`,
      3,
    );
  }
  try {
    const version = schemaVersion(db);
    if (version > SCHEMA_VERSION) throw new CopyError(versionMessage(`target ${path}`, version), 3);
    const all = sqliteTables(db, true);
    const legacy = isLegacyDatabase(db);
    if (version === 0 && !legacy && all.some((t) => !t.name.startsWith("sqlite_")))
      throw new CopyError(
        `target ${path} holds an SQLite database that is not layerwatch's (${all.map((t) => t.name).join(", ")}); ` +
          "it was left as it is: choose another path",
        4,
      );
    const side = new SqliteSide(db, path);
    const ours = all.filter((t) => t.name in COPIED_TABLES && !legacy);
    const busy = await side.userRows(ours);
    for (const t of all)
      if (!(t.name in COPIED_TABLES) && !t.name.startsWith("sqlite_")) {
        const n = await side.count(t.name);
        if (n > 0) busy[t.name] = n;
      }
    if (Object.keys(busy).length && !force) throw notEmptyError(path, busy);
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PostgreSQL

/** A connection error as one line naming the server, never the password. */
export function explainPostgres(url: string, err: unknown): string {
  const e = err as { code?: string; errno?: string; message?: string };
  const u = new URL(url);
  const at = `${u.hostname}:${u.port || 5432}`;
  const user = decodeURIComponent(u.username || "postgres");
  const db = decodeURIComponent(u.pathname.slice(1) || user);
  const msg = hideSecret(e.message ?? String(err), url);
  if (e.errno === "28P01" || /password authentication failed/i.test(msg))
    return `PostgreSQL at ${at} refused the password for user "${user}"`;
  if (e.errno === "3D000") return `PostgreSQL at ${at} has no database "${db}" (create it first)`;
  if (e.errno === "28000") return `PostgreSQL at ${at} refused user "${user}": ${msg}`;
  if (/CONNECTION_REFUSED|CONNECTION_CLOSED|CONNECTION_TIMEOUT|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH/.test(e.code ?? ""))
    return `cannot reach PostgreSQL at ${at} (${msg}); is it running, and is the address right?`;
  return `PostgreSQL at ${at}: ${msg}`;
}

async function connectPostgres(url: string, what: string): Promise<SQL> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CopyError(`${what}: not a valid postgres:// URL`, 2);
  }
  if (!parsed.hostname) throw new CopyError(`${what}: the postgres:// URL names no host`, 2);
  const sql = openPostgres(url, { max: 2 });
  try {
    await sql`SELECT 1`;
  } catch (err) {
    await sql.close().catch(() => {});
    throw new CopyError(`${what}: ${explainPostgres(url, err)}`, 3);
  }
  return sql;
}

async function pgTables(sql: SQL | TransactionSQL): Promise<TableSchema[]> {
  const rows = (await sql.unsafe(`
    SELECT c.relname AS name,
      (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
      (SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i
        CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
        WHERE i.indrelid = c.oid AND i.indisprimary) AS key,
      (SELECT coalesce(array_agg(DISTINCT f.confrelid::regclass::text), '{}') FROM pg_constraint f
        WHERE f.conrelid = c.oid AND f.contype = 'f') AS refs,
      EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        AND a.atttypid = 'bytea'::regtype) AS blobs
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'schema_migrations'
    ORDER BY c.relname`)) as {
    name: string;
    columns: string[];
    key: string[] | null;
    refs: string[];
    blobs: boolean;
  }[];
  return rows.map((r) => ({
    name: r.name,
    columns: r.columns,
    key: r.key ?? [],
    references: r.refs.map((x) => x.replace(/^"|"$/g, "")),
    blobs: r.blobs,
  }));
}

function pgSelect(table: TableSchema, after: Row | null, limit: number): string {
  return (
    `SELECT ${table.columns.map(q).join(", ")} FROM ${q(table.name)} ${keyAfter(table, after, (i) => `$${i}`)} ` +
    `ORDER BY ${table.key.map(q).join(", ")} LIMIT ${limit}`
  );
}

async function pgCount(sql: SQL | TransactionSQL, table: string): Promise<number> {
  const [row] = await sql.unsafe(`SELECT count(*)::int8 AS n FROM ${q(table)}`);
  return Number(row.n);
}

/** A PostgreSQL source: everything is read inside one read-only repeatable-read transaction (one snapshot). */
class PostgresSource implements Side {
  private tx: TransactionSQL | null = null;
  constructor(
    readonly sql: SQL,
    readonly label: string,
  ) {}
  /** Runs `fn` with every read in one snapshot. */
  async snapshot<T>(fn: () => Promise<T>): Promise<T> {
    return (await this.sql.begin(async (tx) => {
      await tx.unsafe("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      this.tx = tx;
      try {
        return await fn();
      } finally {
        this.tx = null;
      }
    })) as T;
  }
  private get reader(): SQL | TransactionSQL {
    return this.tx ?? this.sql;
  }
  /** This connection's backend, as another connection to the same server sees it in pg_stat_activity. */
  async backend(): Promise<{ pid: number; started: string }> {
    const [row] = await this.reader.unsafe(
      "SELECT pid, backend_start::text AS started FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    );
    return { pid: Number(row.pid), started: row.started };
  }
  async tables() {
    return pgTables(this.reader);
  }
  async count(table: string) {
    return pgCount(this.reader, table);
  }
  async batch(table: TableSchema, after: Row | null, limit: number) {
    return (await this.reader.unsafe(pgSelect(table, after, limit), after ?? []).values()) as Row[];
  }
  async close() {
    await this.sql.close();
  }
}

class PostgresTarget implements Target {
  constructor(
    readonly sql: SQL,
    readonly label: string,
  ) {}
  async tables() {
    return pgTables(this.sql);
  }
  async count(table: string) {
    return pgCount(this.sql, table);
  }
  async batch(table: TableSchema, after: Row | null, limit: number) {
    return (await this.sql.unsafe(pgSelect(table, after, limit), after ?? []).values()) as Row[];
  }
  /** Whether the backend `b` is connected to this very database (the source is the target under another name). */
  async sees(b: { pid: number; started: string }): Promise<boolean> {
    const rows = await this.sql.unsafe(
      "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND backend_start::text = $2 AND datname = current_database()",
      [b.pid, b.started],
    );
    return rows.length > 0;
  }
  async userRows(tables: TableSchema[]) {
    const out: Record<string, number> = {};
    for (const t of tables) {
      const seeded = COPIED_TABLES[t.name]?.seeded ?? [];
      const where = seeded.length
        ? `WHERE ${q(t.key[0]!)} NOT IN (${seeded.map((_, i) => `$${i + 1}`).join(", ")})`
        : "";
      const [row] = await this.sql.unsafe(`SELECT count(*)::int8 AS n FROM ${q(t.name)} ${where}`, [...seeded]);
      const n = Number(row.n);
      if (n > 0) out[t.name] = n;
    }
    return out;
  }
  /** One transaction: the emptying, every batch and the identity counters commit together or not at all. */
  async write(fn: (w: Writer) => Promise<void>) {
    await this.sql.begin(async (tx) => {
      await fn({
        async empty(tables) {
          await tx.unsafe(`TRUNCATE ${tables.map((t) => q(t.name)).join(", ")}`);
        },
        insert(table, rows) {
          const width = table.columns.length;
          const values = rows.map((_, r) => `(${table.columns.map((_, c) => `$${r * width + c + 1}`).join(", ")})`);
          const columns = table.columns.map(q).join(", ");
          const statement = `INSERT INTO ${q(table.name)} (${columns}) VALUES ${values.join(", ")}`;
          // Sent now; awaited by the caller after it has read the next batch.
          const sent = Promise.resolve(tx.unsafe(statement, rows.flat())).then(() => {});
          sent.catch(() => {}); // the caller awaits it; this only keeps a failure during the next read handled
          return sent;
        },
        async finish(tables) {
          for (const t of tables)
            if (t.key.length === 1 && t.key[0] === "id" && (await isIdentity(tx, t.name)))
              await syncIdentity(tx, t.name);
        },
      });
    });
    // The planner's statistics for the tables just filled (without them the first pages planned for a few rows
    // where a day has thousands), and the visibility map, without which an index-only scan still visits every
    // row's page. Measured with 3 M readings, a day's stamp: 21 ms analysed only, 1.3 ms after VACUUM (0.5 s).
    await this.sql`VACUUM (ANALYZE)`;
  }
  async close() {
    await this.sql.close();
  }
}

async function isIdentity(tx: TransactionSQL, table: string): Promise<boolean> {
  const [row] = await tx`SELECT pg_get_serial_sequence(${table}, 'id') IS NOT NULL AS yes`;
  return row.yes === true;
}

// ---------------------------------------------------------------------------------------------------------------
// The copy

export type CopyOptions = {
  force: boolean;
  zone: string;
  log: Logger;
  /** A progress line (table, rows done / total, rate); called at most twice a second, and once per table end. */
  progress: (line: string) => void;
  /** Rows per batch (tests make it small); blob tables use fewer. */
  batchRows?: number;
};

export type CountRow = { table: string; source: number; target: number };
export type CopyResult = { counts: CountRow[]; match: boolean; seconds: number; skipped: string[] };

/** Largest batch: PostgreSQL takes at most 65,535 parameters a statement; a batch of frames stays near 16 MB. */
function batchSize(table: TableSchema, rows: number): number {
  if (table.blobs) return Math.max(1, Math.min(rows, 64));
  return Math.max(1, Math.min(rows, Math.floor(60000 / table.columns.length)));
}

function sameSqliteFile(a: string, b: string): boolean {
  if (existsSync(a) && existsSync(b)) {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  }
  return resolve(a) === resolve(b);
}

function samePostgres(a: string, b: string): boolean {
  const key = (s: string) => {
    const u = new URL(s);
    return `${u.hostname.toLowerCase()}:${u.port || 5432}/${decodeURIComponent(u.pathname.slice(1) || u.username)}`;
  };
  try {
    return key(a) === key(b);
  } catch {
    return false;
  }
}

function describe(spec: string): string {
  return isPostgresUrl(spec) ? redactUrl(spec) : spec;
}

export async function copyDatabase(source: string, target: string, opts: CopyOptions): Promise<CopyResult> {
  if (isPostgresUrl(source) === isPostgresUrl(target)) {
    const same = isPostgresUrl(source) ? samePostgres(source, target) : sameSqliteFile(source, target);
    if (same) throw new CopyError(`the target is the source (${describe(source)}): nothing to copy`, 4);
  }
  const started = performance.now();
  let src: SqliteSide | PostgresSource | undefined;
  let dst: Target | undefined;
  try {
    if (isPostgresUrl(source)) {
      const sql = await connectPostgres(source, `source ${redactUrl(source)}`);
      src = new PostgresSource(sql, redactUrl(source));
      const version = await pgSchemaVersion(sql);
      if (version !== SCHEMA_VERSION) throw new CopyError(versionMessage(`source ${src.label}`, version), 3);
    } else src = openSqliteSource(source, opts);

    if (isPostgresUrl(target)) {
      const sql = await connectPostgres(target, `target ${redactUrl(target)}`);
      dst = new PostgresTarget(sql, redactUrl(target));
      try {
        await pgMigrate(sql, { zone: opts.zone });
      } catch (err) {
        throw new CopyError(`target ${dst.label}: ${hideSecret((err as Error).message, target)}`, 3);
      }
    } else dst = await openSqliteTarget(target, opts);

    const s = src;
    const d = dst;
    const run = async () => {
      if (s instanceof PostgresSource && d instanceof PostgresTarget && (await d.sees(await s.backend())))
        throw new CopyError(`the target is the source (${s.label}, under another name): nothing to copy`, 4);
      return copyTables(s, d, opts);
    };
    const result = s instanceof PostgresSource ? await s.snapshot(run) : await sqliteSnapshot(s, run);
    if (d instanceof SqliteSide) d.done = true;
    return { ...result, seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    if (err instanceof CopyError) throw err;
    const text = [source, target].reduce((m, url) => (isPostgresUrl(url) ? hideSecret(m, url) : m), String(err));
    throw new CopyError(`copy failed: ${text}`, 1);
  } finally {
    await src?.close().catch(() => {});
    await dst?.close().catch(() => {});
  }
}

/** One read transaction on the source file for the whole copy, so a running app's writes do not tear it. */
async function sqliteSnapshot<T>(side: SqliteSide, fn: () => Promise<T>): Promise<T> {
  side.db.run("BEGIN");
  try {
    return await fn();
  } finally {
    side.db.run("COMMIT");
  }
}

async function copyTables(src: Side, dst: Target, opts: CopyOptions): Promise<Omit<CopyResult, "seconds">> {
  const sourceTables = await src.tables();
  const targetTables = await dst.tables();
  const unknown = sourceTables.map((t) => t.name).filter((n) => !(n in COPIED_TABLES));
  if (unknown.length)
    throw new CopyError(`source ${src.label} has tables copy-db does not know: ${unknown.join(", ")}`, 3);
  const byName = new Map(targetTables.map((t) => [t.name, t]));
  const tables = foreignKeyOrder(sourceTables);
  for (const t of tables) {
    const there = byName.get(t.name);
    if (!there) throw new CopyError(`target ${dst.label} has no table ${t.name}`, 3);
    const missing = t.columns.filter((c) => !there.columns.includes(c));
    if (missing.length || there.columns.length !== t.columns.length)
      throw new CopyError(`table ${t.name} differs between source and target (columns ${t.columns.join(", ")})`, 3);
    if (!t.key.length) throw new Error(`table ${t.name} has no primary key to copy it by`);
  }
  const skipped = await skippedTables(src);

  const busy = await dst.userRows(tables);
  if (Object.keys(busy).length && !opts.force) throw notEmptyError(dst.label, busy);

  const totals = new Map<string, number>();
  for (const t of tables) totals.set(t.name, await src.count(t.name));
  const throttle = progressLine(opts.progress);
  await dst.write(async (w) => {
    await w.empty(tables);
    for (const t of tables) {
      const total = totals.get(t.name)!;
      const limit = batchSize(t, opts.batchRows ?? 5000);
      const t0 = performance.now();
      let done = 0;
      let after: Row | null = null;
      let pending: Promise<void> | null = null;
      for (;;) {
        const rows = await src.batch(t, after, limit);
        if (pending) await pending;
        if (!rows.length) break;
        after = keyOf(t, rows[rows.length - 1]!);
        pending = w.insert(t, rows);
        done += rows.length;
        throttle(t.name, done, total, t0, false);
      }
      throttle(t.name, done, total, t0, true);
    }
    await w.finish(tables);
  });

  const counts: CountRow[] = [];
  for (const t of tables)
    counts.push({ table: t.name, source: await src.count(t.name), target: await dst.count(t.name) });
  return { counts, match: counts.every((c) => c.source === c.target), skipped };
}

/** What the source holds outside the schema (not copied), as "table (n rows)". */
async function skippedTables(src: Side): Promise<string[]> {
  if (!(src instanceof SqliteSide)) return [];
  const out: string[] = [];
  for (const t of sqliteTables(src.db, true))
    if (t.name === "legacy_rejects") out.push(`${t.name} (${await src.count(t.name)} rows)`);
  return out;
}

/** At most one line every 500 ms, and a table's last line when it was long enough to have shown one. */
function progressLine(emit: (line: string) => void) {
  let last = Number.NEGATIVE_INFINITY;
  let shown = { table: "", done: 0 };
  return (table: string, done: number, total: number, t0: number, end: boolean) => {
    const now = performance.now();
    if (end ? shown.table !== table || shown.done === done : now - last < 500) return;
    last = now;
    shown = { table, done };
    const secs = (now - t0) / 1000;
    const rate = secs > 0 ? Math.round(done / secs) : 0;
    const pct = total ? Math.floor((done / total) * 100) : 100;
    emit(`${table}: ${done.toLocaleString("en")} / ${total.toLocaleString("en")} rows (${pct}%), ${rate} rows/s`);
  };
}
