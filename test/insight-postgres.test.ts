// The insight features on PostgreSQL (database_url): prints reported by a camera Pi end up in the statistics and
// the room bands, each with its flight recorder, and a share link opens, counts and is revoked, as on SQLite.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "socket.io-client";
import { connected, connectSocket, emitWithAck, login, sleep, startApp, type TestApp, until } from "./helpers.ts";
import { type PostgresServer, startPostgres } from "./servers.ts";

let pg: PostgresServer;
let app: TestApp;
let cookie: string;
let device: Socket;

const api = async <T>(path: string, method = "GET", body?: unknown) => {
  const res = await fetch(`${app.url}${path}`, {
    method,
    headers: { cookie, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
};

beforeAll(async () => {
  pg = await startPostgres();
  app = await startApp({ database_url: await pg.createDatabase(), printers: [{ name: "A1" }] as never });
  cookie = await login(app);
  const { body } = await api<{ token: string }>("/api/printers/1/tokens", "POST", { name: "pi" });
  device = await connected(connectSocket(app, { auth: { token: body.token } }));
  // A finished print in a dry room, then a failed one in a humid room, paused once, with a print error.
  const status = (s: Record<string, unknown>) => emitWithAck(device, "status", { file_name: "part", ...s });
  await status({ gcode_status: "RUNNING", current_layer: 1, total_layers: 3 });
  await emitWithAck(device, "temphum", { temperature: 21, humidity: 42 });
  await status({ gcode_status: "FINISH", current_layer: 3 });
  await status({ gcode_status: "RUNNING", current_layer: 1, total_layers: 3 });
  await emitWithAck(device, "temphum", { temperature: 24, humidity: 73 });
  // The recorder orders by the millisecond (at the same one a pause ranks before a reading): the pause comes later.
  await sleep(5);
  await status({ gcode_status: "PAUSE" });
  await status({ gcode_status: "RUNNING", current_layer: 2 });
  await status({ gcode_status: "FAILED", print_error_code: 0x0300_4000 });
}, 60_000);
afterAll(async () => {
  device?.disconnect();
  await app?.close();
  await pg?.stop();
});

describe("on PostgreSQL", () => {
  test("both prints are in this month's statistics, errors and room bands", async () => {
    type Stats = { months: { prints: number; finished: number; failed: number }[]; errors: { code: string }[] };
    const { body } = await until(
      () => api<Stats>("/api/stats"),
      // Months and errors are read on two connections: the second print's close may land between them.
      (r) => r.body.months[0]?.prints === 2 && r.body.errors.length > 0,
    );
    // A miss once seen only on CI: what the jobs and the app's log said then, to tell a lost close from a slow one.
    if (body.months[0]?.prints !== 2 || !body.errors.length)
      console.error(
        "statistics not complete:",
        JSON.stringify({
          body,
          jobs: (await api("/api/printers/1/jobs")).body,
          log: app.logs.filter((l) => l.level !== "info" && l.level !== "debug"),
        }),
      );
    expect(body.months).toMatchObject([{ prints: 2, finished: 1, failed: 1 }]);
    expect(body.errors.map((e) => e.code)).toEqual(["0300_4000"]);
    const room = await api<{ bands: { humidity_min: number; prints: number; failed: number }[] }>("/api/stats/room");
    expect(room.body.bands.map((b) => [b.humidity_min, b.prints, b.failed])).toEqual([
      [40, 1, 0],
      [70, 1, 1],
    ]);
  });

  test("the failed print's flight recorder has its states, reading, error, pause and resume in order", async () => {
    const jobs = (await api<{ id: number; outcome: string }[]>("/api/printers/1/jobs")).body;
    const failed = jobs.find((j) => j.outcome === "failed")!;
    const { body } = await api<{ events: { kind: string }[] }>(`/api/jobs/${failed.id}/recording`);
    const kinds = body.events.map((e) => e.kind);
    expect(kinds.filter((k) => k !== "state")).toEqual(["reading", "pause", "resume", "error"]);
    expect(kinds[0]).toBe("state");
    expect(kinds.at(-1)).toBe("state");
  });

  test("a share link opens that print, is counted, and is refused once revoked", async () => {
    const jobs = (await api<{ id: number }[]>("/api/printers/1/jobs")).body;
    const made = await api<{ id: number; url: string }>(`/api/jobs/${jobs[0]!.id}/share`, "POST", {});
    expect(made.status).toBe(201);
    const path = new URL(made.body.url).pathname;
    expect((await fetch(`${app.url}${path}`)).status).toBe(200);
    const list = await api<{ id: number; opened: number }[]>("/api/shares");
    expect(list.body.find((s) => s.id === made.body.id)?.opened).toBe(1);
    expect((await api(`/api/shares/${made.body.id}`, "DELETE")).status).toBe(200);
    expect((await fetch(`${app.url}${path}`)).status).toBe(410);
  });
});
