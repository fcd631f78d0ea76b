// Backups: `layerwatch backup` while devices write (the copy opens, passes its integrity check and holds every reading
// acknowledged before it began), the daily backup in backup_dir (a worker thread; only backup_keep kept), and
// `layerwatch restore` (refused while a server has the database open, done once it has stopped).

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Socket } from "socket.io-client";
import { backupName } from "../src/services/backups.ts";
import { connected, connectSocket, emitWithAck, login, startApp, type TestApp, tempDir } from "./helpers.ts";
import { runCommand } from "./process.ts";
import { type PostgresServer, startPostgres } from "./servers.ts";

const MAIN = join(import.meta.dir, "../src/main.ts");
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * Runs the CLI as a separate process (the server keeps running in this one), with a config naming `database`: an
 * SQLite path, or a PostgreSQL URL.
 */
async function cli(args: string[], database: string) {
  const dir = tempDir("layerwatch-cli-");
  dirs.push(dir);
  const config = join(dir, "config.json");
  const where = database.startsWith("postgres://")
    ? { database_url: database, secret_key: "test-secret-key-0123456789" }
    : { database_uri: database };
  writeFileSync(config, JSON.stringify({ ...where, timezone: "Europe/Helsinki" }));
  return runCommand([process.execPath, MAIN, ...args, "--config", config]);
}

/** A device writing readings as fast as its acknowledgements come back, keeping each id with when it was acked. */
function writer(socket: Socket) {
  const acked: { id: number; at: number }[] = [];
  let stop = false;
  let n = 0;
  const done = (async () => {
    while (!stop) {
      const ack = await emitWithAck<{ ok: boolean; id: number }>(socket, "temphum", {
        temperature: 20 + (n++ % 50) / 10,
        humidity: 45,
      });
      if (ack.ok) acked.push({ id: ack.id, at: Date.now() });
    }
  })();
  return {
    acked,
    async stop() {
      stop = true;
      await done;
    },
  };
}

function readingIds(path: string): Set<number> {
  const db = new Database(path, { readonly: true });
  try {
    return new Set((db.query("SELECT id FROM readings").values() as [number][]).map((r) => r[0]));
  } finally {
    db.close();
  }
}

function integrity(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return (db.query("PRAGMA integrity_check").values() as [string][]).map((r) => r[0]).join("; ");
  } finally {
    db.close();
  }
}

describe("layerwatch backup", () => {
  test("a backup taken while devices write opens, passes integrity_check, and has every reading acked before it", async () => {
    const app = await startApp();
    try {
      const cookie = await login(app);
      const devices = await Promise.all([1, 2, 3].map(() => connected(connectSocket(app, { cookie }))));
      const writers = devices.map(writer);
      const total = () => writers.reduce((n, w) => n + w.acked.length, 0);
      while (total() < 300) await Bun.sleep(20);
      const startedAt = Date.now();
      const before = writers.flatMap((w) => w.acked.filter((a) => a.at <= startedAt).map((a) => a.id));
      const out = join(app.dir, "copy.db");
      const r = await cli(["backup", out], app.config.database_uri);
      const during = writers.flatMap((w) => w.acked.filter((a) => a.at > startedAt)).length;
      await Promise.all(writers.map((w) => w.stop()));
      for (const d of devices) d.disconnect();
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^backed up .*app\.db to .*copy\.db \(\d+\.\d MiB, \d+\.\d s\)\n$/);
      // The server went on taking writes while the copy was made.
      expect(during).toBeGreaterThan(0);
      expect(integrity(out)).toBe("ok");
      const copied = readingIds(out);
      expect(before.filter((id) => !copied.has(id))).toEqual([]);
      expect(existsSync(`${out}.partial`)).toBe(false);
    } finally {
      await app.close();
    }
  });

  test("an existing PATH is refused without --force, and replaced with it", async () => {
    const app = await startApp();
    try {
      const out = join(app.dir, "copy.db");
      writeFileSync(out, "keep me");
      const refused = await cli(["backup", out], app.config.database_uri);
      expect(refused.code).toBe(4);
      expect(refused.err).toContain("exists; choose another path or add --force");
      expect(await Bun.file(out).text()).toBe("keep me");
      expect((await cli(["backup", out, "--force"], app.config.database_uri)).code).toBe(0);
      expect(integrity(out)).toBe("ok");
      expect((await cli(["backup"], app.config.database_uri)).code).toBe(2);
    } finally {
      await app.close();
    }
  });
});

describe("the daily backup", () => {
  test("runs in a worker while the server answers, keeps the newest backup_keep, and leaves other files alone", async () => {
    const app = await startApp({ backup_dir: "backups", backup_keep: 3 });
    try {
      // Enough rows that the copy takes a while: the server must answer in the meantime.
      const db = app.store.db;
      const insert = db.prepare(
        "INSERT INTO readings (printer_id, device_id, recorded_at, temperature, humidity) VALUES (1, 1, ?, 20, 40)",
      );
      db.transaction(() => {
        for (let i = 0; i < 300_000; i++) insert.run(Date.UTC(2025, 0, 1) + i * 1000);
      })();
      insert.finalize();
      const dir = join(app.dir, "backups");
      mkdirSync(dir);
      const old = [1, 2, 3, 4].map((d) => backupName(new Date(Date.UTC(2025, 5, d))));
      for (const name of old) writeFileSync(join(dir, name), "an old backup");
      writeFileSync(join(dir, "notes.txt"), "mine");
      writeFileSync(join(dir, "layerwatch-by-hand.db"), "mine too");

      let backedUpAt = 0;
      const backup = app.backups!.look().then((path) => {
        backedUpAt = performance.now();
        return path;
      });
      const health = await fetch(`${app.url}/healthz`);
      const answeredAt = performance.now();
      const path = await backup;
      expect(health.status).toBe(200);
      expect(answeredAt).toBeLessThan(backedUpAt);
      expect(path).not.toBeNull();
      expect(integrity(path!)).toBe("ok");
      expect(readingIds(path!).size).toBe(300_000);
      expect(readdirSync(dir).sort()).toEqual(
        [path!.split("/").pop()!, old[3]!, old[2]!, "layerwatch-by-hand.db", "notes.txt"].sort(),
      );
      expect(app.logs.some((l) => l.msg === "database backed up")).toBe(true);
      // Not due again for a day.
      expect(await app.backups!.look()).toBeNull();
      const tomorrow = await app.backups!.look(Date.now() + 25 * 3_600_000);
      expect(tomorrow).not.toBeNull();
      expect(app.backups!.list().map((b) => b.name)).toEqual([
        tomorrow!.split("/").pop()!,
        path!.split("/").pop()!,
        old[3]!,
      ]);
    } finally {
      await app.close();
    }
  }, 60_000);

  test("without backup_dir there is no daily backup", async () => {
    const app = await startApp();
    try {
      expect(app.backups).toBeNull();
    } finally {
      await app.close();
    }
  });
});

describe("layerwatch restore", () => {
  test("is refused while a server has the database open, and puts the backup in place once it has stopped", async () => {
    const dir = tempDir();
    let app: TestApp = await startApp({}, dir);
    const database = app.config.database_uri;
    try {
      const cookie = await login(app);
      const device = await connected(connectSocket(app, { cookie }));
      const first = await emitWithAck<{ id: number }>(device, "temphum", { temperature: 20, humidity: 40 });
      const backup = join(dir, "backup.db");
      expect((await cli(["backup", backup], database)).code).toBe(0);
      const later = await emitWithAck<{ id: number }>(device, "temphum", { temperature: 30, humidity: 50 });

      const refused = await cli(["restore", backup], database);
      expect(refused.code).toBe(4);
      expect(refused.err).toContain("is open in a running layerwatch: stop it first");
      // Nothing changed, and the server still writes.
      expect(await emitWithAck(device, "temphum", { temperature: 31, humidity: 51 })).toMatchObject({ ok: true });
      expect(app.store.readings.latest(1)?.temperature).toBe(31);
      device.disconnect();

      await app.stop();
      const done = await cli(["restore", backup], database);
      expect(done.err).toBe("");
      expect(done.code).toBe(0);
      const kept = /kept as (\S+)\n$/.exec(done.out)?.[1];
      expect(kept).toMatch(/app\.db\.before-restore-\d{8}T\d{6}Z$/);
      expect(readingIds(kept!).has(later.id)).toBe(true);

      app = await startApp({}, dir);
      const ids = app.store.readings.between(1, 0, Date.now() + 1000).map((r) => r.id);
      expect(ids).toEqual([first.id]);
    } finally {
      await app.close();
    }
  });

  test("a file that is not a sound database is refused and nothing is replaced", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const junk = join(dir, "junk.db");
    writeFileSync(junk, Buffer.alloc(8192, 0x41));
    const r = await cli(["restore", junk], join(dir, "app.db"));
    expect(r.code).toBe(3);
    expect(r.err).toContain("is not a sound SQLite database");
    expect(existsSync(join(dir, "app.db"))).toBe(false);
  });
});

describe("on PostgreSQL", () => {
  let pg: PostgresServer;
  let url: string;
  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.createDatabase();
  }, 60_000);
  afterAll(async () => {
    await pg?.stop();
  });

  test("backup copies the database into an SQLite file; restore is refused while an instance runs, done after", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const app = await startApp({ database_url: url }, dir);
    let stopped = false;
    try {
      const cookie = await login(app);
      const device = await connected(connectSocket(app, { cookie }));
      const first = await emitWithAck<{ id: number }>(device, "temphum", { temperature: 20, humidity: 40 });
      const backup = join(dir, "pg-backup.db");
      const made = await cli(["backup", backup], url);
      expect(made.err).toBe("");
      expect(made.code).toBe(0);
      expect(made.out).toContain(`backed up postgres://`);
      expect(integrity(backup)).toBe("ok");
      expect(readingIds(backup).has(first.id)).toBe(true);
      const later = await emitWithAck<{ id: number }>(device, "temphum", { temperature: 30, humidity: 50 });
      device.disconnect();

      const refused = await cli(["restore", backup, "--force"], url);
      expect(refused.code).toBe(4);
      expect(refused.err).toContain("is in use by running layerwatch instances");

      await app.stop();
      stopped = true;
      const done = await cli(["restore", backup, "--force"], url);
      expect(done.err).not.toContain("layerwatch restore:");
      expect(done.code).toBe(0);
      const sql = new (await import("bun")).SQL(url, { max: 1 });
      const ids = (await sql`SELECT id FROM readings ORDER BY id`).map((r: { id: string | number }) => Number(r.id));
      await sql.close();
      expect(ids).toEqual([first.id]);
      expect(ids).not.toContain(later.id);
    } finally {
      if (!stopped) await app.stop();
    }
  }, 60_000);
});
