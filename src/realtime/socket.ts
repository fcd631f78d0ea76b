// Owns the Socket.IO server: handshake auth and origin checks, device event handlers (rate-limited; answers to
// printerAction among them), and viewer/device rooms.
import { Server as Engine } from "@socket.io/bun-engine";
import { Server, type Socket } from "socket.io";
import type { EventBus } from "../events.ts";
import { MAX_IMAGE_BYTES } from "../images.ts";
import type { Logger } from "../log.ts";
import type { AuthService } from "../services/auth.ts";
import type { DeviceTokenService } from "../services/device-tokens.ts";
import type { PrinterService } from "../services/printers.ts";
import type { Reporter, TelemetryService } from "../services/telemetry.ts";
import { readSessionToken } from "../session-cookie.ts";
import { DEFAULT_DEVICE_ID, DEFAULT_PRINTER_ID } from "../store/migrations.ts";
import type { Intervals } from "../store/store.ts";
import { attachHub, DEVICES, devicesOf, OVERVIEW, type TileRenderer, VIEWERS, viewersOf } from "./hub.ts";
import { type Checked, checkActionAnswer, checkImage, checkStatus, checkTemphum } from "./validators.ts";

/** Base64 of a 10 MiB image plus framing; anything bigger is cut off by the engine itself. */
export const MAX_SOCKET_MESSAGE_BYTES = Math.ceil(MAX_IMAGE_BYTES / 3) * 4 + 1024 * 1024;

export type SocketData = {
  /** Cookie sockets: the user and session; token sockets: userId 0 and the token's id. */
  userId: number;
  username: string;
  tokenHash: string;
  tokenId: number;
  deviceId: number;
  /** A viewer of the overview (every printer) rather than of one printer's page. */
  overview: boolean;
  /** The printer this connection reports for (devices) or watches by default (viewers). */
  printerId: number;
  isDevice: boolean;
  bucket: TokenBucket;
};
type Ack = (answer: { ok: true; id: number } | { ok: false; error: string }) => void;

type TokenBucket = { tokens: number; at: number; warnedAt: number };

export type SocketOptions = { allowedOrigins: string[]; trustProxy: boolean; deviceRateLimit: number };

/** A browser handshake must come from this site (or an allow-listed origin); devices send no Origin. */
function originAllowed(headers: Record<string, string | string[] | undefined>, opts: SocketOptions): boolean {
  const origin = headers.origin;
  if (typeof origin !== "string") return true;
  if (opts.allowedOrigins.includes(origin)) return true;
  const forwarded =
    opts.trustProxy && typeof headers["x-forwarded-host"] === "string"
      ? headers["x-forwarded-host"].split(",")[0]!.trim()
      : undefined;
  try {
    return new URL(origin).host === (forwarded ?? headers.host);
  } catch {
    return false;
  }
}

/** Token bucket: `rate` events a second, bursts up to twice that. */
function takeToken(b: TokenBucket, rate: number, now: number): boolean {
  if (rate <= 0) return true;
  b.tokens = Math.min(rate * 2, b.tokens + ((now - b.at) / 1000) * rate);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

function bearer(headers: Record<string, string | string[] | undefined>): string | undefined {
  const h = headers.authorization;
  return typeof h === "string" && h.startsWith("Bearer ") ? h.slice(7).trim() : undefined;
}

export function createSocketServer(deps: {
  auth: AuthService;
  deviceTokens: DeviceTokenService;
  telemetry: TelemetryService;
  events: EventBus;
  log: Logger;
  options: SocketOptions;
  render: TileRenderer;
  intervals: () => Intervals;
  printers: PrinterService;
}) {
  const { auth, telemetry, log, options } = deps;
  const io = new Server<Record<string, never>, Record<string, never>, Record<string, never>, SocketData>({
    serveClient: false,
  });
  const engine = new Engine({
    path: "/socket.io/",
    maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES,
    pingInterval: 25000,
    pingTimeout: 20000,
  });
  io.bind(engine);
  const hub = attachHub(io, deps.events, { render: deps.render, intervals: deps.intervals, printers: deps.printers });

  io.use((socket, next) => {
    admit(socket, next).catch((err) => {
      log.error("socket refused: the server could not check it", { error: err as Error });
      next(new Error("the server could not check this connection; try again"));
    });
  });

  /** Who is connecting: a device token, or a session cookie (a viewer, or a device logged in by form). */
  async function admit(socket: Socket, next: (err?: Error) => void) {
    const { headers, auth: handshakeAuth } = socket.handshake;
    if (!originAllowed(headers, options)) {
      log.warn("socket refused: foreign origin", { origin: String(headers.origin).slice(0, 200) });
      return next(new Error("forbidden: this origin may not connect"));
    }
    const bucket = { tokens: options.deviceRateLimit * 2, at: Date.now(), warnedAt: 0 };
    const presented = (handshakeAuth as { token?: unknown } | undefined)?.token ?? bearer(headers);
    if (presented !== undefined) {
      const token = await deps.deviceTokens.resolve(presented);
      if (!token) {
        log.warn("socket refused: unknown or revoked device token", { address: socket.handshake.address });
        return next(new Error("unauthorized: unknown or revoked device token"));
      }
      socket.data = {
        userId: 0,
        username: `token:${token.name}`,
        tokenHash: "",
        tokenId: token.id,
        deviceId: token.device_id,
        printerId: token.printer_id,
        overview: false,
        isDevice: true,
        bucket,
      };
      return next();
    }
    const session = await auth.resolveSession(readSessionToken(headers.cookie));
    if (!session) {
      log.warn("socket refused: no valid session", { address: socket.handshake.address });
      return next(new Error("unauthorized: log in first and send the session cookie"));
    }
    // A cookie connection names the printer it watches or reports for (default printer 1).
    const named = (handshakeAuth as { printer?: unknown } | undefined)?.printer ?? socket.handshake.query.printer;
    const view = (handshakeAuth as { view?: unknown } | undefined)?.view ?? socket.handshake.query.view;
    const printerId = named === undefined ? DEFAULT_PRINTER_ID : Number(named);
    if (!Number.isInteger(printerId) || !deps.printers.exists(printerId))
      return next(new Error(`unknown printer: ${String(named).slice(0, 32)}`));
    const deviceId =
      printerId === DEFAULT_PRINTER_ID ? DEFAULT_DEVICE_ID : await deps.deviceTokens.loginDevice(printerId);
    socket.data = {
      userId: session.user.id,
      username: session.user.username,
      tokenHash: session.tokenHash,
      tokenId: 0,
      deviceId,
      printerId,
      overview: view === "overview",
      isDevice: false,
      bucket,
    };
    next();
  }

  /** The first device event turns a viewer connection into a device: it stops getting broadcasts. */
  function becomeDevice(socket: Socket) {
    if (socket.data.isDevice) return;
    socket.data.isDevice = true;
    for (const room of socket.rooms) if (room !== socket.id) socket.leave(room);
    socket.join([DEVICES, devicesOf(socket.data.printerId)]);
    hub.welcomeDevice(socket);
    log.info("device connected", { user: socket.data.username, socket: socket.id });
  }

  function handle<T>(
    socket: Socket,
    event: string,
    check: (p: unknown) => Checked<T>,
    store: (by: Reporter, value: T) => Promise<number>,
  ) {
    socket.on(event, async (...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === "function" ? (args.pop() as Ack) : undefined;
      becomeDevice(socket);
      const now = Date.now();
      if (!takeToken(socket.data.bucket, options.deviceRateLimit, now)) {
        // Tell the device at most once a second; the connection stays, the event is not stored.
        if (now - socket.data.bucket.warnedAt > 1000) {
          socket.data.bucket.warnedAt = now;
          log.warn("device over its event rate limit", { user: socket.data.username, limit: options.deviceRateLimit });
          socket.emit("error", {
            message: `${event}: rate limit exceeded (${options.deviceRateLimit} events/s); slow down`,
          });
        }
        ack?.({ ok: false, error: "rate limit exceeded" });
        return;
      }
      const checked = check(args[0]);
      if (!checked.ok) {
        log.warn("rejected device event", { event, reason: checked.error, user: socket.data.username });
        socket.emit("error", { message: `${event}: ${checked.error}` });
        ack?.({ ok: false, error: checked.error });
        return;
      }
      deps.printers.deviceSeen(socket.data.printerId, now);
      try {
        const id = await store({ printerId: socket.data.printerId, deviceId: socket.data.deviceId }, checked.value);
        ack?.({ ok: true, id });
      } catch (err) {
        log.error("storing a device event failed", { event, error: err as Error });
        socket.emit("error", { message: `${event}: the server could not store it` });
        ack?.({ ok: false, error: "storage failed" });
      }
    });
  }

  io.on("connection", (socket) => {
    if (socket.data.isDevice) socket.join([DEVICES, devicesOf(socket.data.printerId)]);
    else socket.join(socket.data.overview ? [VIEWERS, OVERVIEW] : [VIEWERS, viewersOf(socket.data.printerId)]);
    if (socket.data.isDevice) hub.welcomeDevice(socket);
    else if (!socket.data.overview) hub.welcomeViewer(socket.data.printerId);
    handle(socket, "temphum", checkTemphum, (d, v) => telemetry.recordReading(d, v.temperature, v.humidity));
    handle(socket, "status", checkStatus, async (by, v) => {
      if (v.printer) deps.printers.applyDeviceStatus(by.printerId, v.printer);
      return v.status ? telemetry.recordStatus(by, v.status) : 0;
    });
    handle(socket, "image", checkImage, (d, v) => telemetry.recordFrame(d, v.mime, v.bytes));
    // The answer to a printerAction the server asked for (PRINTERS.md §3).
    handle(socket, "printerAction", checkActionAnswer, async (by, v) => {
      deps.events.emit("deviceAnswer", { printerId: by.printerId, action: v.action, result: v.result });
      return 0;
    });
  });

  return { io, engine, hub };
}
