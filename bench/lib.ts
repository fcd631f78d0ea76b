// The benchmark's tools: figures, the server process (start, stop, its CPU and memory from /proc) and the
// clients (login, sockets, an HTTP load loop). Everything talks to 127.0.0.1 only.
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io as ioClient, type Socket } from "socket.io-client";

export const root = join(import.meta.dir, "..");
/** BENCH_BINARY=<path>: another build to measure (e.g. a copy kept from before a change). */
export const binary = process.env.BENCH_BINARY || join(root, "dist/layerwatch-linux-x64");
/** BENCH_PROFILE=<dir>: run from source with Bun's CPU profiler, a markdown profile per server in <dir>. */
const profileDir = process.env.BENCH_PROFILE;
export const useBinary = existsSync(binary) && !process.env.BENCH_SOURCE && !profileDir;
export const quick = !!process.env.BENCH_QUICK;
const CLK_TCK = 100;
export const ZONE = "Europe/Helsinki";
const PASSWORD = "bench-password-1";

// ---------- figures ----------
export type Row = Record<string, string | number>;
/** Every scenario's row, in the order they ran: the table and latest.json are made from this. */
export const results: { scenario: string; figures: Row }[] = [];
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export function pct(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}
export const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
export const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toString() : "n/a");
export const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
export const thousands = (n: number) => n.toLocaleString("en");

// ---------- the server process ----------
export function procStat(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const [userMs, sysMs] = [(Number(fields[11]) / CLK_TCK) * 1000, (Number(fields[12]) / CLK_TCK) * 1000];
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
  return { cpuMs: userMs + sysMs, sysMs, rssMb: rss };
}

/** Samples the server's RSS while `fn` runs; returns fn's result, the peak RSS and the CPU (and kernel CPU) used. */
export async function measured<T>(pid: number, fn: () => Promise<T>) {
  const before = procStat(pid);
  let peak = before.rssMb;
  const timer = setInterval(() => {
    peak = Math.max(peak, procStat(pid).rssMb);
  }, 100);
  try {
    const result = await fn();
    const after = procStat(pid);
    const [cpuMs, sysMs] = [after.cpuMs - before.cpuMs, after.sysMs - before.sysMs];
    return { result, peakRssMb: Math.max(peak, after.rssMb), cpuMs, sysMs };
  } finally {
    clearInterval(timer);
  }
}

/** A temp dir with a config (plus `extra` keys) and an empty database path: one per database built. */
export type Workspace = { dir: string; dbPath: string; configPath: string };
export function workspace(extra: Record<string, unknown> = {}): Workspace {
  const dir = mkdtempSync(join(tmpdir(), "layerwatch-bench-"));
  dirs.add(dir);
  const dbPath = join(dir, "app.db");
  const configPath = join(dir, "config.json");
  writeFileSync(
    configPath,
    JSON.stringify({
      web_username: "admin",
      web_password: PASSWORD,
      secret_key: "bench-secret-0123456789abcdef",
      database_uri: dbPath,
      host: "127.0.0.1",
      port: 0,
      timezone: ZONE,
      device_rate_limit: 0,
      raw_retention_days: 0,
      ...extra,
    }),
  );
  return { dir, dbPath, configPath };
}

/** Servers still running and temp dirs still there: gone when the benchmark exits, even on an error. */
const running = new Set<{ kill: () => void }>();
const dirs = new Set<string>();
process.on("exit", () => {
  for (const proc of running) proc.kill();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

export type Server = Awaited<ReturnType<typeof startServer>>;
export async function startServer(ws: Workspace) {
  const cmd = useBinary
    ? [binary, "--config", ws.configPath]
    : [
        process.execPath,
        ...(profileDir ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${profileDir}`] : []),
        join(root, "src/main.ts"),
        "--config",
        ws.configPath,
      ];
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, {
    cwd: ws.dir,
    stdout: "ignore",
    stderr: "pipe",
    env: { ...process.env, LAYERWATCH_LOG_LEVEL: "warn" },
  });
  running.add(proc);
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

export async function stopServer(server: Server) {
  serversCpuMs += procStat(server.proc.pid).cpuMs;
  server.proc.kill("SIGTERM");
  await server.proc.exited;
  running.delete(server.proc);
}

function listeningPort(pid: number): number | null {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
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

// ---------- the rest of the machine ----------
let serversCpuMs = 0;
const machineBusyMs = () => {
  const cols = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: interrupts are left out (ours count there too).
  return ((cols[0]! + cols[1]! + cols[2]! + cols[7]!) / CLK_TCK) * 1000;
};
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000 + serversCpuMs;
};
/** Starts counting the CPU that other processes use; the result says what share of the cores they took. */
export function otherLoad() {
  const [busy0, own0, t0] = [machineBusyMs(), ownCpuMs(), performance.now()];
  return () => {
    const others = machineBusyMs() - busy0 - (ownCpuMs() - own0);
    return Math.max(0, others / ((performance.now() - t0) * navigator.hardwareConcurrency));
  };
}

// ---------- clients ----------
export async function loginCookie(url: string) {
  const res = await fetch(`${url}/login`, {
    method: "POST",
    redirect: "manual",
    body: new URLSearchParams({ username: "admin", password: PASSWORD }),
  });
  return res.headers.getSetCookie()[0]!.split(";")[0]!;
}

/** A Socket.IO connection: a cookie viewer (optionally naming what it watches) or a token device. */
export function connect(url: string, cookie: string | null, auth?: Record<string, string>): Promise<Socket> {
  const s = ioClient(url, {
    transports: ["websocket"],
    extraHeaders: cookie ? { cookie } : {},
    auth,
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
}

/** A JSON API call with the admin's cookie; throws on anything but 2xx. */
export async function api<T>(url: string, cookie: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { cookie, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** `concurrency` clients request `path` back to back for up to `seconds` (and at most `max` requests). */
export async function http(
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

/** `http` under `measured`: the load's figures plus the server's CPU per request and peak RSS. */
export async function httpLoad(server: Server, cookie: string, path: string | (() => string)) {
  const m = await measured(server.proc.pid, () => http(server.url, cookie, path, 10, quick ? 2 : 5, 20000));
  return { ...m.result, cpuUsPerRequest: (m.cpuMs * 1000) / Math.max(1, m.result.requests), peakRssMb: m.peakRssMb };
}
