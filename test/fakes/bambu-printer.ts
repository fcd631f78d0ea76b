// A fake Bambu Lab A1 in LAN mode, over real sockets: an MQTT 3.1.1 broker behind TLS 1.2 (aedes), the
// port-6000 camera, and FTPS on its own port (ftps-server.ts) for sent files. It behaves as PRINTERS.md §4 and §9
// describe the real firmware, so integration tests and the benchmark exercise the same code paths a real printer
// would. One scripted print at a time.

import { once } from "node:events";
import { createServer, type Server, type TLSSocket } from "node:tls";
import { Aedes, type AuthenticateError } from "aedes";
import { type CameraStats, type FakeCamera, startFakeCamera, TLS12 } from "./bambu-camera.ts";
import { type Cert, makeCert } from "./certs.ts";
import { type FakeFtps, startFakeFtps } from "./ftps-server.ts";

export type Hms = { attr: number; code: number };
export type GcodeState = "IDLE" | "PREPARE" | "RUNNING" | "PAUSE" | "FINISH" | "FAILED" | (string & {});

/** `%04X_%04X_%04X_%04X` of attr>>16, attr&0xFFFF, code>>16, code&0xFFFF, as the Bambu apps print it. */
export function hmsToString({ attr, code }: Hms): string {
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");
  return [attr >>> 16, attr & 0xffff, code >>> 16, code & 0xffff].map(hex).join("_");
}
export function hmsFromString(text: string): Hms {
  const [a, b, c, d] = text.split("_").map((part) => Number.parseInt(part, 16)) as [number, number, number, number];
  return { attr: a * 0x10000 + b, code: c * 0x10000 + d };
}
/** print_error of a print cancelled by the user. */
export const CANCELLED = 50348044;
/** Raised when Authorization Control drops a command because Developer Mode is off. */
export const DEV_MODE_HMS = hmsFromString("0500_0500_0001_0007");
/** Default HMS of a scripted failure: 0700_2000_0002_0001 (AMS slot filament ran out; severity 2). */
export const FAIL_HMS = hmsFromString("0700_2000_0002_0001");

// An idle A1's full state, shaped like a real A1 pushall (values as in ha-bambulab's A1 test data).
const PROGRESS = { gcode_state: "IDLE" as GcodeState, mc_percent: 0, mc_remaining_time: 0, layer_num: 0 };
const JOB = { total_layer_num: 0, subtask_name: "", gcode_file: "", stg_cur: 0, spd_lvl: 2, print_error: 0 };
const TEMPS = {
  nozzle_temper: 27.8,
  nozzle_target_temper: 0,
  bed_temper: 29.7,
  bed_target_temper: 0,
  chamber_temper: 5,
};
const FANS = { cooling_fan_speed: "0", big_fan1_speed: "0", big_fan2_speed: "0", heatbreak_fan_speed: "0" };
const MISC = { hms: [] as Hms[], lights_report: [{ node: "chamber_light", mode: "off" }], wifi_signal: "-48dBm" };
const IDLE_A1 = { ...PROGRESS, ...JOB, ...TEMPS, ...FANS, ...MISC, sequence_id: "0" };
export type PrinterState = typeof IDLE_A1 & { [extra: string]: unknown };

export type FakePrinterOptions = {
  serial?: string; // default: a unique serial per printer in this process, of no model's prefix
  accessCode?: string; // default "12345678"
  commandDelayMs?: number; // delay before a command's effect goes out as a delta (default 100)
  frameIntervalMs?: number; // camera frame interval (default 1000)
  frameBytes?: number; // pad camera JPEGs to about this size (default: ~0.7 kB)
  authorizationControl?: boolean; // control commands dropped, DEV_MODE_HMS raised; status still works
  dropCommands?: boolean; // commands swallowed with no state change and no HMS
  pushallDelayMs?: number; // answer a pushall this late (default 0): progress deltas may come first
  state?: Partial<PrinterState>; // initial state on top of an idle A1
  report?: Record<string, unknown>; // the whole initial state instead (a real model's pushall, replayed as is)
  /**
   * get_version's module list; null = firmware that never answers it. The default names no model (firmware
   * only), so the model configured for the fake is the one shown, as with the default serial.
   */
  modules?: Record<string, unknown>[] | null;
  sdCard?: boolean; // default true; without a card FTPS STOR is answered 553
  ignoreProjectFile?: boolean; // project_file is swallowed: the print never starts
  sentPrint?: { layers: number; stepMs: number }; // how a print started by project_file runs (default 4 layers, 150 ms)
};
/** A get_version answer that names no model: the firmware of the printer and of an AMS lite. */
export const FIRMWARE_ONLY = [
  { name: "ota", product_name: "", sw_ver: "01.04.00.00", hw_ver: "OTA", sn: "", visible: true, flag: 3 },
  { name: "ams_f1/0", product_name: "AMS lite", sw_ver: "00.00.07.89", hw_ver: "AMS_F102", sn: "", flag: 0 },
];
export type RunPrintOptions = {
  name: string;
  layers: number;
  stepMs: number;
  outcome?: "finish" | "fail" | "cancel"; // default "finish"
  hms?: Hms[]; // HMS list of a "fail" (default [FAIL_HMS])
  file?: string; // gcode_file (default `${name}.gcode.3mf`)
};
export type Violation = { kind: "subscribe-request" | "bad-json"; detail: string; at: number };
type Message = Record<string, Record<string, unknown> | undefined>;

let serialCounter = 0;

/** MQTT filter matching: `+` is one level, `#` the rest. */
function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

/** Start a fake printer: MQTT and camera listen on 127.0.0.1, ports chosen by the OS. */
export const startFakePrinter = (opts: FakePrinterOptions = {}) => new FakePrinter(opts).start(opts);

export class FakePrinter {
  readonly serial: string;
  readonly accessCode: string;
  readonly reportTopic: string;
  readonly requestTopic: string;
  mqttPort = 0;
  cameraPort = 0;
  readonly state: PrinterState;
  readonly commands: unknown[] = []; // every parsed non-pushing message on the request topic, in order
  readonly violations: Violation[] = [];
  readonly pushallTimes: number[] = []; // Date.now() of each pushall
  startCount = 0; // {"pushing":{"command":"start"}} received
  versionRequests = 0; // {"info":{"command":"get_version"}} received
  connectCount = 0; // successful MQTT connections
  authFailures = 0; // CONNACKs refused
  readonly modes: {
    authorizationControl: boolean;
    dropCommands: boolean;
    commandDelayMs: number;
    pushallDelayMs: number;
  };
  modules: Record<string, unknown>[] | null;
  camera: Readonly<CameraStats> = { connections: 0, rejected: 0, frames: 0, active: 0 };
  ftpsPort = 0;
  ftps!: FakeFtps;
  /** The project_file commands received, in order. */
  readonly projectFiles: Record<string, unknown>[] = [];
  private readonly sent: { ignore: boolean; layers: number; stepMs: number };

  private cert: Cert;
  private certVariant = 0;
  /** FTPS's own certificate once changeFtpsCertificate gave it one (else the printer's). */
  private ftpsCert: Cert | null = null;
  private sequence = 0;
  private closed = false;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly sockets = new Set<TLSSocket>();
  private broker!: Aedes;
  private server!: Server;
  private cameraServer!: FakeCamera;

  constructor(opts: FakePrinterOptions) {
    // "LWF" is no model's prefix (bambu-models.ts): the fake is the model its test configures.
    this.serial = opts.serial ?? `LWF0000000${String(++serialCounter).padStart(5, "0")}`;
    this.accessCode = opts.accessCode ?? "12345678";
    this.reportTopic = `device/${this.serial}/report`;
    this.requestTopic = `device/${this.serial}/request`;
    this.modes = {
      authorizationControl: opts.authorizationControl ?? false,
      dropCommands: opts.dropCommands ?? false,
      commandDelayMs: opts.commandDelayMs ?? 100,
      pushallDelayMs: opts.pushallDelayMs ?? 0,
    };
    // fun bit 0x20000000: Developer Mode is off, so control commands (and starting prints) need signing.
    const fun = (0x3ec18fff9cffn | (opts.authorizationControl ? 0x20000000n : 0n)).toString(16).toUpperCase();
    const lan = { fun, nozzle_diameter: "0.4", sdcard: opts.sdCard ?? true, s_obj: [] as number[] };
    this.state = opts.report
      ? (structuredClone(opts.report) as PrinterState)
      : { ...structuredClone(IDLE_A1), ...lan, ...structuredClone(opts.state ?? {}) };
    this.modules = opts.modules === undefined ? FIRMWARE_ONLY : opts.modules;
    this.sent = {
      ignore: opts.ignoreProjectFile ?? false,
      layers: opts.sentPrint?.layers ?? 4,
      stepMs: opts.sentPrint?.stepMs ?? 150,
    };
    this.cert = makeCert(this.serial);
  }

  get fingerprint256(): string {
    return this.cert.fingerprint256; // of the certificate new connections get
  }
  get pushallCount(): number {
    return this.pushallTimes.length;
  }
  get clientsConnected(): number {
    return this.broker.connectedClients;
  }

  async start(opts: FakePrinterOptions): Promise<this> {
    this.broker = await Aedes.createBroker({
      heartbeatInterval: 3_600_000, // no $SYS chatter during tests
      authenticate: (_client, username, password, done) => {
        if (username === "bblp" && password?.toString() === this.accessCode) {
          this.connectCount++; // counted here, before the CONNACK goes out, so a client never sees it lag
          return done(null, true);
        }
        this.authFailures++;
        // A real printer answers a wrong access code with CONNACK 5 "not authorized" (pybambu treats
        // 5 as "access denied: check serial, access code and IP"; Paho Java users report "(5)").
        done(Object.assign(new Error("wrong access code"), { returnCode: 5 }) as AuthenticateError, null);
      },
      authorizeSubscribe: (client, sub, done) => {
        if (!filterMatches(sub.topic, this.requestTopic)) return done(null, sub);
        // P1/A1 firmware drops a client that subscribes to its request topic.
        this.violations.push({ kind: "subscribe-request", detail: sub.topic, at: Date.now() });
        client.close();
        done(new Error("subscribed to the request topic"));
      },
    });
    this.broker.on("publish", (packet, client) => {
      if (client && packet.topic === this.requestTopic) this.onRequest(packet.payload.toString());
    });
    this.server = await this.listen(0);
    this.mqttPort = (this.server.address() as { port: number }).port;
    const { frameIntervalMs: intervalMs = 1000, frameBytes } = opts;
    this.cameraServer = await startFakeCamera({ accessCode: this.accessCode, cert: this.cert, intervalMs, frameBytes });
    this.cameraPort = this.cameraServer.port;
    this.camera = this.cameraServer.stats;
    this.ftps = await startFakeFtps({ accessCode: this.accessCode, cert: this.cert, sdCard: opts.sdCard ?? true });
    this.ftpsPort = this.ftps.port;
    return this;
  }

  private async listen(port: number): Promise<Server> {
    const server = createServer({ cert: this.cert.cert, key: this.cert.key, ...TLS12 }, (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      this.broker.handle(socket);
    });
    server.on("tlsClientError", () => {}); // e.g. a TLS 1.3-only client: refused, nothing to report
    await once(server.listen(port, "127.0.0.1"), "listening"); // rejects on "error", e.g. EADDRINUSE
    return server;
  }

  private publish(print: Record<string, unknown>, msg: 0 | 1): void {
    this.state.sequence_id = String(++this.sequence);
    const body = { print: { ...print, command: "push_status", msg, sequence_id: this.state.sequence_id } };
    const packet = { cmd: "publish", topic: this.reportTopic, payload: Buffer.from(JSON.stringify(body)) } as const;
    this.broker.publish({ ...packet, qos: 0, retain: false, dup: false }, () => {});
  }

  /** A refused unsigned command is echoed back with err_code 84033543 ("mqtt message verify failed"). */
  private echoRefusal(print: Record<string, unknown> | undefined): void {
    if (this.closed || typeof print?.command !== "string") return;
    const echo = { command: print.command, sequence_id: print.sequence_id, err_code: 84033543, result: "failed" };
    const payload = Buffer.from(JSON.stringify({ print: echo }));
    this.broker.publish(
      { cmd: "publish", topic: this.reportTopic, payload, qos: 0, retain: false, dup: false },
      () => {},
    );
  }

  /** Sends a report exactly as given (a real model's delta, replayed); its top-level keys join the state. */
  report(print: Record<string, unknown>): void {
    if (this.closed) return;
    Object.assign(this.state, structuredClone(print));
    const packet = {
      cmd: "publish",
      topic: this.reportTopic,
      payload: Buffer.from(JSON.stringify({ print })),
    } as const;
    this.broker.publish({ ...packet, qos: 0, retain: false, dup: false }, () => {});
  }

  /** Merge into the state and send only what changed, as A1/P1 firmware does. */
  set(partial: Partial<PrinterState>): void {
    if (this.closed) return;
    const changed: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(partial)) {
      if (JSON.stringify(this.state[key]) === JSON.stringify(value)) continue;
      this.state[key] = structuredClone(value);
      changed[key] = value;
    }
    if (Object.keys(changed).length > 0) this.publish(changed, 1);
  }

  private later(fn: () => void): void {
    const timer = setTimeout(() => this.timers.delete(timer) && fn(), this.modes.commandDelayMs);
    this.timers.add(timer);
  }

  /** The state change a control command causes, or undefined when it is not a control command. */
  private effectOf({ print, system }: Message): Partial<PrinterState> | undefined {
    if (print?.command === "pause") return { gcode_state: "PAUSE", stg_cur: 16 };
    if (print?.command === "resume") return { gcode_state: "RUNNING", stg_cur: 0 };
    if (print?.command === "stop") return { gcode_state: "FAILED", print_error: CANCELLED };
    if (print?.command === "gcode_line") return {};
    if (print?.command === "print_speed") {
      const level = Number(print.param);
      return [1, 2, 3, 4].includes(level) ? { spd_lvl: level } : {};
    }
    if (system?.command === "ledctrl" && system.led_node === "chamber_light") {
      return { lights_report: [{ node: "chamber_light", mode: system.led_mode === "on" ? "on" : "off" }] };
    }
    return undefined;
  }

  private onRequest(text: string): void {
    let message: Message;
    try {
      message = JSON.parse(text);
    } catch {
      this.violations.push({ kind: "bad-json", detail: text.slice(0, 200), at: Date.now() });
      return;
    }
    if (message.pushing?.command === "pushall") {
      this.pushallTimes.push(Date.now());
      const answer = () => this.publish({ ...this.state }, 0);
      if (!this.modes.pushallDelayMs) answer();
      else {
        const timer = setTimeout(() => this.timers.delete(timer) && answer(), this.modes.pushallDelayMs);
        this.timers.add(timer);
      }
      return;
    }
    if (message.pushing?.command === "start") {
      this.startCount++;
      return;
    }
    if (message.info?.command === "get_version") {
      this.versionRequests++;
      if (!this.modules) return;
      const info = { command: "get_version", sequence_id: message.info.sequence_id, module: this.modules };
      const packet = { cmd: "publish", topic: this.reportTopic, payload: Buffer.from(JSON.stringify({ info })) };
      this.broker.publish(
        { ...(packet as { cmd: "publish"; topic: string; payload: Buffer }), qos: 0, retain: false, dup: false },
        () => {},
      );
      return;
    }
    this.commands.push(message);
    if (message.print?.command === "project_file") return void this.onProjectFile(message.print);
    if (message.print?.command === "skip_objects") return void this.onSkip(message.print);
    const effect = this.effectOf(message);
    if (!effect || this.modes.dropCommands) return;
    // Under Authorization Control the command is dropped and only the HMS tells the user why.
    const raised = this.state.hms.some((h) => hmsToString(h) === hmsToString(DEV_MODE_HMS));
    const refused = raised ? {} : { hms: [...this.state.hms, DEV_MODE_HMS] };
    if (this.modes.authorizationControl) this.echoRefusal(message.print);
    this.later(() => this.set(this.modes.authorizationControl ? refused : effect));
  }

  /** Authorization Control drops it (HMS raised once); otherwise the effect after the command delay. */
  private obey(effect: () => void): void {
    if (this.modes.dropCommands) return;
    if (this.modes.authorizationControl) {
      const raised = this.state.hms.some((h) => hmsToString(h) === hmsToString(DEV_MODE_HMS));
      if (!raised) this.later(() => this.set({ hms: [...this.state.hms, DEV_MODE_HMS] }));
      return;
    }
    this.later(effect);
  }

  /** Starts the named file's print, as the firmware does, when it is on the SD card (`ftp://name`). */
  private onProjectFile(print: Record<string, unknown>): void {
    this.projectFiles.push(print);
    if (this.sent.ignore) return;
    const url = String(print.url ?? "");
    const name = url.replace(/^(ftp:\/\/\/?|file:\/\/\/sdcard\/)/, "");
    if (!this.ftps.files.has(name)) return;
    const subtask = String(print.subtask_name ?? name);
    this.obey(() => {
      this.set({ s_obj: [] });
      void this.runPrint({ name: subtask, file: name, layers: this.sent.layers, stepMs: this.sent.stepMs });
    });
  }

  /** Adds the objects to the skipped list (`s_obj`) while a print runs. */
  private onSkip(print: Record<string, unknown>): void {
    const list = Array.isArray(print.obj_list) ? print.obj_list.filter((n) => Number.isInteger(n)) : [];
    if (!["RUNNING", "PAUSE"].includes(this.state.gcode_state)) return;
    const skipped = this.state.s_obj as number[];
    this.obey(() => this.set({ s_obj: [...new Set([...skipped, ...list])] }));
  }

  /** IDLE → PREPARE → RUNNING → layer deltas → FINISH, or FAILED with an HMS, or FAILED as cancelled.
   *  A client's pause holds the script; a client's stop ends it. */
  async runPrint(o: RunPrintOptions): Promise<void> {
    const step = () => Bun.sleep(o.stepMs);
    const outcome = o.outcome ?? "finish";
    const lastLayer = outcome === "finish" ? o.layers : Math.max(1, Math.floor(o.layers / 2));
    const cool = { nozzle_target_temper: 0, bed_target_temper: 0 };
    if (this.state.gcode_state !== "IDLE") {
      this.set({ gcode_state: "IDLE", stg_cur: 0, print_error: 0 });
      await step();
    }
    const job = { subtask_name: o.name, gcode_file: o.file ?? `${o.name}.gcode.3mf`, total_layer_num: o.layers };
    const fresh = { layer_num: 0, mc_percent: 0, mc_remaining_time: o.layers, print_error: 0, hms: [] };
    const heat = { stg_cur: 2, nozzle_target_temper: 220, bed_target_temper: 65 }; // stage 2: heatbed preheating
    this.set({ gcode_state: "PREPARE", ...heat, ...job, ...fresh });
    await step();
    this.set({ nozzle_temper: 220, bed_temper: 65, stg_cur: 1 });
    await step();
    this.set({ gcode_state: "RUNNING", stg_cur: 0 });
    for (let layer = 1; layer <= lastLayer; layer++) {
      await step();
      while (this.state.gcode_state === "PAUSE" && !this.closed) await step();
      if (this.state.gcode_state !== "RUNNING" || this.closed) return; // stopped by a client, or closed
      // Progress deltas carry no temperatures: a client that replaces instead of merging loses them.
      const percent = Math.floor((layer * 100) / o.layers);
      this.set({ layer_num: layer, mc_percent: percent, mc_remaining_time: o.layers - layer });
    }
    await step();
    if (outcome === "finish") this.set({ gcode_state: "FINISH", mc_percent: 100, mc_remaining_time: 0, ...cool });
    else if (outcome === "fail") this.set({ gcode_state: "FAILED", hms: o.hms ?? [FAIL_HMS], ...cool });
    else this.set({ gcode_state: "FAILED", print_error: CANCELLED, ...cool });
  }

  /** Drop every MQTT connection and the listener, stay down `downMs`, listen again on the same port. */
  async restartBroker(downMs = 0): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
    if (downMs > 0) await Bun.sleep(downMs);
    this.server = await this.listen(this.mqttPort);
  }

  /** Takes no MQTT connections any more (connection refused), as a printer bound to farm software does. */
  async refuseConnections(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Takes connections again on the same port, after refuseConnections. */
  async acceptConnections(): Promise<void> {
    this.server = await this.listen(this.mqttPort);
  }

  /** New connections (MQTT and camera) get another certificate; open ones keep theirs. */
  changeCertificate(): void {
    this.cert = makeCert(this.serial, ++this.certVariant);
    // The versions must be repeated: without them Bun's new context accepts TLS 1.3 again.
    this.server.setSecureContext({ cert: this.cert.cert, key: this.cert.key, ...TLS12 });
    this.cameraServer.setCert(this.cert);
  }

  /** New FTPS connections alone get another certificate (one unlike the MQTT port's, or a machine in the middle). */
  changeFtpsCertificate(): Cert {
    this.ftpsCert = makeCert(`${this.serial}-ftps`, ++this.certVariant);
    this.ftps.setCert(this.ftpsCert);
    return this.ftpsCert;
  }
  /** Of the certificate new FTPS connections get. */
  get ftpsFingerprint256(): string {
    return (this.ftpsCert ?? this.cert).fingerprint256;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([
      new Promise((resolve) => this.server.close(resolve)),
      this.cameraServer.close(),
      this.ftps.close(),
    ]);
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
  }
}
