// Owns one printer's built-in camera stream (A1/P1, TLS on port 6000): an 80-byte login, then frames of a
// 16-byte header and a JPEG. A wrong access code closes the stream with no data: said so, not retried fast.
import type { TLSSocket } from "node:tls";
import { type PinCheck, pinnedTls } from "./tls-pin.ts";

const HEADER = 16;
/** A frame larger than this is not a camera frame: the stream is out of step, start again. */
const MAX_FRAME = 4 * 1024 * 1024;

export function authPacket(accessCode: string): Buffer {
  const b = Buffer.alloc(80);
  b.writeUInt32LE(0x40, 0);
  b.writeUInt32LE(0x3000, 4);
  b.write("bblp", 16, 32, "ascii");
  b.write(accessCode, 48, 32, "ascii");
  return b;
}

/** Splits the stream into JPEG frames; returns the bytes left over for the next chunk. */
export function takeFrames(buffer: Buffer, onFrame: (jpeg: Buffer) => void): Buffer | null {
  let rest = buffer;
  while (rest.length >= HEADER) {
    const size = rest.readUInt32LE(0);
    if (size === 0 || size > MAX_FRAME) return null;
    if (rest.length < HEADER + size) break;
    const jpeg = rest.subarray(HEADER, HEADER + size);
    if (jpeg[0] === 0xff && jpeg[1] === 0xd8 && jpeg[size - 2] === 0xff && jpeg[size - 1] === 0xd9)
      onFrame(Buffer.from(jpeg));
    rest = rest.subarray(HEADER + size);
  }
  return rest;
}

export function startCameraStream(opts: {
  host: string;
  port: number;
  accessCode: string;
  pin: PinCheck;
  onFrame: (jpeg: Buffer) => void;
  /** The stream ended; `gotFrames` false means it closed before any frame (a wrong code, usually). */
  onEnd: (info: { gotFrames: boolean; error?: string }) => void;
}): { stop(): void } {
  let socket: TLSSocket | null = pinnedTls(opts.host, opts.port, opts.pin);
  let buffer: Buffer = Buffer.alloc(0);
  let gotFrames = false;
  let error: string | undefined;
  socket.once("secureConnect", () => socket?.write(authPacket(opts.accessCode)));
  socket.on("data", (chunk: Buffer) => {
    const next = takeFrames(Buffer.concat([buffer, chunk]), (jpeg) => {
      gotFrames = true;
      opts.onFrame(jpeg);
    });
    if (next === null) {
      error = "the camera stream was out of step";
      socket?.destroy();
    } else buffer = next;
  });
  socket.on("error", (err) => {
    error = err.message;
  });
  socket.on("close", () => {
    if (!socket) return;
    socket = null;
    opts.onEnd({ gotFrames, error });
  });
  return {
    stop() {
      const s = socket;
      socket = null;
      s?.destroy();
    },
  };
}
