// `make bench`: drives the real server (the compiled binary when built, else bun) with real clients on
// 127.0.0.1 and prints a table plus bench/results/latest.json. Every loop is bounded in count and time.
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io as ioClient, type Socket } from "socket.io-client";

const root = join(import.meta.dir, "..");
const binary = join(root, "dist/layerwatch-linux-x64");
const useBinary = existsSync(binary) && !process.env.BENCH_SOURCE;
const CLK_TCK = 100;
const quick = !!process.env.BENCH_QUICK;

// ---------- helpers ----------
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function pct(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toString() : "n/a");
function procStat(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpuMs = ((Number(fields[11]) + Number(fields[12])) / CLK_TCK) * 1000;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  return { cpuMs, rssMb: rss };
}
/** Samples the server's RSS while `fn` runs; returns fn's result, the peak RSS and the CPU it used. */
async function measured<T>(pid: number, fn: () => Promise<T>) {
  const before = procStat(pid);
  let peak = before.rssMb;
  const timer = setInterval(() => {
    peak = Math.max(peak, procStat(pid).rssMb);
  }, 100);
  try {
    const result = await fn();
    const after = procStat(pid);
    return { result, peakRssMb: Math.max(peak, after.rssMb), cpuMs: after.cpuMs - before.cpuMs };
  } finally {
    clearInterval(timer);
  }
}

// ---------- server ----------
const dir = mkdtempSync(join(tmpdir(), "layerwatch-bench-"));
const dbPath = join(dir, "app.db");
writeFileSync(
  join(dir, "config.json"),
  JSON.stringify({
    web_username: "admin",
    web_password: "bench-password-1",
    secret_key: "bench-secret-0123456789abcdef",
    database_uri: dbPath,
    host: "127.0.0.1",
    port: 0,
    timezone: "Europe/Helsinki",
    device_rate_limit: 0,
    raw_retention_days: 0,
  }),
);

async function startServer() {
  const cmd = useBinary
    ? [binary, "--config", join(dir, "config.json")]
    : [process.execPath, join(root, "src/main.ts"), "--config", join(dir, "config.json")];
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, {
    cwd: dir,
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, LAYERWATCH_LOG_LEVEL: "warn" },
  });
  // The URL is not logged at warn level: find the port from /proc once it listens.
  let url = "";
  const deadline = Date.now() + 30000;
  while (!url && Date.now() < deadline) {
    await sleep(10);
    const port = listeningPort(proc.pid);
    if (port) url = `http://127.0.0.1:${port}`;
  }
  if (!url) throw new Error("server did not start");
  let firstOk = NaN;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) {
        firstOk = performance.now() - t0;
        break;
      }
    } catch {
      /* starting */
    }
    await sleep(5);
  }
  return { proc, url, startupMs: firstOk };
}

function listeningPort(pid: number): number | null {
  const inodes = new Set<string>();
  try {
    for (const fd of require("node:fs").readdirSync(`/proc/${pid}/fd`)) {
      const link = require("node:fs").readlinkSync(`/proc/${pid}/fd/${fd}`) as string;
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) inodes.add(m[1]!);
    }
    for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === "0A" && inodes.has(cols[9]!)) return parseInt(cols[1]!.split(":")[1]!, 16);
    }
  } catch {
    /* not yet */
  }
  return null;
}

async function loginCookie(url: string) {
  const res = await fetch(`${url}/login`, {
    method: "POST",
    redirect: "manual",
    body: new URLSearchParams({ username: "admin", password: "bench-password-1" }),
  });
  return res.headers.getSetCookie()[0]!.split(";")[0]!;
}
function connect(url: string, cookie: string): Promise<Socket> {
  const s = ioClient(url, { transports: ["websocket"], extraHeaders: { cookie }, reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
}

// ---------- scenarios ----------
type Row = Record<string, string | number>;
const results: { scenario: string; figures: Row }[] = [];

/**
 * Devices and viewers for the reading scenarios. Each reading's values encode its sequence number,
 * so a viewer can tell which one arrived; latency is emit → the last viewer has it.
 */
async function readingRig(url: string, cookie: string, devices: number, viewers: number) {
  const vs = await Promise.all(Array.from({ length: viewers }, () => connect(url, cookie)));
  const ds = await Promise.all(Array.from({ length: devices }, () => connect(url, cookie)));
  for (const d of ds) await d.timeout(5000).emitWithAck("status", { status: "bench" }); // become devices
  const sentAt = new Map<number, number>();
  const seen = new Map<number, number>();
  const latencies: number[] = [];
  for (const v of vs)
    v.on("temphum2v", (r: { temperature: number; humidity: number }) => {
      const k = readingKey(r.temperature, r.humidity);
      const n = (seen.get(k) ?? 0) + 1;
      seen.set(k, n);
      if (n === viewers) {
        latencies.push(performance.now() - sentAt.get(k)!);
        seen.delete(k);
      }
    });
  return { vs, ds, sentAt, latencies };
}
const readingKey = (t: number, h: number) => Math.round(t * 20) + Math.round(h) * 4000;
/** Sequence number → a valid reading (temperature 0..150 in 0.05 steps, humidity 0..99). */
const readingFor = (s: number) => ({ temperature: (s % 3000) / 20, humidity: Math.floor(s / 3000) % 100 });

/** Closed loop: each device keeps `window` events in flight; latency is emit → the last viewer has it. */
async function ingest(
  url: string,
  cookie: string,
  devices: number,
  viewers: number,
  opts: { total: number; window: number; maxMs: number },
) {
  const { vs, ds, sentAt, latencies } = await readingRig(url, cookie, devices, viewers);
  let seq = 0,
    acked = 0,
    failed = 0;
  const t0 = performance.now();
  const stopAt = t0 + opts.maxMs;
  await Promise.all(
    ds.map(async (d) => {
      const inflight = new Set<Promise<void>>();
      while (seq < opts.total && performance.now() < stopAt) {
        const s = seq++;
        const { temperature, humidity } = readingFor(s);
        sentAt.set(readingKey(temperature, humidity), performance.now());
        const p = (d.timeout(10000).emitWithAck("temphum", { temperature, humidity }) as Promise<{ ok: boolean }>)
          .then(
            (a) => {
              if (a.ok) acked++;
              else failed++;
            },
            () => {
              failed++;
            },
          )
          .finally(() => inflight.delete(p));
        inflight.add(p);
        if (inflight.size >= opts.window) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    }),
  );
  const deadline = performance.now() + 5000;
  while (latencies.length < acked && performance.now() < deadline) await sleep(5);
  const seconds = (performance.now() - t0) / 1000;
  for (const s of [...vs, ...ds]) s.disconnect();
  return { sent: seq, acked, failed, delivered: latencies.length, eventsPerSec: latencies.length / seconds, latencies };
}

/** Open loop: `devices` each send at a fixed rate; latency is emit → the last viewer has it. */
async function paced(
  url: string,
  cookie: string,
  devices: number,
  viewers: number,
  perSecondTotal: number,
  seconds: number,
) {
  const { vs, ds, sentAt, latencies } = await readingRig(url, cookie, devices, viewers);
  const total = perSecondTotal * seconds;
  const gap = 1000 / perSecondTotal;
  const t0 = performance.now();
  for (let s = 0; s < total; s++) {
    const due = t0 + s * gap;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const { temperature, humidity } = readingFor(s);
    sentAt.set(readingKey(temperature, humidity), performance.now());
    ds[s % devices]!.emit("temphum", { temperature, humidity });
  }
  const deadline = performance.now() + 5000;
  while (latencies.length < total && performance.now() < deadline) await sleep(5);
  for (const s of [...vs, ...ds]) s.disconnect();
  return { sent: total, delivered: latencies.length, latencies };
}

/** One device sends 200 KB JPEG frames at `fps`; each viewer records when each frame arrives. */
async function fanout(url: string, cookie: string, viewers: number, fps: number, seconds: number) {
  const vs = await Promise.all(Array.from({ length: viewers }, () => connect(url, cookie)));
  const device = await connect(url, cookie);
  await device.timeout(5000).emitWithAck("status", { status: "bench" });
  const frame = Buffer.alloc(200 * 1024);
  for (let i = 0; i < frame.length; i++) frame[i] = (i * 131) & 0xff;
  frame.set([0xff, 0xd8, 0xff, 0xe0]);
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let received = 0;
  for (const v of vs)
    v.on("image2v", (f: { image: ArrayBuffer }) => {
      const seq = new Uint8Array(f.image)[4]! | (new Uint8Array(f.image)[5]! << 8);
      received++;
      latencies.push(performance.now() - sentAt.get(seq)!);
    });
  const total = fps * seconds;
  const t0 = performance.now();
  for (let s = 0; s < total; s++) {
    const wait = t0 + (s * 1000) / fps - performance.now();
    if (wait > 0) await sleep(wait);
    frame[4] = s & 0xff;
    frame[5] = (s >> 8) & 0xff;
    sentAt.set(s, performance.now());
    device.emit("image", { image: frame });
  }
  const deadline = performance.now() + 10000;
  while (received < total * viewers && performance.now() < deadline) await sleep(10);
  for (const s of [...vs, device]) s.disconnect();
  return { frames: total, viewers, delivered: received / (total * viewers), latencies };
}

/** `concurrency` clients request `path` back to back for up to `seconds` (and at most `max` requests). */
async function http(
  url: string,
  cookie: string,
  path: string | (() => string),
  concurrency: number,
  seconds: number,
  max: number,
) {
  const latencies: number[] = [];
  let bytes = 0,
    errors = 0,
    n = 0;
  const t0 = performance.now();
  const stopAt = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < stopAt && n < max) {
        n++;
        const s = performance.now();
        const res = await fetch(`${url}${typeof path === "string" ? path : path()}`, {
          headers: { cookie, "accept-encoding": "gzip" },
        });
        const body = await res.arrayBuffer();
        if (res.status !== 200) errors++;
        bytes += body.byteLength;
        latencies.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  return {
    requests: latencies.length,
    errors,
    perSec: latencies.length / secs,
    avgBytes: bytes / Math.max(1, latencies.length),
    latencies,
  };
}

/** A year of readings at 10 s intervals, written straight into the file (the server is stopped). */
function seedYear(path: string) {
  const db = new Database(path);
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = OFF");
  const end = Date.now() - 60_000;
  const start = end - 365 * 86400_000;
  db.run(`INSERT INTO readings (device_id, recorded_at, temperature, humidity)
    WITH RECURSIVE t(ts) AS (SELECT ${start} UNION ALL SELECT ts + 10000 FROM t WHERE ts + 10000 < ${end})
    SELECT 1, ts, 20 + ((ts / 60000) % 100) / 20.0, 40 + ((ts / 90000) % 200) / 10.0 FROM t`);
  // Summaries by UTC hour/day-start with Helsinki's winter offset: close enough for load, not for display.
  for (const [bucket, size] of [
    ["hour", 3600000],
    ["day", 86400000],
  ] as const) {
    db.run(`INSERT OR IGNORE INTO printer_summaries
        (printer_id, bucket, start_at, count, temp_sum, temp_min, temp_max, hum_sum, hum_min, hum_max)
      SELECT 1, '${bucket}', ((recorded_at + 7200000) / ${size}) * ${size} - 7200000 AS b, count(*),
        sum(temperature), min(temperature), max(temperature), sum(humidity), min(humidity), max(humidity)
      FROM readings GROUP BY b`);
  }
  const n = (db.query("SELECT count(*) AS n FROM readings").get() as { n: number }).n;
  db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.close();
  return { rows: n, midDay: new Date(start + 180 * 86400_000).toISOString().slice(0, 10) };
}

// ---------- run ----------
const began = performance.now();
console.log(
  `layerwatch benchmark: ${useBinary ? "compiled binary" : "bun src/main.ts"}, ` +
    `${navigator.hardwareConcurrency} cores${quick ? ", quick mode" : ""}`,
);
let server = await startServer();
const cookie0 = await loginCookie(server.url);
await sleep(3000);
const idle = procStat(server.proc.pid);
results.push({
  scenario: "start-up",
  figures: { "time to first 200 (ms)": f0(server.startupMs), "idle RSS (MB)": f1(idle.rssMb) },
});

const scale = quick ? 0.25 : 1;
{
  const m = await measured(server.proc.pid, () =>
    ingest(server.url, cookie0, 1, 10, { total: Math.round(30000 * scale), window: 64, maxMs: 20000 }),
  );
  const r = m.result;
  results.push({
    scenario: "ingest: 1 device, 10 viewers, closed loop (64 in flight)",
    figures: {
      "events/s": f0(r.eventsPerSec),
      "p50 ms": f1(pct(r.latencies, 50)),
      "p95 ms": f1(pct(r.latencies, 95)),
      "p99 ms": f1(pct(r.latencies, 99)),
      delivered: `${r.delivered}/${r.sent}`,
      "CPU µs/event": f1((m.cpuMs * 1000) / Math.max(1, r.delivered)),
      "peak RSS (MB)": f1(m.peakRssMb),
    },
  });
}
{
  const m = await measured(server.proc.pid, () =>
    ingest(server.url, cookie0, 10, 10, { total: Math.round(30000 * scale), window: 8, maxMs: 20000 }),
  );
  const r = m.result;
  results.push({
    scenario: "ingest: 10 devices, 10 viewers, closed loop (8 in flight each)",
    figures: {
      "events/s": f0(r.eventsPerSec),
      "p50 ms": f1(pct(r.latencies, 50)),
      "p95 ms": f1(pct(r.latencies, 95)),
      "p99 ms": f1(pct(r.latencies, 99)),
      delivered: `${r.delivered}/${r.sent}`,
      "CPU µs/event": f1((m.cpuMs * 1000) / Math.max(1, r.delivered)),
      "peak RSS (MB)": f1(m.peakRssMb),
    },
  });
}
{
  const m = await measured(server.proc.pid, () => paced(server.url, cookie0, 10, 10, 100, quick ? 3 : 10));
  const r = m.result;
  results.push({
    scenario: "paced: 10 devices at 100 events/s total, 10 viewers",
    figures: {
      "p50 ms": f1(pct(r.latencies, 50)),
      "p95 ms": f1(pct(r.latencies, 95)),
      "p99 ms": f1(pct(r.latencies, 99)),
      delivered: `${r.delivered}/${r.sent}`,
      "CPU µs/event": f1((m.cpuMs * 1000) / Math.max(1, r.delivered)),
      "peak RSS (MB)": f1(m.peakRssMb),
    },
  });
}
for (const viewers of [10, 50, 100]) {
  const m = await measured(server.proc.pid, () => fanout(server.url, cookie0, viewers, 10, quick ? 2 : 5));
  const r = m.result;
  results.push({
    scenario: `image fan-out: 200 KB at 10/s to ${viewers} viewers`,
    figures: {
      delivered: `${(r.delivered * 100).toFixed(1)} %`,
      "p50 ms": f1(pct(r.latencies, 50)),
      "p99 ms": f1(pct(r.latencies, 99)),
      "CPU µs/frame-delivery": f1((m.cpuMs * 1000) / Math.max(1, r.frames * r.viewers * r.delivered)),
      "peak RSS (MB)": f1(m.peakRssMb),
    },
  });
}

// A year of data: stop, seed the file, start again.
server.proc.kill("SIGTERM");
await server.proc.exited;
const seedStart = performance.now();
const seeded = seedYear(dbPath);
console.log(
  `seeded ${seeded.rows.toLocaleString("en")} readings in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
);
server = await startServer();
const cookie = await loginCookie(server.url);
const days = Array.from({ length: 300 }, (_, i) =>
  new Date(Date.parse(seeded.midDay) - (150 - i) * 86400_000).toISOString().slice(0, 10),
);
for (const [label, path] of [
  ["dashboard page /3d", "/3d"],
  [`/api/temphum one day (${seeded.midDay}, 8,640 readings)`, `/api/temphum?date=${seeded.midDay}`],
  [
    "/api/temphum a different day each request (uncached)",
    () => `/api/temphum?date=${days[Math.floor(Math.random() * days.length)]}`,
  ],
  ["/api/temphum/summary month of days", "/api/temphum/summary?bucket=day"],
] as const) {
  const m = await measured(server.proc.pid, () => http(server.url, cookie, path, 10, quick ? 2 : 5, 20000));
  const r = m.result;
  results.push({
    scenario: `HTTP ${label}, ${seeded.rows.toLocaleString("en")} rows, 10 clients`,
    figures: {
      "req/s": f0(r.perSec),
      "p50 ms": f1(pct(r.latencies, 50)),
      "p99 ms": f1(pct(r.latencies, 99)),
      errors: r.errors,
      "KB/response (decoded)": f1(r.avgBytes / 1024),
      "CPU µs/request": f0((m.cpuMs * 1000) / Math.max(1, r.requests)),
      "peak RSS (MB)": f1(m.peakRssMb),
    },
  });
}
const settle = quick ? 10 : 60;
await sleep(settle * 1000);
const after = procStat(server.proc.pid);
results.push({
  scenario: `memory ${settle} s after load`,
  figures: {
    "RSS (MB)": f1(after.rssMb),
    "idle RSS at start (MB)": f1(idle.rssMb),
    "difference (MB)": f1(after.rssMb - idle.rssMb),
  },
});
server.proc.kill("SIGTERM");
await server.proc.exited;
rmSync(dir, { recursive: true, force: true });

// ---------- report ----------
const lines: string[] = [];
for (const { scenario, figures } of results) {
  lines.push(
    `| ${scenario} | ${Object.entries(figures)
      .map(([k, v]) => `${k}: **${v}**`)
      .join(" · ")} |`,
  );
}
const table = ["| scenario | figures |", "|---|---|", ...lines].join("\n");
console.log(`\n${table}\n\ntotal ${((performance.now() - began) / 1000).toFixed(0)} s`);
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(
  join(root, "bench/results/latest.json"),
  JSON.stringify(
    { date: new Date().toISOString(), binary: useBinary, cores: navigator.hardwareConcurrency, results },
    null,
    2,
  ),
);
writeFileSync(join(root, "bench/results/latest.md"), `${table}\n`);
