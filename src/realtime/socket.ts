// Owns the Socket.IO server: handshake auth, device event handlers, and viewer/device rooms.
import { Server as Engine } from "@socket.io/bun-engine";
import { Server, type Socket } from "socket.io";
import type { EventBus } from "../events.ts";
import { MAX_IMAGE_BYTES } from "../images.ts";
import type { Logger } from "../log.ts";
import type { AuthService } from "../services/auth.ts";
import type { TelemetryService } from "../services/telemetry.ts";
import { DEFAULT_DEVICE_ID } from "../store/migrations.ts";
import { readSessionToken } from "../session-cookie.ts";
import { type Checked, checkImage, checkStatus, checkTemphum } from "./validators.ts";
import { attachHub, DEVICES, VIEWERS } from "./hub.ts";

/** Base64 of a 10 MiB image plus framing; anything bigger is cut off by the engine itself. */
export const MAX_SOCKET_MESSAGE_BYTES = Math.ceil(MAX_IMAGE_BYTES / 3) * 4 + 1024 * 1024;

export type SocketData = { userId: number; username: string; tokenHash: string; deviceId: number; isDevice: boolean };
type Ack = (answer: { ok: true; id: number } | { ok: false; error: string }) => void;

export function createSocketServer(deps: { auth: AuthService; telemetry: TelemetryService; events: EventBus; log: Logger }) {
  const { auth, telemetry, log } = deps;
  const io = new Server<Record<string, never>, Record<string, never>, Record<string, never>, SocketData>({ serveClient: false });
  const engine = new Engine({ path: "/socket.io/", maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES, pingInterval: 25000, pingTimeout: 20000 });
  io.bind(engine);

  io.use((socket, next) => {
    const session = auth.resolveSession(readSessionToken(socket.handshake.headers.cookie));
    if (!session) {
      log.warn("socket refused: no valid session", { address: socket.handshake.address });
      return next(new Error("unauthorized: log in first and send the session cookie"));
    }
    socket.data = { userId: session.user.id, username: session.user.username, tokenHash: session.tokenHash, deviceId: DEFAULT_DEVICE_ID, isDevice: false };
    next();
  });

  /** The first device event turns a viewer connection into a device: it stops getting broadcasts. */
  function becomeDevice(socket: Socket) {
    if (socket.data.isDevice) return;
    socket.data.isDevice = true;
    socket.leave(VIEWERS);
    socket.join(DEVICES);
    log.info("device connected", { user: socket.data.username, socket: socket.id });
  }

  function handle<T>(socket: Socket, event: string, check: (p: unknown) => Checked<T>, store: (deviceId: number, value: T) => number) {
    socket.on(event, (...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === "function" ? (args.pop() as Ack) : undefined;
      becomeDevice(socket);
      const checked = check(args[0]);
      if (!checked.ok) {
        log.warn("rejected device event", { event, reason: checked.error, user: socket.data.username });
        socket.emit("error", { message: `${event}: ${checked.error}` });
        ack?.({ ok: false, error: checked.error });
        return;
      }
      try {
        const id = store(socket.data.deviceId, checked.value);
        ack?.({ ok: true, id });
      } catch (err) {
        log.error("storing a device event failed", { event, error: err as Error });
        socket.emit("error", { message: `${event}: the server could not store it` });
        ack?.({ ok: false, error: "storage failed" });
      }
    });
  }

  io.on("connection", (socket) => {
    socket.join(VIEWERS);
    handle(socket, "temphum", checkTemphum, (d, v) => telemetry.recordReading(d, v.temperature, v.humidity));
    handle(socket, "status", checkStatus, (d, v) => telemetry.recordStatus(d, v.status));
    handle(socket, "image", checkImage, (d, v) => telemetry.recordFrame(d, v.mime, v.bytes));
  });

  attachHub(io, deps.events);
  return { io, engine };
}
