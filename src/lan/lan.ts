// Owns the LAN side of every printer: one MQTT link per printer with an address, and its built-in camera
// (cameras.ts) while someone watches it or a print runs. Reports go to the printers service, frames to telemetry; it
// knows nothing of pages, jobs or notifications. Held state (links, cameras) is owned under each printer's lease:
// a printer's link and camera run only while `owns` says this instance holds it (always, on SQLite).
import type { EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import type { PrinterService } from "../services/printers.ts";
import type { TelemetryService } from "../services/telemetry.ts";
import { type CameraTimings, createCameras } from "./cameras.ts";
import { createPrinterLink, DEFAULT_TIMINGS, type LanTimings, type PrinterLink } from "./printer-link.ts";

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
  /** The ffmpeg program for RTSPS cameras (config ffmpeg_path). */
  ffmpegPath?: string;
  cameraTimings?: Partial<CameraTimings>;
}) {
  const owns = deps.owns ?? (() => true);
  const { printers, log } = deps;
  const timings = { ...DEFAULT_TIMINGS, ...deps.timings };
  const links = new Map<number, PrinterLink>();
  const cameras = createCameras({
    printers,
    telemetry: deps.telemetry,
    log,
    watched: deps.watched,
    cameraDevice: deps.cameraDevice,
    imageDelayMs: deps.imageDelayMs,
    owns,
    ffmpegPath: deps.ffmpegPath ?? "ffmpeg",
    timings: deps.cameraTimings,
  });
  const stopCamera = cameras.stop;

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
        const link = createPrinterLink(printerId, { printers, log, timings });
        links.set(printerId, link);
        link.start();
      })
      .catch((err) => log.error("starting a printer's link failed", { printer: printerId, error: err as Error }));
  }

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
    /** Forgets the pinned certificates (MQTT and FTPS) and connects again, trusting what it sees next. */
    async repin(printerId: number) {
      await printers.forgetPins(printerId);
      restart(printerId);
    },
    stop() {
      stopped = true;
      for (const link of links.values()) link.stop();
      links.clear();
      cameras.stopAll();
    },
  };
}

export type Lan = ReturnType<typeof createLan>;
