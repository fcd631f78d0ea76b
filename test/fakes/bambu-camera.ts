// The A1/P1 built-in camera (port 6000 on a real printer): TLS, an 80-byte auth packet, then JPEG frames
// each behind a 16-byte header. See PRINTERS.md §4.
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { Cert } from "./certs.ts";

export const TLS12 = { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" } as const;

// A 32×18 baseline JFIF JPEG (made with libjpeg for this fake). Frames differ by a comment segment.
const BASE_JPEG = Buffer.from(
  "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxO" +
    "UlNSMj5aYVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09P" +
    "T09PT09PT0//wAARCAASACADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUF" +
    "BAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVW" +
    "V1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi" +
    "4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAEC" +
    "AxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVm" +
    "Z2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq" +
    "8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDOjtvarMdt7VejtvarMdt7V1zrnnYfElCO29qsx23tV6O29qsx23tXNOue5h8SVIwPSrMY" +
    "HpRRWUz5LDlmMCrMYHpRRXNM9zDn/9k=",
  "base64",
);
const APP0_END = 20; // SOI (2 bytes) + APP0/JFIF segment (18 bytes): a COM segment may follow it

/** A valid JPEG whose bytes differ per `n`; `padTo` adds filler comments to reach about that many bytes. */
export function makeJpeg(n: number, padTo = 0): Buffer {
  const segments = [comment(`layerwatch fake frame ${n} ${Date.now()}`)];
  for (let left = padTo - BASE_JPEG.length - segments[0]!.length; left > 4; left -= 65537) {
    segments.push(comment("x".repeat(Math.min(left - 4, 65533))));
  }
  return Buffer.concat([BASE_JPEG.subarray(0, APP0_END), ...segments, BASE_JPEG.subarray(APP0_END)]);
}

function comment(text: string): Buffer {
  const body = Buffer.from(text, "latin1");
  const head = Buffer.from([0xff, 0xfe, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, body]);
}

/** The 80-byte packet a client sends first (exported so tests can build right and wrong ones). */
export function authPacket(accessCode: string, username = "bblp"): Buffer {
  const buf = Buffer.alloc(80);
  buf.writeUInt32LE(0x40, 0);
  buf.writeUInt32LE(0x3000, 4);
  buf.write(username, 16, 32, "ascii");
  buf.write(accessCode, 48, 32, "ascii");
  return buf;
}

export type CameraStats = { connections: number; rejected: number; frames: number; active: number };
export type FakeCamera = {
  port: number;
  stats: CameraStats;
  setCert(cert: Cert): void;
  close(): Promise<void>;
};

export async function startFakeCamera(opts: {
  accessCode: string;
  cert: Cert;
  intervalMs: number;
  frameBytes?: number;
}): Promise<FakeCamera> {
  const stats: CameraStats = { connections: 0, rejected: 0, frames: 0, active: 0 };
  const sockets = new Set<TLSSocket>();
  const expected = authPacket(opts.accessCode);

  const server: Server = createServer({ cert: opts.cert.cert, key: opts.cert.key, ...TLS12 }, (socket) => {
    stats.connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    let received = Buffer.alloc(0);
    let timer: ReturnType<typeof setInterval> | undefined;
    socket.on("close", () => {
      clearInterval(timer);
      sockets.delete(socket);
      if (timer) stats.active--;
    });
    const sendFrame = () => {
      // A slow reader gets fewer frames rather than an ever-growing buffer, as a real camera would do.
      if (socket.writableLength > 4 * (opts.frameBytes ?? 4096)) return;
      const jpeg = makeJpeg(stats.frames, opts.frameBytes);
      const header = Buffer.alloc(16);
      header.writeUInt32LE(jpeg.length, 0);
      header.writeUInt32LE(1, 8);
      socket.write(Buffer.concat([header, jpeg]));
      stats.frames++;
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 80) return;
      socket.off("data", onData);
      // The printer compares the whole packet; anything else closes the stream without a byte sent.
      if (!received.subarray(0, 80).equals(expected)) {
        stats.rejected++;
        socket.end();
        return;
      }
      stats.active++;
      sendFrame();
      timer = setInterval(sendFrame, opts.intervalMs);
    };
    socket.on("data", onData);
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    stats,
    setCert(cert) {
      // The versions must be repeated: without them Bun's new context accepts TLS 1.3 again.
      server.setSecureContext({ cert: cert.cert, key: cert.key, ...TLS12 });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
