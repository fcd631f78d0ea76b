// Prints become jobs from the printer's state, whatever reports it: a fake A1 on the LAN, or a camera Pi's
// structured status alone. Each keeps its layers, duration, errors, weather and frames.
import { afterAll, describe, expect, test } from "bun:test";
import { SQL } from "bun";
import { useCleanup } from "./app-fixture.ts";
import { startFakePrinter } from "./fakes/bambu-printer.ts";
import {
  connected,
  connectSocket,
  deviceToken,
  emitWithAck,
  fakeJpeg,
  login,
  printerEntry,
  quietFor,
  sleep,
  startApp,
  type TestApp,
  tempDir,
  until,
} from "./helpers.ts";
import { type PostgresServer, startPostgres } from "./servers.ts";

const cleanup = useCleanup();

type Job = {
  id: number;
  name: string;
  outcome: string;
  layer: number;
  total_layers: number;
  duration_s: number;
  paused_s: number;
  frames: number;
  weather: Record<string, number> | null;
  errors?: { code: string; kind: string; severity?: string }[];
};

// Every test runs on both engines: SQLite (the default) and PostgreSQL (database_url, a fresh database per setup).
const ENGINES = ["sqlite", "postgres"] as const;
type Engine = (typeof ENGINES)[number];
let pg: Promise<PostgresServer> | undefined;
afterAll(async () => {
  await (await pg)?.stop();
});
/** What startApp needs for the engine: nothing for SQLite, a new database's URL for PostgreSQL. */
async function engineConfig(engine: Engine) {
  if (engine === "sqlite") return {};
  pg ??= startPostgres();
  return { database_url: await (await pg).createDatabase() };
}

async function lanSetup(engine: Engine, dir = tempDir()) {
  const printer = await startFakePrinter({ commandDelayMs: 30, frameIntervalMs: 100 });
  cleanup.push(() => printer.close());
  const database = await engineConfig(engine);
  const boot = async () => {
    const app = await startApp(
      { ...database, printers: [printerEntry(printer, { camera_port: printer.cameraPort })] as never },
      dir,
    );
    const cookie = await login(app);
    const api = async <T>(path: string) =>
      (await (await fetch(`${app.url}${path}`, { headers: { cookie } })).json()) as T;
    await until(
      () => api<{ sources: { lan: string } }>("/api/printers/1"),
      (p) => p.sources.lan === "connected",
    );
    return { app, cookie, api };
  };
  return { printer, boot, dir };
}

async function tokenDevice(app: TestApp, cookie: string) {
  const device = await connected(connectSocket(app, { auth: { token: await deviceToken(app, cookie) } }));
  cleanup.push(() => device.disconnect());
  return device;
}

for (const engine of ENGINES)
  describe(`${engine}: jobs from the printer on the LAN`, () => {
    test("a print run gives one finished job with its layers, duration, frames and its readings' weather", async () => {
      const { printer, boot } = await lanSetup(engine);
      const { app, cookie, api } = await boot();
      cleanup.push(() => app.close());
      const device = await tokenDevice(app, cookie);
      const run = printer.runPrint({ name: "benchy", layers: 8, stepMs: 120 });
      await until(
        () => api<{ job: unknown }>("/api/printers/1"),
        (p) => p.job !== null,
      );
      const readings = [
        [21, 40],
        [23, 44],
        [22, 45],
      ];
      for (const [temperature, humidity] of readings) {
        await emitWithAck(device, "temphum", { temperature, humidity });
        await emitWithAck(device, "image", fakeJpeg(800, temperature!));
      }
      await run;
      const [job] = await until(
        () => api<Job[]>("/api/printers/1/jobs"),
        (j) => j[0]?.outcome === "finished",
      );
      expect(job).toMatchObject({ name: "benchy", outcome: "finished", layer: 8, total_layers: 8 });
      expect(job!.duration_s).toBeGreaterThanOrEqual(1);
      expect(job!.weather).toEqual({ temp_min: 21, temp_avg: 22, temp_max: 23, hum_min: 40, hum_avg: 43, hum_max: 45 });
      expect(job!.frames).toBeGreaterThanOrEqual(2);
      expect((await api<Job[]>("/api/printers/1/jobs")).length).toBe(1);
      const full = await api<Job & { frames: { url: string }[] }>(`/api/jobs/${job!.id}`);
      const img = await fetch(`${app.url}${full.frames[0]!.url}`, { headers: { cookie } });
      expect(img.status).toBe(200);
      expect(img.headers.get("content-type")).toBe("image/jpeg");
    });

    test("a print cancelled on the printer is cancelled; a failed one keeps its HMS codes", async () => {
      const { printer, boot } = await lanSetup(engine);
      const { app, api } = await boot();
      cleanup.push(() => app.close());
      await printer.runPrint({ name: "cancel-me", layers: 4, stepMs: 60, outcome: "cancel" });
      await printer.runPrint({ name: "fail-me", layers: 4, stepMs: 60, outcome: "fail" });
      const jobs = await until(
        () => api<Job[]>("/api/printers/1/jobs"),
        (j) => j.length === 2 && j[0]!.outcome !== "running",
      );
      expect(jobs.map((j) => [j.name, j.outcome])).toEqual([
        ["fail-me", "failed"],
        ["cancel-me", "cancelled"],
      ]);
      const failed = await api<Job>(`/api/jobs/${jobs[0]!.id}`);
      expect(failed.errors).toEqual([{ code: "0700_2000_0002_0001", kind: "hms", severity: "serious" }]);
    });

    test("a restart of layerwatch mid-print continues the same job", async () => {
      const { printer, boot } = await lanSetup(engine);
      const first = await boot();
      const run = printer.runPrint({ name: "long", layers: 10, stepMs: 150 });
      await until(
        () => first.api<{ state: { layer: number } }>("/api/printers/1"),
        (p) => p.state?.layer >= 2,
      );
      await first.app.stop();
      const second = await boot();
      cleanup.push(() => second.app.close());
      await run;
      const jobs = await until(
        () => second.api<Job[]>("/api/printers/1/jobs"),
        (j) => j[0]?.outcome === "finished",
      );
      expect(jobs.map((j) => [j.name, j.outcome, j.layer])).toEqual([["long", "finished", 10]]);
    });
  });

for (const engine of ENGINES)
  describe(`${engine}: jobs from a camera Pi's structured status alone`, () => {
    test("running, paused and finished statuses make one finished job with its paused time", async () => {
      const app = await startApp(await engineConfig(engine));
      cleanup.push(() => app.close());
      const cookie = await login(app);
      const device = await tokenDevice(app, cookie);
      const status = (s: Record<string, unknown>) => emitWithAck(device, "status", { file_name: "vase", ...s });
      await status({ gcode_status: "RUNNING", current_layer: 1, total_layers: 30 });
      await status({ gcode_status: "RUNNING", current_layer: 12, total_layers: 30 });
      await status({ gcode_status: "PAUSE", current_layer: 12 });
      await sleep(1100); // the pause under test lasts over a second (paused_s counts whole seconds)
      await status({ gcode_status: "RUNNING", current_layer: 13 });
      await status({ gcode_status: "FINISH", current_layer: 30, percentage: 100 });
      const res = await fetch(`${app.url}/api/printers/1/jobs`, { headers: { cookie } });
      const jobs = (await res.json()) as Job[];
      expect(jobs.map((j) => [j.name, j.outcome, j.layer, j.total_layers])).toEqual([["vase", "finished", 30, 30]]);
      expect(jobs[0]!.paused_s).toBeGreaterThanOrEqual(1);
      const page = async (path: string) => (await fetch(`${app.url}${path}`, { headers: { cookie } })).text();
      expect(await page("/history")).toContain('href="/jobs/');
      expect(await page("/printers/1/history?outcome=finished")).toContain(">vase<");
      expect(await page("/printers/1/history?outcome=failed")).toContain("No prints yet.");
      const job = await page(`/jobs/${jobs[0]!.id}`);
      expect(job).toContain("30/30");
      expect(job).toContain("No frames were archived for this print.");
    });
  });

// PostgreSQL only: a SQLite group commit runs within one tick, so no batch is ever under way while a report comes.
describe("postgres: a print's end and the group commit under way", () => {
  test("a print that fails while a group commit carries its earlier progress keeps and counts its error", async () => {
    const app = await startApp({ ...(await engineConfig("postgres")), printers: [{ name: "A1" }] as never });
    cleanup.push(() => app.close());
    const cookie = await login(app);
    const api = async <T>(path: string) =>
      (await (await fetch(`${app.url}${path}`, { headers: { cookie } })).json()) as T;
    const device = await tokenDevice(app, cookie);
    const status = (s: Record<string, unknown>) => emitWithAck(device, "status", { file_name: "part", ...s });
    const db = new SQL(app.config.database_url, { max: 1 });
    cleanup.push(() => db.close());
    await status({ gcode_status: "RUNNING", current_layer: 1, total_layers: 3 });
    const [opened] = await until(
      () => db`SELECT count(*)::int AS n FROM job_events`,
      ([r]) => r.n > 0,
    );
    expect(opened.n).toBeGreaterThan(0);
    // Another session holds job_events: the group commit with the layer-2 report's timeline entry and the job's
    // progress as it was then (no error yet) is under way but cannot finish, as on a slow server.
    await db.unsafe("BEGIN");
    await db.unsafe("LOCK TABLE job_events IN SHARE MODE");
    await status({ gcode_status: "RUNNING", current_layer: 2 });
    const [waiting] = await until(
      // A lock on job_events asked for and not granted (pg_stat_activity's query text lags behind a pipeline).
      () => db`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'job_events'::regclass`,
      ([r]) => r.n > 0,
    );
    expect(waiting.n).toBe(1);
    // Its acknowledgement comes once its own status row is stored: behind that commit too.
    const failed = status({ gcode_status: "FAILED", print_error_code: 0x0300_4000 });
    await quietFor(300);
    // The end is not written past that commit: it would land first and be overwritten by the older progress.
    const [held] = await db`SELECT outcome FROM jobs`;
    await db.unsafe("COMMIT");
    expect(await failed).toMatchObject({ ok: true });
    expect(held.outcome).toBe("running");
    const [job] = await until(
      () => api<Job[]>("/api/printers/1/jobs"),
      (j) => j[0]?.outcome === "failed",
    );
    expect(job).toMatchObject({ outcome: "failed", layer: 2 });
    expect((await api<Job>(`/api/jobs/${job!.id}`)).errors).toEqual([{ code: "0300_4000", kind: "print_error" }]);
    const stats = await api<{ months: { prints: number; failed: number }[]; errors: { code: string }[] }>("/api/stats");
    expect(stats.months).toMatchObject([{ prints: 1, failed: 1 }]);
    expect(stats.errors.map((e) => e.code)).toEqual(["0300_4000"]);
  });
});
