// Real Python device clients (python-socketio): one written for the old server with form login, and the newer
// camera client with a token and the structured status.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  ADMIN,
  collect,
  connected,
  connectSocket,
  deviceToken,
  login,
  startApp,
  type TestApp,
  until,
} from "./helpers.ts";
import { requirePython } from "./python.ts";

let app: TestApp;
beforeAll(async () => {
  requirePython(["socketio", "requests", "websocket"]);
  app = await startApp();
});
afterAll(async () => {
  await app.close();
});

async function runDevice(transport: "websocket" | "polling", next: Record<string, number>) {
  const current = app.store.intervals.get();
  const viewer = await connected(connectSocket(app, { cookie: await login(app) }));
  const seen = {
    temphum: collect(viewer, "temphum2v"),
    status: collect(viewer, "status2v"),
    image: collect(viewer, "image2v"),
  };
  const proc = Bun.spawn(
    [
      "/usr/bin/python3",
      join(import.meta.dir, "fixtures/old_device.py"),
      app.url,
      ADMIN.username,
      ADMIN.password,
      transport,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const nextLine = async () => {
    while (!buffer.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`device exited early: ${await new Response(proc.stderr).text()}`);
      buffer += value;
    }
    const line = buffer.slice(0, buffer.indexOf("\n"));
    buffer = buffer.slice(buffer.indexOf("\n") + 1);
    return JSON.parse(line);
  };
  const first = await nextLine();
  const res = await fetch(`${app.url}/api/timelapse_config`, {
    method: "PUT",
    headers: { cookie: await login(app), "content-type": "application/json" },
    body: JSON.stringify(next),
  });
  expect(res.status).toBe(200);
  const second = await nextLine();
  expect(await proc.exited).toBe(0);
  await until(
    () => [seen.temphum, seen.status, seen.image],
    (lists) => lists.every((l) => l.length > 0),
    3000,
  );
  viewer.disconnect();
  return { first, second, seen, current };
}

describe("a device written for the old server (python-socketio + requests)", () => {
  for (const [transport, next] of [
    ["websocket", { image_delay: 12, temphum_delay: 6, status_delay: 3 }],
    ["polling", { image_delay: 13, temphum_delay: 7, status_delay: 4 }],
  ] as const) {
    test(`logs in with a form, sends every event over ${transport} and receives timelapse_conf`, async () => {
      const { first, second, seen, current } = await runDevice(transport, next);
      expect(first.login_status).toBe(200);
      expect(first.final_url).toBe(`${app.url}/`);
      expect(first.bad_login_status).toBe(401);
      expect(first.transport).toBe(transport);
      expect(first.acks.map((a: { ok: boolean }) => a.ok)).toEqual([true, true, true]);
      expect(first.errors).toEqual([{ message: "temphum: temperature must be a number, got string" }]);
      expect(second.welcome).toEqual(current);
      expect(second.timelapse_conf).toEqual(next);
      expect(seen.temphum).toHaveLength(1);
      expect(seen.status).toHaveLength(1);
      expect(seen.image).toHaveLength(1);
    });
  }
});

describe("the newer camera client (python-socketio) with a token and the structured status", () => {
  test("its printer's state follows the dictionary; a bad key is refused by name", async () => {
    const cookie = await login(app);
    const headers = { cookie, "content-type": "application/json" };
    const made = await fetch(`${app.url}/api/printers`, { method: "POST", headers, body: '{"name":"A1 mini"}' });
    const { id } = (await made.json()) as { id: number };
    const token = await deviceToken(app, cookie, "pi", id);
    // Async: the server answering it runs in this same process.
    const script = join(import.meta.dir, "fixtures/new_device.py");
    const proc = Bun.spawn(["/usr/bin/python3", script, app.url, token], { stdout: "pipe", stderr: "pipe" });
    const [out, err] = [await new Response(proc.stdout).text(), await new Response(proc.stderr).text()];
    expect(err).toBe("");
    const answers = JSON.parse(out);
    expect(answers.status.ok).toBe(true);
    expect(answers.temphum.ok).toBe(true);
    expect(answers.bad).toEqual({ ok: false, error: "total_layers must be a whole number" });
    expect(answers.errors).toEqual([{ message: "status: total_layers must be a whole number" }]);
    const printer = (await (await fetch(`${app.url}/api/printers/${id}`, { headers })).json()) as {
      state: Record<string, unknown>;
      reading: { temperature: number };
    };
    expect(printer.state).toMatchObject({ gcode_state: "RUNNING", percent: 63, layer: 88, total_layers: 140 });
    expect(printer.state).toMatchObject({ file: "gear_box.3mf", nozzle_temp: 220.5, timelapse: true });
    expect(printer.reading.temperature).toBe(23.4);
  });
});
