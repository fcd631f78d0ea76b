// RTSPS printer cameras (X1, P2S, H2, X2D) against the real app: a real RTSP server over TLS (GStreamer's, from
// Debian's packages) serving H.264 with the printer's certificate, the system's ffmpeg decoding it, real
// socket.io viewers. ffmpeg processes are counted as this process's children in /proc.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { Socket } from "socket.io-client";
import { CERTIFICATE_CHANGED, LIVEVIEW_OFF } from "../src/lan/rtsps-camera.ts";
import { type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import { startFakeRtspsCamera } from "./fakes/bambu-rtsps.ts";
import { makeCert } from "./fakes/certs.ts";
import {
  connected,
  connectSocket,
  csrfFrom,
  getPage,
  login,
  postForm,
  printerEntry,
  quietFor,
  startApp,
  type TestApp,
  until,
} from "./helpers.ts";
import { ffmpegChildren } from "./process.ts";
import { freePort } from "./servers.ts";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
const tidy = async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
  // A stopped app's ffmpeg gets SIGTERM, then SIGKILL within 3 s.
  await until(decoders, (n) => n === 0, 10_000);
};
afterEach(tidy);
afterAll(tidy);

type Api = { lan: { camera_error: string | null; pinned: boolean }; frame: { id: number; url: string } | null };
type Frame = { source: string; printer_id: number; image: ArrayBuffer };

/**
 * ffmpeg processes this test process started (through its app). Zombies do not count. Each test waits for none
 * to be left before the next starts, so all of them belong to the running test's app.
 */
const decoderPids = () => ffmpegChildren(process.pid);
const decoders = () => decoderPids().length;

/** Width and height from a JPEG's start-of-frame segment. */
function jpegSize(jpeg: Uint8Array): { width: number; height: number } | null {
  const b = Buffer.from(jpeg);
  let pos = 2;
  while (pos + 9 < b.length && b[pos] === 0xff) {
    const marker = b[pos + 1]!;
    if (marker >= 0xc0 && marker <= 0xc3) return { height: b.readUInt16BE(pos + 5), width: b.readUInt16BE(pos + 7) };
    pos += 2 + b.readUInt16BE(pos + 2);
  }
  return null;
}

type Setup = {
  /** The code the RTSPS server wants (default: the printer's). */
  cameraCode?: string;
  /** Where the camera is (default: a fake RTSPS server). */
  rtspPort?: number;
  ffmpegPath?: string;
  /** Another certificate than the printer's (makeCert's variant). */
  cameraCertVariant?: number;
};

async function setup(opts: Setup = {}) {
  const printer: FakePrinter = await startFakePrinter({ commandDelayMs: 50 });
  cleanup.push(() => printer.close());
  let port = opts.rtspPort;
  let clients = () => 0;
  if (port === undefined) {
    // The printer's own certificate, as on the MQTT port: the pin learned there holds here.
    const camera = await startFakeRtspsCamera({
      accessCode: opts.cameraCode ?? printer.accessCode,
      cert: makeCert(printer.serial, opts.cameraCertVariant ?? 0),
    });
    cleanup.push(() => camera.close());
    port = camera.port;
    clients = camera.clients;
  }
  const app: TestApp = await startApp(
    {
      printers: [printerEntry(printer, { name: "X1C", model: "X1C", rtsp_port: port, tls: "pin" })] as never,
      ...(opts.ffmpegPath ? { ffmpeg_path: opts.ffmpegPath } : {}),
    },
    undefined,
    {
      lanTimings: { backoffMinMs: 100, backoffMaxMs: 500, authRetryMs: 60_000 },
      cameraTimings: { graceMs: 500, checkMs: 100 },
    },
  );
  cleanup.push(() => app.close());
  const cookie = await login(app);
  const api = async () => (await (await fetch(`${app.url}/api/printers/1`, { headers: { cookie } })).json()) as Api;
  const viewer = async () => {
    const socket: Socket = connectSocket(app, { cookie, auth: { printer: "1" } });
    cleanup.push(() => socket.disconnect());
    return connected(socket);
  };
  return { printer, app, cookie, api, viewer, port, clients };
}

const nextFrame = (socket: Socket, timeoutMs = 20_000) =>
  new Promise<Frame>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no printer frame within ${timeoutMs} ms`)), timeoutMs);
    socket.on("image2v", (f: Frame) => {
      if (f.source !== "printer") return;
      clearTimeout(timer);
      resolve(f);
    });
  });

describe("an RTSPS printer camera", () => {
  test("decoded frames reach a viewer as the printer's own, and the page shows them", async () => {
    const { app, cookie, api, viewer } = await setup();
    const frame = await nextFrame(await viewer());
    expect(frame.printer_id).toBe(1);
    const image = new Uint8Array(frame.image);
    expect([...image.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect([...image.subarray(-2)]).toEqual([0xff, 0xd9]);
    // The server's 640×360 H.264, decoded: not bytes passed through.
    expect(jpegSize(image)).toEqual({ width: 640, height: 360 });

    const stored = (await until(api, (p) => p.frame !== null)).frame!;
    const page = await getPage(app, "/printers/1", cookie);
    expect(page.text).toContain(`src="/frames/${stored.id}.jpg"`);
    expect(page.text).toMatch(/data-source="printer"/);
    const res = await fetch(`${app.url}${stored.url}`, { headers: { cookie } });
    expect(res.headers.get("content-type")).toBe("image/jpeg");
    expect(jpegSize(new Uint8Array(await res.arrayBuffer()))).toEqual({ width: 640, height: 360 });
    expect((await api()).lan.camera_error).toBeNull();
  }, 40_000);

  test("three viewers share one decoder, and none runs once the last has left", async () => {
    const { viewer, clients, printer } = await setup();
    const sockets = [await viewer(), await viewer(), await viewer()];
    await Promise.all(sockets.map((s) => nextFrame(s)));
    expect(decoders()).toBe(1);
    // The URL with the code went in on stdin: the command line, which `ps` shows anyone, does not carry it.
    const cmdline = readFileSync(`/proc/${decoderPids()[0]}/cmdline`, "utf8");
    expect(cmdline).not.toContain(printer.accessCode);
    expect(cmdline).not.toContain("rtsps://");
    expect(clients()).toBe(1);
    for (const s of sockets) s.disconnect();
    // The grace is 500 ms here; the decoder and its RTSP session both end.
    expect(
      await until(
        () => decoders(),
        (n) => n === 0,
        10_000,
      ),
    ).toBe(0);
    expect(await until(clients, (n) => n === 0, 10_000)).toBe(0);
  }, 40_000);

  test("with nobody watching no decoder runs until a print starts", async () => {
    const { printer, api } = await setup();
    await until(api, (p) => p.lan.pinned, 20_000);
    // The cameras are looked at every 100 ms here: fifteen looks with nobody watching and the printer idle.
    await quietFor(1500);
    expect(decoders()).toBe(0);
    printer.set({ gcode_state: "RUNNING", mc_percent: 1, layer_num: 1, total_layer_num: 50 });
    expect(
      await until(
        () => decoders(),
        (n) => n === 1,
        20_000,
      ),
    ).toBe(1);
    expect((await until(api, (p) => p.frame !== null, 20_000)).frame).not.toBeNull();
  }, 40_000);

  test("a decoder that dies is started again, and frames come back", async () => {
    const { viewer, api } = await setup();
    const socket = await viewer();
    await nextFrame(socket);
    const [first] = decoderPids();
    // The decoder this test's app started, ended as a crash would end it.
    process.kill(first!, "SIGKILL");
    const next = await until(
      () => decoderPids(),
      (pids) => pids.length === 1 && pids[0] !== first,
      20_000,
    );
    expect(next).toHaveLength(1);
    await nextFrame(socket);
    expect((await until(api, (p) => p.lan.camera_error === null)).lan.camera_error).toBeNull();
  }, 40_000);

  test("a wrong access code is reported as the Liveview switch or the code, never with the code", async () => {
    const { app, cookie, api, viewer, printer } = await setup({ cameraCode: "otherone" });
    await viewer();
    const p = await until(api, (x) => !!x.lan.camera_error, 20_000);
    expect(p.lan.camera_error).toBe(LIVEVIEW_OFF);
    const page = await getPage(app, "/printers/1", cookie);
    expect(page.text).toContain("Printer camera: LAN Only Liveview must be on in the printer");
    // ffmpeg's own words carried the URL with the code: none of it reached the logs, the API or the page.
    expect(JSON.stringify(app.logs)).not.toContain(printer.accessCode);
    expect(JSON.stringify(await api())).not.toContain(printer.accessCode);
    expect(page.text).not.toContain(printer.accessCode);
  }, 40_000);

  test("a refused connection (LAN Only Liveview off) is reported the same way", async () => {
    const { api, viewer } = await setup({ rtspPort: freePort() });
    await viewer();
    const p = await until(api, (x) => !!x.lan.camera_error, 20_000);
    expect(p.lan.camera_error).toBe(LIVEVIEW_OFF);
  }, 40_000);

  test("a missing ffmpeg is said on the printer page with how to install it, and nothing crashes", async () => {
    const { app, cookie, api, viewer } = await setup({ ffmpegPath: "/nonexistent/ffmpeg" });
    await viewer();
    const p = await until(api, (x) => !!x.lan.camera_error, 20_000);
    expect(p.lan.camera_error).toContain("/nonexistent/ffmpeg");
    expect(p.lan.camera_error).toContain("apt install ffmpeg");
    const page = await getPage(app, "/printers/1", cookie);
    expect(page.status).toBe(200);
    expect(page.text).toContain("apt install ffmpeg");
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
  }, 40_000);

  test("a camera whose certificate is not the printer's pinned one is not given the code", async () => {
    const { api, viewer } = await setup({ cameraCertVariant: 1 });
    // The MQTT link pins the printer's certificate first; the camera's differs.
    await until(api, (x) => x.lan.pinned, 20_000);
    await viewer();
    const p = await until(api, (x) => !!x.lan.camera_error, 20_000);
    expect(p.lan.camera_error).toBe(CERTIFICATE_CHANGED);
    expect(p.frame).toBeNull();
  }, 40_000);
});

describe("an RTSPS printer added in Settings", () => {
  test("its rtsp_port from the form reaches the camera, and the form shows it back and checks it", async () => {
    const printer = await startFakePrinter({ commandDelayMs: 50 });
    cleanup.push(() => printer.close());
    const camera = await startFakeRtspsCamera({ accessCode: printer.accessCode, cert: makeCert(printer.serial) });
    cleanup.push(() => camera.close());
    const app = await startApp({}, undefined, { cameraTimings: { graceMs: 500, checkMs: 100 } });
    cleanup.push(() => app.close());
    const cookie = await login(app);
    const csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
    const entry = printerEntry(printer, { name: "X1C lab", model: "X1C", rtsp_port: camera.port, tls: "pin" });
    const fields = Object.fromEntries(Object.entries(entry).map(([k, v]) => [k, String(v)]));
    const added = await postForm(app, "/settings/printers", { _csrf: csrf, ...fields, camera: "on" }, { cookie });
    expect(added.status).toBe(200);
    const id = app.printers.list().find((p) => p.info.name === "X1C lab")!.info.id;

    const socket: Socket = connectSocket(app, { cookie, auth: { printer: String(id) } });
    cleanup.push(() => socket.disconnect());
    expect((await nextFrame(await connected(socket))).printer_id).toBe(id);

    const form = async () => (await getPage(app, `/settings/printers/${id}`, cookie)).text;
    expect(await form()).toContain(`name="rtsp_port" type="number" value="${camera.port}"`);
    const edit = (rtsp_port: string) =>
      postForm(app, `/settings/printers/${id}`, { _csrf: csrf, name: "X1C lab", rtsp_port }, { cookie });
    const refused = await edit("70000");
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("Port must be 1 to 65535.");
    expect((await app.printers.connectionOf(id))!.rtsp_port).toBe(camera.port);
    expect((await edit("3220")).status).toBe(200);
    expect(await form()).toContain('name="rtsp_port" type="number" value="3220"');
  }, 40_000);
});
