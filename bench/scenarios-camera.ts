// One RTSPS printer camera (an X1C's: H.264 over RTSP over TLS, from GStreamer's RTSP server in
// test/fakes, in its own process) and one layerwatch: CPU and memory with nobody watching (no decoder may run),
// then with 10 viewers on the printer's page (one ffmpeg for all of them). The server's and ffmpeg's CPU are
// read from /proc separately; the fake camera's encoder is neither.
import type { Socket } from "socket.io-client";
import { startFakePrinter } from "../test/fakes/bambu-printer.ts";
import { startFakeRtspsCamera } from "../test/fakes/bambu-rtsps.ts";
import { makeCert } from "../test/fakes/certs.ts";
import { ffmpegChildren } from "../test/process.ts";
import {
  connect,
  f0,
  f1,
  loginCookie,
  procStat,
  quick,
  results,
  sleep,
  startServer,
  stopServer,
  workspace,
} from "./lib.ts";

const VIEWERS = 10;
/** An X1C's live view: 1920×1080 at 30 frames a second. */
const CAMERA = { width: 1920, height: 1080, fps: 30 };

/** The server's ffmpeg children (pid), zombies left out. */
const decoders = (serverPid: number) => ffmpegChildren(serverPid);

/** CPU (ms) and the last RSS (MB) of the server and of its decoders over `seconds`. */
async function watch(serverPid: number, seconds: number) {
  const cpu = (pids: number[]) => pids.reduce((sum, pid) => sum + procStat(pid).cpuMs, 0);
  const pids0 = decoders(serverPid);
  const [server0, ffmpeg0] = [procStat(serverPid).cpuMs, cpu(pids0)];
  let peakRss = 0;
  for (let i = 0; i < seconds * 4; i++) {
    await sleep(250);
    peakRss = Math.max(peakRss, procStat(serverPid).rssMb);
  }
  const pids = decoders(serverPid);
  // The same decoder throughout, or the figure would mix two processes' counters.
  const same = pids.length === pids0.length && pids.every((p, i) => p === pids0[i]);
  return {
    serverMsPerSec: (procStat(serverPid).cpuMs - server0) / seconds,
    ffmpegMsPerSec: same ? (cpu(pids) - ffmpeg0) / seconds : Number.NaN,
    serverRss: procStat(serverPid).rssMb,
    peakRss,
    ffmpegRss: pids.reduce((sum, pid) => sum + procStat(pid).rssMb, 0),
    decoders: pids.length,
  };
}

export async function cameraScenario() {
  const printer = await startFakePrinter({ frameIntervalMs: 3_600_000 });
  const camera = await startFakeRtspsCamera({
    accessCode: printer.accessCode,
    cert: makeCert(printer.serial),
    ...CAMERA,
  });
  const sockets: Socket[] = [];
  try {
    const ws = workspace({
      printers: [
        {
          name: "X1C",
          model: "X1C",
          host: "127.0.0.1",
          serial: printer.serial,
          access_code: printer.accessCode,
          mqtt_port: printer.mqttPort,
          rtsp_port: camera.port,
          tls: "pin",
        },
      ],
    });
    const server = await startServer(ws);
    const cookie = await loginCookie(server.url);
    const seconds = quick ? 5 : 20;
    await sleep(3000); // past start-up's one-off work
    const idle = await watch(server.proc.pid, seconds);

    const t0 = performance.now();
    const frames = new Array<number>(VIEWERS).fill(0);
    const firsts: Promise<void>[] = [];
    for (let i = 0; i < VIEWERS; i++) {
      const s = await connect(server.url, cookie, { printer: "1" });
      sockets.push(s);
      firsts.push(
        new Promise<void>((resolve) =>
          s.on("image2v", (f: { source: string }) => {
            if (f.source !== "printer") return;
            frames[i]!++;
            resolve();
          }),
        ),
      );
    }
    await Promise.race([Promise.all(firsts), sleep(30_000)]);
    const firstFrameMs = performance.now() - t0;
    await sleep(2000); // the decoder's start-up, unmeasured
    frames.fill(0);
    const watched = await watch(server.proc.pid, seconds);
    const perViewer = frames.reduce((a, b) => a + b, 0) / VIEWERS / seconds;
    for (const s of sockets.splice(0)) s.disconnect();
    // The camera outlives the last viewer by its grace (10 s), then stops.
    let stoppedAfter = Number.NaN;
    const left = performance.now();
    while (performance.now() - left < 30_000) {
      if (decoders(server.proc.pid).length === 0 && camera.clients() === 0) {
        stoppedAfter = performance.now() - left;
        break;
      }
      await sleep(250);
    }
    await stopServer(server);

    results.push({
      scenario: `camera: one RTSPS camera (${CAMERA.width}×${CAMERA.height} H.264, ${CAMERA.fps} fps), nobody watching, ${seconds} s`,
      figures: {
        "decoders running": idle.decoders,
        "server CPU (ms/s)": f1(idle.serverMsPerSec),
        "server RSS (MB)": f1(idle.serverRss),
      },
    });
    results.push({
      scenario: `camera: the same watched by ${VIEWERS} viewers on the printer's page, ${seconds} s`,
      figures: {
        "decoders running": watched.decoders,
        "first frame at every viewer (ms)": f0(firstFrameMs),
        "frames/s per viewer": perViewer.toFixed(2),
        "server CPU (ms/s)": f1(watched.serverMsPerSec),
        "ffmpeg CPU (ms/s)": f1(watched.ffmpegMsPerSec),
        "server RSS (MB)": f1(watched.serverRss),
        "server peak RSS (MB)": f1(watched.peakRss),
        "ffmpeg RSS (MB)": f1(watched.ffmpegRss),
        "decoder gone after the last viewer (s)": f1(stoppedAfter / 1000),
      },
    });
  } finally {
    for (const s of sockets) s.disconnect();
    await camera.close();
    await printer.close();
  }
}
