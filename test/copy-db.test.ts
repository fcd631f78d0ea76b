// copy-db end to end: the real command against a real PostgreSQL, the old server's database, a database the app
// filled, refusals and exit codes.

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { COPIED_TABLES, foreignKeyOrder, type TableSchema } from "../src/store/copy.ts";
import { migrate, migrateTo, SCHEMA_VERSION } from "../src/store/migrations.ts";
import { numbers, openPostgres } from "../src/store/pg.ts";
import { pgMigrate } from "../src/store/pg-migrate.ts";
import { startPasswordRefuser } from "./fakes/postgres-password.ts";
import { login, startApp, tempDir } from "./helpers.ts";
import { LIBRARY_PLATE_ROW } from "./library-helpers.ts";
import { runCommand } from "./process.ts";
import { requirePython } from "./python.ts";
import { type PostgresServer, startPostgres } from "./servers.ts";

const MAIN = join(import.meta.dir, "../src/main.ts");
const TABLES = Object.keys(COPIED_TABLES).sort();
let pg: PostgresServer;
const dirs: string[] = [];

beforeAll(async () => {
  requirePython(["werkzeug"]);
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

const copyDb = (...args: string[]) =>
  runCommand([process.execPath, MAIN, "copy-db", ...args], {
    cwd: dir(),
    env: { ...process.env, LAYERWATCH_TIMEZONE: "Europe/Helsinki" },
  });

/** The old server's database: its summary says what it wrote. */
function legacyDatabase(path: string): { users: Record<string, string>; readings: number; images: number } {
  const made = Bun.spawnSync(["/usr/bin/python3", join(import.meta.dir, "fixtures/make_legacy_db.py"), path]);
  if (made.exitCode !== 0) throw new Error(made.stderr.toString());
  return JSON.parse(made.stdout.toString());
}

function sqliteKeyOf(db: Database, table: string): string {
  const cols = db.query(`PRAGMA table_info(${table})`).all() as { name: string; pk: number }[];
  return cols
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => c.name)
    .join(", ");
}

/** Every row of every schema table, in key order: two files are the same database when these are equal. */
function dump(path: string): Record<string, unknown[]> {
  const db = new Database(path, { readonly: true });
  try {
    const out: Record<string, unknown[]> = {};
    for (const t of TABLES) out[t] = db.query(`SELECT * FROM ${t} ORDER BY ${sqliteKeyOf(db, t)}`).all();
    return out;
  } finally {
    db.close();
  }
}

function counts(path: string): Record<string, number> {
  const d = dump(path);
  return Object.fromEntries(Object.entries(d).map(([t, rows]) => [t, rows.length]));
}

async function pgRows<T>(url: string, query: string): Promise<T[]> {
  const sql = openPostgres(url, { max: 1 });
  try {
    return numbers<T>(await sql.unsafe(query));
  } finally {
    await sql.close();
  }
}

describe("the copy knows every table", () => {
  const check = (tables: string[], seeded: Record<string, unknown[]>) => {
    expect(tables.sort()).toEqual(TABLES);
    for (const t of TABLES) expect({ t, keys: seeded[t] }).toEqual({ t, keys: [...COPIED_TABLES[t]!.seeded] });
  };

  test("every table SQLite's migrations make is in COPIED_TABLES, with the rows they seed", () => {
    const db = new Database(":memory:");
    migrate(db, { zone: "UTC" });
    const tables = (db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[])
      .map((r) => r.name)
      .filter((n) => !n.startsWith("sqlite_"));
    const seeded: Record<string, unknown[]> = {};
    for (const t of tables) {
      const key = sqliteKeyOf(db, t).split(", ")[0];
      seeded[t] = (db.query(`SELECT ${key} AS k FROM ${t} ORDER BY 1`).all() as { k: unknown }[]).map((r) => r.k);
    }
    db.close();
    check(tables, seeded);
  });

  test("every table PostgreSQL's migrations make is in COPIED_TABLES, with the rows they seed", async () => {
    const url = await pg.createDatabase();
    const sql = openPostgres(url, { max: 1 });
    try {
      await pgMigrate(sql, { zone: "UTC" });
      const tables = (
        (await sql`SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
          AND tablename <> 'schema_migrations'`) as { tablename: string }[]
      ).map((r) => r.tablename);
      const seeded: Record<string, unknown[]> = {};
      for (const t of tables) {
        const key =
          t === "app_keys" || t === "leases"
            ? "name"
            : t === "sessions"
              ? "token_hash"
              : t === "job_filaments"
                ? "job_id"
                : t.endsWith("summaries") || t.endsWith("_stats")
                  ? "1"
                  : t === "library_plates"
                    ? "file_id"
                    : t === "queue_plates" || t === "spoolman_links"
                      ? "printer_id"
                      : "id";
        seeded[t] = numbers<{ k: unknown }>(await sql.unsafe(`SELECT ${key} AS k FROM ${t} ORDER BY 1`)).map(
          (r) => r.k,
        );
      }
      check(tables, seeded);
    } finally {
      await sql.close();
    }
  });

  test("the foreign-key order puts a table after the tables it references", () => {
    const t = (name: string, references: string[]): TableSchema => ({
      name,
      columns: ["id"],
      key: ["id"],
      references,
      blobs: false,
    });
    const order = foreignKeyOrder([t("a_child", ["z_parent"]), t("z_parent", []), t("m_grandchild", ["a_child"])]);
    expect(order.map((x) => x.name)).toEqual(["z_parent", "a_child", "m_grandchild"]);
  });
});

describe("the old server's database → PostgreSQL → SQLite", () => {
  let source: string;
  let back: string;
  let url: string;
  let summary: ReturnType<typeof legacyDatabase>;
  let first: Awaited<ReturnType<typeof copyDb>>;
  let second: Awaited<ReturnType<typeof copyDb>>;

  beforeAll(async () => {
    const d = dir();
    source = join(d, "app.db");
    summary = legacyDatabase(source);
    url = await pg.createDatabase();
    // Small batches: every table with more than a few rows goes through several (keyset pages, composite keys).
    first = await copyDb(source, url, "--batch-rows", "7");
    back = join(dir(), "app.db");
    second = await copyDb(url, back, "--batch-rows", "7");
  });

  test("both copies end with the table of counts and 'counts match', exit 0", () => {
    for (const r of [first, second]) {
      expect(`${r.code} ${r.err}`).toStartWith("0 ");
      expect(r.out).toMatch(/^table +source +target$/m);
      expect(r.out).toMatch(/^readings +1440 +1440$/m);
      expect(r.out).toContain("counts match");
    }
  });

  test("the old database is upgraded first, as starting layerwatch does, with its backup beside it", () => {
    expect(first.err).toContain("was written by the old server: upgrading it first");
    expect(new Database(source, { readonly: true }).query("PRAGMA user_version").get()).toEqual({
      user_version: SCHEMA_VERSION,
    });
  });

  test("progress lines name the table, rows done of the total and the rate", () => {
    // The first batch of the copy always shows one; then at most one line each 500 ms.
    const lines = first.err.split("\n").filter((l) => l.startsWith("  "));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^ {2}[a-z_]+: [\d,]+ \/ [\d,]+ rows \(\d+%\), \d+ rows\/s$/);
  });

  test("the SQLite copy holds every row of every table of the upgraded original", () => {
    const original = dump(source);
    const copy = dump(back);
    expect(counts(back).readings).toBe(summary.readings);
    expect(counts(back).frames).toBe(summary.images);
    for (const t of TABLES) expect({ t, rows: copy[t] }).toEqual({ t, rows: original[t]! });
  });

  test("PostgreSQL holds the users' password hashes, the readings and the frames' bytes", async () => {
    const db = new Database(source, { readonly: true });
    const users = db.query("SELECT id, username, password_hash, role FROM users ORDER BY id").all();
    const frames = db.query("SELECT id, recorded_at, mime, bytes FROM frames ORDER BY id").all() as {
      bytes: Uint8Array;
    }[];
    const readings = db.query("SELECT id, recorded_at, temperature, humidity FROM readings ORDER BY id").all();
    db.close();
    expect(await pgRows(url, "SELECT id, username, password_hash, role FROM users ORDER BY id")).toEqual(users);
    const pgFrames = await pgRows<{ bytes: Uint8Array }>(
      url,
      "SELECT id, recorded_at, mime, bytes FROM frames ORDER BY id",
    );
    expect(pgFrames.map((f) => ({ ...f, bytes: new Uint8Array(f.bytes) }))).toEqual(
      frames.map((f) => ({ ...f, bytes: new Uint8Array(f.bytes) })),
    );
    expect(await pgRows(url, "SELECT id, recorded_at, temperature, humidity FROM readings ORDER BY id")).toEqual(
      readings,
    );
  });

  test("PostgreSQL's id counters continue after the copied ids", async () => {
    const [next] = await pgRows<{ id: number }>(
      url,
      "INSERT INTO event_log (at, level, message, details) VALUES (1, 'info', 'x', '{}') RETURNING id",
    );
    expect(next!.id).toBe(1);
    const [user] = await pgRows<{ id: number }>(
      url,
      "INSERT INTO users (username, password_hash, created_at) VALUES ('new', 'h', 1) RETURNING id",
    );
    expect(user!.id).toBe(3);
    await pgRows(url, "DELETE FROM users WHERE username = 'new'; DELETE FROM event_log");
  });

  test("the old users log in with their old passwords on the final SQLite copy", async () => {
    const d = dir();
    copyFileSync(back, join(d, "app.db"));
    const app = await startApp({ web_username: "admin", web_password: "a-different-password" }, d);
    try {
      for (const [username, password] of Object.entries(summary.users))
        expect(await login(app, username, password)).toMatch(/=/);
    } finally {
      await app.stop();
    }
  });
});

describe("a database the app filled (printers, jobs with archive frames, tokens, notifications, push keys)", () => {
  let original: string;
  let url: string;
  let back: string;
  const frame = new Uint8Array(200_000).map((_, i) => (i * 7) & 255);

  beforeAll(async () => {
    const d = dir();
    const app = await startApp({}, d);
    await login(app); // a session
    const s = app.store;
    const viewer = s.users.insert("viewer1", "$2b$10$abcdefghijklmnopqrstuuv0123456789012345678901234567", "viewer");
    const printer = s.printers.insert({
      name: "Farm Ä1",
      model: "A1",
      host: "192.168.1.50",
      serial: "01P00A123456789",
      access_code: "12345678",
      mqtt_port: 8883,
      camera: 1,
      camera_port: 6000,
      ftps_port: 990,
      rtsp_port: 3220,
      tls: "pin",
    });
    s.printers.setFingerprint(printer, "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0");
    s.printers.setFtpsFingerprint(printer, "sha256:aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55");
    s.printers.saveState(printer, JSON.stringify({ stage: "printing", layer: 12 }));
    s.deviceTokens.insert(printer, "camera pi", "token-hash-1");
    for (let i = 0; i < 50; i++) s.readings.insert(printer, 1, 1_760_000_000_000 + i * 60_000, 21 + i / 10, 40);
    s.statuses.record(printer, 1, 1_760_000_000_000, "printing");
    s.frames.insert(printer, 1, 1_760_000_000_000, "image/jpeg", frame, 10, "printer");
    const job = s.jobs.insert(printer, "benchy", "benchy.3mf", 1_760_000_000_000);
    for (let i = 0; i < 3; i++)
      s.jobs.addFrame(
        job,
        1_760_000_000_000 + i,
        i,
        "image/jpeg",
        frame.map((b) => b ^ i),
      );
    for (const [tray, type, color] of [
      [0, "PLA", "FFFFFFFF"],
      [254, "PETG", null],
    ] as const)
      s.jobs.addFilament({ job_id: job, tray, type, color, brand: "Ä brand", first_used_at: 1_760_000_000_000 + tray });
    s.jobEvents.add(job, 1_760_000_050_000, "pause", JSON.stringify({ layer: 5 }));
    // Errors and weather, so the statistics tables get rows when it closes.
    const row = { ...s.jobs.byId(job)!, errors: '[{"code":"0300_4000","kind":"print_error"}]' };
    s.jobs.update(row);
    const weather = { temp_min: 21, temp_max: 23, temp_sum: 44, hum_min: 40, hum_max: 44, hum_sum: 84, readings: 2 };
    s.jobs.saveWeather({ ...row, ...weather });
    s.jobs.close(job, 1_760_000_100_000, "finished");
    const share = s.shares.insert({
      token_hash: "share-hash-1",
      job_id: job,
      printer_id: null,
      created_by: "admin",
      created_at: 1_760_000_100_000,
      expires_at: 1_760_600_000_000,
    });
    s.shares.recordOpen(share, 1_760_000_200_000, "192.0.2.7");
    s.spoolman.link({
      printer_id: printer,
      tray: 0,
      spool_id: 7,
      spool_grams: 1000,
      linked_by: "Ä op",
      linked_at: 1_760_000_000_000,
    });
    const use = { job_id: job, printer_id: printer, tray: 0, spool_id: 7, grams: 12.25, source: "plate" as const };
    s.spoolman.failed(s.spoolman.addUse({ ...use, created_at: 1_760_000_100_000 })!, "connection refused");
    const token = s.apiTokens.insert(viewer, "Ä script", "f".repeat(64), 1_760_000_200_000);
    s.apiTokens.touch(token, 1_760_000_300_000);
    s.timelapses.insert({
      printer_id: printer,
      job_id: job,
      upload_id: "up-1",
      filename: "benchy.mp4",
      filetype: "video/mp4",
      size: 1234,
      path: "up-1.mp4",
      created_at: 1_760_000_100_000,
      metadata: "filename YmVuY2h5Lm1wNA==",
    });
    const target = s.notify.addTarget("ntfy://ntfy.sh/layerwatch-secret-topic", false);
    s.notify.enqueue(target, "print_finished", "benchy finished");
    s.notify.claimDue(Date.now(), 10, "host-a:1:abcd", Date.now() + 60_000);
    s.leases.claim(`printer:${printer}`, "host-a:1:abcd", 10_000);
    s.notify.subscribe("https://push.example.com/abc", "p256dh-key", "auth-key", viewer);
    if (!s.notify.key("vapid")) s.notify.setKey("vapid", JSON.stringify({ publicKey: "pub", privateKey: "priv" }));
    s.printerActions.record({
      printer_id: printer,
      at: 1_760_000_000_500,
      username: "admin",
      action: "pause",
      via: "web",
      result: "ok",
      detail: "",
    });
    s.eventLog.append("info", "a test event", "{}", 100);
    const file = s.library.insert(
      { name: "cube.gcode.3mf", size: 2749, sha256: "ab", tags: ",spares,", uploaded_by: "admin", created_at: 1 },
      [LIBRARY_PLATE_ROW],
    );
    const sent = s.sends.insert({
      printer_id: printer,
      file_id: file,
      plate: 1,
      options_json: '{"timelapse":true}',
      remote_name: "cube.gcode.3mf",
      username: "admin",
      created_at: 1_760_000_000_000,
    });
    s.sends.update(sent, { status: "started", progress: 1, reason: null, error: null, job_id: job });
    const item = s.queue.insert({
      file_id: file,
      plate: 1,
      printer_id: printer,
      rule_json: null,
      options_json: "{}",
      username: "admin",
      created_at: 1_760_000_000_000,
    });
    s.queue.setSend(item, sent);
    s.queue.plateDirty(printer, 1_760_000_100_000);
    await app.stop();
    original = join(d, "app.db");
    url = await pg.createDatabase();
    back = join(dir(), "copy.db");
  });

  test("round-trips through PostgreSQL with every row of every table the same", async () => {
    const there = await copyDb(original, url);
    expect(`${there.code} ${there.err}`).toStartWith("0 ");
    const again = await copyDb(url, back);
    expect(`${again.code} ${again.err}`).toStartWith("0 ");
    expect(again.out).toContain("counts match");
    const a = dump(original);
    const b = dump(back);
    for (const t of TABLES) expect({ t, rows: b[t] }).toEqual({ t, rows: a[t]! });
    // Every table has rows here, so each one's columns and types are proven to cross both ways.
    for (const t of TABLES) expect({ t, rows: a[t]!.length > 0 }).toEqual({ t, rows: true });
  });

  test("PostgreSQL → PostgreSQL copies too, row for row", async () => {
    const other = await pg.createDatabase();
    const r = await copyDb(url, other);
    expect(`${r.code} ${r.err}`).toStartWith("0 ");
    for (const t of TABLES) {
      const order =
        t === "app_keys" || t === "leases"
          ? "name"
          : t === "sessions"
            ? "token_hash"
            : t.endsWith("summaries")
              ? "1, 2, 3"
              : t === "job_filaments"
                ? "job_id, tray"
                : t === "library_plates"
                  ? "file_id, plate"
                  : t === "queue_plates"
                    ? "printer_id"
                    : t === "spoolman_links"
                      ? "printer_id, tray"
                      : t.endsWith("_stats")
                        ? "1, 2, 3, 4"
                        : "id";
      const query = `SELECT * FROM ${t} ORDER BY ${order}`;
      expect({ t, rows: await pgRows(other, query) }).toEqual({ t, rows: await pgRows(url, query) });
    }
  });

  test("PostgreSQL holds the printer's pins, RTSPS port and access code and the archive frames' bytes", async () => {
    const [p] = await pgRows<Record<string, unknown>>(
      url,
      "SELECT access_code, tls_fingerprint, ftps_fingerprint, rtsp_port FROM printers WHERE name = 'farm ä1'",
    );
    expect(p).toEqual({
      access_code: "12345678",
      tls_fingerprint: "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
      ftps_fingerprint: "sha256:aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55aa55",
      rtsp_port: 3220,
    });
    const frames = await pgRows<{ bytes: Uint8Array }>(url, "SELECT bytes FROM job_frames ORDER BY id");
    expect(frames.map((f) => new Uint8Array(f.bytes))).toEqual([0, 1, 2].map((i) => frame.map((b) => b ^ i)));
  });

  test("a non-empty target is refused without --force, and left as it was", async () => {
    const before = readFileSync(back);
    const r = await copyDb(original, back);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(/target .*copy\.db is not empty \(.*readings 50.*\); add --force/);
    expect(readFileSync(back)).toEqual(before);
    const pgBefore = await pgRows(url, "SELECT count(*) AS n FROM readings");
    const p = await copyDb(back, url);
    expect(p.code).toBe(4);
    expect(await pgRows(url, "SELECT count(*) AS n FROM readings")).toEqual(pgBefore);
  });

  test("--force replaces everything in the target with the source", async () => {
    const legacy = join(dir(), "old.db");
    legacyDatabase(legacy);
    const toPg = await copyDb(legacy, url, "--force");
    expect(`${toPg.code} ${toPg.err}`).toStartWith("0 ");
    expect(await pgRows(url, "SELECT count(*) AS n FROM job_frames")).toEqual([{ n: 0 }]);
    chmodSync(back, 0o640);
    const toFile = await copyDb(legacy, back, "--force");
    expect(`${toFile.code} ${toFile.err}`).toStartWith("0 ");
    expect(statSync(back).mode & 0o777).toBe(0o640);
    expect(existsSync(`${back}.copying`)).toBe(false);
    const a = dump(legacy);
    const b = dump(back);
    for (const t of TABLES) expect({ t, rows: b[t] }).toEqual({ t, rows: a[t]! });
  });
});

describe("refusals and errors: one line, an exit code, never a password", () => {
  let current: string;
  beforeAll(() => {
    current = join(dir(), "current.db");
    const db = new Database(current);
    migrate(db, { zone: "UTC" });
    db.close();
  });

  test("an unreachable PostgreSQL: exit 3, the address named, the password not", async () => {
    const r = await copyDb(current, "postgres://farm:s3cret-pw@127.0.0.1:1/layerwatch");
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/cannot reach PostgreSQL at 127\.0\.0\.1:1/);
    expect(r.err + r.out).not.toContain("s3cret-pw");
  });

  test("a wrong password: exit 3, said so, the password not shown", async () => {
    const fake = startPasswordRefuser();
    try {
      const r = await copyDb(`postgres://farm:wr0ng-pw@127.0.0.1:${fake.port}/layerwatch`, join(dir(), "x.db"));
      expect(r.code).toBe(3);
      expect(r.err).toMatch(/PostgreSQL at 127\.0\.0\.1:\d+ refused the password for user "farm"/);
      expect(r.err + r.out).not.toContain("wr0ng-pw");
      expect(fake.passwords).toContain("wr0ng-pw");
    } finally {
      fake.stop();
    }
  });

  test("a PostgreSQL database that does not exist: exit 3, said so", async () => {
    const r = await copyDb(current, `${pg.url.slice(0, pg.url.lastIndexOf("/"))}/no_such_db`);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/PostgreSQL at 127\.0\.0\.1:\d+ has no database "no_such_db" \(create it first\)/);
  });

  test("a missing source file: exit 3, and no target is made", async () => {
    const target = join(dir(), "t.db");
    const r = await copyDb("/nonexistent/app.db", target);
    expect(r.code).toBe(3);
    expect(r.err).toContain("source /nonexistent/app.db: no such file");
    expect(existsSync(target)).toBe(false);
  });

  test("a target that is the source: exit 4", async () => {
    expect((await copyDb(current, current)).code).toBe(4);
    const url = await pg.createDatabase();
    const r = await copyDb(url, url.replace("postgres@", "postgres:pw@"));
    expect(r.code).toBe(4);
    expect(r.err).toContain("the target is the source");
  });

  test("the same PostgreSQL database under another host name is the source too: exit 4", async () => {
    const url = await pg.createDatabase();
    await copyDb(current, url);
    const r = await copyDb(url, url.replace("127.0.0.1", "localhost"), "--force");
    expect(r.code).toBe(4);
    expect(r.err).toContain("under another name");
    expect(await pgRows(url, "SELECT count(*) AS n FROM capture_intervals")).toEqual([{ n: 1 }]);
  });

  test("an SQLite target that is not layerwatch's is refused even with --force, and left as it was", async () => {
    const other = join(dir(), "other.db");
    const db = new Database(other);
    db.run("CREATE TABLE recipes (id INTEGER PRIMARY KEY, name TEXT)");
    db.close();
    const before = readFileSync(other);
    const r = await copyDb(current, other, "--force");
    expect(r.code).toBe(4);
    expect(r.err).toContain("is not layerwatch's (recipes)");
    expect(readFileSync(other)).toEqual(before);
  });

  test("a copy killed half-way leaves the target file as it was", async () => {
    const big = join(dir(), "big.db");
    copyFileSync(current, big);
    const db = new Database(big);
    const insert = db.prepare(
      "INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (1, ?, 20, 40)",
    );
    db.transaction(() => {
      for (let i = 0; i < 50_000; i++) insert.run(i);
    })();
    db.close();
    const target = join(dir(), "t.db");
    copyFileSync(current, target);
    const before = readFileSync(target);
    // One-row batches: a commit each, so the copy is still under way when its first readings line shows.
    const p = Bun.spawn([process.execPath, MAIN, "copy-db", big, target, "--batch-rows", "1"], {
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = p.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!/readings: [\d,]+ \/ 50,000/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    p.kill("SIGKILL");
    await p.exited;
    expect(text).toMatch(/readings: [\d,]+ \/ 50,000/);
    expect(readFileSync(target)).toEqual(before);
    expect(existsSync(`${target}-wal`)).toBe(false);
  });

  test("a table outside the schema is refused, and no target file is left behind", async () => {
    const odd = join(dir(), "odd.db");
    copyFileSync(current, odd);
    const db = new Database(odd);
    db.run("CREATE TABLE printer_notes (id INTEGER PRIMARY KEY, note TEXT)");
    db.close();
    const target = join(dir(), "t.db");
    const r = await copyDb(odd, target);
    expect(r.code).toBe(3);
    expect(r.err).toContain("has tables copy-db does not know: printer_notes");
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.copying`)).toBe(false);
  });

  test("old-server rows the upgrade could not read (legacy_rejects) are named as not copied", async () => {
    const kept = join(dir(), "kept.db");
    copyFileSync(current, kept);
    const db = new Database(kept);
    db.run("CREATE TABLE legacy_rejects (source TEXT NOT NULL, row_json TEXT NOT NULL, reason TEXT NOT NULL)");
    db.run("INSERT INTO legacy_rejects VALUES ('temphum', '{}', 'unreadable timestamp or value')");
    db.close();
    const r = await copyDb(kept, join(dir(), "t.db"));
    expect(r.code).toBe(0);
    expect(r.err).toContain("not copied (not part of the schema): legacy_rejects (1 rows)");
  });

  test("a source at an older schema is refused: start this version on it once", async () => {
    const old = join(dir(), "v5.db");
    const db = new Database(old);
    migrateTo(db, 5, { zone: "UTC" });
    db.close();
    const r = await copyDb(old, join(dir(), "x.db"));
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/schema version 5, this layerwatch copies version \d+: start this layerwatch version on it/);
  });

  test("wrong arguments: exit 2 with the usage", async () => {
    const r = await copyDb(current);
    expect(r.code).toBe(2);
    expect(r.err).toContain("Usage: layerwatch copy-db SOURCE TARGET");
  });
});
