// The printer itself on the LAN: a fake A1 speaking the real protocol (MQTT 3.1.1 over TLS 1.2, the
// port-6000 camera) against the real app. No mocked MQTT client anywhere.
import { describe, expect, test } from "bun:test";
import type { Socket } from "socket.io-client";
import { useCleanup } from "./app-fixture.ts";
import { startFakeCamera } from "./fakes/bambu-camera.ts";
import { CANCELLED, type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import { makeCert } from "./fakes/certs.ts";
import { connected, connectSocket, login, printerEntry, quietFor, startApp, until } from "./helpers.ts";

const cleanup = useCleanup();

type Api = {
  sources: { lan: string };
  state: Record<string, unknown> & { hms: { code: string }[] };
  lan: { reconnects: number; last_error: string | null; pinned: boolean; camera_error: string | null };
  frame: { id: number } | null;
};

async function setup(
  opts: Parameters<typeof startFakePrinter>[0] = {},
  code?: string,
  cameraPort?: (printer: FakePrinter) => Promise<number>,
) {
  const printer = await startFakePrinter({ commandDelayMs: 50, frameIntervalMs: 100, ...opts });
  cleanup.push(() => printer.close());
  const app = await startApp(
    {
      printers: [
        printerEntry(printer, {
          access_code: code ?? printer.accessCode,
          camera_port: cameraPort ? await cameraPort(printer) : printer.cameraPort,
          tls: "pin",
        }),
      ] as never,
    },
    undefined,
    { lanTimings: { backoffMinMs: 100, backoffMaxMs: 500, authRetryMs: 60_000, refusedRetryMs: 1500 } },
  );
  cleanup.push(() => app.close());
  const cookie = await login(app);
  const api = async () => (await (await fetch(`${app.url}/api/printers/1`, { headers: { cookie } })).json()) as Api;
  const act = async (body: object) => {
    const res = await fetch(`${app.url}/api/printers/1/actions`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  return { printer, app, cookie, api, act };
}

describe("the LAN connection", () => {
  test("a printer with tls insecure is warned about in the log at start; one with a pin is not", async () => {
    // Nothing listens on port 1: the links fail and retry, which this test does not look at.
    const entry = { model: "A1", host: "127.0.0.1", serial: "01P00A000000001", access_code: "12345678", mqtt_port: 1 };
    const app = await startApp({
      printers: [
        { ...entry, name: "Open A1", tls: "insecure" },
        { ...entry, name: "Pinned A1", tls: "pin" },
      ] as never,
    });
    cleanup.push(() => app.close());
    const warned = app.logs.filter((l) => l.level === "warn" && l.msg.includes("tls: insecure"));
    expect(warned.map((l) => l.fields?.printer)).toEqual(["Open A1"]);
    expect(JSON.stringify(app.logs)).not.toContain("12345678");
  });

  test("pushall gives the full state; a delta without temperatures keeps them; no request subscription", async () => {
    const { printer, api } = await setup({ state: { nozzle_temper: 218.5, bed_temper: 60 } });
    const first = await until(api, (p) => p.sources.lan === "connected" && p.state?.nozzle_temp === 218.5);
    expect(first.state).toMatchObject({ gcode_state: "IDLE", nozzle_temp: 218.5, bed_temp: 60, light: "off" });
    printer.set({ gcode_state: "RUNNING", mc_percent: 12, layer_num: 3, total_layer_num: 90, mc_remaining_time: 42 });
    const after = await until(api, (p) => p.state.layer === 3);
    expect(after.state).toMatchObject({ gcode_state: "RUNNING", percent: 12, total_layers: 90, nozzle_temp: 218.5 });
    expect(after.state).toMatchObject({ bed_temp: 60, remaining_min: 42 });
    expect(printer.pushallCount).toBe(1);
    expect(printer.violations).toEqual([]);
    expect(after.lan.pinned).toBe(true);
  });

  test("a broker restart: reconnected, state refreshed, and no second pushall within 5 minutes", async () => {
    const { printer, api } = await setup();
    await until(api, (p) => p.sources.lan === "connected");
    await printer.restartBroker(300);
    const back = await until(api, (p) => p.sources.lan === "connected" && p.lan.reconnects >= 1, 8000);
    expect(back.lan.reconnects).toBeGreaterThanOrEqual(1);
    printer.set({ layer_num: 7, gcode_state: "RUNNING" });
    expect((await until(api, (p) => p.state.layer === 7)).state.layer).toBe(7);
    expect(printer.pushallCount).toBe(1);
    expect(printer.connectCount).toBe(2);
  });

  test("a wrong access code shows as auth_failed with what to check, and is not retried in a loop", async () => {
    const { printer, api } = await setup({}, "wrong999");
    const p = await until(api, (x) => x.sources.lan === "auth_failed");
    expect(p.sources.lan).toBe("auth_failed");
    expect(p.lan.last_error).toContain("access code");
    // Bounded: a retry loop (its shortest backoff is 1 s) would have tried again within this.
    await quietFor(1500);
    expect(printer.authFailures).toBe(1);
  });

  test("a printer that refuses connections on 8883 is reported as such, retried slowly, and taken back", async () => {
    const { printer, api, app, cookie } = await setup();
    await until(api, (p) => p.sources.lan === "connected");
    await printer.refuseConnections();
    const refused = await until(api, (p) => p.sources.lan === "refused", 10_000);
    expect(refused.lan.last_error).toContain("farm software");
    const html = await (await fetch(`${app.url}/printers/1`, { headers: { cookie } })).text();
    expect(html).toContain("The printer refuses LAN connections (bound to farm software");
    // Bounded: at the 100–500 ms backoff of a flapping link several attempts would be counted within this.
    const reconnects = refused.lan.reconnects;
    await quietFor(1000);
    expect((await api()).lan.reconnects).toBeLessThanOrEqual(reconnects + 1);
    expect((await api()).sources.lan).toBe("refused");
    await printer.acceptConnections();
    const back = await until(api, (p) => p.sources.lan === "connected", 10_000);
    expect(back.lan.last_error).toBeNull();
  });

  test("a changed certificate under pin is refused before the access code is sent", async () => {
    const { printer, app, api } = await setup();
    await until(api, (p) => p.sources.lan === "connected");
    const pinned = (await app.printers.connectionOf(1))!.tls_fingerprint;
    expect(pinned).toBe(printer.fingerprint256);
    printer.changeCertificate();
    await printer.restartBroker(100);
    const p = await until(api, (x) => x.sources.lan === "tls_mismatch", 8000);
    expect(p.sources.lan).toBe("tls_mismatch");
    expect(p.lan.last_error).toContain("certificate changed");
    expect(printer.connectCount).toBe(1);
    expect(printer.authFailures).toBe(0);
  });

  test("re-pinning trusts the new certificate and connects again", async () => {
    const { printer, app, cookie, api } = await setup();
    await until(api, (p) => p.sources.lan === "connected");
    printer.changeCertificate();
    await printer.restartBroker(100);
    await until(api, (x) => x.sources.lan === "tls_mismatch", 8000);
    const res = await fetch(`${app.url}/api/printers/1/repin`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(200);
    await until(api, (x) => x.sources.lan === "connected", 8000);
    expect((await app.printers.connectionOf(1))!.tls_fingerprint).toBe(printer.fingerprint256);
  });
});

describe("control", () => {
  test("pause, resume and stop are confirmed by the state that follows; a misfit is 409", async () => {
    const { printer, api, act } = await setup();
    await until(api, (p) => p.sources.lan === "connected");
    expect((await act({ action: "pause" })).status).toBe(409);
    printer.set({ gcode_state: "RUNNING", subtask_name: "benchy", layer_num: 2, total_layer_num: 50 });
    await until(api, (p) => p.state.gcode_state === "RUNNING");
    const paused = await act({ action: "pause" });
    expect(paused.status).toBe(200);
    expect((paused.body.state as { gcode_state: string }).gcode_state).toBe("PAUSE");
    expect((await act({ action: "resume" })).status).toBe(200);
    const stopped = await act({ action: "stop" });
    expect(stopped.status).toBe(200);
    expect((stopped.body.state as { error: { code: number } }).error.code).toBe(CANCELLED);
    expect((await act({ action: "light_on" })).status).toBe(200);
    expect((await act({ action: "speed", level: 3 })).status).toBe(200);
    expect((await api()).state).toMatchObject({ light: "on", speed_level: 3 });
    const commands = printer.commands.map((c) => JSON.stringify(c));
    expect(commands.some((c) => c.includes('"command":"pause"'))).toBe(true);
  });

  test("the page's buttons act through the same service (CSRF-checked) and every action is audited", async () => {
    const { printer, app, cookie, api } = await setup();
    await until(api, (p) => p.sources.lan === "connected");
    printer.set({ gcode_state: "RUNNING", subtask_name: "gear" });
    await until(api, (p) => p.state.gcode_state === "RUNNING");
    const page = await (await fetch(`${app.url}/printers/1`, { headers: { cookie } })).text();
    expect(page).toContain('hx-confirm="Stop printing &#34;gear&#34;?');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const post = (headers: Record<string, string>) =>
      fetch(`${app.url}/printers/1/actions`, {
        method: "POST",
        headers: { cookie, "hx-request": "true", ...headers },
        body: new URLSearchParams({ action: "pause" }),
      });
    expect((await post({})).status).toBe(403);
    const ok = await post({ "x-csrf-token": csrf });
    expect(await ok.text()).toContain("Done: pause.");
    expect((await api()).state.gcode_state).toBe("PAUSE");
    const audit = app.store.printerActions.recent(10);
    expect(audit[0]).toMatchObject({ printer_id: 1, username: "admin", action: "pause", via: "lan", result: "ok" });
    const settings = await (await fetch(`${app.url}/settings`, { headers: { cookie } })).text();
    expect(settings).toContain("admin: pause (lan) → ok");
  });

  test("under Authorization Control, on firmware that sends no `fun`, the dropped command is explained", async () => {
    // No `fun` in its reports: the command goes out, is dropped, and the printer's HMS says why.
    const { printer, api, act } = await setup({ authorizationControl: true, state: { fun: undefined } });
    await until(api, (p) => p.sources.lan === "connected");
    printer.set({ gcode_state: "RUNNING" });
    await until(api, (p) => p.state.gcode_state === "RUNNING");
    const res = await act({ action: "pause" });
    expect(res.status).toBe(403);
    expect(res.body.error).toContain("Developer Mode");
    expect((await api()).state.hms.map((h) => h.code)).toContain("0500_0500_0001_0007");
    // The command's echo with err_code 84033543 marks the printer as one that obeys only signed commands.
    expect((await until(api, (p) => p.state.signing_required === true)).state.signing_required).toBe(true);
  });

  test("a printer whose `fun` says commands must be signed: badge, controls off with the reason, 403 unsent", async () => {
    const { printer, api, act, app, cookie } = await setup({ state: { fun: "3EC1AFFF9CFF", gcode_state: "RUNNING" } });
    await until(api, (p) => p.sources.lan === "connected" && p.state?.signing_required === true);
    const res = await act({ action: "pause" });
    expect(res.status).toBe(403);
    expect(printer.commands).toEqual([]);
    const html = await (await fetch(`${app.url}/printers/1`, { headers: { cookie } })).text();
    expect(html).toContain('class="badge lockdown"');
    expect(html).toContain("Turn on Developer Mode");
    // Developer Mode switched on at the printer: the next report says so and control works again.
    printer.set({ fun: "3EC18FFF9CFF" });
    await until(api, (p) => p.state.signing_required === false);
    expect((await act({ action: "pause" })).status).toBe(200);
  });

  test("a command the printer drops gives 504 and no false success", async () => {
    const { printer, api, act } = await setup({ dropCommands: true });
    await until(api, (p) => p.sources.lan === "connected");
    printer.set({ gcode_state: "RUNNING" });
    await until(api, (p) => p.state.gcode_state === "RUNNING");
    const res = await act({ action: "pause" });
    expect(res.status).toBe(504);
    expect((await api()).state.gcode_state).toBe("RUNNING");
  }, 20000);

  test("without a LAN link and without a device an action is 503", async () => {
    const app = await startApp();
    cleanup.push(() => app.close());
    const cookie = await login(app);
    const res = await fetch(`${app.url}/api/printers/1/actions`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify({ action: "timelapse_start" }),
    });
    expect(res.status).toBe(503);
  });
});

describe("the built-in camera", () => {
  test("frames arrive as the printer's own while someone watches", async () => {
    const { app, cookie, api } = await setup();
    const viewer: Socket = connectSocket(app, { cookie, auth: { printer: "1" } });
    cleanup.push(() => viewer.disconnect());
    await connected(viewer);
    const frame = new Promise<{ source: string; image: ArrayBuffer }>((r) => viewer.once("image2v", r));
    const f = await frame;
    expect(f.source).toBe("printer");
    expect(new Uint8Array(f.image).subarray(0, 2)).toEqual(new Uint8Array([0xff, 0xd8]));
    expect((await until(api, (p) => p.frame !== null)).frame).not.toBeNull();
  });

  test("a wrong access code on the camera is reported", async () => {
    // The MQTT side accepts the code; a second camera on its own port wants another one.
    const otherCamera = async (printer: FakePrinter) => {
      const cam = await startFakeCamera({ accessCode: "otherone", cert: makeCert(printer.serial), intervalMs: 100 });
      cleanup.push(() => cam.close());
      return cam.port;
    };
    const { app, cookie, api } = await setup({}, undefined, otherCamera);
    await until(api, (p) => p.sources.lan === "connected");
    const viewer: Socket = connectSocket(app, { cookie, auth: { printer: "1" } });
    cleanup.push(() => viewer.disconnect());
    await connected(viewer);
    const p = await until(api, (x) => !!x.lan.camera_error, 5000);
    expect(p.lan.camera_error).toContain("access code");
  });
});
