// The app on PostgreSQL (database_url): login, a device's reading, status and frame stored then shown live, a
// printer's print on the LAN becoming one job with its weather, and a restart on the same database keeping it all.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { SQL } from "bun";
import type { Socket } from "socket.io-client";
import { startFakePrinter } from "./fakes/bambu-printer.ts";
import {
  connected,
  connectSocket,
  deviceToken,
  emitWithAck,
  fakeJpeg,
  getPage,
  login,
  nextEvent,
  printerEntry,
  startApp,
  type TestApp,
  tempDir,
  until,
} from "./helpers.ts";
import { type PostgresServer, startPostgres } from "./servers.ts";

type Job = { id: number; name: string; outcome: string; layer: number; weather: Record<string, number> | null };

let pg: PostgresServer;
let printer: Awaited<ReturnType<typeof startFakePrinter>>;
let app: TestApp;
let databaseUrl: string;
const dir = tempDir();
const sockets: Socket[] = [];

const boot = () =>
  startApp(
    { database_url: databaseUrl, printers: [printerEntry(printer, { camera_port: printer.cameraPort })] as never },
    dir,
  );
const api = async <T>(path: string, cookie: string) =>
  (await (await fetch(`${app.url}${path}`, { headers: { cookie } })).json()) as T;
const track = (s: Socket) => {
  sockets.push(s);
  return s;
};

beforeAll(async () => {
  pg = await startPostgres();
  databaseUrl = await pg.createDatabase();
  printer = await startFakePrinter({ commandDelayMs: 30, frameIntervalMs: 100 });
  app = await boot();
}, 60_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await app?.stop();
  await printer?.close();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the app on PostgreSQL", () => {
  test("/healthz names the engine and says the database answers", async () => {
    const res = await getPage(app, "/healthz");
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ status: "ok", engine: "postgres", database: "ok" });
  });

  test("the config's admin logs in", async () => {
    const cookie = await login(app);
    expect(cookie).toStartWith("layerwatch_session=");
    expect((await getPage(app, "/settings", cookie)).status).toBe(200);
  });

  test("a device's reading, status and frame are acknowledged once stored, and a viewer sees each live", async () => {
    const cookie = await login(app);
    const device = track(await connected(connectSocket(app, { auth: { token: await deviceToken(app, cookie) } })));
    const viewer = track(await connected(connectSocket(app, { cookie })));

    const reading = nextEvent<{ temperature: number; humidity: number }>(viewer, "temphum2v");
    const readAck = await emitWithAck<{ ok: boolean; id: number }>(device, "temphum", {
      temperature: 21.5,
      humidity: 40.25,
    });
    expect(readAck).toMatchObject({ ok: true });
    expect(readAck.id).toBeGreaterThan(0);
    expect(await reading).toMatchObject({ temperature: 21.5, humidity: 40.25 });

    const status = nextEvent<{ status: string }>(viewer, "status2v");
    expect(await emitWithAck(device, "status", { status: "on postgres" })).toMatchObject({ ok: true });
    expect((await status).status).toBe("on postgres");

    const image = nextEvent<{ mime: string }>(viewer, "image2v");
    const frameAck = await emitWithAck<{ ok: boolean; id: number }>(device, "image", fakeJpeg(2000));
    expect(frameAck.ok).toBe(true);
    expect((await image).mime).toBe("image/jpeg");
    const frame = await fetch(`${app.url}/frames/${frameAck.id}.jpg`, { headers: { cookie } });
    expect(frame.status).toBe(200);
    expect((await frame.bytes()).length).toBe(2000);
  });

  test("the printer page and /api/temphum show the reading", async () => {
    const cookie = await login(app);
    const page = await getPage(app, "/printers/1", cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain("21.5");
    expect(page.text).toContain("on postgres");
    const day = await api<{ temperature: number; humidity: number }[]>("/api/temphum", cookie);
    expect(day.map((r) => [r.temperature, r.humidity])).toEqual([[21.5, 40.25]]);
  });

  test("a print on the fake A1 runs to FINISH: one finished job with its weather", async () => {
    const cookie = await login(app);
    await until(
      () => api<{ sources: { lan: string } }>("/api/printers/1", cookie),
      (p) => p.sources.lan === "connected",
    );
    const device = track(
      await connected(connectSocket(app, { auth: { token: await deviceToken(app, cookie, "weather") } })),
    );
    const run = printer.runPrint({ name: "benchy", layers: 6, stepMs: 120 });
    await until(
      () => api<{ job: unknown }>("/api/printers/1", cookie),
      (p) => p.job !== null,
    );
    for (const [temperature, humidity] of [
      [20, 40],
      [24, 46],
    ])
      await emitWithAck(device, "temphum", { temperature, humidity });
    await run;
    const jobs = await until(
      () => api<Job[]>("/api/printers/1/jobs", cookie),
      (j) => j[0]?.outcome === "finished",
    );
    expect(jobs.map((j) => [j.name, j.outcome, j.layer])).toEqual([["benchy", "finished", 6]]);
    expect(jobs[0]!.weather).toEqual({
      temp_min: 20,
      temp_avg: 22,
      temp_max: 24,
      hum_min: 40,
      hum_avg: 43,
      hum_max: 46,
    });
  });

  test("a restart on the same database finds the data and the job, and does not open the job again", async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await app.stop();
    app = await boot();
    const cookie = await login(app);
    // The printer's first report after the reconnect (still FINISH) has come, and the jobs service has heard it.
    await until(
      () => api<{ sources: { lan: string }; lan: { last_message_at: string | null } }>("/api/printers/1", cookie),
      (p) => p.sources.lan === "connected" && p.lan.last_message_at !== null,
    );
    await app.jobs.settled();
    const printerJson = await api<{ reading: { temperature: number } | null; job: unknown }>("/api/printers/1", cookie);
    expect(printerJson.job).toBeNull();
    const jobs = await api<Job[]>("/api/printers/1/jobs", cookie);
    expect(jobs.map((j) => [j.name, j.outcome])).toEqual([["benchy", "finished"]]);
    expect(jobs[0]!.weather?.temp_max).toBe(24);
    const day = await api<{ temperature: number }[]>("/api/temphum", cookie);
    expect(day.map((r) => r.temperature)).toEqual([21.5, 20, 24]);
    expect((await getPage(app, "/printers/1", cookie)).text).toContain("on postgres");
  });
});

describe("two instances starting at once on a fresh database", () => {
  test("both start; the admin, the config's printer and target and the Web Push keys are there once", async () => {
    const url = await pg.createDatabase();
    const dirs = [tempDir(), tempDir()];
    const config = {
      database_url: url,
      printers: [{ name: "Shared", model: "A1" }] as never,
      notify: ["ntfy://ntfy.example.org/printers"],
    };
    const apps = await Promise.all(dirs.map((d) => startApp(config, d)));
    try {
      const sql = new SQL(url, { max: 1 });
      try {
        const [counts] = await sql`SELECT
          (SELECT count(*)::int FROM users WHERE username = 'admin') AS admins,
          (SELECT count(*)::int FROM printers WHERE name = 'Shared') AS printers,
          (SELECT count(*)::int FROM notify_targets) AS targets,
          (SELECT count(*)::int FROM app_keys WHERE name = 'vapid') AS keys`;
        expect(counts).toEqual({ admins: 1, printers: 1, targets: 2, keys: 1 });
      } finally {
        await sql.close();
      }
      const keys = await Promise.all(
        apps.map(
          async (a) =>
            (await (await fetch(`${a.url}/api/push/key`, { headers: { cookie: await login(a) } })).json()) as {
              publicKey: string;
            },
        ),
      );
      expect(keys[0]!.publicKey).toBe(keys[1]!.publicKey);
    } finally {
      for (const a of apps) await a.close();
    }
  }, 30_000);
});
