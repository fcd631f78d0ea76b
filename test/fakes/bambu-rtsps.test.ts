// Proves the fake RTSPS camera with real clients: ffmpeg reads H.264 over RTSP over TLS with the right code and
// is refused (401) with a wrong one; a TLS client sees the certificate it was given.
import { afterEach, describe, expect, test } from "bun:test";
import { connect } from "node:tls";
import { type FakeRtspsCamera, startFakeRtspsCamera } from "./bambu-rtsps.ts";
import { makeCert } from "./certs.ts";

const open: FakeRtspsCamera[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function camera() {
  const c = await startFakeRtspsCamera({ accessCode: "cam12345", cert: makeCert("01P00A000000001"), fps: 5 });
  open.push(c);
  return c;
}

/** ffmpeg's probe of the stream (this test's own client, not layerwatch's). */
async function probe(port: number, code: string) {
  const url = `rtsps://bblp:${code}@127.0.0.1:${port}/streaming/live/1`;
  const proc = Bun.spawn(
    ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "json", url],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  return { out, err, code: proc.exitCode };
}

describe("the fake RTSPS camera", () => {
  test("serves H.264 over TLS at /streaming/live/1 to bblp with the access code", async () => {
    const c = await camera();
    const r = await probe(c.port, "cam12345");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).streams).toEqual([{ codec_name: "h264", width: 640, height: 360 }]);
  }, 30_000);

  test("refuses a wrong access code with 401", async () => {
    const c = await camera();
    const r = await probe(c.port, "wrong999");
    expect(r.code).not.toBe(0);
    expect(r.err).toContain("401 Unauthorized");
  }, 30_000);

  test("presents the certificate it was given", async () => {
    const c = await camera();
    const socket = connect({ host: "127.0.0.1", port: c.port, rejectUnauthorized: false });
    const seen = await new Promise<string>((resolve, reject) => {
      socket.once("secureConnect", () => resolve(socket.getPeerCertificate().fingerprint256));
      socket.once("error", reject);
    });
    socket.destroy();
    expect(seen).toBe(makeCert("01P00A000000001").fingerprint256);
  }, 30_000);
});
