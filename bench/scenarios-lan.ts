// Fifty fake Bambu A1s (test/fakes: aedes brokers over TLS 1.2, in this process) printing and sending a delta
// each second to one layerwatch: its memory per printer (0 printers configured vs 50) and CPU per delta.
import { type FakePrinter, startFakePrinter } from "../test/fakes/bambu-printer.ts";
import {
  api,
  connect,
  f0,
  f1,
  loginCookie,
  measured,
  procStat,
  quick,
  results,
  type Server,
  sleep,
  startServer,
  stopServer,
  workspace,
} from "./lib.ts";

const PRINTERS = 50;
/** RSS is read this long after start-up (and after the printers connected), the same for both servers. */
const SETTLE_MS = 5000;

type ApiPrinter = { name: string; sources: { lan: string }; state: { layer: number | null } | null };

/** The config entries for the fakes: no camera, so a viewer on the overview does not open 50 streams. */
const entries = (fakes: FakePrinter[]) =>
  fakes.map((f, i) => ({
    name: `LAN ${i + 1}`,
    model: "A1",
    host: "127.0.0.1",
    serial: f.serial,
    access_code: f.accessCode,
    mqtt_port: f.mqttPort,
    camera_port: f.cameraPort,
    camera: false,
    tls: "insecure",
  }));

async function waitConnected(server: Server, cookie: string, maxMs: number) {
  const t0 = performance.now();
  let connected = 0;
  while (performance.now() - t0 < maxMs) {
    const list = await api<ApiPrinter[]>(server.url, cookie, "GET", "/api/printers");
    connected = list.filter((p) => p.sources.lan === "connected").length;
    if (connected >= PRINTERS) break;
    await sleep(250);
  }
  return { connected, ms: performance.now() - t0 };
}

/**
 * Each printer sends one delta a second (layer, percent, time left, nozzle temperature), the printers
 * spread over the second. Returns how many deltas went out and the last layer each printer reached.
 */
async function drive(fakes: FakePrinter[], seconds: number, firstLayer: number) {
  const t0 = performance.now() + 50;
  let sent = 0;
  await Promise.all(
    fakes.map(async (f, i) => {
      for (let k = 0; k < seconds; k++) {
        const wait = t0 + k * 1000 + i * (1000 / fakes.length) - performance.now();
        if (wait > 0) await sleep(wait);
        const layer = firstLayer + k;
        f.set({
          layer_num: layer,
          mc_percent: Math.min(100, Math.floor(layer / 20)),
          mc_remaining_time: Math.max(0, 2000 - layer),
          nozzle_temper: 220 + (layer % 10) / 10,
        });
        sent++;
      }
    }),
  );
  return { sent, lastLayer: firstLayer + seconds - 1, seconds: (performance.now() - t0) / 1000 };
}

/** How many printers the server shows at `layer` (every delta applied, none lost). */
async function atLayer(server: Server, cookie: string, layer: number) {
  await sleep(500);
  const list = await api<ApiPrinter[]>(server.url, cookie, "GET", "/api/printers");
  return list.filter((p) => p.name.startsWith("LAN ") && p.state?.layer === layer).length;
}

export async function lanScenario() {
  const fakes: FakePrinter[] = [];
  const t0 = performance.now();
  for (let i = 0; i < PRINTERS; i++)
    fakes.push(
      await startFakePrinter({
        frameIntervalMs: 3_600_000,
        state: { gcode_state: "RUNNING", subtask_name: `part ${i + 1}`, total_layer_num: 2000, layer_num: 1 },
      }),
    );
  console.log(`started ${PRINTERS} fake printers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  try {
    // The same server with no printers: its RSS the same while after start-up.
    const empty = workspace({ printers: [] });
    let server = await startServer(empty);
    await sleep(SETTLE_MS);
    const rss0 = procStat(server.proc.pid).rssMb;
    await stopServer(server);

    const ws = workspace({ printers: entries(fakes) });
    server = await startServer(ws);
    const cookie = await loginCookie(server.url);
    const up = await waitConnected(server, cookie, 60_000);
    await sleep(SETTLE_MS);
    const rss50 = procStat(server.proc.pid).rssMb;

    const restSecs = quick ? 2 : 5;
    const rest = await measured(server.proc.pid, () => sleep(restSecs * 1000));
    const restMsPerSec = rest.cpuMs / restSecs;
    await drive(fakes, quick ? 2 : 5, 2); // warm-up, unmeasured
    const seconds = quick ? 8 : 30;
    const first = 100;
    const m = await measured(server.proc.pid, () => drive(fakes, seconds, first));
    const applied = await atLayer(server, cookie, m.result.lastLayer);
    const perDelta = (m.cpuMs * 1000) / m.result.sent;
    const netPerDelta = ((m.cpuMs - restMsPerSec * m.result.seconds) * 1000) / m.result.sent;

    // The same with one viewer on the overview: each change re-renders and sends the printer's card.
    const viewer = await connect(server.url, cookie, { view: "overview" });
    const got = new Map<string, number>();
    for (const e of ["printer_card", "printer_state"]) viewer.on(e, () => got.set(e, (got.get(e) ?? 0) + 1));
    await sleep(1000);
    got.clear();
    const viewSecs = quick ? 4 : 10;
    const v = await measured(server.proc.pid, () => drive(fakes, viewSecs, first + seconds));
    await sleep(1000); // the last coalesced cards
    viewer.disconnect();
    const rssAfter = procStat(server.proc.pid).rssMb;
    await stopServer(server);

    results.push({
      scenario:
        `lan: ${PRINTERS} fake printers (MQTT over TLS, printing), ` + `a delta each second, ${seconds} s, no viewers`,
      figures: {
        "all connected after (s)": f1(up.ms / 1000),
        connected: `${up.connected}/${PRINTERS}`,
        "RSS 0 printers (MB)": f1(rss0),
        [`RSS ${PRINTERS} printers (MB)`]: f1(rss50),
        "MB/printer": (Math.max(0, rss50 - rss0) / PRINTERS).toFixed(2),
        "deltas sent": m.result.sent,
        "printers at the last layer": `${applied}/${PRINTERS}`,
        "CPU µs/delta": f0(perDelta),
        "net of rest": f0(netPerDelta),
        "of it in the kernel": f0((m.sysMs * 1000) / m.result.sent),
        "CPU at rest (ms/s)": f1(restMsPerSec),
        "peak RSS (MB)": f1(Math.max(m.peakRssMb, v.peakRssMb)),
        "RSS after (MB)": f1(rssAfter),
      },
    });
    results.push({
      scenario: `lan: the same with 1 overview viewer, ${viewSecs} s`,
      figures: {
        "deltas sent": v.result.sent,
        "CPU µs/delta": f0((v.cpuMs * 1000) / v.result.sent),
        "net of rest": f0(((v.cpuMs - restMsPerSec * v.result.seconds) * 1000) / v.result.sent),
        "printer_card/printer_state to the viewer": `${got.get("printer_card") ?? 0}/${got.get("printer_state") ?? 0}`,
      },
    });
  } finally {
    await Promise.all(fakes.map((f) => f.close()));
  }
}
