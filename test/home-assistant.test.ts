// Home Assistant over MQTT against a real broker (Debian's mosquitto, one per test) with a test subscriber
// (mqtt.js): discovery configs by Home Assistant's rules, states, frames, availability with the last will after
// kill -9, commands reaching the fake printer through printer control, and nothing at all while mqtt is off.
import { describe, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import type { MqttConfig } from "../src/config.ts";
import { useCleanup } from "./app-fixture.ts";
import { type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import { makeLocalhostCert } from "./fakes/certs.ts";
import {
  connected,
  connectSocket,
  fakeJpeg,
  login,
  printerEntry,
  quietFor,
  startApp,
  type TestApp,
  tempDir,
  until,
} from "./helpers.ts";
import { startChild, writeConfig } from "./process.ts";
import { freePort, type MosquittoServer, startMosquitto, startPostgres } from "./servers.ts";

const MAIN = join(import.meta.dir, "../src/main.ts");
const cleanup = useCleanup();

type Seen = { topic: string; payload: Buffer; retain: boolean; at: number };

/** A test subscriber: every message on `topics`, retained ones (sent at subscribe) marked. */
async function subscribe(url: string, topics: string[], ca?: string) {
  const client: MqttClient = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ca });
  cleanup.push(() => client.endAsync(true));
  const seen: Seen[] = [];
  client.on("message", (topic, payload, packet) =>
    seen.push({ topic, payload, retain: packet.retain, at: Date.now() }),
  );
  await client.subscribeAsync(topics, { qos: 1 });
  const on = (topic: string) => seen.filter((m) => m.topic === topic);
  return {
    client,
    seen,
    on,
    /** The newest message on `topic` as text, or null. */
    text: (topic: string) => on(topic).at(-1)?.payload.toString() ?? null,
    json: <T = Record<string, unknown>>(topic: string) => {
      const last = on(topic).at(-1);
      return last?.payload.length ? (JSON.parse(last.payload.toString()) as T) : null;
    },
  };
}

async function broker(opts: Parameters<typeof startMosquitto>[0] = {}): Promise<MosquittoServer> {
  const b = await startMosquitto(opts);
  cleanup.push(() => b.stop());
  return b;
}

async function fakePrinter(opts: Parameters<typeof startFakePrinter>[0] = {}): Promise<FakePrinter> {
  const printer = await startFakePrinter({ commandDelayMs: 50, ...opts });
  cleanup.push(() => printer.close());
  return printer;
}

async function app(mqttConfig: Partial<MqttConfig> | null, printer?: FakePrinter): Promise<TestApp> {
  const a = await startApp(
    {
      ...(mqttConfig ? { mqtt: mqttConfig as MqttConfig } : {}),
      printers: printer ? ([printerEntry(printer, { camera_port: printer.cameraPort, tls: "pin" })] as never) : [],
    },
    undefined,
    {
      lanTimings: { backoffMinMs: 100, backoffMaxMs: 500 },
      homeAssistantTimings: { backoffMinMs: 100, backoffMaxMs: 300 },
    },
  );
  cleanup.push(() => a.close());
  return a;
}

const idOf = (a: TestApp, name: string) => a.printers.list().find((p) => p.info.name === name)!.info.id;
const CONFIG_TOPIC =
  /^homeassistant\/(sensor|binary_sensor|camera|button|light)\/[a-zA-Z0-9_-]+\/[a-zA-Z0-9_-]+\/config$/;

describe("Home Assistant discovery", () => {
  test("each printer is one device whose retained discovery configs follow Home Assistant's rules", async () => {
    const b = await broker();
    const printer = await fakePrinter();
    const a = await app({ url: b.url }, printer);
    const id = idOf(a, "A1");
    await until(
      () => a.homeAssistant?.connected,
      (up) => !!up,
    );
    // A subscriber that comes later gets every config as the broker retained it.
    const sub = await subscribe(b.url, ["homeassistant/#", "layerwatch/#"]);
    // The newest config of each topic (a printer's answer to get_version may send them all again), once every
    // entity checked below has one.
    const wanted = ["state", "stage", "progress", "layer", "remaining_min", "nozzle_temp", "bed_temp"];
    const wantedToo = ["room_temperature", "room_humidity", "job", "camera"];
    const configs = await until(
      () => [
        ...new Map(
          sub.seen.filter((m) => m.topic.endsWith("/config") && m.payload.length).map((m) => [m.topic, m]),
        ).values(),
      ],
      (list) => [...wanted, ...wantedToo].every((k) => list.some((m) => m.topic.split("/")[3] === k)),
    );
    const state = await until(
      () => sub.json(`layerwatch/printers/${id}/state`),
      (s) => s?.state === "IDLE",
    );
    const uniqueIds = new Set<string>();
    const devices = new Set<string>();
    for (const m of configs) {
      expect(m.topic).toMatch(CONFIG_TOPIC);
      expect(m.retain).toBe(true);
      const c = JSON.parse(m.payload.toString());
      expect(c.unique_id).toMatch(/^[a-zA-Z0-9_-]+$/);
      uniqueIds.add(c.unique_id);
      expect(c.device.identifiers.length).toBe(1);
      devices.add(c.device.identifiers[0]);
      expect(c.device.name).toBe("A1");
      expect(c.availability_topic).toBe("layerwatch/status");
      if (c.device_class === "temperature") expect(["°C", "°F", "K"]).toContain(c.unit_of_measurement);
      // A numeric sensor (a unit or a state class) must get a number, or None for unknown.
      const key = /^\{\{ value_json\.([a-z_]+) \}\}$/.exec(c.value_template ?? "")?.[1];
      if (key && (c.unit_of_measurement || c.state_class)) expect(["number", "object"]).toContain(typeof state![key]);
      if (key && state![key] === null) expect(state).toHaveProperty(key, null);
    }
    expect(uniqueIds.size).toBe(configs.length);
    expect(devices.size).toBe(1);
    const components = configs.map((m) => m.topic.split("/")[1]);
    expect(components).toContain("camera");
    // Commands are off by default: no buttons, no light.
    expect(components.filter((c) => c === "button" || c === "light")).toEqual([]);
    const keys = configs.map((m) => m.topic.split("/")[3]);
    for (const key of wanted) expect(keys).toContain(key);
    for (const key of wantedToo) expect(keys).toContain(key);
    expect(state).toMatchObject({ nozzle_temp: 27.8, bed_temp: 29.7, light: "off", job: null });
    expect(sub.text("layerwatch/status")).toBe("online");
    expect(sub.on("layerwatch/status")[0]!.retain).toBe(true);
  });

  test("the device names the model and firmware the printer reports; model-only sensors follow", async () => {
    const b = await broker();
    const printer = await fakePrinter({
      authorizationControl: true,
      modules: [{ name: "ota", product_name: "Bambu Lab X1 Carbon", sw_ver: "01.08.02.00", hw_ver: "OTA", sn: "" }],
    });
    const a = await app({ url: b.url }, printer); // configured as an A1
    const id = idOf(a, "A1");
    const sub = await subscribe(b.url, [`homeassistant/+/layerwatch_printer_${id}/+/config`, "layerwatch/#"]);
    const device = await until(
      () => sub.json<{ device: Record<string, unknown> }>(`homeassistant/sensor/layerwatch_printer_${id}/state/config`),
      (c) => c?.device.model === "X1C",
    );
    expect(device!.device).toMatchObject({ manufacturer: "Bambu Lab", sw_version: "01.08.02.00" });
    // An X1 Carbon has a chamber thermometer; the A1 it was configured as has none.
    expect(sub.json(`homeassistant/sensor/layerwatch_printer_${id}/chamber_temp/config`)).toMatchObject({
      device_class: "temperature",
    });
    expect(sub.json(`homeassistant/binary_sensor/layerwatch_printer_${id}/authorization_control/config`)).toMatchObject(
      {
        name: "Authorization Control",
      },
    );
    await until(
      () => sub.json(`layerwatch/printers/${id}/state`),
      (s) => s?.authorization_control === true,
    );
  });

  test("an AMS unit reporting humidity gets a sensor; the loaded filament reaches the state", async () => {
    const b = await broker();
    const ams = {
      ams: [
        {
          id: "0",
          humidity: "2",
          humidity_raw: "23",
          temp: "25.0",
          tray: [{ id: "0", tray_type: "PLA", tray_color: "FF8000FF", remain: 80 }],
        },
      ],
      tray_now: "0",
    };
    const printer = await fakePrinter({ state: { ams } });
    const a = await app({ url: b.url }, printer);
    const id = idOf(a, "A1");
    const sub = await subscribe(b.url, [`homeassistant/sensor/layerwatch_printer_${id}/+/config`, "layerwatch/#"]);
    const config = await until(
      () => sub.json(`homeassistant/sensor/layerwatch_printer_${id}/ams_0_humidity/config`),
      (c) => !!c,
    );
    expect(config).toMatchObject({ name: "AMS A humidity", device_class: "humidity", unit_of_measurement: "%" });
    expect(config!.value_template).toBe("{{ value_json.ams_0_humidity }}");
    const state = await until(
      () => sub.json(`layerwatch/printers/${id}/state`),
      (s) => s?.ams_0_humidity === 23,
    );
    expect(state).toMatchObject({ tray_type: "PLA", tray_color: "#FF8000" });
    // An A1 has no chamber thermometer: no chamber sensor.
    expect(sub.json(`homeassistant/sensor/layerwatch_printer_${id}/chamber_temp/config`)).toBeNull();
  });

  test("configs are sent again when Home Assistant says it is online", async () => {
    const b = await broker();
    const a = await app({ url: b.url }, await fakePrinter());
    const id = idOf(a, "A1");
    await until(
      () => a.homeAssistant?.connected,
      (up) => !!up,
    );
    const sub = await subscribe(b.url, ["homeassistant/sensor/+/progress/config"]);
    await until(
      () => sub.seen.length,
      (n) => n === 1,
    );
    await sub.client.publishAsync("homeassistant/status", "online");
    const again = await until(
      () => sub.seen,
      (list) => list.length === 2,
    );
    expect(again[1]!.retain).toBe(false); // a live message, not the retained copy
    expect(JSON.parse(again[1]!.payload.toString()).unique_id).toBe(`layerwatch_printer_${id}_progress`);
  });

  test("a removed printer's configs are cleared, so Home Assistant drops the device", async () => {
    const b = await broker();
    const a = await app({ url: b.url }, await fakePrinter());
    const id = idOf(a, "A1");
    const sub = await subscribe(b.url, [`homeassistant/sensor/layerwatch_printer_${id}/progress/config`]);
    await until(
      () => sub.seen.length,
      (n) => n >= 1,
    );
    await a.printers.remove(id);
    const cleared = await until(
      () => sub.seen.at(-1),
      (m) => m?.payload.length === 0,
    );
    expect(cleared!.topic).toBe(`homeassistant/sensor/layerwatch_printer_${id}/progress/config`);
  });
});

describe("Home Assistant states", () => {
  test("a print's states follow the printer, at most one message a second", async () => {
    const b = await broker();
    const printer = await fakePrinter();
    const a = await app({ url: b.url }, printer);
    const id = idOf(a, "A1");
    const topic = `layerwatch/printers/${id}/state`;
    const sub = await subscribe(b.url, [topic]);
    await until(
      () => sub.json(topic),
      (s) => s?.state === "IDLE",
    );
    // 20 layers 60 ms apart: some 25 deltas in 1.5 s.
    await printer.runPrint({ name: "benchy", layers: 20, stepMs: 60 });
    const done = await until(
      () => sub.json(topic),
      (s) => s?.state === "FINISH",
    );
    expect(done).toMatchObject({ progress: 100, layer: 20, total_layers: 20, remaining_min: 0, stage: null });
    const live = sub.on(topic).filter((m) => !m.retain);
    expect(live.length).toBeGreaterThanOrEqual(2);
    // Home Assistant hears a burst as one message a second (a little under it here: the subscriber's clock).
    for (let i = 1; i < live.length; i++) expect(live[i]!.at - live[i - 1]!.at).toBeGreaterThanOrEqual(900);
    const running = live.map((m) => JSON.parse(m.payload.toString())).find((s) => s.state === "RUNNING");
    expect(running).toMatchObject({ job: "benchy", stage: "printing" });
  });

  test("room readings and the newest frame reach Home Assistant", async () => {
    const b = await broker();
    const a = await app({ url: b.url }, await fakePrinter());
    const id = idOf(a, "A1");
    const sub = await subscribe(b.url, [`layerwatch/printers/${id}/#`]);
    const device = await connected(connectSocket(a, { cookie: await login(a), auth: { printer: String(id) } }));
    cleanup.push(() => device.disconnect());
    expect(await device.timeout(3000).emitWithAck("temphum", { temperature: 23.5, humidity: 41 })).toMatchObject({
      ok: true,
    });
    const jpeg = fakeJpeg(4096, 7);
    expect(await device.timeout(3000).emitWithAck("image", { image: jpeg })).toMatchObject({ ok: true });
    const state = await until(
      () => sub.json(`layerwatch/printers/${id}/state`),
      (s) => s?.room_humidity === 41,
    );
    expect(state).toMatchObject({ room_temperature: 23.5, room_humidity: 41 });
    const image = await until(
      () => sub.on(`layerwatch/printers/${id}/image`).at(-1),
      (m) => !!m,
    );
    expect(new Uint8Array(image!.payload)).toEqual(jpeg);
  });
});

describe("Home Assistant commands", () => {
  test("with commands on, a button press pauses the print on the printer, audited as home-assistant", async () => {
    const b = await broker();
    const printer = await fakePrinter({ state: { gcode_state: "RUNNING", subtask_name: "cube", mc_percent: 30 } });
    const a = await app({ url: b.url, commands: true }, printer);
    const id = idOf(a, "A1");
    const sub = await subscribe(b.url, ["homeassistant/#"]);
    const button = await until(
      () => sub.json(`homeassistant/button/layerwatch_printer_${id}/pause/config`),
      (c) => !!c,
    );
    await until(
      () => a.printers.get(id)?.state.gcode_state,
      (s) => s === "RUNNING",
    );
    expect(sub.json(`homeassistant/light/layerwatch_printer_${id}/light/config`)).toMatchObject({
      command_topic: `layerwatch/printers/${id}/command`,
    });
    await sub.client.publishAsync(button!.command_topic as string, button!.payload_press as string);
    await until(
      () => printer.commands,
      (list) => list.length === 1,
    );
    expect(printer.commands[0]).toMatchObject({ print: { command: "pause" } });
    const audit = await until(
      () => a.asyncStore.printerActions.recent(5),
      (rows) => rows.length === 1,
    );
    expect(audit[0]).toMatchObject({ printer_id: id, username: "home-assistant", action: "pause", result: "ok" });
  });

  test("with commands off, there are no buttons and a command sent anyway reaches nothing", async () => {
    const b = await broker();
    const printer = await fakePrinter({ state: { gcode_state: "RUNNING" } });
    const a = await app({ url: b.url }, printer);
    const id = idOf(a, "A1");
    const sub = await subscribe(b.url, ["homeassistant/#"]);
    await until(
      () => sub.seen.filter((m) => m.payload.length).length,
      (n) => n >= 12,
    );
    expect(sub.seen.filter((m) => /\/(button|light)\//.test(m.topic) && m.payload.length)).toEqual([]);
    await sub.client.publishAsync(`layerwatch/printers/${id}/command`, "stop");
    // The bridge does not even subscribe to commands when they are off; a second covers a broker round trip
    // and the fake printer's 50 ms command delay many times over.
    await quietFor(1000);
    expect(printer.commands).toEqual([]);
    expect(await a.asyncStore.printerActions.recent(5)).toEqual([]);
  });
});

describe("Home Assistant availability and the broker", () => {
  test("a clean stop leaves the availability offline", async () => {
    const b = await broker();
    const a = await app({ url: b.url });
    await until(
      () => a.homeAssistant?.connected,
      (up) => !!up,
    );
    await a.close();
    const sub = await subscribe(b.url, ["layerwatch/status"]);
    const m = await until(
      () => sub.on("layerwatch/status").at(-1),
      (x) => !!x,
    );
    expect(m!.payload.toString()).toBe("offline");
    expect(m!.retain).toBe(true);
  });

  test("a late last will of an instance that held the bridge before is answered with online", async () => {
    const b = await broker();
    const a = await app({ url: b.url });
    const sub = await subscribe(b.url, ["layerwatch/status"]);
    await until(
      () => sub.text("layerwatch/status"),
      (s) => s === "online",
    );
    expect(a.homeAssistant?.connected).toBe(true);
    await sub.client.publishAsync("layerwatch/status", "offline", { retain: true, qos: 1 });
    const after = await until(
      () => sub.on("layerwatch/status").map((m) => m.payload.toString()),
      (list) => list.at(-1) === "online" && list.includes("offline"),
    );
    expect(after.at(-1)).toBe("online");
  });

  test("kill -9 of the app: the broker's retained last will says offline", async () => {
    const b = await broker();
    const dir = tempDir("layerwatch-ha-");
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    writeConfig(dir, { mqtt: { url: b.url, topic_prefix: "lw-kill" } });
    const child = await startChild([process.execPath, MAIN], dir);
    cleanup.push(() => child.proc.kill("SIGKILL"));
    const sub = await subscribe(b.url, ["lw-kill/status"]);
    await until(
      () => sub.text("lw-kill/status"),
      (s) => s === "online",
    );
    child.proc.kill("SIGKILL");
    await until(
      () => sub.text("lw-kill/status"),
      (s) => s === "offline",
    );
    // And retained: Home Assistant starting later sees it too.
    const later = await subscribe(b.url, ["lw-kill/status"]);
    const m = await until(
      () => later.on("lw-kill/status").at(-1),
      (x) => !!x,
    );
    expect(m!.payload.toString()).toBe("offline");
    expect(m!.retain).toBe(true);
  });

  test("a broker with a password file: a wrong password is refused and logged without it; the right one works", async () => {
    const b = await broker({ user: { name: "ha", password: "right-pass-1" } });
    const wrongUrl = b.url.replace("right-pass-1", "wrong-pass-2");
    const wrong = await app({ url: wrongUrl });
    const warned = await until(
      () => wrong.logs.find((l) => l.msg.startsWith("home assistant: the MQTT broker is not reachable")),
      (l) => !!l,
    );
    expect(String(warned!.fields?.reason)).toContain("user name or password");
    expect(JSON.stringify(wrong.logs)).not.toContain("wrong-pass-2");
    expect(wrong.homeAssistant?.connected).toBe(false);
    const right = await app({ url: b.url, topic_prefix: "lw-right" });
    const sub = await subscribe(b.url, ["lw-right/status"]);
    await until(
      () => sub.text("lw-right/status"),
      (s) => s === "online",
    );
    expect(JSON.stringify(right.logs)).not.toContain("right-pass-1");
  });

  test("mqtts: a broker whose certificate is not trusted is refused, with the reason logged", async () => {
    const b = await broker({ tls: makeLocalhostCert() });
    const a = await app({ url: b.url });
    const warned = await until(
      () => a.logs.find((l) => l.msg.startsWith("home assistant: the MQTT broker is not reachable")),
      (l) => !!l,
    );
    expect(String(warned!.fields?.reason)).toMatch(/certificate/i);
    expect(a.homeAssistant?.connected).toBe(false);
  });

  test("mqtts: with the broker's certificate trusted, the bridge connects over TLS", async () => {
    const cert = makeLocalhostCert();
    const b = await broker({ tls: cert });
    const dir = tempDir("layerwatch-ha-tls-");
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    await Bun.write(join(dir, "broker-ca.pem"), cert.cert);
    writeConfig(dir, { mqtt: { url: b.url, topic_prefix: "lw-tls" } });
    // The system's CAs plus this one, as an admin would add a private CA for the whole process.
    const env = { NODE_EXTRA_CA_CERTS: join(dir, "broker-ca.pem") };
    const child = await startChild([process.execPath, MAIN], dir, 60_000, env);
    cleanup.push(() => child.proc.kill("SIGKILL"));
    const sub = await subscribe(b.url, ["lw-tls/status"], cert.cert);
    await until(
      () => sub.text("lw-tls/status"),
      (s) => s === "online",
    );
    expect(child.log()).toContain("home assistant: connected to the MQTT broker");
  });

  test("the broker down at start: the app serves, and the bridge connects once the broker is up", async () => {
    const port = freePort();
    const a = await app({ url: `mqtt://127.0.0.1:${port}` });
    const res = await fetch(`${a.url}/healthz`);
    expect(res.status).toBeLessThan(500);
    await until(
      () => a.logs.some((l) => l.msg.startsWith("home assistant: the MQTT broker is not reachable")),
      (x) => x,
    );
    const b = await broker({ port });
    const sub = await subscribe(b.url, ["layerwatch/status"]);
    await until(
      () => sub.text("layerwatch/status"),
      (s) => s === "online",
    );
  });

  test("nothing is published while mqtt is off", async () => {
    const b = await broker();
    const sub = await subscribe(b.url, ["#"]);
    const printer = await fakePrinter();
    const a = await app(null, printer);
    expect(a.homeAssistant).toBeNull();
    const id = idOf(a, "A1");
    await until(
      () => a.printers.get(id)?.lan.state,
      (s) => s === "connected",
    );
    printer.set({ gcode_state: "RUNNING", mc_percent: 5 });
    await until(
      () => a.printers.get(id)?.state.percent,
      (p) => p === 5,
    );
    // State changed inside the app; a second is many times what the bridge takes to publish when it is on.
    await quietFor(1000);
    expect(sub.seen).toEqual([]);
  });
});

describe("Home Assistant with several instances", () => {
  test("one instance on PostgreSQL runs the bridge, and a clean stop hands it to the other", async () => {
    const pg = await startPostgres();
    cleanup.push(() => pg.stop());
    const b = await broker();
    const config = { database_url: await pg.createDatabase(), mqtt: { url: b.url } as MqttConfig };
    const timings = { homeAssistantTimings: { backoffMinMs: 100, backoffMaxMs: 300 } };
    const [dirA, dirB] = [tempDir(), tempDir()];
    const alpha = await startApp(config, dirA, { ...timings, instanceName: "alpha" });
    cleanup.push(() => alpha.close());
    const beta = await startApp(config, dirB, { ...timings, instanceName: "beta" });
    cleanup.push(() => beta.close());
    const sub = await subscribe(b.url, ["layerwatch/status"]);
    const bridges = () => [alpha, beta].filter((x) => x.homeAssistant?.connected);
    await until(bridges, (list) => list.length === 1);
    // A lease is renewed every 2 s: two renewals give the other instance time to have tried and been refused.
    await quietFor(4500);
    expect(bridges().length).toBe(1);
    const holder = bridges()[0]!;
    expect(holder.leases.holds("home-assistant")).toBe(true);
    expect(sub.text("layerwatch/status")).toBe("online");
    const other = holder === alpha ? beta : alpha;
    await holder.stop();
    await until(
      () => other.homeAssistant?.connected,
      (up) => !!up,
    );
    const said = await until(
      () => sub.on("layerwatch/status").map((m) => m.payload.toString()),
      (list) => list.includes("offline") && list.at(-1) === "online",
    );
    expect(said.at(-1)).toBe("online");
  }, 60_000);
});
