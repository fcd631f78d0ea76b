// Owns the printers' built-in cameras: at most one stream per printer (the A1/P1 port-6000 stream or an RTSPS
// decoder), shared by every viewer, running only while someone watches the printer or a print runs, kept a
// short grace after the last viewer leaves (a page reload is not a restart), started again with backoff when
// it fails. Frames become the printer's own frames (`source: "printer"`); why a camera stopped goes to the
// printer's LAN health (camera_error), never with the access code in it.
import { effectiveModel } from "../bambu-models.ts";
import { type CameraKind, cameraKind } from "../camera-kind.ts";
import type { Logger } from "../log.ts";
import { ACTIVE_STATES } from "../printer-state.ts";
import type { HeldPrinter, PrinterService } from "../services/printers.ts";
import type { TelemetryService } from "../services/telemetry.ts";
import type { PrinterRow } from "../store/store.ts";
import { startCameraStream } from "./camera-link.ts";
import { startRtspsStream } from "./rtsps-camera.ts";
import type { PinCheck } from "./tls-pin.ts";

export type CameraTimings = {
  /** How long a camera nobody needs any more keeps running. */
  graceMs: number;
  /** How often every printer's need for its camera is looked at. */
  checkMs: number;
};
export const DEFAULT_CAMERA_TIMINGS: CameraTimings = { graceMs: 10_000, checkMs: 1000 };

type Camera = {
  stop(): void;
  storedAt: number;
  failures: number;
  /** When it may start again after a failure; 0 while it runs. */
  retryAt: number;
  /** Since when nobody has needed it (null while someone does). */
  idleSince: number | null;
};
/** While someone watches, a camera frame is kept at most this often (the SD card's sake). */
const WATCHED_FRAME_MS = 2000;

/** The model that decides the camera: the one the printer named, else its serial's, else the configured one. */
const modelOf = (p: HeldPrinter) => effectiveModel(p.state.model, p.info.serial, p.info.model).model;

export function createCameras(deps: {
  printers: PrinterService;
  telemetry: TelemetryService;
  log: Logger;
  /** Is anyone looking at this printer (its page or the overview)? */
  watched: (printerId: number) => boolean;
  /** The device row a printer's own camera frames are stored under. */
  cameraDevice: (printerId: number) => Promise<number>;
  imageDelayMs: () => number;
  /** Does this instance hold the printer's link (its lease)? */
  owns: (printerId: number) => boolean;
  /** The ffmpeg program for RTSPS cameras (config ffmpeg_path). */
  ffmpegPath: string;
  timings?: Partial<CameraTimings>;
}) {
  const { printers, log } = deps;
  const timings = { ...DEFAULT_CAMERA_TIMINGS, ...deps.timings };
  const cameras = new Map<number, Camera>();

  function stop(printerId: number) {
    cameras.get(printerId)?.stop();
    cameras.delete(printerId);
  }

  /** Holds the camera's place at once (the timer must not start it twice), then reads the access code. */
  function start(printerId: number, kind: CameraKind) {
    const cam: Camera = { stop: () => {}, storedAt: 0, failures: 0, retryAt: 0, idleSince: null };
    cam.failures = cameras.get(printerId)?.failures ?? 0;
    cameras.set(printerId, cam);
    void printers
      .connectionOf(printerId)
      .then((row) => {
        if (row && cameras.get(printerId) === cam) open(printerId, cam, row, kind);
      })
      .catch((err) => log.error("starting a printer camera failed", { printer: printerId, error: err as Error }));
  }

  function onFrame(printerId: number, cam: Camera, jpeg: Buffer) {
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
  }

  function onEnd(printerId: number, cam: Camera, reason: string) {
    if (cameras.get(printerId) !== cam) return;
    cam.failures++;
    if (cam.failures === 1) log.warn("printer camera stopped", { printer: printerId, reason });
    printers.setLanHealth(printerId, { camera_error: reason });
    // Back off: 2 s, 4 s, ... up to 5 minutes after repeated failures.
    cam.retryAt = Date.now() + Math.min(300_000, 1000 * 2 ** Math.min(cam.failures, 8));
    cam.stop = () => {};
  }

  function open(printerId: number, cam: Camera, row: PrinterRow, kind: CameraKind) {
    // The certificate pinned from the printer's MQTT link; the cameras present the same one.
    const pin: PinCheck =
      row.tls_fingerprint && row.tls === "pin"
        ? { mode: "pinned", fingerprint: row.tls_fingerprint, onMismatch: () => {} }
        : { mode: "learn", onSeen: () => {} };
    const frame = (jpeg: Buffer) => onFrame(printerId, cam, jpeg);
    const stream =
      kind === "rtsps"
        ? startRtspsStream({
            host: row.host,
            port: row.rtsp_port,
            accessCode: row.access_code,
            pin,
            ffmpegPath: deps.ffmpegPath,
            onFrame: frame,
            onEnd: ({ reason }) => onEnd(printerId, cam, reason),
          })
        : startCameraStream({
            host: row.host,
            port: row.camera_port,
            accessCode: row.access_code,
            pin,
            onFrame: frame,
            onEnd: ({ gotFrames, error }) =>
              onEnd(
                printerId,
                cam,
                gotFrames ? (error ?? "stream ended") : "closed before any frame: check the access code",
              ),
          });
    cam.stop = () => stream.stop();
  }

  /** Cameras run only while wanted: someone watching, or a print under way (its frames feed the job). */
  function check() {
    const now = Date.now();
    for (const p of printers.list()) {
      const id = p.info.id;
      const kind = cameraKind(modelOf(p));
      const cam = cameras.get(id);
      if (!p.info.host || !p.info.camera || !kind || !deps.owns(id)) {
        if (cam) stop(id);
        continue;
      }
      const wanted = deps.watched(id) || ACTIVE_STATES.includes(p.state.gcode_state ?? "");
      if (!wanted) {
        if (!cam) continue;
        cam.idleSince ??= now;
        if (now - cam.idleSince >= timings.graceMs) stop(id);
        continue;
      }
      if (cam) cam.idleSince = null;
      const running = cam && cam.retryAt === 0;
      if (!running && (!cam || now >= cam.retryAt)) start(id, kind);
    }
  }
  const timer = setInterval(check, timings.checkMs);
  timer.unref?.();

  return {
    /** Stops a printer's camera at once (its setup changed, it was removed, or its lease was lost). */
    stop,
    stopAll() {
      clearInterval(timer);
      for (const id of [...cameras.keys()]) stop(id);
    },
  };
}

export type Cameras = ReturnType<typeof createCameras>;
