// Twenty printers: the overview and printer pages with millions of readings stored (and again with twice as
// many), then a fleet of token devices sending structured statuses and readings to 20 viewers.
import type { Socket } from "socket.io-client";
import {
  api,
  connect,
  f0,
  f1,
  f2,
  httpLoad,
  loginCookie,
  measured,
  pct,
  quick,
  type Row,
  results,
  type Server,
  sleep,
  startServer,
  stopServer,
  thousands,
  workspace,
} from "./lib.ts";
import { FLEET, seedFleet } from "./seed.ts";

const PAGES = [
  ["overview /", "/"],
  ["printer page /printers/1", "/printers/1"],
  ["printer page /printers/7", "/printers/7"],
] as const;

/**
 * A fresh database with FLEET printers and `size` past readings (plus today's for printers 1..10): each
 * page is loaded by 10 clients; then `size` more (older) readings and the same again. Returns the server,
 * still running on the doubled database, for the fleet scenario.
 */
export async function printerPages(): Promise<{ server: Server; cookie: string; dir: string }> {
  const ws = workspace();
  await stopServer(await startServer(ws)); // the schema and printer 1
  const size = quick ? 300_000 : 3_000_000;
  const rounds: { rows: number; loads: Awaited<ReturnType<typeof httpLoad>>[] }[] = [];
  let server: Server | undefined;
  let cookie = "";
  for (const [from, to] of [
    [0, size],
    [size, 2 * size],
  ] as const) {
    if (server) await stopServer(server);
    const t0 = performance.now();
    const seeded = seedFleet(ws.dbPath, from, to);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`seeded ${FLEET} printers, ${thousands(seeded.rows)} readings over ${seeded.days} days in ${secs} s`);
    server = await startServer(ws);
    cookie = await loginCookie(server.url);
    const loads = [];
    for (const [, path] of PAGES) {
      for (let i = 0; i < 5; i++) await (await fetch(`${server.url}${path}`, { headers: { cookie } })).arrayBuffer();
      loads.push(await httpLoad(server, cookie, path));
    }
    rounds.push({ rows: seeded.rows, loads });
  }
  const [a, b] = rounds as [(typeof rounds)[0], (typeof rounds)[0]];
  const at = (rows: number) => `${(rows / 1e6).toFixed(1)} M`;
  for (const [i, [label]] of PAGES.entries()) {
    const [x, y] = [a.loads[i]!, b.loads[i]!];
    const figures: Row = {};
    for (const [rows, r] of [
      [a.rows, x],
      [b.rows, y],
    ] as const) {
      figures[`req/s at ${at(rows)}`] = f0(r.perSec);
      figures[`p99 ms at ${at(rows)}`] = f1(pct(r.latencies, 99));
      figures[`CPU µs/request at ${at(rows)}`] = f0(r.cpuUsPerRequest);
    }
    figures["req/s ratio (doubled / first)"] = f2(y.perSec / x.perSec);
    figures["CPU/request ratio"] = f2(y.cpuUsPerRequest / x.cpuUsPerRequest);
    figures.errors = x.errors + y.errors;
    figures["KB/response (decoded)"] = f1(y.avgBytes / 1024);
    figures["peak RSS (MB)"] = f1(Math.max(x.peakRssMb, y.peakRssMb));
    results.push({
      scenario: `HTTP ${label}, ${FLEET} printers, ${thousands(a.rows)} then ${thousands(b.rows)} rows, 10 clients`,
      figures,
    });
  }
  return { server: server!, cookie, dir: ws.dir };
}

const VIEWER_EVENTS = ["printer_state", "printer_card", "status2v", "temphum2v"] as const;

/** Each printer's device: a structured status every second and a reading every 10 s, acks timed. */
async function deviceLoop(d: Socket, i: number, t0: number, stopAt: number, tally: Tally) {
  const send = (event: string, payload: unknown) => {
    const s = performance.now();
    tally.sent++;
    d.timeout(10_000).emit(event, payload, (err: Error | null, ack?: { ok: boolean }) => {
      if (err || !ack?.ok) tally.failed++;
      else {
        tally.acked++;
        tally.ackMs.push(performance.now() - s);
      }
    });
  };
  // Devices are spread over the second, and their readings over the 10 s.
  for (let k = 0; ; k++) {
    const due = t0 + k * 1000 + i * (1000 / FLEET);
    if (due >= stopAt) break;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    send("status", {
      gcode_status: "RUNNING",
      percentage: Math.min(100, (k + i) * 0.25),
      current_layer: k + 1,
      total_layers: 2000 + i,
      remaining_time: Math.max(0, 600 - k * 0.05 - i),
      bed_temperature: 60 + (k % 10) / 10,
      nozzle_temperature: 220 + (k % 7) / 10,
      file_name: `bench-part-${i + 1}.gcode`,
    });
    if (k % 10 === i % 10) send("temphum", { temperature: 22 + (k % 50) / 10, humidity: 40 + (k % 30) / 10 });
  }
}
type Tally = { sent: number; acked: number; failed: number; ackMs: number[] };

/**
 * FLEET token devices and 20 viewers (10 on the overview, 10 on printer pages) for ~30 s, then ~30 s more
 * once the server has been under this load for a minute (a second row). For a breakdown,
 * BENCH_FLEET_OVERVIEW / BENCH_FLEET_PAGES set the viewer counts and BENCH_FLEET_WARM / BENCH_FLEET_REST the
 * warm-up and rest seconds; the row's label says which were used.
 */
export async function fleet(server: Server, cookie: string) {
  const knob = (name: string, fallback: number) => {
    const v = Number(process.env[name] ?? fallback);
    return Number.isInteger(v) && v >= 0 ? v : fallback;
  };
  const overviews = knob("BENCH_FLEET_OVERVIEW", 10);
  const pages = Math.min(FLEET, knob("BENCH_FLEET_PAGES", 10));
  const { url } = server;
  const printers = await api<{ id: number }[]>(url, cookie, "GET", "/api/printers");
  for (let n = printers.length + 1; printers.length < FLEET; n++)
    printers.push(await api<{ id: number }>(url, cookie, "POST", "/api/printers", { name: `Fleet printer ${n}` }));
  const ids = printers.slice(0, FLEET).map((p) => p.id);
  const tokens: string[] = [];
  for (const id of ids)
    tokens.push(
      (await api<{ token: string }>(url, cookie, "POST", `/api/printers/${id}/tokens`, { name: "bench" })).token,
    );
  const got = { overview: new Map<string, number>(), pages: new Map<string, number>() };
  const viewer = async (auth: Record<string, string>, into: Map<string, number>) => {
    const s = await connect(url, cookie, auth);
    for (const e of VIEWER_EVENTS) s.on(e, () => into.set(e, (into.get(e) ?? 0) + 1));
    return s;
  };
  const viewers = await Promise.all([
    ...Array.from({ length: overviews }, () => viewer({ view: "overview" }, got.overview)),
    ...ids.slice(0, pages).map((id) => viewer({ printer: String(id) }, got.pages)),
  ]);
  const devices = await Promise.all(tokens.map((token) => connect(url, null, { token })));
  const drive = async (seconds: number, tally: Tally) => {
    const t0 = performance.now() + 50;
    await Promise.all(devices.map((d, i) => deviceLoop(d, i, t0, t0 + seconds * 1000, tally)));
    const deadline = performance.now() + 5000;
    while (tally.acked + tally.failed < tally.sent && performance.now() < deadline) await sleep(10);
    return (performance.now() - t0) / 1000;
  };
  const newTally = (): Tally => ({ sent: 0, acked: 0, failed: 0, ackMs: [] });
  // The cost of standing still with everyone connected, to set the per-event figure against.
  await sleep(1000);
  const restSecs = Math.max(1, knob("BENCH_FLEET_REST", quick ? 2 : 5));
  const rest = await measured(server.proc.pid, () => sleep(restSecs * 1000));
  // A warm-up, unmeasured: a server that has run a while has its JIT and caches warm.
  const warmSecs = knob("BENCH_FLEET_WARM", quick ? 3 : 10);
  await drive(warmSecs, newTally());
  await sleep(1000);
  const seconds = quick ? 8 : 30;
  const count = (into: Map<string, number>, e: string) => into.get(e) ?? 0;
  /** Drives the fleet for `seconds` under measurement and adds a row named `label`. */
  const window = async (label: string) => {
    got.overview.clear();
    got.pages.clear();
    const tally = newTally();
    const m = await measured(server.proc.pid, () => drive(seconds, tally));
    await sleep(1000); // the last coalesced broadcasts
    results.push({
      scenario:
        `fleet: ${FLEET} token devices (status each second, reading every 10 s), ` +
        `${overviews} overview + ${pages} printer-page viewers, ${seconds} s ${label}`,
      figures: {
        "events/s": f1(tally.acked / m.result),
        "acked/sent": `${tally.acked}/${tally.sent}`,
        "ack p50 ms": f1(pct(tally.ackMs, 50)),
        "ack p99 ms": f1(pct(tally.ackMs, 99)),
        "CPU µs/event": f0((m.cpuMs * 1000) / Math.max(1, tally.acked)),
        "of it in the kernel": f0((m.sysMs * 1000) / Math.max(1, tally.acked)),
        "CPU at rest (ms/s)": f1(rest.cpuMs / restSecs),
        "printer_state to overview/pages": `${count(got.overview, "printer_state")}/${count(got.pages, "printer_state")}`,
        "printer_card to overview": count(got.overview, "printer_card"),
        "status2v/temphum2v to pages": `${count(got.pages, "status2v")}/${count(got.pages, "temphum2v")}`,
        "peak RSS (MB)": f1(m.peakRssMb),
      },
    });
  };
  await window(`after ${warmSecs} s warm-up`);
  // The same again once the server has been under this load for a minute: at 22 events/s the first
  // minute still pays for JIT compilation (compiler threads), which the row above includes.
  const steadyAfter = quick ? 20 : 60;
  const more = steadyAfter - warmSecs - seconds;
  if (more > 0) await drive(more, newTally());
  await window(`after ${Math.max(steadyAfter, warmSecs + seconds)} s under load (JIT warm)`);
  for (const s of [...viewers, ...devices]) s.disconnect();
}
