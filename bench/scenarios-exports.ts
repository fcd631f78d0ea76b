// A CSV export of printer 1's year of readings (one client, read as fast as it comes): how fast it streams and what
// it costs the server's memory, which should not grow with the rows exported.
import { f0, f1, measured, procStat, quick, results, type Server, thousands } from "./lib.ts";

export async function exportYear(server: Server, cookie: string) {
  // Quick mode exports a month of the year.
  const to = new Date(Date.now() - 86400_000).toISOString().slice(0, 10);
  const from = new Date(Date.now() - (quick ? 31 : 366) * 86400_000).toISOString().slice(0, 10);
  const before = procStat(server.proc.pid).rssMb;
  /** The server's RSS through the export: growth that levels off is the heap finding its size, not rows kept. */
  const samples: number[] = [];
  const at = (share: number) => samples[Math.min(samples.length - 1, Math.floor(share * samples.length))] ?? Number.NaN;
  const started = performance.now();
  const run = await measured(server.proc.pid, async () => {
    const res = await fetch(`${server.url}/api/printers/1/readings.csv?from=${from}&to=${to}`, { headers: { cookie } });
    if (res.status !== 200) throw new Error(`export answered ${res.status}`);
    let bytes = 0;
    let rows = 0;
    const reader = res.body!.getReader();
    const sampler = setInterval(() => samples.push(procStat(server.proc.pid).rssMb), 250);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      for (const b of value) if (b === 10) rows++;
    }
    clearInterval(sampler);
    return { bytes, rows: rows - 1 };
  });
  const seconds = (performance.now() - started) / 1000;
  results.push({
    scenario: `CSV export of printer 1's readings ${from}..${to} (${thousands(run.result.rows)} rows), one client`,
    figures: {
      "rows/s": f0(run.result.rows / seconds),
      "MB/s": f1(run.result.bytes / 1048576 / seconds),
      "CSV (MB)": f1(run.result.bytes / 1048576),
      "RSS before (MB)": f1(before),
      "peak RSS (MB)": f1(run.peakRssMb),
      "RSS at ¼ ½ ¾ of the run (MB)": [0.25, 0.5, 0.75].map((x) => f0(at(x))).join(" "),
      "CPU ms": f0(run.cpuMs),
    },
  });
}
