// Proves the fake Bambu printer with real clients: the `mqtt` package over TLS, and a raw TLS camera client.
import { afterEach, describe, expect, test } from "bun:test";
import { type SecureVersion, type TLSSocket, connect as tlsConnect } from "node:tls";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { quietFor, until } from "../helpers.ts";
import { authPacket } from "./bambu-camera.ts";
import {
  CANCELLED,
  DEV_MODE_HMS,
  type FakePrinter,
  type FakePrinterOptions,
  startFakePrinter,
} from "./bambu-printer.ts";

type Report = { print: Record<string, unknown> & { command: string; msg: number; sequence_id: string } };

const open: { printers: FakePrinter[]; clients: MqttClient[] } = { printers: [], clients: [] };
afterEach(async () => {
  await Promise.all(open.clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(open.printers.splice(0).map((p) => p.close()));
});

async function printer(opts: FakePrinterOptions = {}): Promise<FakePrinter> {
  const p = await startFakePrinter({ commandDelayMs: 20, frameIntervalMs: 100, ...opts });
  open.printers.push(p);
  return p;
}

// mqtt.js hands its options to tls.connect, so TLS options such as minVersion work too.
function connect(p: FakePrinter, opts: IClientOptions & { minVersion?: SecureVersion } = {}): Promise<MqttClient> {
  const options = { username: "bblp", password: p.accessCode, rejectUnauthorized: false, protocolVersion: 4 as const };
  const client = mqtt.connectAsync(`mqtts://127.0.0.1:${p.mqttPort}`, { ...options, reconnectPeriod: 0, ...opts });
  return client.then((c) => {
    open.clients.push(c);
    return c;
  });
}

/** Collects every report; `next` resolves with the first one (from now on) that matches. */
async function watch(p: FakePrinter, client: MqttClient) {
  const reports: Report[] = [];
  const waiters: { match: (r: Report) => boolean; resolve: (r: Report) => void }[] = [];
  client.on("message", (_topic, payload) => {
    const report = JSON.parse(payload.toString()) as Report;
    reports.push(report);
    for (const w of waiters.filter((w) => w.match(report))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(report);
    }
  });
  await client.subscribeAsync(`device/${p.serial}/report`);
  const next = (match: (r: Report) => boolean = () => true) =>
    new Promise<Report>((resolve) => waiters.push({ match, resolve }));
  return { reports, next };
}

const request = (p: FakePrinter, client: MqttClient, body: unknown) =>
  client.publishAsync(`device/${p.serial}/request`, JSON.stringify(body));
const PUSHALL = { pushing: { sequence_id: "0", command: "pushall", version: 1, push_target: 1 } };

describe("fake Bambu printer: MQTT", () => {
  test("pushall answers with the full A1 state", async () => {
    const p = await printer();
    const client = await connect(p);
    const { next } = await watch(p, client);
    const full = next();
    await request(p, client, PUSHALL);
    const { print } = await full;
    expect(print.command).toBe("push_status");
    expect(print.msg).toBe(0);
    for (const key of ["gcode_state", "mc_percent", "mc_remaining_time", "layer_num", "total_layer_num"]) {
      expect(print).toHaveProperty(key);
    }
    expect(print).toMatchObject({ chamber_temper: 5, wifi_signal: "-48dBm", cooling_fan_speed: "0", hms: [] });
    expect(print.lights_report).toEqual([{ node: "chamber_light", mode: "off" }]);
    expect(p.pushallCount).toBe(1);
    expect(p.clientsConnected).toBe(1);
  });

  test("set() sends only the changed keys as a delta", async () => {
    const p = await printer();
    const client = await connect(p);
    const { next } = await watch(p, client);
    const delta = next();
    p.set({ bed_temper: 61.5, nozzle_temper: p.state.nozzle_temper });
    const { print } = await delta;
    expect(Object.keys(print).sort()).toEqual(["bed_temper", "command", "msg", "sequence_id"]);
    expect(print).toMatchObject({ bed_temper: 61.5, msg: 1 });
    expect(p.state.bed_temper).toBe(61.5);
  });

  test("TLS 1.2 only: a TLS 1.3-only client is refused; the certificate is the one advertised", async () => {
    const p = await printer();
    await expect(connect(p, { minVersion: "TLSv1.3" })).rejects.toThrow(/PROTOCOL_VERSION/);
    const seen = await new Promise<{ protocol: string | null; fingerprint: string }>((resolve, reject) => {
      const socket = tlsConnect({ host: "127.0.0.1", port: p.mqttPort, rejectUnauthorized: false }, () => {
        resolve({ protocol: socket.getProtocol(), fingerprint: socket.getPeerCertificate().fingerprint256 });
        socket.destroy();
      });
      socket.on("error", reject);
    });
    expect(seen).toEqual({ protocol: "TLSv1.2", fingerprint: p.fingerprint256 });
  });

  test("a wrong access code is refused with CONNACK 5", async () => {
    const p = await printer();
    const error = await connect(p, { password: "00000000" }).catch((e: Error & { code?: number }) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as { code?: number }).code).toBe(5);
    expect(p.authFailures).toBe(1);
  });

  test("subscribing to the request topic gets the client disconnected", async () => {
    const p = await printer();
    const client = await connect(p);
    const closed = new Promise((resolve) => client.once("close", () => resolve(true)));
    client.subscribe(`device/${p.serial}/request`);
    expect(await closed).toBe(true);
    expect(p.violations).toMatchObject([{ kind: "subscribe-request", detail: `device/${p.serial}/request` }]);
  });

  test("pause, resume, speed, light and stop commands come back as deltas", async () => {
    const p = await printer({ state: { gcode_state: "RUNNING" } });
    const client = await connect(p);
    const { next } = await watch(p, client);
    const send = async (body: unknown, match: (r: Report) => boolean) => {
      const delta = next(match);
      await request(p, client, body);
      return (await delta).print;
    };
    const paused = await send({ print: { sequence_id: "0", command: "pause" } }, (r) => "gcode_state" in r.print);
    expect(paused).toMatchObject({ gcode_state: "PAUSE", stg_cur: 16, msg: 1 });
    const resumed = await send({ print: { sequence_id: "0", command: "resume" } }, (r) => "gcode_state" in r.print);
    expect(resumed).toMatchObject({ gcode_state: "RUNNING", stg_cur: 0 });
    const speed = { print: { sequence_id: "0", command: "print_speed", param: "3" } };
    expect(await send(speed, (r) => "spd_lvl" in r.print)).toMatchObject({ spd_lvl: 3 });
    const light = { system: { sequence_id: "0", command: "ledctrl", led_node: "chamber_light", led_mode: "on" } };
    const lit = await send(light, (r) => "lights_report" in r.print);
    expect(lit.lights_report).toEqual([{ node: "chamber_light", mode: "on" }]);
    const stop = { print: { sequence_id: "0", command: "stop", param: "" } };
    expect(await send(stop, (r) => "gcode_state" in r.print)).toMatchObject({
      gcode_state: "FAILED",
      print_error: CANCELLED,
    });
    await request(p, client, { print: { sequence_id: "0", command: "gcode_line", param: "G28\n" } });
    await until(
      () => p.commands.length,
      (n) => n >= 6,
    );
    expect(p.commands.map((c) => Object.values(c as object)[0].command)).toEqual([
      "pause",
      "resume",
      "print_speed",
      "ledctrl",
      "stop",
      "gcode_line",
    ]);
  });

  test("Authorization Control drops commands and raises HMS 0500_0500_0001_0007; dropCommands is silent", async () => {
    const p = await printer({ authorizationControl: true, state: { gcode_state: "RUNNING" } });
    const client = await connect(p);
    const { next, reports } = await watch(p, client);
    const hms = next((r) => "hms" in r.print);
    await request(p, client, { print: { sequence_id: "0", command: "pause" } });
    expect((await hms).print.hms).toEqual([{ attr: 0x05000500, code: 0x00010007 }]);
    expect(DEV_MODE_HMS).toEqual({ attr: 0x05000500, code: 0x00010007 });
    expect(p.state.gcode_state).toBe("RUNNING");
    const full = next((r) => r.print.msg === 0);
    await request(p, client, PUSHALL);
    expect((await full).print.gcode_state).toBe("RUNNING"); // status still works

    p.modes.authorizationControl = false;
    p.modes.dropCommands = true;
    const before = reports.length;
    await request(p, client, { print: { sequence_id: "0", command: "resume" } });
    // Bounded: dropCommands must stay silent; an answer to the resume would have come within this.
    await quietFor(100);
    expect(reports.length).toBe(before);
    expect(p.commands).toHaveLength(2);
  });

  test("runPrint: progress deltas without temperatures, then FINISH / FAILED", async () => {
    const p = await printer();
    const client = await connect(p);
    const { reports, next } = await watch(p, client);
    const finished = next((r) => r.print.gcode_state === "FINISH");
    await p.runPrint({ name: "cube", layers: 4, stepMs: 5 });
    await finished;
    const states = reports.map((r) => r.print.gcode_state).filter(Boolean);
    expect(states).toEqual(["PREPARE", "RUNNING", "FINISH"]);
    const layers = reports.filter((r) => "layer_num" in r.print && r.print.gcode_state === undefined);
    expect(layers.map((r) => r.print.layer_num)).toEqual([1, 2, 3, 4]);
    for (const r of layers) expect(r.print).not.toHaveProperty("nozzle_temper");
    expect(p.state).toMatchObject({ subtask_name: "cube", mc_percent: 100, nozzle_temper: 220 });

    await p.runPrint({ name: "benchy", layers: 4, stepMs: 5, outcome: "cancel" });
    expect(p.state).toMatchObject({ gcode_state: "FAILED", print_error: CANCELLED, layer_num: 2 });
    await p.runPrint({ name: "vase", layers: 2, stepMs: 5, outcome: "fail" });
    expect(p.state).toMatchObject({ gcode_state: "FAILED", print_error: 0 });
    expect(p.state.hms).toHaveLength(1);
  });

  test("restartBroker drops clients and listens again on the same port", async () => {
    const p = await printer();
    const port = p.mqttPort;
    const client = await connect(p, { reconnectPeriod: 100 });
    const reconnected = new Promise((resolve) => client.once("connect", () => resolve(true)));
    await p.restartBroker(150);
    expect(await reconnected).toBe(true);
    expect(p.mqttPort).toBe(port);
    expect(p.connectCount).toBe(2);
  });

  test("changeCertificate: new connections see another certificate, still TLS 1.2 only", async () => {
    const p = await printer();
    const before = p.fingerprint256;
    p.changeCertificate();
    expect(p.fingerprint256).not.toBe(before);
    const client = await connect(p);
    const socket = client.stream as unknown as TLSSocket;
    expect(socket.getPeerCertificate().fingerprint256).toBe(p.fingerprint256);
    expect(socket.getProtocol()).toBe("TLSv1.2");
    await expect(connect(p, { minVersion: "TLSv1.3" })).rejects.toThrow(/PROTOCOL_VERSION/);
  });
});

/** Connects to the camera, sends the auth packet and collects raw bytes until `ms` pass or the server closes. */
function cameraSession(p: FakePrinter, code: string, ms: number) {
  return new Promise<{ data: Buffer; closedByServer: boolean }>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = tlsConnect({ host: "127.0.0.1", port: p.cameraPort, rejectUnauthorized: false }, () =>
      socket.write(authPacket(code)),
    );
    const finish = (closedByServer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closedByServer });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => finish(true));
    socket.on("error", reject);
  });
}

describe("fake Bambu printer: camera", () => {
  test("the right access code gets JPEG frames behind 16-byte headers", async () => {
    const p = await printer();
    const { data, closedByServer } = await cameraSession(p, p.accessCode, 350);
    expect(closedByServer).toBe(false);
    const frames: Buffer[] = [];
    for (let at = 0; at + 16 <= data.length; ) {
      const size = data.readUInt32LE(at);
      expect([data.readUInt32LE(at + 4), data.readUInt32LE(at + 8), data.readUInt32LE(at + 12)]).toEqual([0, 1, 0]);
      if (at + 16 + size > data.length) break;
      frames.push(data.subarray(at + 16, at + 16 + size));
      at += 16 + size;
    }
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const jpeg of frames) {
      expect([...jpeg.subarray(0, 2)]).toEqual([0xff, 0xd8]);
      expect([...jpeg.subarray(-2)]).toEqual([0xff, 0xd9]);
    }
    expect(frames[0]!.equals(frames[1]!)).toBe(false);
    expect(p.camera.connections).toBe(1);
    expect(p.camera.frames).toBeGreaterThanOrEqual(frames.length);
  });

  test("a wrong access code is closed with no data", async () => {
    const p = await printer();
    const { data, closedByServer } = await cameraSession(p, "87654321", 2000);
    expect(closedByServer).toBe(true);
    expect(data.length).toBe(0);
    expect(p.camera.rejected).toBe(1);
  });
});
