// Every Bambu model's reports (test/fixtures/bambu, real printers' pushalls): the CPU reading one costs, full and
// as a delta, in the state model itself (in this process); then one layerwatch with a fake printer of each model
// sending its kind of delta each second, CPU per delta measured on the server (target ≤ 200 µs per delta).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  applyChange,
  type BambuPrint,
  emptyReportMemo,
  emptyState,
  type PrinterState,
  stateChange,
  stateFromReport,
  stateFromVersion,
} from "../src/printer-state.ts";
import { type FakePrinter, startFakePrinter } from "../test/fakes/bambu-printer.ts";
import {
  api,
  f0,
  f1,
  loginCookie,
  measured,
  quick,
  results,
  root,
  sleep,
  startServer,
  stopServer,
  workspace,
} from "./lib.ts";

const FIXTURES = join(root, "test/fixtures/bambu");
const read = (file: string) => JSON.parse(readFileSync(join(FIXTURES, file), "utf8"));

/** Each model's full report, with the serial prefix that names it. */
const MODELS: [model: string, base: string, serial: string][] = [
  ["A1", "a1-idle", "03919A3B0100001"],
  ["A1 mini", "a1mini-idle", "0309DA3B0100002"],
  ["A2L", "a2l-idle", "26A00A3B0100003"],
  ["P1P", "p1p-failed", "01S00A3B0100004"],
  ["P1S", "p1s-finish", "01P00A3B0100005"],
  ["P2S", "p2s-running", "22E00A3B0100006"],
  ["X1C (4 AMS)", "x1c-4ams-finish", "00M00A3B0100008"],
  ["X2D", "x2d-running", "20P00A3B0100009"],
  ["H2D", "h2d-running", "09400A3B0100010"],
  ["H2S", "h2s-running", "09300A3B0100011"],
  ["H2C", "h2c-failed", "31B00A3B0100012"],
];

/**
 * The delta a model sends while printing, n-th of its kind: progress and temperatures at the top level, and on
 * models that report temperatures in `device` (X1 newer, P2S, X2, H2) the active extruder's packed temperature
 * as a nested delta, as those printers do.
 */
function deltaOf(full: BambuPrint, n: number): BambuPrint {
  const delta: BambuPrint = { mc_percent: n % 100, layer_num: n, mc_remaining_time: 500 - (n % 500) };
  delta.nozzle_temper = 219 + (n % 3);
  delta.bed_temper = 60 + (n % 2) / 4;
  const device = full.device as { extruder?: { info?: { id: number }[] } } | undefined;
  if (device?.extruder?.info?.length) {
    const temp = (220 << 16) | (219 + (n % 3));
    delta.device = { extruder: { info: [{ id: 0, temp }] } };
  }
  return delta;
}

/** CPU µs per report in this process: the reader, the diff and the apply, as the printer link runs them. */
function inProcess(model: string, base: string) {
  const full = read(`${base}.json`).print as BambuPrint;
  const version = join(FIXTURES, `${base}.version.json`);
  const memo = emptyReportMemo();
  let state: PrinterState = emptyState();
  if (existsSync(version)) state = applyChange(state, stateFromVersion(read(`${base}.version.json`).info, memo), 0);
  const apply = (print: BambuPrint) => {
    const change = stateChange(state, stateFromReport(print, memo, state), 1);
    if (change) state = applyChange(state, change, 1);
  };
  const time = (n: number, report: (i: number) => BambuPrint) => {
    for (let i = 0; i < Math.min(200, n); i++) apply(report(i)); // warm-up
    const t0 = process.cpuUsage();
    for (let i = 0; i < n; i++) apply(report(i));
    const t = process.cpuUsage(t0);
    return (t.user + t.system) / n;
  };
  // A full report is parsed from text each time, as it arrives on the wire.
  const text = JSON.stringify({ print: { ...full, msg: 0 } });
  const fullUs = time(quick ? 200 : 2000, () => (JSON.parse(text) as { print: BambuPrint }).print);
  const deltaText = (i: number) => JSON.stringify({ print: deltaOf(full, i) });
  const deltas = Array.from({ length: 1000 }, (_, i) => deltaText(i));
  const deltaUs = time(quick ? 2000 : 20_000, (i) => (JSON.parse(deltas[i % 1000]!) as { print: BambuPrint }).print);
  return { model, fullUs, deltaUs, bytes: text.length };
}

export async function modelsScenario() {
  const rows = MODELS.map(([model, base]) => inProcess(model, base));
  results.push({
    scenario: "models: one report read into the state, in process (JSON parse, read, diff, apply)",
    figures: Object.fromEntries(
      rows.flatMap((r) => [
        [`${r.model} full ${(r.bytes / 1024).toFixed(0)} kB (µs)`, f0(r.fullUs)],
        [`${r.model} delta (µs)`, f1(r.deltaUs)],
      ]),
    ),
  });

  // The server: a fake printer of each model, each sending its kind of delta every second.
  const fakes: FakePrinter[] = [];
  try {
    for (const [, base, serial] of MODELS) {
      const version = join(FIXTURES, `${base}.version.json`);
      const modules = existsSync(version) ? read(`${base}.version.json`).info.module : null;
      fakes.push(await startFakePrinter({ serial, report: read(`${base}.json`).print, modules }));
    }
    const ws = workspace({
      printers: fakes.map((f, i) => ({
        name: MODELS[i]![0],
        model: "A1",
        host: "127.0.0.1",
        serial: f.serial,
        access_code: f.accessCode,
        mqtt_port: f.mqttPort,
        camera: false,
        tls: "insecure",
      })),
    });
    const server = await startServer(ws);
    const cookie = await loginCookie(server.url);
    const t0 = performance.now();
    while (performance.now() - t0 < 30_000) {
      const list = await api<{ sources: { lan: string } }[]>(server.url, cookie, "GET", "/api/printers");
      if (list.filter((p) => p.sources.lan === "connected").length >= fakes.length) break;
      await sleep(250);
    }
    await sleep(2000);
    const fulls = fakes.map((_, i) => read(`${MODELS[i]![1]}.json`).print as BambuPrint);
    const seconds = quick ? 5 : 20;
    let sent = 0;
    const drive = async (secs: number, from: number) => {
      for (let s = 0; s < secs; s++) {
        const tick = performance.now();
        for (const [i, f] of fakes.entries()) {
          f.report(deltaOf(fulls[i]!, from + s));
          sent++;
        }
        await sleep(Math.max(0, 1000 - (performance.now() - tick)));
      }
    };
    await drive(2, 1); // warm-up
    sent = 0;
    const rest = await measured(server.proc.pid, () => sleep(2000));
    const m = await measured(server.proc.pid, () => drive(seconds, 10));
    const restPerSec = rest.cpuMs / 2;
    await stopServer(server);
    results.push({
      scenario: `models: ${fakes.length} fake printers, one of each model, a delta each second, ${seconds} s`,
      figures: {
        "deltas sent": sent,
        "CPU µs/delta": f0((m.cpuMs * 1000) / sent),
        "net of rest": f0(((m.cpuMs - restPerSec * seconds) * 1000) / sent),
        "target (µs/delta)": 200,
      },
    });
  } finally {
    await Promise.all(fakes.map((f) => f.close()));
  }
}
