// Owns the Home Assistant bridge (PRINTERS.md §9, `mqtt`): one connection to the user's MQTT broker, Home
// Assistant's discovery configs for each printer (sensors, a camera, and buttons and the light when commands are
// on), each printer's state (at most once a second) and newest frame, the bridge's availability with a last will,
// and the commands Home Assistant sends, carried out by printer control (audited as "home-assistant").
// Held state: the broker link and, per printer, what was last published and when. The broker being away costs
// nothing but a reconnect timer: every publish is skipped while the link is down, and all is sent again on connect.
import { isIP, connect as tcpConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { effectiveModel, hasChamberSensor } from "../bambu-models.ts";
import { type BrokerUrl, type MqttConfig, parseBrokerUrl } from "../config.ts";
import type { EventBus } from "../events.ts";
import { en } from "../i18n/en.ts";
import { type MqttLink, mqttOverSocket } from "../lan/mqtt-client.ts";
import type { Logger } from "../log.ts";
import { ACTIVE_STATES, type PrinterState } from "../printer-state.ts";
import type { Action, ActionResult } from "../services/printer-control.ts";
import type { HeldPrinter, PrinterService } from "../services/printers.ts";
import type { TelemetryService } from "../services/telemetry.ts";
import type { JobRow } from "../store/store.ts";

export type HomeAssistantTimings = {
  /** A printer's state goes out at most this often. */
  stateEveryMs: number;
  /** A printer's picture goes out at most this often. */
  frameEveryMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
};
export const DEFAULT_HA_TIMINGS: HomeAssistantTimings = {
  stateEveryMs: 1000,
  frameEveryMs: 1000,
  backoffMinMs: 1000,
  backoffMaxMs: 60_000,
};

/** The user name printer control's audit records for what Home Assistant asked. */
export const HA_USER = "home-assistant";
/** The command payloads Home Assistant's buttons and light send, each a printer-control action. */
export const HA_COMMANDS: readonly Action[] = ["pause", "resume", "stop", "light_on", "light_off"];
/** A picture is skipped while this much is still unsent to the broker (a slow link gets the next one). */
const MAX_UNSENT_BYTES = 1024 * 1024;

/** Stage names (`stg_cur`) as ha-bambulab and Bambu's apps name them; others show as "stage <n>". */
const STAGES: Record<number, string> = {
  0: "printing",
  1: "auto_bed_leveling",
  2: "heatbed_preheating",
  3: "sweeping_xy_mech_mode",
  4: "changing_filament",
  5: "m400_pause",
  6: "paused_filament_runout",
  7: "heating_hotend",
  8: "calibrating_extrusion",
  9: "scanning_bed_surface",
  10: "inspecting_first_layer",
  11: "identifying_build_plate_type",
  12: "calibrating_micro_lidar",
  13: "homing_toolhead",
  14: "cleaning_nozzle_tip",
  15: "checking_extruder_temperature",
  16: "paused_user",
  17: "paused_front_cover_falling",
  18: "calibrating_micro_lidar",
  19: "calibrating_extrusion_flow",
  20: "paused_nozzle_temperature_malfunction",
  21: "paused_heat_bed_temperature_malfunction",
  22: "filament_unloading",
  23: "paused_skipped_step",
  24: "filament_loading",
  25: "calibrating_motor_noise",
  26: "paused_ams_lost",
  27: "paused_low_fan_speed_heat_break",
  28: "paused_chamber_temperature_control_error",
  29: "cooling_chamber",
  30: "paused_user_gcode",
  31: "motor_noise_showoff",
  32: "paused_nozzle_filament_covered_detected",
  33: "paused_cutter_error",
  34: "paused_first_layer_error",
  35: "paused_nozzle_clog",
  255: "idle",
  [-1]: "idle",
};
export const stageName = (stage: number | null) => (stage === null ? null : (STAGES[stage] ?? `stage ${stage}`));
/** The stage as the dashboard words it ("Heatbed preheating"); Home Assistant shows no translations of its own. */
export const stageWords = (stage: number | null): string | null => {
  if (stage === null) return null;
  if (stage === 255 || stage === -1) return "Idle";
  return (en as Record<string, string>)[`stage_${stage}`] ?? `Stage ${stage}`;
};

/** What one printer's state topic carries (JSON); null is unknown ("None" to Home Assistant's templates). */
export type HaState = {
  state: string | null;
  stage: string | null;
  progress: number | null;
  layer: number | null;
  total_layers: number | null;
  remaining_min: number | null;
  nozzle_temp: number | null;
  nozzle_target: number | null;
  bed_temp: number | null;
  bed_target: number | null;
  room_temperature: number | null;
  room_humidity: number | null;
  job: string | null;
  light: "on" | "off" | null;
  /** Only sent as a sensor on models with a real chamber thermometer. */
  chamber_temp: number | null;
  stage_text: string | null;
  /** Authorization Control (the printer obeys only signed commands); null = not known. */
  authorization_control: boolean | null;
  /** The filament loaded now: its type and colour (#RRGGBB). */
  tray_type: string | null;
  tray_color: string | null;
  /** Each AMS unit's relative humidity, as `ams_<unit>_humidity`, for units that report one. */
  [ams: `ams_${number}_humidity`]: number | null;
};

/** The tray printing now (an AMS slot or an external spool), or null. */
function activeTray(s: PrinterState) {
  const now = s.ams?.tray_now;
  if (now === null || now === undefined) return null;
  const trays = [...(s.ams?.units.flatMap((u) => u.trays) ?? []), ...(s.ams?.external ?? [])];
  return trays.find((t) => t.id === now) ?? null;
}
/** The AMS units that report a relative humidity (newer firmware); older ones send only a 1–5 index. */
const humidUnits = (s: PrinterState) => (s.ams?.units ?? []).filter((u) => u.humidity !== null);

export function haState(
  s: PrinterState,
  room: { temperature: number; humidity: number } | null,
  job: JobRow | null,
): HaState {
  const active = s.gcode_state !== null && ACTIVE_STATES.includes(s.gcode_state);
  const tray = activeTray(s);
  return {
    state: s.gcode_state,
    stage: active ? stageName(s.stage) : null,
    progress: s.percent,
    layer: s.layer,
    total_layers: s.total_layers,
    remaining_min: s.remaining_min,
    nozzle_temp: s.nozzle_temp,
    nozzle_target: s.nozzle_target,
    bed_temp: s.bed_temp,
    bed_target: s.bed_target,
    room_temperature: room?.temperature ?? null,
    room_humidity: room?.humidity ?? null,
    // Home Assistant refuses a state longer than 255 characters.
    job: (job?.name || (active ? s.file : null))?.slice(0, 255) ?? null,
    light: s.light,
    chamber_temp: s.chamber_temp,
    stage_text: active ? stageWords(s.stage) : null,
    authorization_control: s.signing_required,
    tray_type: tray?.type ?? null,
    tray_color: tray?.color ? `#${tray.color.slice(0, 6)}` : null,
    ...Object.fromEntries(humidUnits(s).map((u) => [`ams_${u.id}_humidity`, u.humidity])),
  };
}

/** The topics of one bridge: its prefixes from the config, ids made of [a-zA-Z0-9_-] as discovery requires. */
export function haTopics(cfg: Pick<MqttConfig, "discovery_prefix" | "topic_prefix">) {
  const root = cfg.topic_prefix;
  const nodePrefix = root.replace(/[^a-zA-Z0-9_-]/g, "_");
  const printerRoot = (id: number) => `${root}/printers/${id}`;
  return {
    availability: `${root}/status`,
    haStatus: `${cfg.discovery_prefix}/status`,
    /** The device id (and discovery node id) of printer `id`. */
    node: (id: number) => `${nodePrefix}_printer_${id}`,
    config: (component: string, id: number, key: string) =>
      `${cfg.discovery_prefix}/${component}/${nodePrefix}_printer_${id}/${key}/config`,
    state: (id: number) => `${printerRoot(id)}/state`,
    image: (id: number) => `${printerRoot(id)}/image`,
    command: (id: number) => `${printerRoot(id)}/command`,
    /** Every printer's command topic, to subscribe to. */
    commands: `${root}/printers/+/command`,
    /** The printer a command topic names, or null. */
    printerOfCommand(topic: string): number | null {
      const m = /^(.*)\/printers\/(\d{1,15})\/command$/.exec(topic);
      return m && m[1] === root ? Number(m[2]) : null;
    },
  };
}
export type HaTopics = ReturnType<typeof haTopics>;

type Entity = { component: string; key: string; config: Record<string, unknown> };
type SensorSpec = [key: string, name: string, extra: Record<string, unknown>];

/** The sensors every printer has, as [key, name, extra config]. */
const SENSORS: SensorSpec[] = [
  ["state", "State", { icon: "mdi:printer-3d" }],
  ["stage", "Stage", { icon: "mdi:progress-wrench" }],
  ["stage_text", "Stage description", { icon: "mdi:progress-wrench" }],
  ["progress", "Progress", { unit_of_measurement: "%", state_class: "measurement", icon: "mdi:progress-clock" }],
  ["layer", "Layer", { state_class: "measurement", icon: "mdi:layers-triple" }],
  ["total_layers", "Total layers", { icon: "mdi:layers-triple-outline" }],
  ["remaining_min", "Remaining time", { device_class: "duration", unit_of_measurement: "min" }],
  ["nozzle_temp", "Nozzle temperature", { device_class: "temperature", unit_of_measurement: "°C" }],
  ["bed_temp", "Bed temperature", { device_class: "temperature", unit_of_measurement: "°C" }],
  ["room_temperature", "Room temperature", { device_class: "temperature", unit_of_measurement: "°C" }],
  ["room_humidity", "Room humidity", { device_class: "humidity", unit_of_measurement: "%" }],
  ["job", "Current job", { icon: "mdi:file-cad-box" }],
  ["tray_type", "Active filament type", { icon: "mdi:printer-3d-nozzle" }],
  ["tray_color", "Active filament colour", { icon: "mdi:palette" }],
];
const CHAMBER: SensorSpec = [
  "chamber_temp",
  "Chamber temperature",
  { device_class: "temperature", unit_of_measurement: "°C" },
];
const AUTHORIZATION = "authorization_control";
const MEASURED = new Set(["device_class", "unit_of_measurement"]);
const BUTTONS: ["pause" | "resume" | "stop", string, string][] = [
  ["pause", "Pause", "mdi:pause"],
  ["resume", "Resume", "mdi:play"],
  ["stop", "Stop", "mdi:stop"],
];
/** The entities only made when commands are on (removed from Home Assistant when they are off). */
export const COMMAND_ENTITIES: [string, string][] = [
  ...BUTTONS.map(([k]) => ["button", k] as [string, string]),
  ["light", "light"],
];

/** The printer's own firmware version (get_version's `ota` module), or null until it answers. */
const firmwareVersion = (s: PrinterState) =>
  (s.firmware.find((f) => f.module === "ota") ?? s.firmware[0])?.version ?? null;
/** AMS units as Bambu's apps letter them: A–D for AMS units 0–3, HT units (128+) as HT-A, HT-B, … */
const amsLabel = (unit: number) =>
  unit >= 128 ? `HT-${String.fromCharCode(65 + ((unit - 128) % 26))}` : String.fromCharCode(65 + (unit % 26));

/** What a printer's discovery configs depend on besides its row: sent again when this changes. */
export function deviceFacts(p: HeldPrinter): string {
  return JSON.stringify([p.state.model, firmwareVersion(p.state), humidUnits(p.state).map((u) => u.id)]);
}

/** Every discovery config of one printer: sensors (those its model and AMS have), Authorization Control and the
 * camera always, buttons and light when `commands`. */
export function discoveryConfigs(
  p: HeldPrinter,
  t: HaTopics,
  opts: { commands: boolean; version: string; publicUrl: string },
): Entity[] {
  const id = p.info.id;
  const node = t.node(id);
  const device: Record<string, unknown> = { identifiers: [node], name: p.info.name, manufacturer: "Bambu Lab" };
  const model = effectiveModel(p.state.model, p.info.serial, p.info.model).model;
  if (model) device.model = model;
  const firmware = firmwareVersion(p.state);
  if (firmware) device.sw_version = firmware;
  if (p.info.serial) device.serial_number = p.info.serial;
  if (opts.publicUrl) device.configuration_url = `${opts.publicUrl.replace(/\/$/, "")}/printers/${id}`;
  const common = (key: string) => ({
    unique_id: `${node}_${key}`,
    availability_topic: t.availability,
    device,
    origin: { name: "layerwatch", sw_version: opts.version },
  });
  const sensors = [...SENSORS];
  if (hasChamberSensor(model)) sensors.push(CHAMBER);
  for (const u of humidUnits(p.state))
    sensors.push([
      `ams_${u.id}_humidity`,
      `AMS ${amsLabel(u.id)} humidity`,
      { device_class: "humidity", unit_of_measurement: "%" },
    ]);
  const out: Entity[] = sensors.map(([key, name, extra]) => ({
    component: "sensor",
    key,
    config: {
      name,
      ...common(key),
      state_topic: t.state(id),
      value_template: `{{ value_json.${key} }}`,
      ...(Object.keys(extra).some((k) => MEASURED.has(k)) ? { state_class: "measurement" } : {}),
      ...extra,
    },
  }));
  out.push({
    component: "binary_sensor",
    key: AUTHORIZATION,
    config: {
      name: "Authorization Control",
      ...common(AUTHORIZATION),
      state_topic: t.state(id),
      value_template: `{% if value_json.${AUTHORIZATION} is none %}None{% elif value_json.${AUTHORIZATION} %}ON{% else %}OFF{% endif %}`,
      entity_category: "diagnostic",
      icon: "mdi:shield-lock",
    },
  });
  out.push({ component: "camera", key: "camera", config: { name: "Camera", ...common("camera"), topic: t.image(id) } });
  if (!opts.commands) return out;
  for (const [key, name, icon] of BUTTONS)
    out.push({
      component: "button",
      key,
      config: { name, ...common(key), icon, command_topic: t.command(id), payload_press: key },
    });
  out.push({
    component: "light",
    key: "light",
    config: {
      name: "Light",
      ...common("light"),
      command_topic: t.command(id),
      payload_on: "light_on",
      payload_off: "light_off",
      state_topic: t.state(id),
      state_value_template:
        "{% if value_json.light == 'on' %}light_on{% elif value_json.light == 'off' %}light_off{% else %}None{% endif %}",
    },
  });
  return out;
}

export function createHomeAssistantBridge(deps: {
  config: MqttConfig;
  events: EventBus;
  log: Logger;
  printers: PrinterService;
  telemetry: TelemetryService;
  currentJob: (printerId: number) => JobRow | null;
  act: (printerId: number, action: Action, user: string) => Promise<ActionResult>;
  version: string;
  publicUrl: string;
  instance: string;
  timings?: Partial<HomeAssistantTimings>;
}) {
  const { config, events, log, printers, telemetry } = deps;
  const timings = { ...DEFAULT_HA_TIMINGS, ...deps.timings };
  const parsed = parseBrokerUrl(config.url);
  if (!parsed.ok) throw new Error(`mqtt.url ${parsed.error}`); // config.ts refused it already
  const broker: BrokerUrl = parsed.value;
  const where = `${broker.tls ? "mqtts" : "mqtt"}://${broker.host}:${broker.port}`;
  const t = haTopics(config);

  let link: MqttLink | null = null;
  let running = false;
  let attempt = 0;
  let retry: ReturnType<typeof setTimeout> | undefined;
  /** Whether the last outage was logged (one warning an outage, not one a retry). */
  let downLogged = false;
  const keepalive = setInterval(() => link?.keepalive(), 5000);
  keepalive.unref?.();

  // Per printer: the last state payload sent and when, a pending send; likewise the newest picture.
  const sentState = new Map<number, { at: number; json: string }>();
  const stateTimers = new Map<number, ReturnType<typeof setTimeout>>();
  const sentFrameAt = new Map<number, number>();
  const pendingFrames = new Map<number, Uint8Array>();
  const frameTimers = new Map<number, ReturnType<typeof setTimeout>>();
  /** Printers with a command from Home Assistant awaiting its outcome. */
  const acting = new Set<number>();
  /** Per printer: the config topics last published and the device facts they were made from. */
  const sentConfigs = new Map<number, { topics: Set<string>; facts: string }>();

  const up = () => running && !!link?.connected;
  const retained = { retain: true, qos: 1 } as const;

  function publishState(id: number) {
    const p = printers.get(id);
    if (!p || !up()) return;
    const room = telemetry.latest(id).reading;
    const json = JSON.stringify(haState(p.state, room, deps.currentJob(id)));
    if (sentState.get(id)?.json === json) return;
    if (link!.publish(t.state(id), json, { retain: true })) sentState.set(id, { at: Date.now(), json });
  }
  /** Sends the printer's state now, or when its second is up: a burst of deltas becomes one message. */
  function stateChanged(id: number) {
    if (!up() || stateTimers.has(id)) return;
    const wait = (sentState.get(id)?.at ?? 0) + timings.stateEveryMs - Date.now();
    if (wait <= 0) return publishState(id);
    stateTimers.set(
      id,
      setTimeout(() => {
        stateTimers.delete(id);
        publishState(id);
      }, wait),
    );
  }
  function publishFrame(id: number, bytes: Uint8Array) {
    if (!up()) return;
    if (link!.unsentBytes > MAX_UNSENT_BYTES) return;
    if (link!.publish(t.image(id), bytes, { retain: true })) sentFrameAt.set(id, Date.now());
  }
  function frameArrived(id: number, bytes: Uint8Array) {
    if (!up()) return;
    const wait = (sentFrameAt.get(id) ?? 0) + timings.frameEveryMs - Date.now();
    if (wait <= 0 && !frameTimers.has(id)) return publishFrame(id, bytes);
    pendingFrames.set(id, bytes); // the newest waits; older ones are dropped
    if (frameTimers.has(id)) return;
    frameTimers.set(
      id,
      setTimeout(
        () => {
          frameTimers.delete(id);
          const newest = pendingFrames.get(id);
          pendingFrames.delete(id);
          if (newest) publishFrame(id, newest);
        },
        Math.max(0, wait),
      ),
    );
  }

  function publishConfigs(p: HeldPrinter) {
    if (!up()) return;
    const opts = { commands: config.commands, version: deps.version, publicUrl: deps.publicUrl };
    const topics = new Set<string>();
    for (const e of discoveryConfigs(p, t, opts)) {
      const topic = t.config(e.component, p.info.id, e.key);
      topics.add(topic);
      link!.publish(topic, JSON.stringify(e.config), retained);
    }
    // An entity no longer made (an AMS unit taken away) goes the same way.
    for (const topic of sentConfigs.get(p.info.id)?.topics ?? [])
      if (!topics.has(topic)) link!.publish(topic, "", retained);
    sentConfigs.set(p.info.id, { topics, facts: deviceFacts(p) });
    // Buttons and light made while commands were on go when they are off: an empty retained config removes them.
    if (!config.commands)
      for (const [component, key] of COMMAND_ENTITIES) link!.publish(t.config(component, p.info.id, key), "", retained);
  }
  /** A removed printer's entities and retained topics are cleared, so Home Assistant drops its device. */
  function forget(id: number) {
    const published = sentConfigs.get(id)?.topics ?? new Set<string>();
    sentConfigs.delete(id);
    sentState.delete(id);
    sentFrameAt.delete(id);
    pendingFrames.delete(id);
    clearTimeout(stateTimers.get(id));
    stateTimers.delete(id);
    clearTimeout(frameTimers.get(id));
    frameTimers.delete(id);
    if (!up()) return;
    for (const [component, key] of [
      ...[...SENSORS, CHAMBER].map(([k]) => ["sensor", k]),
      ["binary_sensor", AUTHORIZATION],
      ["camera", "camera"],
      ...COMMAND_ENTITIES,
    ] as [string, string][])
      published.add(t.config(component, id, key));
    for (const topic of published) link!.publish(topic, "", retained);
    link!.publish(t.state(id), "", { retain: true });
    link!.publish(t.image(id), "", { retain: true });
  }
  /** Everything Home Assistant needs, from the start: after each connect and when it comes back online. */
  function announceAll() {
    for (const p of printers.list()) publishConfigs(p);
    sentState.clear();
    for (const p of printers.list()) publishState(p.info.id);
  }
  async function sendNewestFrames() {
    for (const p of printers.list()) {
      const meta = telemetry.latest(p.info.id).frame;
      if (!meta || sentFrameAt.has(p.info.id)) continue;
      const row = await telemetry.frame(meta.id).catch(() => null);
      if (row && !sentFrameAt.has(p.info.id)) publishFrame(p.info.id, row.bytes);
    }
  }

  async function command(id: number, payload: string) {
    if (!config.commands) return log.warn("home assistant: a command came while mqtt.commands is off", { printer: id });
    const action = payload.trim() as Action;
    if (!HA_COMMANDS.includes(action))
      return log.warn("home assistant: unknown command ignored", { printer: id, command: payload.slice(0, 40) });
    if (!printers.get(id)) return log.warn("home assistant: a command for an unknown printer", { printer: id });
    // One at a time per printer: a button pressed again while the last press awaits its confirmation is dropped.
    if (acting.has(id))
      return log.warn("home assistant: a command is still under way; ignored", { printer: id, action });
    acting.add(id);
    try {
      const result = await deps.act(id, action, HA_USER);
      if (!result.ok) log.warn("home assistant: command not done", { printer: id, action, reason: result.reason });
    } finally {
      acting.delete(id);
    }
  }

  function connect() {
    if (!running) return;
    const socket = broker.tls
      ? tlsConnect({ host: broker.host, port: broker.port, servername: isIP(broker.host) ? undefined : broker.host })
      : tcpConnect({ host: broker.host, port: broker.port });
    let refusal: string | null = null;
    const c: MqttLink = mqttOverSocket(
      socket,
      {
        username: broker.username || undefined,
        password: broker.username ? broker.password : undefined,
        clientId: `layerwatch-${deps.instance.replace(/[^a-zA-Z0-9_-]/g, "-")}`.slice(0, 64),
        will: { topic: t.availability, payload: "offline", retain: true, qos: 1 },
        keepaliveS: 30,
        connectTimeoutMs: 10_000,
      },
      {
        connect() {
          attempt = 0;
          downLogged = false;
          log.info("home assistant: connected to the MQTT broker", { broker: where });
          c.subscribe(t.haStatus);
          // Our own availability too: the last will of an instance that held the bridge before (a power cut ends
          // its connection only after the keepalive runs out) may say offline after this one said online.
          c.subscribe(t.availability);
          if (config.commands) c.subscribe(t.commands);
          c.publish(t.availability, "online", retained);
          announceAll();
          void sendNewestFrames();
        },
        message(topic, payload) {
          if (topic === t.haStatus) {
            if (payload === "online") announceAll();
            return;
          }
          if (topic === t.availability) {
            if (payload !== "online" && up()) c.publish(t.availability, "online", retained);
            return;
          }
          const id = t.printerOfCommand(topic);
          if (id !== null)
            command(id, payload).catch((err) =>
              log.error("home assistant: a command failed", { printer: id, error: err as Error }),
            );
        },
        error(err) {
          refusal =
            err.code === 4 || err.code === 5
              ? "the broker refused the user name or password in mqtt.url"
              : (err.message ?? String(err));
        },
        close() {
          if (link === c) link = null;
          for (const timer of [...stateTimers.values(), ...frameTimers.values()]) clearTimeout(timer);
          stateTimers.clear();
          frameTimers.clear();
          pendingFrames.clear();
          sentFrameAt.clear();
          if (!running) return;
          attempt++;
          const wait = Math.min(timings.backoffMaxMs, timings.backoffMinMs * 2 ** Math.min(attempt - 1, 10));
          if (!downLogged) {
            downLogged = true;
            log.warn("home assistant: the MQTT broker is not reachable; retrying", {
              broker: where,
              reason: refusal ?? "closed",
            });
          }
          retry = setTimeout(connect, wait);
        },
      },
      broker.tls ? "secureConnect" : "connect",
    );
    link = c;
  }

  // This instance's and other instances' events alike: the bridge shows every printer, wherever its link runs.
  const onState = ({ printerId }: { printerId: number }) => {
    // The model, firmware or AMS units became known or changed: the device and its entities are announced again.
    const p = printers.get(printerId);
    const sent = sentConfigs.get(printerId);
    if (p && sent && up() && sent.facts !== deviceFacts(p)) publishConfigs(p);
    stateChanged(printerId);
  };
  const onReading = ({ printer_id }: { printer_id: number }) => stateChanged(printer_id);
  const onJob = ({ job }: { job: JobRow }) => stateChanged(job.printer_id);
  const onFrame = ({ printer_id, bytes }: { printer_id: number; bytes: Uint8Array }) => frameArrived(printer_id, bytes);
  const onPrinters = ({ printerId, removed }: { printerId: number; removed?: boolean }) => {
    if (removed) return forget(printerId);
    const p = printers.get(printerId);
    if (p && up()) {
      publishConfigs(p);
      publishState(printerId);
    }
  };

  return {
    /** Connects and keeps connecting (with backoff) until stopped. */
    start() {
      if (running) return;
      running = true;
      events.on("printerState", onState, { remote: true });
      events.on("reading", onReading, { remote: true });
      events.on("job", onJob, { remote: true });
      events.on("frame", onFrame, { remote: true });
      events.on("printersChanged", onPrinters, { remote: true });
      connect();
    },
    /** Says offline (the will is for crashes) and lets go of the broker. */
    async stop() {
      if (!running) return;
      running = false;
      events.off("printerState", onState);
      events.off("reading", onReading);
      events.off("job", onJob);
      events.off("frame", onFrame);
      events.off("printersChanged", onPrinters);
      clearTimeout(retry);
      const c = link;
      link = null;
      if (c?.connected && c.publish(t.availability, "offline", retained))
        await Promise.race([c.acked(), Bun.sleep(1000)]);
      c?.end();
    },
    /** Stops for good (the app is stopping). */
    async close() {
      clearInterval(keepalive);
      await this.stop();
    },
    get connected() {
      return up();
    },
  };
}

export type HomeAssistantBridge = ReturnType<typeof createHomeAssistantBridge>;
