// The compiled binaries run for real: health, login, live events, a fake A1 on the LAN, a library file sent to
// it over FTPS, init, a bad TMPDIR; and inside them Bun.SQL, PostgreSQL migrations, Redis and copy-db against
// real servers.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ASSETS } from "../src/http/assets.ts";
import { migrate, SCHEMA_VERSION } from "../src/store/migrations.ts";
import { numbers, openPostgres } from "../src/store/pg.ts";
import { startFakePrinter } from "./fakes/bambu-printer.ts";
import {
  connected,
  connectSocket,
  emitWithAck,
  eventMatching,
  fakeJpeg,
  login,
  nextEvent,
  printerEntry,
  tempDir,
  until,
} from "./helpers.ts";
import { upload } from "./library-helpers.ts";
import { runCommand, startChild, writeConfig } from "./process.ts";
import { type PostgresServer, type RedisServer, startPostgres, startRedis } from "./servers.ts";

const dist = join(import.meta.dir, "../dist");
const QEMU = ["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu"];
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

for (const [arch, prefix] of [
  ["arm64", QEMU],
  ["x64", []],
] as const) {
  describe(`the ${arch} binary, run from an empty directory holding only a config`, () => {
    test("serves health, login, live events, assets, a fake A1 over MQTT/TLS and its camera", async () => {
      const binary = join(dist, `layerwatch-linux-${arch}`);
      if (!existsSync(binary)) throw new Error(`${binary} is missing: run make build (make test does)`);
      const dir = tempDir("layerwatch-bin-");
      dirs.push(dir);
      // The compiled MQTT client and TLS must reach a printer: a fake A1 over real sockets.
      const printer = await startFakePrinter({ frameIntervalMs: 200 });
      writeConfig(dir, { printers: [printerEntry(printer, { camera_port: printer.cameraPort })] });
      const child = await startChild([...prefix, binary, "--config", join(dir, "config.json")], dir);
      try {
        const health = await fetch(`${child.url}/healthz`);
        expect(health.status).toBe(200);
        expect(await health.json()).toMatchObject({ status: "ok", database: "ok" });

        const cookie = await login(child, "admin", "binary-pass-1");
        const viewer = await connected(connectSocket(child, { cookie }));
        const device = await connected(connectSocket(child, { cookie }));
        const got = nextEvent<{ temperature: number }>(viewer, "temphum2v", 10000);
        expect((await emitWithAck<{ ok: boolean }>(device, "temphum", { temperature: 24.5, humidity: 30 })).ok).toBe(
          true,
        );
        expect((await got).temperature).toBe(24.5);
        type Frame = { image: ArrayBuffer; source: string };
        const frame = eventMatching<Frame>(viewer, "image2v", (f) => f.source === "device", 10000);
        await emitWithAck(device, "image", { image: Buffer.from(fakeJpeg(2000)).toString("base64") });
        expect(new Uint8Array((await frame).image).length).toBe(2000);
        const camera = await eventMatching<Frame>(viewer, "image2v", (f) => f.source === "printer", 30000);
        expect(new Uint8Array(camera.image)[0]).toBe(0xff);
        printer.set({ gcode_state: "RUNNING", layer_num: 4, total_layer_num: 20 });
        type State = { sources: { lan: string }; state: { layer: number } | null };
        const state = await until(
          async () => (await (await fetch(`${child.url}/api/printers/1`, { headers: { cookie } })).json()) as State,
          (s) => s.state?.layer === 4,
          20000,
        );
        expect(state).toMatchObject({ sources: { lan: "connected" }, state: { layer: 4 } });
        viewer.disconnect();
        device.disconnect();

        for (const [name, asset] of Object.entries(ASSETS)) {
          const res = await fetch(`${child.url}/static/${name}`);
          expect(`${name} ${res.status}`).toBe(`${name} 200`);
          expect(res.headers.get("content-type")).toBe(asset.type);
          expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(100);
        }
        const page = await fetch(`${child.url}/3d`, { headers: { cookie } });
        expect(page.status).toBe(200);
        console.log(`${arch}: first log line to listening in ${child.startedMs.toFixed(0)} ms`);
      } finally {
        child.proc.kill("SIGTERM");
        await printer.close();
      }
      expect(await child.proc.exited).toBe(0);
      expect(child.log()).toContain("stopped cleanly");
      expect(existsSync(join(dir, "app.db"))).toBe(true);
    }, 120000);
  });
}

for (const [arch, prefix] of [
  ["arm64", QEMU],
  ["x64", []],
] as const) {
  const name = `the ${arch} binary reads a sliced 3MF (fflate), sends it over FTPS with TLS session reuse, it starts`;
  test(name, async () => {
    const binary = join(dist, `layerwatch-linux-${arch}`);
    if (!existsSync(binary)) throw new Error(`${binary} is missing: run make build (make test does)`);
    const dir = tempDir("layerwatch-bin-library-");
    dirs.push(dir);
    const printer = await startFakePrinter({ sentPrint: { layers: 3, stepMs: 200 } });
    writeConfig(dir, { printers: [printerEntry(printer, { camera: false, ftps_port: printer.ftpsPort })] });
    const child = await startChild([...prefix, binary, "--config", join(dir, "config.json")], dir);
    try {
      const cookie = await login(child, "admin", "binary-pass-1");
      const settings = await (await fetch(`${child.url}/settings`, { headers: { cookie } })).text();
      const csrf = /name="_csrf" value="([^"]+)"/.exec(settings)![1]!;
      const res = await upload(child, cookie, csrf, "cubes-a1.gcode.3mf");
      expect(res.status).toBe(201);
      const file = (await res.json()) as { id: number; plates: { objects: unknown[] }[] };
      expect(file.plates[0]!.objects.length).toBe(3);
      await until(
        async () => (await (await fetch(`${child.url}/api/printers/1`, { headers: { cookie } })).json()) as State,
        (s) => s.state?.gcode_state === "IDLE",
        30000,
      );
      const sent = await fetch(`${child.url}/api/printers/1/print`, {
        method: "POST",
        headers: { cookie, "content-type": "application/json" },
        body: JSON.stringify({ file_id: file.id, plate: 1 }),
      });
      expect(sent.status).toBe(202);
      const { send_id } = (await sent.json()) as { send_id: number };
      const done = await until(
        async () =>
          (await (await fetch(`${child.url}/api/sends/${send_id}`, { headers: { cookie } })).json()) as {
            status: string;
          },
        (s) => s.status === "started" || s.status === "failed",
        60000,
      );
      expect(done.status).toBe("started");
      expect(printer.ftps.stats).toMatchObject({ stores: 1, notReused: 0 });
    } finally {
      child.proc.kill("SIGTERM");
      await printer.close();
    }
    expect(await child.proc.exited).toBe(0);
  }, 180000);
}
type State = { state: { gcode_state: string } | null };

test("the arm64 binary backs up a running server's database (the command and the worker thread), restores it stopped", async () => {
  const dir = tempDir("layerwatch-bin-backup-");
  dirs.push(dir);
  writeConfig(dir);
  const config = join(dir, "config.json");
  const binary = [...QEMU, join(dist, "layerwatch-linux-arm64")];
  const run = (args: string[]) => runCommand([...binary, ...args], { cwd: dir });
  const readings = (path: string) => {
    const db = new Database(path, { readonly: true });
    try {
      const ok = (db.query("PRAGMA integrity_check").values() as [string][])[0]![0];
      return {
        ok,
        temperatures: (db.query("SELECT temperature FROM readings").values() as [number][]).map((r) => r[0]),
      };
    } finally {
      db.close();
    }
  };
  const child = await startChild([...binary, "--config", config], dir);
  let stopped = false;
  try {
    const cookie = await login(child, "admin", "binary-pass-1");
    const device = await connected(connectSocket(child, { cookie }));
    expect((await emitWithAck<{ ok: boolean }>(device, "temphum", { temperature: 23.5, humidity: 40 })).ok).toBe(true);
    device.disconnect();
    const backup = await run(["backup", join(dir, "backup.db"), "--config", config]);
    expect(`${backup.code} ${backup.err}`).toBe("0 ");
    expect(readings(join(dir, "backup.db"))).toEqual({ ok: "ok", temperatures: [23.5] });
    const worker = await run(["probe-backup", join(dir, "app.db"), join(dir, "worker.db")]);
    expect(`${worker.code} ${worker.err}`).toBe("0 ");
    expect(JSON.parse(worker.out)).toMatchObject({ ok: true });
    expect(readings(join(dir, "worker.db"))).toEqual({ ok: "ok", temperatures: [23.5] });
    const refused = await run(["restore", join(dir, "backup.db"), "--config", config]);
    expect(refused.code).toBe(4);
    child.proc.kill("SIGTERM");
    expect(await child.proc.exited).toBe(0);
    stopped = true;
    const restored = await run(["restore", join(dir, "backup.db"), "--config", config]);
    expect(`${restored.code} ${restored.err}`).toBe("0 ");
    expect(restored.out).toContain("before-restore-");
  } finally {
    if (!stopped) child.proc.kill();
  }
}, 120000);

test("an unusable TMPDIR (where the addon is unpacked) stops start-up with one clear line, exit code 5", () => {
  const dir = tempDir("layerwatch-tmpdir-");
  dirs.push(dir);
  writeConfig(dir);
  const binary = join(dist, "layerwatch-linux-x64");
  const run = Bun.spawnSync([binary, "--config", join(dir, "config.json")], {
    cwd: dir,
    env: { ...process.env, TMPDIR: join(dir, "missing") },
  });
  expect(run.exitCode).toBe(5);
  const err = run.stderr.toString().trim();
  expect(err.split("\n")).toHaveLength(1);
  expect(err).toContain(`TMPDIR (${join(dir, "missing")})`);
  // What needs no addon still works there.
  expect(Bun.spawnSync([binary, "--version"], { env: { ...process.env, TMPDIR: join(dir, "missing") } }).exitCode).toBe(
    0,
  );
});

test("init writes a config with a random secret and password, and refuses to overwrite it", async () => {
  const dir = tempDir("layerwatch-init-");
  dirs.push(dir);
  const binary = join(dist, "layerwatch-linux-x64");
  const first = Bun.spawnSync([binary, "init"], { cwd: dir });
  expect(first.exitCode).toBe(0);
  const password = /admin password: (\S+)/.exec(first.stdout.toString())![1]!;
  const config = await Bun.file(join(dir, "config.json")).json();
  expect(config.web_password).toBe(password);
  expect(config.secret_key).toMatch(/^[0-9a-f]{64}$/);
  expect(
    Bun.spawnSync(["stat", "-c", "%a", join(dir, "config.json")])
      .stdout.toString()
      .trim(),
  ).toBe("600");
  const second = Bun.spawnSync([binary, "init"], { cwd: dir });
  expect(second.exitCode).toBe(2);
  expect(second.stderr.toString()).toContain("already exists; not overwriting");
  expect((await Bun.file(join(dir, "config.json")).json()).web_password).toBe(password);
});

describe("inside the compiled binaries, PostgreSQL and Redis", () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  });
  afterAll(async () => {
    await Promise.all([pg?.stop(), redis?.stop()]);
  });

  for (const [arch, prefix] of [
    ["arm64", QEMU],
    ["x64", []],
  ] as const)
    test(`the ${arch} binary migrates a PostgreSQL database and uses Redis locks and pub/sub`, async () => {
      const binary = join(dist, `layerwatch-linux-${arch}`);
      const database = await pg.createDatabase();
      const { out, err, code } = await runCommand([...prefix, binary, "probe-engines", database, redis.url]);
      expect(`${code} ${err}`).toBe("0 ");
      expect(JSON.parse(out)).toEqual({
        ok: true,
        postgres: { version: SCHEMA_VERSION, batch: 2, count: 2, count_type: "number" },
        redis: { set_nx: "OK", set_nx_again: null, compare_and_delete: 1, pubsub: "hello" },
      });
    }, 60000);

  test("the arm64 binary serves on PostgreSQL with Redis: health, login, a device's reading to a viewer", async () => {
    const dir = tempDir("layerwatch-bin-pg-");
    dirs.push(dir);
    const database = await pg.createDatabase();
    writeConfig(dir, { database_url: database, redis_url: redis.url });
    const binary = join(dist, "layerwatch-linux-arm64");
    const child = await startChild([...QEMU, binary, "--config", join(dir, "config.json")], dir);
    try {
      const health = await fetch(`${child.url}/healthz`);
      expect(await health.json()).toMatchObject({ status: "ok", database: "ok", engine: "postgres", redis: "ok" });
      const cookie = await login(child, "admin", "binary-pass-1");
      const viewer = await connected(connectSocket(child, { cookie }));
      const device = await connected(connectSocket(child, { cookie }));
      const got = nextEvent<{ temperature: number }>(viewer, "temphum2v", 10000);
      const ack = await emitWithAck<{ ok: boolean }>(device, "temphum", { temperature: 22.5, humidity: 41 });
      expect(ack.ok).toBe(true);
      expect((await got).temperature).toBe(22.5);
      viewer.disconnect();
      device.disconnect();
      const sql = openPostgres(database, { max: 1 });
      try {
        expect(numbers(await sql`SELECT temperature FROM readings`)).toEqual([{ temperature: 22.5 }]);
      } finally {
        await sql.close();
      }
    } finally {
      child.proc.kill();
      await child.proc.exited;
    }
  }, 120000);

  test("the arm64 binary copies an SQLite database to PostgreSQL (copy-db), counts checked", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const source = join(dir, "app.db");
    const db = new Database(source);
    migrate(db, { zone: "UTC" });
    const insert = db.prepare(
      "INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (1, ?, ?, ?)",
    );
    db.transaction(() => {
      for (let i = 0; i < 12_000; i++) insert.run(1_760_000_000_000 + i * 1000, 20 + (i % 10) / 10, 45);
    })();
    db.run("INSERT INTO frames (device_id, recorded_at, mime, bytes) VALUES (1, 1, 'image/jpeg', ?)", [
      fakeJpeg(200_000),
    ]);
    db.close();
    const database = await pg.createDatabase();
    const { out, err, code } = await runCommand(
      [...QEMU, join(dist, "layerwatch-linux-arm64"), "copy-db", source, database],
      {
        cwd: dir,
      },
    );
    expect(`${code} ${err}`).toStartWith("0 ");
    expect(out).toMatch(/^readings +12000 +12000$/m);
    expect(out).toContain("counts match");
    const sql = openPostgres(database, { max: 1 });
    try {
      expect(numbers(await sql`SELECT count(*) AS n, max(id) AS top FROM readings`)).toEqual([
        { n: 12000, top: 12000 },
      ]);
      const [frame] = await sql`SELECT bytes FROM frames`;
      expect(new Uint8Array(frame.bytes)).toEqual(new Uint8Array(fakeJpeg(200_000)));
    } finally {
      await sql.close();
    }
  }, 120000);
});
