// `make bench`: drives the real server (the compiled binary when built, else bun) with real clients on
// 127.0.0.1 and prints a table plus bench/results/latest.json. Every loop is bounded in count and time.
// The scenarios, in the order they run, are listed here; lib.ts has the tools, seed.ts the data.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  f0,
  f1,
  loginCookie,
  otherLoad,
  procStat,
  quick,
  results,
  root,
  sleep,
  startServer,
  stopServer,
  useBinary,
  workspace,
} from "./lib.ts";
import { cameraScenario } from "./scenarios-camera.ts";
import { exportYear } from "./scenarios-exports.ts";
import { memoryAfterLoad, yearOfData } from "./scenarios-history.ts";
import { insightScenario } from "./scenarios-insight.ts";
import { lanScenario } from "./scenarios-lan.ts";
import { libraryScenario } from "./scenarios-library.ts";
import { fanoutScenarios, ingestScenarios } from "./scenarios-live.ts";
import { modelsScenario } from "./scenarios-models.ts";
import { notifyScenario } from "./scenarios-notify.ts";
import { crossInstance, postgresInstalled, postgresScenario } from "./scenarios-postgres.ts";
import { fleet, printerPages } from "./scenarios-printers.ts";
import { uploadScenario } from "./scenarios-upload.ts";
import { seedFleet, seedYear } from "./seed.ts";

const began = performance.now();
const others = otherLoad();
console.log(
  `layerwatch benchmark: ${useBinary ? "compiled binary" : "bun src/main.ts"}, ` +
    `${navigator.hardwareConcurrency} cores${quick ? ", quick mode" : ""}`,
);

// BENCH_ONLY=<group> (printer1, printers, insight, lan, models, camera, upload, library, notify, postgres, exports)
// runs one group; `make bench` runs them all.
// BENCH_ONLY=fleet runs the printers group's fleet row alone, on 20 printers with few readings.
// BENCH_ONLY=cross-instance runs the postgres group's cross-instance row alone (PostgreSQL and Redis).
// BENCH_QUICK=1 shortens every loop; BENCH_PROFILE=<dir> runs the server from source under Bun's CPU profiler.
const only = process.env.BENCH_ONLY;

if (!only || only === "printer1") {
  // Printer 1 on an empty database: start-up, readings, frames.
  const ws = workspace();
  let server = await startServer(ws);
  const cookie = await loginCookie(server.url);
  await sleep(3000);
  const idle = procStat(server.proc.pid);
  results.push({
    scenario: "start-up",
    figures: { "time to first 200 (ms)": f0(server.startupMs), "idle RSS (MB)": f1(idle.rssMb) },
  });
  await ingestScenarios(server, cookie);
  await fanoutScenarios(server, cookie);
  // A year of printer 1's readings: its page and the readings API, then memory after a quiet spell.
  server = await yearOfData(ws, server);
  await memoryAfterLoad(server, idle.rssMb);
  // After the memory figure: the export's own peak is its row.
  await exportYear(server, await loginCookie(server.url));
  await stopServer(server);
  rmSync(ws.dir, { recursive: true, force: true });
}

if (only === "exports") {
  // The printer1 group's year of readings (seeded without its page loads) and its CSV export alone.
  const ws = workspace();
  await stopServer(await startServer(ws)); // the schema and printer 1
  seedYear(ws.dbPath);
  const server = await startServer(ws);
  await exportYear(server, await loginCookie(server.url));
  await stopServer(server);
  rmSync(ws.dir, { recursive: true, force: true });
}

if (!only || only === "printers") {
  // Twenty printers: pages with millions of readings (then twice as many), then a fleet of devices.
  const run = await printerPages();
  await fleet(run.server, run.cookie);
  await stopServer(run.server);
  rmSync(run.dir, { recursive: true, force: true });
}

if (only === "fleet") {
  const ws = workspace();
  await stopServer(await startServer(ws)); // the schema and printer 1
  seedFleet(ws.dbPath, 0, 20_000);
  const server = await startServer(ws);
  const cookie = await loginCookie(server.url);
  await sleep(3000); // past start-up's one-off work (its memory trim), as in the printers group
  await fleet(server, cookie);
  await stopServer(server);
  rmSync(ws.dir, { recursive: true, force: true });
}

// Statistics with 3 M readings and 10,000 prints: the page (target ≥ 500 req/s), its JSON and the room analysis.
if (!only || only === "insight") await insightScenario();
// Fifty fake Bambu printers over MQTT: memory per printer, CPU per delta.
if (!only || only === "lan") await lanScenario();
// Every Bambu model's real report, full and as a delta: CPU per report in process, and on the server per delta.
if (!only || only === "models") await modelsScenario();
// One RTSPS camera (ffmpeg decoding H.264 over TLS): nobody watching, then 10 viewers on one decoder.
if (!only || only === "camera") await cameraScenario();
// A 200 MiB timelapse over tus in 5 MiB chunks: throughput, CPU per MiB, RSS bounded.
if (!only || only === "upload") await uploadScenario();
// A 50 MB sliced 3MF into the library, then over FTPS to a fake A1: throughput, RSS against idle.
if (!only || only === "library") await libraryScenario();
// Notification targets that are down or hang: ingest with them against none.
if (!only || only === "notify") await notifyScenario();
// SQLite against PostgreSQL (a throwaway cluster, fsync on): ingest, copy-db, pages with 3 M readings.
// A full run without PostgreSQL installed says so and leaves the rows out; BENCH_ONLY=postgres fails instead.
if (only === "postgres") await postgresScenario();
else if (only === "cross-instance") await crossInstance();
else if (!only) {
  if (postgresInstalled()) await postgresScenario();
  else console.log("postgres group skipped: PostgreSQL is not installed (make system-deps installs it)");
}

// ---------- report ----------
const lines = results.map(
  ({ scenario, figures }) =>
    `| ${scenario} | ${Object.entries(figures)
      .map(([k, v]) => `${k}: **${v}**`)
      .join(" · ")} |`,
);
const table = ["| scenario | figures |", "|---|---|", ...lines].join("\n");
// The clients share the cores with the server: other work on the machine makes every figure worse.
const otherShare = others();
console.log(`\n${table}\n\ntotal ${((performance.now() - began) / 1000).toFixed(0)} s`);
console.log(`other processes used ${(otherShare * 100).toFixed(0)} % of the machine's CPU during the run`);
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(
  join(root, "bench/results/latest.json"),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      binary: useBinary,
      cores: navigator.hardwareConcurrency,
      other_processes_cpu_share: Number(otherShare.toFixed(3)),
      results,
    },
    null,
    2,
  ),
);
writeFileSync(join(root, "bench/results/latest.md"), `${table}\n`);
