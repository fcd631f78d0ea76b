// Notification targets that are down must not slow ingest: the same device load (readings, and statuses that
// start and finish a print over and over, so print_started/print_finished are raised all the time) against a
// server with no targets, one whose target refuses connections, and one whose target accepts and never answers.
import { Database } from "bun:sqlite";
import { createServer, type Socket as NetSocket } from "node:net";
import type { Socket } from "socket.io-client";
import {
  api,
  connect,
  f0,
  f1,
  f2,
  loginCookie,
  measured,
  pct,
  quick,
  results,
  startServer,
  stopServer,
  workspace,
} from "./lib.ts";

const DEVICES = 10;
const WINDOW = 4;
/** Every STATUS_EVERY-th event of a device is a status; the rest are readings. */
const STATUS_EVERY = 4;

/** A port nothing listens on: bound by the OS, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A target that accepts the connection and never says a word. */
async function hangingServer() {
  const sockets = new Set<NetSocket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on("error", () => {});
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => sockets.size,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

type Tally = { sent: number; acked: number; failed: number; ackMs: number[] };

/** Device `i`'s k-th event: a reading, or every STATUS_EVERY-th a status that enters or leaves a print. */
function eventFor(i: number, k: number): [string, unknown] {
  if (k % STATUS_EVERY !== 0) return ["temphum", { temperature: 20 + (k % 100) / 10, humidity: 40 + (k % 50) / 10 }];
  const printing = (k / STATUS_EVERY) % 2 === 0;
  return [
    "status",
    {
      gcode_status: printing ? "RUNNING" : "FINISH",
      file_name: `notify-part-${i + 1}.gcode`,
      current_layer: printing ? 1 : 100,
      total_layers: 100,
      percentage: printing ? 1 : 100,
    },
  ];
}

/** Closed loop: each device keeps WINDOW events in flight until `stopAt`; ack times recorded. */
async function load(devices: Socket[], stopAt: number, tally: Tally) {
  await Promise.all(
    devices.map(async (d, i) => {
      const inflight = new Set<Promise<void>>();
      for (let k = 0; performance.now() < stopAt; k++) {
        const [event, payload] = eventFor(i, k);
        const s = performance.now();
        tally.sent++;
        const p = (d.timeout(10_000).emitWithAck(event, payload) as Promise<{ ok: boolean }>)
          .then(
            (a) => {
              if (!a.ok) return void tally.failed++;
              tally.acked++;
              tally.ackMs.push(performance.now() - s);
            },
            () => void tally.failed++,
          )
          .finally(() => inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= WINDOW) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    }),
  );
}

/** One server run with `targets`; the devices' rate and acks, and what the notifier made of it. */
async function run(targets: string[], held: () => number) {
  const ws = workspace({ notify: targets });
  const server = await startServer(ws);
  const cookie = await loginCookie(server.url);
  const { url } = server;
  const ids = [1];
  for (let n = 2; n <= DEVICES; n++)
    ids.push((await api<{ id: number }>(url, cookie, "POST", "/api/printers", { name: `Notify ${n}` })).id);
  const devices: Socket[] = [];
  for (const id of ids) {
    const { token } = await api<{ token: string }>(url, cookie, "POST", `/api/printers/${id}/tokens`, { name: "b" });
    devices.push(await connect(url, null, { token }));
  }
  const newTally = (): Tally => ({ sent: 0, acked: 0, failed: 0, ackMs: [] });
  await load(devices, performance.now() + (quick ? 1000 : 2000), newTally()); // warm-up
  const tally = newTally();
  const seconds = quick ? 5 : 8;
  const m = await measured(server.proc.pid, async () => {
    const t0 = performance.now();
    await load(devices, t0 + seconds * 1000, tally);
    return (performance.now() - t0) / 1000;
  });
  for (const d of devices) d.disconnect();
  const connectionsHeld = held();
  await stopServer(server);
  const db = new Database(ws.dbPath, { readonly: true });
  const jobs = (db.query("SELECT count(*) AS n FROM jobs").get() as { n: number }).n;
  // Deliveries to the configured target (the built-in webpush:// one, with no subscribers, left out).
  const sent = db
    .query(
      "SELECT count(*) AS n, coalesce(sum(d.attempts), 0) AS attempts, coalesce(sum(d.status = 'sent'), 0) AS ok " +
        "FROM notify_deliveries d JOIN notify_targets t ON t.id = d.target_id WHERE t.url NOT LIKE 'webpush%'",
    )
    .get() as { n: number; attempts: number; ok: number };
  db.close();
  return {
    eventsPerSec: tally.acked / m.result,
    tally,
    cpuUsPerEvent: (m.cpuMs * 1000) / Math.max(1, tally.acked),
    peakRssMb: m.peakRssMb,
    jobs,
    connectionsHeld,
    deliveries: sent,
  };
}
type Run = Awaited<ReturnType<typeof run>>;
const median = (xs: number[]) => pct(xs, 50);

export async function notifyScenario() {
  const hang = await hangingServer();
  try {
    const dead = `json://127.0.0.1:${await closedPort()}/hook`;
    const hanging = `json://127.0.0.1:${hang.port}/hook`;
    const configs = [
      ["no targets", []],
      ["1 dead target (connection refused)", [dead]],
      ["1 target that accepts and never answers", [hanging]],
    ] as const;
    // Rounds in turn (none, dead, hanging, none, ...), so a drift in the machine's load hits all alike.
    const rounds = quick ? 1 : 3;
    const runs: Run[][] = configs.map(() => []);
    for (let r = 0; r < rounds; r++)
      for (const [i, [, targets]] of configs.entries()) runs[i]!.push(await run([...targets], hang.accepted));
    // Each figure is the median of the runs' own: one run slowed by the machine's other load moves none.
    const rate = (rs: Run[]) => median(rs.map((x) => x.eventsPerSec));
    const ack = (rs: Run[], p: number) => median(rs.map((x) => pct(x.tally.ackMs, p)));
    const base = runs[0]!;
    for (const [i, [label, targets]] of configs.entries()) {
      const rs = runs[i]!;
      const sum = (f: (x: Run) => number) => rs.reduce((a, x) => a + f(x), 0);
      results.push({
        scenario:
          `notify: ${DEVICES} token devices, closed loop (${WINDOW} in flight each, every ${STATUS_EVERY}th ` +
          `a status starting or finishing a print), ${label}${rounds > 1 ? `, median of ${rounds} runs` : ""}`,
        figures: {
          "events/s": f0(rate(rs)),
          ...(rounds > 1 ? { "per run": rs.map((x) => f0(x.eventsPerSec)).join(", ") } : {}),
          "acked/sent": `${sum((x) => x.tally.acked)}/${sum((x) => x.tally.sent)}`,
          "ack p50 ms": f1(ack(rs, 50)),
          "ack p99 ms": f1(ack(rs, 99)),
          "CPU µs/event": f0(median(rs.map((x) => x.cpuUsPerEvent))),
          "jobs opened (with warm-up)": sum((x) => x.jobs),
          ...(targets.length
            ? {
                "events/s vs none": f2(rate(rs) / rate(base)),
                "p99 vs none": f2(ack(rs, 99) / ack(base, 99)),
                "deliveries to the target (attempts, sent)": `${sum((x) => x.deliveries.n)} (${sum(
                  (x) => x.deliveries.attempts,
                )}, ${sum((x) => x.deliveries.ok)})`,
              }
            : {}),
          ...(targets[0] === hanging ? { "connections it held at the end": sum((x) => x.connectionsHeld) } : {}),
          "peak RSS (MB)": f1(Math.max(...rs.map((x) => x.peakRssMb))),
        },
      });
    }
  } finally {
    hang.close();
  }
}
