// Owns the LAN side of every printer: one MQTT link per printer with an address, and its built-in camera
// while someone watches it or a print runs. Reports go to the printers service, frames to telemetry; it
// knows nothing of pages, jobs or notifications. Held state (links, cameras) is owned under each printer's lease:
// a printer's link and camera run only while `owns` says this instance holds it (always, on SQLite).
import type { EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import { ACTIVE_STATES, type BambuPrint } from "../printer-state.ts";
import { CHAMBER_CAMERA_MODELS } from "../services/printer-setup.ts";
import type { PrinterService } from "../services/printers.ts";
import type { TelemetryService } from "../services/telemetry.ts";
import type { PrinterRow } from "../store/store.ts";
import { startCameraStream } from "./camera-link.ts";
import { createPrinterLink, DEFAULT_TIMINGS, type LanTimings, type PrinterLink } from "./printer-link.ts";

type Camera = { stop(): void; storedAt: number; failures: number; retryAt: number };
/** While someone watches, a camera frame is kept at most this often (the SD card's sake). */
const WATCHED_FRAME_MS = 2000;

export function createLan(deps: {
  printers: PrinterService;
  telemetry: TelemetryService;
  events: EventBus;
  log: Logger;
  /** Is anyone looking at this printer (its page or the overview)? */
  watched: (printerId: number) => boolean;
  /** The device row a printer's own camera frames are stored under. */
  cameraDevice: (printerId: number) => Promise<number>;
  imageDelayMs: () => number;
  /** Does this instance hold the printer's link (its lease)? */
  owns?: (printerId: number) => boolean;
  timings?: Partial<LanTimings>;
  /** Each report's `print` object (printer-link.ts). */
  onReport?: (printerId: number, print: BambuPrint) => void;
}) {
  const owns = deps.owns ?? (() => true);
  const { printers, log } = deps;
  const timings = { ...DEFAULT_TIMINGS, ...deps.timings };
  const links = new Map<number, PrinterLink>();
  const cameras = new Map<number, Camera>();

  /** Each restart of a printer's link, counted: one that finds a newer restart (or a stop) when its read is back stops. */
  const restarts = new Map<number, number>();
  let stopped = false;
  function restart(printerId: number) {
    links.get(printerId)?.stop();
    links.delete(printerId);
    stopCamera(printerId);
    const turn = (restarts.get(printerId) ?? 0) + 1;
    restarts.set(printerId, turn);
    void printers
      .connectionOf(printerId)
      .then((row) => {
        if (stopped || restarts.get(printerId) !== turn || !row?.host || !owns(printerId)) return;
        const link = createPrinterLink(printerId, { printers, log, timings, onReport: deps.onReport });
        links.set(printerId, link);
        link.start();
      })
      .catch((err) => log.error("starting a printer's link failed", { printer: printerId, error: err as Error }));
  }

  function stopCamera(printerId: number) {
    cameras.get(printerId)?.stop();
    cameras.delete(printerId);
  }

  /** Holds the camera's place at once (the timer must not start it twice), then reads the access code. */
  function startCamera(printerId: number) {
    const cam: Camera = { stop: () => {}, storedAt: 0, failures: 0, retryAt: 0 };
    const prior = cameras.get(printerId);
    cam.failures = prior?.failures ?? 0;
    cameras.set(printerId, cam);
    void printers
      .connectionOf(printerId)
      .then((row) => {
        if (row && cameras.get(printerId) === cam) openCamera(printerId, cam, row);
      })
      .catch((err) => log.error("starting a printer camera failed", { printer: printerId, error: err as Error }));
  }

  function openCamera(printerId: number, cam: Camera, row: PrinterRow) {
    const stream = startCameraStream({
      host: row.host,
      port: row.camera_port,
      accessCode: row.access_code,
      pin:
        row.tls_fingerprint && row.tls === "pin"
          ? { mode: "pinned", fingerprint: row.tls_fingerprint, onMismatch: () => {} }
          : { mode: "learn", onSeen: () => {} },
      onFrame: (jpeg) => {
        if (cam.failures || printers.get(printerId)?.lan.camera_error)
          printers.setLanHealth(printerId, { camera_error: null });
        cam.failures = 0;
        const now = Date.now();
        const every = deps.watched(printerId) ? WATCHED_FRAME_MS : deps.imageDelayMs();
        if (now - cam.storedAt < every) return;
        cam.storedAt = now;
        const record = async () => {
          const by = { printerId, deviceId: await deps.cameraDevice(printerId) };
          await deps.telemetry.recordFrame(by, "image/jpeg", jpeg, "printer");
        };
        record().catch((err) => {
          log.warn("storing a printer camera frame failed", { printer: printerId, error: err as Error });
        });
      },
      onEnd: ({ gotFrames, error }) => {
        if (cameras.get(printerId) !== cam) return;
        cam.failures++;
        const reason = gotFrames ? (error ?? "stream ended") : "closed before any frame: check the access code";
        if (cam.failures === 1) log.warn("printer camera stopped", { printer: printerId, reason });
        printers.setLanHealth(printerId, { camera_error: reason });
        // Back off: 2 s, 4 s, ... up to 5 minutes after repeated failures.
        cam.retryAt = Date.now() + Math.min(300_000, 1000 * 2 ** Math.min(cam.failures, 8));
        cam.stop = () => {};
      },
    });
    cam.stop = () => stream.stop();
  }

  /** Cameras run only while wanted: someone watching, or a print under way (its frames feed the job). */
  const cameraTimer = setInterval(() => {
    for (const p of printers.list()) {
      const id = p.info.id;
      const can = p.info.host && p.info.camera && CHAMBER_CAMERA_MODELS.includes(p.info.model);
      const wanted = can && owns(id) && (deps.watched(id) || ACTIVE_STATES.includes(p.state.gcode_state ?? ""));
      const cam = cameras.get(id);
      if (!wanted) {
        if (cam) stopCamera(id);
        continue;
      }
      const running = cam && cam.retryAt === 0;
      if (!running && (!cam || Date.now() >= cam.retryAt)) startCamera(id);
    }
  }, 1000);
  cameraTimer.unref?.();

  deps.events.on("printersChanged", ({ printerId, removed }) => {
    if (removed) {
      links.get(printerId)?.stop();
      links.delete(printerId);
      stopCamera(printerId);
    } else restart(printerId);
  });

  /** Stops the printer's link and camera at once (its lease is lost), and any start still reading its row. */
  function release(printerId: number) {
    restarts.set(printerId, (restarts.get(printerId) ?? 0) + 1);
    links.get(printerId)?.stop();
    links.delete(printerId);
    stopCamera(printerId);
  }

  return {
    start() {
      for (const p of printers.list()) if (p.info.host) restart(p.info.id);
    },
    /** Starts the printer's link: this instance has just gained its lease. */
    own: (printerId: number) => {
      if (!stopped) restart(printerId);
    },
    release,
    /** Publishes a command to the printer; false when its link is not up. */
    send: (printerId: number, command: object) => links.get(printerId)?.send(command) ?? false,
    connected: (printerId: number) => links.get(printerId)?.connected() ?? false,
    /** Forgets the pinned certificate and connects again, trusting what it sees next. */
    async repin(printerId: number) {
      await printers.pin(printerId, null);
      restart(printerId);
    },
    stop() {
      stopped = true;
      clearInterval(cameraTimer);
      for (const link of links.values()) link.stop();
      links.clear();
      for (const id of [...cameras.keys()]) stopCamera(id);
    },
  };
}

export type Lan = ReturnType<typeof createLan>;
