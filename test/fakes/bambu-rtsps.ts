// The RTSPS camera of an X1, P2S, H2 or X2D (port 322 on a real printer): GStreamer's RTSP server from Debian's
// packages, run by rtsps_server.py, serving H.264 over TLS with the printer's certificate to user `bblp` and
// the access code. A real server speaking the real protocol; ffmpeg in layerwatch is its client.
import { join } from "node:path";
import type { Cert } from "./certs.ts";

/** Debian packages the fake needs (also in the Makefile's SYSTEM_PACKAGES). */
export const RTSPS_PACKAGES = [
  "gir1.2-gst-rtsp-server-1.0",
  "gstreamer1.0-plugins-base",
  "gstreamer1.0-plugins-good",
  "gstreamer1.0-plugins-ugly",
  "glib-networking",
  "python3-gi",
];

export type FakeRtspsCamera = {
  port: number;
  /** RTSP clients connected now. */
  clients(): number;
  close(): Promise<void>;
};

export async function startFakeRtspsCamera(opts: {
  accessCode: string;
  cert: Cert;
  width?: number;
  height?: number;
  fps?: number;
}): Promise<FakeRtspsCamera> {
  const proc = Bun.spawn(["/usr/bin/python3", join(import.meta.dir, "rtsps_server.py")], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    env: {
      ...process.env,
      RTSPS_CERT_PEM: opts.cert.cert + opts.cert.key,
      RTSPS_ACCESS_CODE: opts.accessCode,
      RTSPS_WIDTH: String(opts.width ?? 640),
      RTSPS_HEIGHT: String(opts.height ?? 360),
      RTSPS_FPS: String(opts.fps ?? 10),
    },
  });
  let clients = 0;
  let resolvePort: (port: number) => void = () => {};
  const portSeen = new Promise<number>((r) => {
    resolvePort = r;
  });
  void (async () => {
    let buffered = "";
    const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const [word, n] = buffered.slice(0, nl).split(" ");
        buffered = buffered.slice(nl + 1);
        if (word === "port") resolvePort(Number(n));
        if (word === "clients") clients = Number(n);
        nl = buffered.indexOf("\n");
      }
    }
  })();
  const port = await Promise.race([
    portSeen,
    proc.exited.then(async () => {
      const err = await new Response(proc.stderr).text();
      throw new Error(
        `the fake RTSPS camera did not start (apt-get install ${RTSPS_PACKAGES.join(" ")}):\n${err.slice(-2000)}`,
      );
    }),
  ]);
  return {
    port,
    clients: () => clients,
    async close() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
