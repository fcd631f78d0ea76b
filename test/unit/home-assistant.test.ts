// The Home Assistant bridge's pure parts: the `mqtt` config key, its topics, the state it publishes and the
// discovery configs, held to Home Assistant's discovery rules. test/home-assistant.test.ts runs it on a real broker.
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig, type MqttConfig, parseBrokerUrl } from "../../src/config.ts";
import {
  deviceFacts,
  discoveryConfigs,
  haState,
  haTopics,
  stageName,
  stageWords,
} from "../../src/integrations/home-assistant.ts";
import { emptyState, type PrinterState } from "../../src/printer-state.ts";
import type { HeldPrinter } from "../../src/services/printers.ts";

/** The config from a file holding `mqtt` (when given) and the environment `env`: the key's value, or the error. */
async function mqttFrom(mqtt: unknown, env: Record<string, string> = {}): Promise<MqttConfig | Error> {
  const path = join(tmpdir(), `layerwatch-mqtt-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(mqtt === undefined ? {} : { mqtt }));
  try {
    return (await loadConfig({ path, env })).config.mqtt;
  } catch (err) {
    return err as Error;
  } finally {
    rmSync(path, { force: true });
  }
}

describe("the mqtt config key", () => {
  test("defaults: off, Home Assistant's discovery prefix, layerwatch topics, no commands", async () => {
    expect(await mqttFrom(undefined)).toEqual({
      url: "",
      discovery_prefix: "homeassistant",
      topic_prefix: "layerwatch",
      commands: false,
    });
  });

  test("a partial object keeps the defaults for what it leaves out; the environment takes JSON", async () => {
    const env = { LAYERWATCH_MQTT: JSON.stringify({ url: "mqtts://ha:pw@broker.lan", commands: true }) };
    expect(await mqttFrom(undefined, env)).toEqual({
      url: "mqtts://ha:pw@broker.lan",
      discovery_prefix: "homeassistant",
      topic_prefix: "layerwatch",
      commands: true,
    });
    const bad = await mqttFrom(undefined, { LAYERWATCH_MQTT: "mqtt://broker" });
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as Error).message).toContain("LAYERWATCH_MQTT");
  });

  test("bad values are refused with a message naming the key and never the password", async () => {
    const cases: [unknown, string][] = [
      [{ url: "http://u:hunter22@broker" }, '"mqtt.url" must start with mqtt:// or mqtts://'],
      [{ url: "mqtt://u:hunter22@broker/path" }, '"mqtt.url" must not have a path'],
      [{ url: "mqtt://u:hunter22@broker:99999" }, '"mqtt.url"'],
      [{ topic_prefix: "layer/#" }, '"mqtt.topic_prefix" must be topic levels'],
      [{ discovery_prefix: "/homeassistant" }, '"mqtt.discovery_prefix"'],
      [{ commands: "yes" }, '"mqtt.commands" must be true or false'],
      [{ broker: "x" }, 'unknown key "mqtt.broker"'],
      ["mqtt://broker", '"mqtt" must be an object'],
    ];
    for (const [value, message] of cases) {
      const err = await mqttFrom(value);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(message);
      expect((err as Error).message).not.toContain("hunter22");
    }
  });

  test("broker URLs: ports by scheme, credentials decoded, the password redacted for messages", () => {
    expect(parseBrokerUrl("mqtt://broker.lan")).toEqual({
      ok: true,
      value: { tls: false, host: "broker.lan", port: 1883, username: "", password: "" },
    });
    expect(parseBrokerUrl("mqtts://h%40me:p%3Aw%2F@[::1]:8884")).toEqual({
      ok: true,
      value: { tls: true, host: "::1", port: 8884, username: "h@me", password: "p:w/" },
    });
    // A password with an unencoded @ is not partly shown: the message has the URL without its credentials.
    const refused = parseBrokerUrl("http://ha:p@ss@broker:1883");
    expect(refused).toMatchObject({ ok: false });
    const error = (refused as { error: string }).error;
    expect(error).toContain("(got http://broker:1883/)");
    expect(error).not.toContain("ss@");
  });
});

const printer = (over: Partial<HeldPrinter["info"]> = {}): HeldPrinter =>
  ({
    info: { id: 3, name: "Garage A1", model: "A1", serial: "03919A3B0100001", ...over },
    state: emptyState(),
    deviceSeenAt: null,
    lan: { state: "off", since: 0, last_message_at: null, reconnects: 0, last_error: null },
  }) as unknown as HeldPrinter;

describe("topics and discovery configs", () => {
  const t = haTopics({ discovery_prefix: "homeassistant", topic_prefix: "home/layerwatch" });

  test("ids are made of [a-zA-Z0-9_-] even when the topic prefix has levels", () => {
    expect(t.node(3)).toBe("home_layerwatch_printer_3");
    expect(t.config("sensor", 3, "progress")).toBe("homeassistant/sensor/home_layerwatch_printer_3/progress/config");
    expect(t.command(3)).toBe("home/layerwatch/printers/3/command");
    expect(t.printerOfCommand("home/layerwatch/printers/3/command")).toBe(3);
    expect(t.printerOfCommand("other/printers/3/command")).toBeNull();
    expect(t.printerOfCommand("home/layerwatch/printers/x/command")).toBeNull();
  });

  test("every config has a unique id, the device and the availability; temperatures in °C", () => {
    const configs = discoveryConfigs(printer(), t, {
      commands: true,
      version: "1.2.3",
      publicUrl: "https://p.example",
    });
    const ids = configs.map((c) => c.config.unique_id);
    expect(new Set(ids).size).toBe(configs.length);
    for (const c of configs) {
      expect(String(c.config.unique_id)).toMatch(/^[a-zA-Z0-9_-]+$/);
      expect(c.config.device).toEqual({
        identifiers: ["home_layerwatch_printer_3"],
        name: "Garage A1",
        manufacturer: "Bambu Lab",
        model: "A1",
        serial_number: "03919A3B0100001",
        configuration_url: "https://p.example/printers/3",
      });
      expect(c.config.availability_topic).toBe("home/layerwatch/status");
      if (c.config.device_class === "temperature") expect(c.config.unit_of_measurement).toBe("°C");
    }
    expect(configs.filter((c) => c.component === "button").map((c) => c.config.payload_press)).toEqual([
      "pause",
      "resume",
      "stop",
    ]);
    expect(configs.find((c) => c.component === "light")?.config).toMatchObject({
      payload_on: "light_on",
      payload_off: "light_off",
    });
  });

  test("without commands: sensors, Authorization Control and the camera only", () => {
    const configs = discoveryConfigs(printer(), t, { commands: false, version: "1", publicUrl: "" });
    expect([...new Set(configs.map((c) => c.component))]).toEqual(["sensor", "binary_sensor", "camera"]);
  });

  test("the state: numbers stay numbers, unknown is null, stage and job only while a print is under way", () => {
    const s = { ...emptyState(), gcode_state: "IDLE", stage: 0, file: "old.3mf", nozzle_temp: 27.8, percent: 0 };
    expect(haState(s, { temperature: 21.5, humidity: 40 }, null)).toMatchObject({
      state: "IDLE",
      stage: null,
      job: null,
      nozzle_temp: 27.8,
      progress: 0,
      room_temperature: 21.5,
      bed_temp: null,
    });
    const running = { ...s, gcode_state: "RUNNING", stage: 2, file: "cube.3mf" };
    expect(haState(running, null, null)).toMatchObject({ stage: "heatbed_preheating", job: "cube.3mf" });
    expect(haState(running, null, null).stage_text).toBe("Heatbed preheating");
    expect(stageName(99)).toBe("stage 99");
    expect(stageWords(99)).toBe("Stage 99");
    expect(haState({ ...running, file: "x".repeat(300) }, null, null).job).toHaveLength(255);
  });

  const ams = (humidity: number | null): PrinterState["ams"] => ({
    units: [
      {
        id: 0,
        kind: "AMS",
        humidity,
        humidity_level: 2,
        temp: null,
        trays: [
          { id: 0, slot: 0, type: "PLA", color: "FF8000FF", brand: null, preset: null, remain: 80, active: false },
          { id: 1, slot: 1, type: "PETG", color: "0A2989FF", brand: null, preset: null, remain: 50, active: true },
        ],
      },
    ],
    external: [],
    tray_now: 1,
  });

  test("the device names the detected model and firmware; the serial's model until the printer says", () => {
    const held = printer({ model: "P1S", serial: "03919A3B0100001" });
    const before = discoveryConfigs(held, t, { commands: false, version: "1", publicUrl: "" });
    expect(before[0]!.config.device).toMatchObject({ model: "A1" }); // the serial's prefix beats the config
    expect(before[0]!.config.device).not.toHaveProperty("sw_version");
    const facts = deviceFacts(held);
    held.state = {
      ...held.state,
      model: "A1 mini",
      firmware: [
        { module: "ams_f1/0", version: "00.00.07.89", hw: null, name: null },
        { module: "ota", version: "01.04.00.00", hw: "AP05", name: null },
      ],
    };
    expect(deviceFacts(held)).not.toBe(facts);
    const after = discoveryConfigs(held, t, { commands: false, version: "1", publicUrl: "" });
    expect(after[0]!.config.device).toMatchObject({ model: "A1 mini", sw_version: "01.04.00.00" });
  });

  test("chamber temperature only on a model with a thermometer; AMS humidity only where reported", () => {
    const keys = (p: HeldPrinter) =>
      discoveryConfigs(p, t, { commands: false, version: "1", publicUrl: "" }).map((c) => `${c.component}/${c.key}`);
    const a1 = printer();
    expect(keys(a1)).not.toContain("sensor/chamber_temp");
    expect(keys(a1)).toContain("binary_sensor/authorization_control");
    expect(keys(a1)).toContain("sensor/tray_type");
    const x1 = printer({ model: "X1C", serial: "00M09A000000001" });
    expect(keys(x1)).toContain("sensor/chamber_temp");
    x1.state = { ...x1.state, ams: ams(null) };
    expect(keys(x1).filter((k) => k.includes("humidity"))).toEqual(["sensor/room_humidity"]);
    x1.state = { ...x1.state, ams: ams(23) };
    expect(keys(x1)).toContain("sensor/ams_0_humidity");
    const humidity = discoveryConfigs(x1, t, { commands: false, version: "1", publicUrl: "" }).find(
      (c) => c.key === "ams_0_humidity",
    );
    expect(humidity?.config).toMatchObject({ name: "AMS A humidity", device_class: "humidity" });
  });

  test("the state carries Authorization Control, the loaded filament and each unit's humidity", () => {
    const s = { ...emptyState(), gcode_state: "IDLE", signing_required: true, ams: ams(23), chamber_temp: 31 };
    expect(haState(s, null, null)).toMatchObject({
      authorization_control: true,
      tray_type: "PETG",
      tray_color: "#0A2989",
      ams_0_humidity: 23,
      chamber_temp: 31,
    });
    expect(haState(emptyState(), null, null)).toMatchObject({
      authorization_control: null,
      tray_type: null,
      tray_color: null,
    });
    const auth = discoveryConfigs(printer(), t, { commands: false, version: "1", publicUrl: "" }).find(
      (c) => c.component === "binary_sensor",
    );
    expect(auth?.config.value_template).toContain("value_json.authorization_control");
  });
});
