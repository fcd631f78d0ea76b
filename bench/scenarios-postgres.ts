// The PostgreSQL rows: device ingest on SQLite and then on PostgreSQL in the same run (acks counted against
// rows), copy-db of a 3 M-reading fleet database into PostgreSQL, and the printer page and a day's readings
// served from PostgreSQL against the same data on SQLite. The cluster is a throwaway one with fsync and
// synchronous_commit on (PostgreSQL's defaults), as SQLite runs with synchronous=FULL. The postgres processes'
// CPU (work the SQLite engine does inside the server) is a figure of its own, from /proc. Then two instances on
// one database and a throwaway Redis: readings from a device on one reach viewers on the other.
import { Database } from "bun:sqlite";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SQL } from "bun";
import { dayOf, shiftDay } from "../src/time.ts";
import { type PostgresServer, postgresBinDir, startPostgres, startRedis } from "../test/servers.ts";
import {
  binary,
  f0,
  f1,
  f2,
  httpLoad,
  loginCookie,
  measured,
  pct,
  quick,
  results,
  root,
  type Server,
  startServer,
  stopServer,
  thousands,
  useBinary,
  type Workspace,
  workspace,
  ZONE,
} from "./lib.ts";
import { ingest, paced } from "./scenarios-live.ts";
import { FLEET, seedFleet } from "./seed.ts";

const CLK_TCK = 100;
const ticks = (pid: number, fields: number[]) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const cols = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(cols[1]), ticks: fields.reduce((sum, i) => sum + Number(cols[i]), 0) };
};

/**
 * CPU (ms) used so far by the postmaster and its processes: its own time, its reaped children's (a backend
 * that exited), and each live child's (backends, WAL writer, checkpointer...).
 */
function postgresCpuMs(postmaster: number): number {
  let total = ticks(postmaster, [11, 12, 13, 14]).ticks;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const t = ticks(Number(name), [11, 12]);
      if (t.ppid === postmaster) total += t.ticks;
    } catch {
      /* gone meanwhile */
    }
  }
  return (total / CLK_TCK) * 1000;
}

/** `fn` under `measured` (the server's CPU), plus the postgres processes' CPU when `pg` is given. */
async function withPostgresCpu<T>(server: Server, pg: PostgresServer | null, fn: () => Promise<T>) {
  const before = pg ? postgresCpuMs(pg.pid) : 0;
  const m = await measured(server.proc.pid, fn);
  return { ...m, pgCpuMs: pg ? postgresCpuMs(pg.pid) - before : NaN };
}

async function readingRows(ws: Workspace, url: string | null): Promise<number> {
  if (url) {
    const sql = new SQL(url, { max: 1 });
    try {
      const [row] = await sql`SELECT count(*)::int AS n FROM readings`;
      return (row as { n: number }).n;
    } finally {
      await sql.close();
    }
  }
  const db = new Database(ws.dbPath, { readonly: true });
  try {
    return (db.query("SELECT count(*) AS n FROM readings").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The closed-loop ingest of the printer1 group (10 devices, 8 in flight each, 10 viewers) on one engine. */
async function ingestOn(engine: "SQLite" | "PostgreSQL", pg: PostgresServer | null) {
  const url = pg ? await pg.createDatabase() : null;
  const ws = workspace(url ? { database_url: url } : {});
  const server = await startServer(ws);
  const cookie = await loginCookie(server.url);
  await Bun.sleep(2000); // past start-up's one-off work
  const m = await withPostgresCpu(server, pg, () =>
    ingest(server.url, cookie, 10, 10, { total: Math.round(30000 * (quick ? 0.25 : 1)), window: 8, maxMs: 20000 }),
  );
  await stopServer(server);
  const rows = await readingRows(ws, url);
  const r = m.result;
  const figures = {
    "events/s": f0(r.eventsPerSec),
    "p50 ms": f1(pct(r.latencies, 50)),
    "p99 ms": f1(pct(r.latencies, 99)),
    delivered: `${r.delivered}/${r.sent}`,
    "acked/rows stored": `${r.acked}/${rows}`,
    "server CPU µs/event": f1((m.cpuMs * 1000) / Math.max(1, r.delivered)),
    "postgres processes CPU µs/event": pg ? f1((m.pgCpuMs * 1000) / Math.max(1, r.delivered)) : "n/a",
    "peak RSS (MB)": f1(m.peakRssMb),
  };
  console.log(`${engine} ingest: ${r.acked} acked, ${rows} rows`);
  return { figures, eventsPerSec: r.eventsPerSec, missing: Math.max(0, r.acked - rows) };
}

/** `layerwatch copy-db` with the binary (or from source): seconds, and the rows the source had. */
async function copyDb(ws: Workspace, target: string) {
  const cmd = useBinary ? [binary] : [process.execPath, join(root, "src/main.ts")];
  const t0 = performance.now();
  const proc = Bun.spawn([...cmd, "copy-db", ws.dbPath, target, "--config", ws.configPath], {
    cwd: ws.dir,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, LAYERWATCH_LOG_LEVEL: "warn" },
  });
  const [out, err, code] = [
    await new Response(proc.stdout).text(),
    await new Response(proc.stderr).text(),
    await proc.exited,
  ];
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`copy-db exited ${code}:\n${out}\n${err}`);
  // The table of counts: "table  source  target" per line.
  const counts = out
    .split("\n")
    .map((l) => /^(\S+)\s+(\d+)\s+(\d+)$/.exec(l.trim()))
    .filter((m) => m !== null)
    .map((m) => ({ table: m[1]!, source: Number(m[2]) }));
  const rows = counts.reduce((s, c) => s + c.source, 0);
  const readings = counts.find((c) => c.table === "readings")?.source ?? 0;
  return { seconds, rows, readings };
}

/** The page loads of the printers group, on one server; the postgres processes' CPU when `pg` is given. */
async function pageLoads(server: Server, pg: PostgresServer | null, day: string) {
  const cookie = await loginCookie(server.url);
  const out: Record<string, Awaited<ReturnType<typeof httpLoad>> & { pgUsPerRequest: number }> = {};
  for (const path of ["/printers/1", `/api/temphum?date=${day}`]) {
    for (let i = 0; i < 5; i++) await (await fetch(`${server.url}${path}`, { headers: { cookie } })).arrayBuffer();
    const before = pg ? postgresCpuMs(pg.pid) : 0;
    const r = await httpLoad(server, cookie, path);
    const pgMs = pg ? postgresCpuMs(pg.pid) - before : NaN;
    out[path] = { ...r, pgUsPerRequest: (pgMs * 1000) / Math.max(1, r.requests) };
  }
  return out;
}

/**
 * Two instances on one PostgreSQL database joined by Redis: one device on A sends readings at 100/s, paced;
 * latency is its emit → the last of 10 viewers on B has it (stored on A, relayed through Redis, sent by B).
 */
export async function crossInstance(given?: PostgresServer) {
  const pg = given ?? (await startPostgres({ durable: true }));
  const redis = await startRedis().catch(async (err) => {
    if (!given) await pg.stop();
    throw err;
  });
  try {
    const extra = { database_url: await pg.createDatabase(), redis_url: redis.url };
    const [wa, wb] = [workspace(extra), workspace(extra)];
    // One after the other: the first migrates the new database, the second finds it done.
    const a = await startServer(wa);
    const b = await startServer(wb);
    try {
      const [cookieA, cookieB] = [await loginCookie(a.url), await loginCookie(b.url)];
      await Bun.sleep(2000); // past start-up's one-off work
      const seconds = quick ? 3 : 10;
      const ma = await measured(a.proc.pid, async () =>
        measured(b.proc.pid, () => paced(a.url, cookieA, 1, 10, 100, seconds, { url: b.url, cookie: cookieB })),
      );
      const mb = ma.result;
      const r = mb.result;
      results.push({
        scenario: "cross-instance: 1 device on A at 100 readings/s, 10 viewers on B (PostgreSQL + Redis)",
        figures: {
          "p50 ms": f1(pct(r.latencies, 50)),
          "p95 ms": f1(pct(r.latencies, 95)),
          "p99 ms": f1(pct(r.latencies, 99)),
          "target p99 ms": "< 20",
          delivered: `${r.delivered}/${r.sent}`,
          "A CPU µs/event": f1((ma.cpuMs * 1000) / Math.max(1, r.sent)),
          "B CPU µs/event": f1((mb.cpuMs * 1000) / Math.max(1, r.sent)),
        },
      });
    } finally {
      await stopServer(a);
      await stopServer(b);
    }
  } finally {
    await redis.stop();
    if (!given) await pg.stop();
  }
}

/** Whether a PostgreSQL server can be started here (Debian's postgresql, or initdb on PATH). */
export function postgresInstalled(): boolean {
  try {
    postgresBinDir();
    return true;
  } catch {
    return false;
  }
}

export async function postgresScenario() {
  const pg = await startPostgres({ durable: true });
  try {
    // 1. Ingest, SQLite and PostgreSQL alternately (S P S P): other work on a shared machine comes and goes, so
    // each engine's best round is set against the other's, and every round's events/s is listed.
    const rounds = quick ? 1 : 2;
    const runs: { lite: Awaited<ReturnType<typeof ingestOn>>[]; post: Awaited<ReturnType<typeof ingestOn>>[] } = {
      lite: [],
      post: [],
    };
    for (let i = 0; i < rounds; i++) {
      runs.lite.push(await ingestOn("SQLite", null));
      runs.post.push(await ingestOn("PostgreSQL", pg));
    }
    const best = (rs: typeof runs.lite) => rs.reduce((a, b) => (b.eventsPerSec > a.eventsPerSec ? b : a));
    const [lite, post] = [best(runs.lite), best(runs.post)];
    const each = (rs: typeof runs.lite) => rs.map((r) => f0(r.eventsPerSec)).join(", ");
    const missing = (rs: typeof runs.lite) => rs.reduce((s, r) => s + r.missing, 0);
    const label = `ingest: 10 devices, 10 viewers, closed loop (8 in flight each), best of ${rounds} alternating`;
    results.push({
      scenario: `${label}, SQLite (same run as the PostgreSQL row)`,
      figures: {
        ...lite.figures,
        "events/s each round": each(runs.lite),
        "acked but missing (all rounds)": missing(runs.lite),
      },
    });
    results.push({
      scenario: `${label}, PostgreSQL (fsync and synchronous_commit on)`,
      figures: {
        ...post.figures,
        "events/s each round": each(runs.post),
        "acked but missing (all rounds)": missing(runs.post),
        "events/s ratio PostgreSQL/SQLite": f2(post.eventsPerSec / lite.eventsPerSec),
      },
    });

    // 2. Cross-instance delivery: a device on one instance, viewers on another.
    await crossInstance(pg);

    // 3. A fleet of 3 M readings seeded into SQLite, copied into PostgreSQL by copy-db; both served.
    const size = quick ? 300_000 : 3_000_000;
    const ws = workspace();
    await stopServer(await startServer(ws)); // the schema and printer 1
    const seeded = seedFleet(ws.dbPath, 0, size);
    const url = await pg.createDatabase();
    const copy = await copyDb(ws, url);
    console.log(`copy-db: ${thousands(copy.rows)} rows in ${copy.seconds.toFixed(1)} s`);
    results.push({
      scenario: `copy-db SQLite → PostgreSQL, ${FLEET} printers, ${thousands(seeded.rows)} readings`,
      figures: {
        seconds: f1(copy.seconds),
        "rows (all tables)": thousands(copy.rows),
        "rows/s": thousands(Math.round(copy.rows / copy.seconds)),
        "readings/s": thousands(Math.round(copy.readings / copy.seconds)),
      },
    });
    const day = shiftDay(dayOf(Date.now(), ZONE), -1); // a whole past day: 8,640 of printer 1's readings
    let server = await startServer(ws);
    const onLite = await pageLoads(server, null, day);
    await stopServer(server);
    const pws = workspace({ database_url: url });
    server = await startServer(pws);
    const onPg = await pageLoads(server, pg, day);
    await stopServer(server);
    for (const [path, label] of [
      ["/printers/1", "printer page /printers/1"],
      [`/api/temphum?date=${day}`, "/api/temphum one day (8,640 readings)"],
    ] as const) {
      const [p, s] = [onPg[path]!, onLite[path]!];
      results.push({
        scenario: `HTTP ${label} on PostgreSQL, ${FLEET} printers, ${thousands(seeded.rows)} rows, 10 clients`,
        figures: {
          "req/s": f0(p.perSec),
          "p50 ms": f1(pct(p.latencies, 50)),
          "p99 ms": f1(pct(p.latencies, 99)),
          errors: p.errors,
          "server CPU µs/request": f0(p.cpuUsPerRequest),
          "postgres processes CPU µs/request": f0(p.pgUsPerRequest),
          "SQLite same data req/s": f0(s.perSec),
          "SQLite p99 ms": f1(pct(s.latencies, 99)),
          "SQLite CPU µs/request": f0(s.cpuUsPerRequest),
          "KB/response (decoded)": f1(p.avgBytes / 1024),
          "peak RSS (MB)": f1(p.peakRssMb),
        },
      });
    }
  } finally {
    await pg.stop();
  }
}
