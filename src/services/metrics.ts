// Owns what /metrics reports: each printer's state, progress, temperatures and room, its LAN link and devices, jobs by
// outcome, notification deliveries, store, socket and process figures, gathered at each scrape as metric families.
// Nothing is held: printers and rooms are read from the services' held state, counts from the database.

import { parseTarget } from "../notify/targets.ts";
import type { LanState } from "../printer-state.ts";
import type { MetricFamily, Sample } from "../prometheus.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { DeviceSource, PrinterService } from "./printers.ts";
import type { TelemetryService } from "./telemetry.ts";

/** gcode_state values Bambu printers report (PRINTERS.md §4); anything else (or nothing) counts as "unknown". */
export const PRINTER_STATES = [
  "IDLE",
  "PREPARE",
  "RUNNING",
  "PAUSE",
  "FINISH",
  "FAILED",
  "INIT",
  "SLICING",
  "OFFLINE",
  "unknown",
] as const;
const OUTCOMES = ["running", "finished", "failed", "cancelled"] as const;
const DELIVERY_STATUSES = ["pending", "sent", "failed"] as const;
const DEVICE_SOURCES: readonly DeviceSource[] = ["never", "online", "stale"];
const LAN_STATES = ["off", "connecting", "connected", "auth_failed", "tls_mismatch", "error"] as const;
// A LAN state added to printer-state.ts and missing here fails the type check.
const everyLanState: Exclude<LanState, (typeof LAN_STATES)[number]> extends never ? true : never = true;
void everyLanState;

export type MetricsDeps = {
  store: AsyncStore;
  printers: PrinterService;
  telemetry: Pick<TelemetryService, "latest">;
  /** Socket.IO connections: all, and those that are devices (the rest are viewers). */
  sockets: { all: () => number; devices: () => number; ofPrinter: (printerId: number) => number };
  /** Bytes of the print archive and the timelapse videos. */
  storage: () => Promise<{ archive: number; media: number }>;
  info: { version: string; commit: string; instance: string };
  startedAt: number;
};

const seconds = (ms: number | null | undefined) => (typeof ms === "number" ? ms / 1000 : null);

export function createMetrics(deps: MetricsDeps) {
  const { store, printers, telemetry } = deps;

  async function collect(): Promise<MetricFamily[]> {
    const list = printers.list().sort((a, b) => a.info.id - b.info.id);
    const [jobCounts, deliveryCounts, deviceCounts, targets, dbBytes, healthy, storage] = await Promise.all([
      store.figures.jobCounts(),
      store.figures.deliveryCounts(),
      store.figures.deviceCounts(),
      store.notify.targets(),
      store.figures.databaseBytes(),
      store.healthy(),
      deps.storage(),
    ]);
    const names = new Map(list.map((p) => [p.info.id, p.info.name]));
    const who = (id: number) => ({ printer_id: id, printer: names.get(id) ?? "" });
    /** One sample per printer. */
    const each = (value: (p: (typeof list)[number]) => number | null | undefined): Sample[] =>
      list.map((p) => ({ labels: who(p.info.id), value: value(p) }));
    /** A state set: one sample per possible value, 1 for the current one. */
    const stateSet = <V extends string>(
      label: string,
      values: readonly V[],
      current: (p: (typeof list)[number]) => V,
    ) =>
      list.flatMap((p) => {
        const now = current(p);
        return values.map((v) => ({ labels: { ...who(p.info.id), [label]: v }, value: v === now ? 1 : 0 }));
      });
    const room = (p: (typeof list)[number]) => telemetry.latest(p.info.id).reading;
    const jobs = new Map(jobCounts.map((c) => [`${c.printer_id}:${c.outcome}`, c.n]));
    const devices = new Map(deviceCounts.map((c) => [c.printer_id, c.n]));
    const deliveries = new Map(deliveryCounts.map((c) => [`${c.target_id}:${c.status}`, c.n]));
    const kindOf = (url: string) => {
      const parsed = parseTarget(url);
      return parsed.ok ? parsed.target.kind : "invalid";
    };
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    const all = deps.sockets.all();
    const deviceSockets = deps.sockets.devices();

    const g = (name: string, help: string, samples: Sample[]): MetricFamily => ({ name, type: "gauge", help, samples });
    return [
      g("layerwatch_info", "This layerwatch: version, commit, database engine and instance id (always 1).", [
        { labels: { ...deps.info, engine: store.engine }, value: 1 },
      ]),
      g(
        "layerwatch_printer_info",
        "Each printer: its id, name and model (always 1).",
        list.map((p) => ({ labels: { ...who(p.info.id), model: p.info.model }, value: 1 })),
      ),
      g(
        "layerwatch_printer_state",
        "The printer's gcode_state (a state set: 1 for the current state, 0 for the others).",
        stateSet("state", PRINTER_STATES, (p) => {
          const s = p.state.gcode_state;
          return (PRINTER_STATES as readonly string[]).includes(s ?? "")
            ? (s as (typeof PRINTER_STATES)[number])
            : "unknown";
        }),
      ),
      g(
        "layerwatch_printer_progress_ratio",
        "Progress of the current print, 0 to 1.",
        each((p) => (p.state.percent === null ? null : p.state.percent / 100)),
      ),
      g(
        "layerwatch_printer_layer",
        "The layer being printed.",
        each((p) => p.state.layer),
      ),
      g(
        "layerwatch_printer_total_layers",
        "Layers of the current print.",
        each((p) => p.state.total_layers),
      ),
      g(
        "layerwatch_printer_remaining_seconds",
        "Time the printer expects the print still needs.",
        each((p) => (p.state.remaining_min === null ? null : p.state.remaining_min * 60)),
      ),
      g(
        "layerwatch_printer_nozzle_temperature_celsius",
        "Nozzle temperature.",
        each((p) => p.state.nozzle_temp),
      ),
      g(
        "layerwatch_printer_nozzle_target_temperature_celsius",
        "Nozzle target temperature.",
        each((p) => p.state.nozzle_target),
      ),
      g(
        "layerwatch_printer_bed_temperature_celsius",
        "Bed temperature.",
        each((p) => p.state.bed_temp),
      ),
      g(
        "layerwatch_printer_bed_target_temperature_celsius",
        "Bed target temperature.",
        each((p) => p.state.bed_target),
      ),
      g(
        "layerwatch_printer_state_updated_timestamp_seconds",
        "When the printer's state last changed (Unix time).",
        each((p) => (p.state.updated_at ? seconds(p.state.updated_at) : null)),
      ),
      g(
        "layerwatch_room_temperature_celsius",
        "The room's newest temperature reading.",
        each((p) => room(p)?.temperature),
      ),
      g(
        "layerwatch_room_humidity_ratio",
        "The room's newest relative humidity reading, 0 to 1.",
        each((p) => {
          const r = room(p);
          return r ? r.humidity / 100 : null;
        }),
      ),
      g(
        "layerwatch_room_reading_timestamp_seconds",
        "When the room's newest reading was taken (Unix time).",
        each((p) => seconds(room(p)?.recorded_at)),
      ),
      g(
        "layerwatch_jobs",
        "Prints stored, by outcome.",
        list.flatMap((p) =>
          OUTCOMES.map((o) => ({
            labels: { ...who(p.info.id), outcome: o },
            value: jobs.get(`${p.info.id}:${o}`) ?? 0,
          })),
        ),
      ),
      g(
        "layerwatch_printer_lan_state",
        "The printer's LAN (MQTT) link state (a state set; off = no LAN address, or not this instance's link).",
        stateSet("state", LAN_STATES, (p) => p.lan.state),
      ),
      {
        name: "layerwatch_printer_lan_reconnects_total",
        type: "counter",
        help: "Times the LAN link reconnected since it started.",
        samples: each((p) => p.lan.reconnects),
      },
      g(
        "layerwatch_printer_lan_last_message_timestamp_seconds",
        "When the printer last sent a report over the LAN (Unix time).",
        each((p) => seconds(p.lan.last_message_at)),
      ),
      g(
        "layerwatch_printer_devices",
        "Camera devices registered for the printer.",
        each((p) => devices.get(p.info.id) ?? 0),
      ),
      g(
        "layerwatch_printer_devices_connected",
        "Camera devices connected to this instance for the printer.",
        each((p) => deps.sockets.ofPrinter(p.info.id)),
      ),
      g(
        "layerwatch_printer_device_source",
        "Whether the printer's camera devices report (a state set: never, online, stale).",
        stateSet("source", DEVICE_SOURCES, (p) => printers.deviceSource(p)),
      ),
      g(
        "layerwatch_notification_deliveries",
        "Notification deliveries in the delivery log (the newest per target), by status.",
        targets.flatMap((t) =>
          DELIVERY_STATUSES.map((s) => ({
            labels: { target_id: t.id, kind: kindOf(t.url), status: s },
            value: deliveries.get(`${t.id}:${s}`) ?? 0,
          })),
        ),
      ),
      g(
        "layerwatch_notification_target_failures",
        "Deliveries to the target that failed in a row (0 after a success).",
        targets.map((t) => ({ labels: { target_id: t.id, kind: kindOf(t.url) }, value: t.failures })),
      ),
      g("layerwatch_store_up", "Whether the database answers (1) or not (0).", [{ value: healthy ? 1 : 0 }]),
      g("layerwatch_store_size_bytes", "Bytes the database takes.", [
        { labels: { engine: store.engine }, value: dbBytes },
      ]),
      g("layerwatch_archive_bytes", "Bytes of archived print frames.", [{ value: storage.archive }]),
      g("layerwatch_media_bytes", "Bytes of timelapse videos.", [{ value: storage.media }]),
      g("layerwatch_socket_connections", "Socket.IO connections to this instance, by kind.", [
        { labels: { kind: "device" }, value: deviceSockets },
        { labels: { kind: "viewer" }, value: Math.max(0, all - deviceSockets) },
      ]),
      g("process_resident_memory_bytes", "Resident memory size in bytes.", [{ value: memory.rss }]),
      g("layerwatch_js_heap_used_bytes", "JavaScript heap in use.", [{ value: memory.heapUsed }]),
      g("layerwatch_js_heap_size_bytes", "JavaScript heap size.", [{ value: memory.heapTotal }]),
      {
        name: "process_cpu_seconds_total",
        type: "counter",
        help: "Total user and system CPU time spent in seconds.",
        samples: [{ value: (cpu.user + cpu.system) / 1e6 }],
      },
      g("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", [
        { value: deps.startedAt / 1000 },
      ]),
    ];
  }

  return { collect };
}

export type Metrics = ReturnType<typeof createMetrics>;
