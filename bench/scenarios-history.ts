// Printer 1 with a year of readings: its dashboard page and the readings API, then the server's memory a
// while after the load.
import {
  f0,
  f1,
  httpLoad,
  loginCookie,
  pct,
  procStat,
  quick,
  results,
  type Server,
  sleep,
  startServer,
  stopServer,
  thousands,
  type Workspace,
} from "./lib.ts";
import { seedYear } from "./seed.ts";

/** Stops `server`, seeds a year into its file, starts it again and loads four paths; returns the new server. */
export async function yearOfData(ws: Workspace, server: Server): Promise<Server> {
  await stopServer(server);
  const seedStart = performance.now();
  const seeded = seedYear(ws.dbPath);
  console.log(`seeded ${thousands(seeded.rows)} readings in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`);
  const next = await startServer(ws);
  const cookie = await loginCookie(next.url);
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
    const r = await httpLoad(next, cookie, path);
    results.push({
      scenario: `HTTP ${label}, ${thousands(seeded.rows)} rows, 10 clients`,
      figures: {
        "req/s": f0(r.perSec),
        "p50 ms": f1(pct(r.latencies, 50)),
        "p99 ms": f1(pct(r.latencies, 99)),
        errors: r.errors,
        "KB/response (decoded)": f1(r.avgBytes / 1024),
        "CPU µs/request": f0(r.cpuUsPerRequest),
        "peak RSS (MB)": f1(r.peakRssMb),
      },
    });
  }
  return next;
}

/** The server's RSS after a quiet minute, against its idle RSS at start. */
export async function memoryAfterLoad(server: Server, idleRssMb: number) {
  const settle = quick ? 10 : 60;
  await sleep(settle * 1000);
  const after = procStat(server.proc.pid);
  results.push({
    scenario: `memory ${settle} s after load`,
    figures: {
      "RSS (MB)": f1(after.rssMb),
      "idle RSS at start (MB)": f1(idleRssMb),
      "difference (MB)": f1(after.rssMb - idleRssMb),
    },
  });
}
