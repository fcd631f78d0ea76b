// Statistics with a fleet's history: 3 M readings and 10,000 ended prints over two years. The statistics page,
// its JSON and the room analysis read only the aggregates kept as prints end, so they must not slow with the
// readings or the prints stored. Target: the page at ≥ 500 req/s.
import {
  f0,
  f1,
  httpLoad,
  loginCookie,
  pct,
  quick,
  type Row,
  results,
  startServer,
  stopServer,
  thousands,
  workspace,
} from "./lib.ts";
import { FLEET, seedFleet, seedJobs } from "./seed.ts";

const PAGE_TARGET = 500;
const PATHS = [
  ["statistics page /stats", "/stats"],
  ["/api/stats", "/api/stats"],
  ["/api/stats/room", "/api/stats/room"],
] as const;

export async function insightScenario() {
  const ws = workspace();
  await stopServer(await startServer(ws)); // the schema and printer 1
  const readings = quick ? 300_000 : 3_000_000;
  const t0 = performance.now();
  const seeded = seedFleet(ws.dbPath, 0, readings);
  const { jobs } = seedJobs(ws.dbPath, 10_000);
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(
    `seeded ${FLEET} printers, ${thousands(seeded.rows)} readings and ${thousands(jobs)} prints in ${secs} s`,
  );
  const server = await startServer(ws);
  const cookie = await loginCookie(server.url);
  for (const [label, path] of PATHS) {
    for (let i = 0; i < 5; i++) await (await fetch(`${server.url}${path}`, { headers: { cookie } })).arrayBuffer();
    const r = await httpLoad(server, cookie, path);
    const figures: Row = { "req/s": f0(r.perSec) };
    if (path === "/stats") figures[`target ≥ ${PAGE_TARGET} req/s`] = r.perSec >= PAGE_TARGET ? "met" : "MISSED";
    results.push({
      scenario: `HTTP ${label}, ${thousands(seeded.rows)} readings, ${thousands(jobs)} prints, 10 clients`,
      figures: {
        ...figures,
        "p50 ms": f1(pct(r.latencies, 50)),
        "p99 ms": f1(pct(r.latencies, 99)),
        errors: r.errors,
        "KB/response (decoded)": f1(r.avgBytes / 1024),
        "CPU µs/request": f0(r.cpuUsPerRequest),
      },
    });
  }
  await stopServer(server);
}
