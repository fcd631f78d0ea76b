// A 200 MB timelapse uploaded over tus 1.0 (as the camera Pi does) in 5 MiB PATCHes: throughput, the server's
// CPU per MB and its RSS sampled all along (flat: the video streams to disk, it never sits whole in memory).
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { videoBytes } from "../test/fixtures/tus.ts";
import {
  api,
  f0,
  f1,
  f2,
  loginCookie,
  procStat,
  quick,
  results,
  sleep,
  startServer,
  stopServer,
  workspace,
} from "./lib.ts";

const MiB = 1024 * 1024;
const CHUNK = 5 * MiB;
const TUS = { "tus-resumable": "1.0.0" };

/** Writes `size` bytes of incompressible, video-like data chunk by chunk; returns its sha256. */
async function makeVideo(path: string, size: number) {
  const writer = Bun.file(path).writer();
  const hash = new Bun.CryptoHasher("sha256");
  for (let off = 0, seed = 1; off < size; off += CHUNK, seed++) {
    const part = videoBytes(Math.min(CHUNK, size - off), seed);
    writer.write(part);
    hash.update(part);
    await writer.flush();
  }
  await writer.end();
  return hash.digest("hex");
}

async function sha256Of(path: string) {
  const hash = new Bun.CryptoHasher("sha256");
  const reader = Bun.file(path).stream().getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) hash.update(r.value);
  return hash.digest("hex");
}

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );

export async function uploadScenario() {
  const size = (quick ? 50 : 200) * MiB;
  const ws = workspace({ max_upload_bytes: 1024 * MiB, media_quota_bytes: 2048 * MiB });
  const source = join(ws.dir, "source.mp4");
  const sourceHash = await makeVideo(source, size);
  const server = await startServer(ws);
  const cookie = await loginCookie(server.url);
  const { token } = await api<{ token: string }>(server.url, cookie, "POST", "/api/printers/1/tokens", {
    name: "bench camera",
  });
  const auth = { ...TUS, authorization: `Bearer ${token}` };
  await sleep(2000);
  const pid = server.proc.pid;
  const before = procStat(pid);
  // RSS every 100 ms and after each PATCH: the peak of the upload's second half against its first shows
  // whether it grows with the bytes received.
  const t0 = performance.now();
  const samples: { at: number; rss: number }[] = [];
  const sample = () => samples.push({ at: performance.now() - t0, rss: procStat(pid).rssMb });
  const timer = setInterval(sample, 100);
  const created = await fetch(`${server.url}/api/printers/1/timelapses`, {
    method: "POST",
    headers: {
      ...auth,
      "upload-length": String(size),
      "upload-metadata": `filename ${Buffer.from("bench.mp4").toString("base64")}`,
    },
  });
  if (created.status !== 201) throw new Error(`upload creation: ${created.status} ${await created.text()}`);
  const location = new URL(created.headers.get("location")!, server.url).href;
  const file = Bun.file(source);
  let offset = 0;
  let patches = 0;
  while (offset < size) {
    const end = Math.min(size, offset + CHUNK);
    const res = await fetch(location, {
      method: "PATCH",
      headers: { ...auth, "content-type": "application/offset+octet-stream", "upload-offset": String(offset) },
      body: file.slice(offset, end),
    });
    if (res.status !== 204) throw new Error(`PATCH at ${offset}: ${res.status} ${await res.text()}`);
    offset = Number(res.headers.get("upload-offset"));
    patches++;
    sample();
  }
  const seconds = (performance.now() - t0) / 1000;
  const during = procStat(pid);
  clearInterval(timer);
  const half = (seconds * 1000) / 2;
  const peakOf = (xs: typeof samples) => Math.max(before.rssMb, ...xs.map((x) => x.rss));
  const [peak1, peak2] = [peakOf(samples.filter((x) => x.at < half)), peakOf(samples.filter((x) => x.at >= half))];
  await sleep(2000);
  const after = procStat(pid);
  await stopServer(server);

  const stored = filesUnder(join(ws.dir, "media")).filter((p) => statSync(p).size === size);
  const storedHash = stored[0] ? await sha256Of(stored[0]) : "";
  rmSync(ws.dir, { recursive: true, force: true }); // 400 MiB of files
  const mb = size / MiB;
  results.push({
    scenario: `upload: a ${f0(mb)} MiB video over tus in 5 MiB PATCHes, 1 client`,
    figures: {
      "MiB/s": f1(mb / seconds),
      PATCHes: patches,
      "CPU ms/MiB": f2((during.cpuMs - before.cpuMs) / mb),
      "RSS before (MB)": f1(before.rssMb),
      "RSS peak, 1st/2nd half of the upload (MB)": `${f1(peak1)}/${f1(peak2)}`,
      "RSS 2 s after (MB)": f1(after.rssMb),
      "stored file":
        stored.length === 1 ? (storedHash === sourceHash ? "size and sha256 match" : "sha256 differs") : "missing",
    },
  });
}
