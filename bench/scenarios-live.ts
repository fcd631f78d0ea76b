// The socket scenarios on printer 1: closed-loop and paced readings from cookie devices to cookie viewers,
// and 200 KB frames fanned out to 10, 50 and 100 viewers.
import { connect, f0, f1, measured, pct, quick, results, type Server, sleep } from "./lib.ts";

/** Where the viewers connect when not to the devices' server: another instance, with its own login. */
export type ViewersAt = { url: string; cookie: string };

/**
 * Devices and viewers for the reading scenarios. Each reading's values encode its sequence number,
 * so a viewer can tell which one arrived; latency is emit → the last viewer has it.
 */
async function readingRig(url: string, cookie: string, devices: number, viewers: number, at?: ViewersAt) {
  const vs = await Promise.all(Array.from({ length: viewers }, () => connect(at?.url ?? url, at?.cookie ?? cookie)));
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
export async function ingest(
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
export async function paced(
  url: string,
  cookie: string,
  devices: number,
  viewers: number,
  perSecondTotal: number,
  seconds: number,
  viewersAt?: ViewersAt,
) {
  const { vs, ds, sentAt, latencies } = await readingRig(url, cookie, devices, viewers, viewersAt);
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

// ---------- the rows ----------
const scale = quick ? 0.25 : 1;

export async function ingestScenarios(server: Server, cookie: string) {
  for (const [devices, window] of [
    [1, 64],
    [10, 8],
  ] as const) {
    const m = await measured(server.proc.pid, () =>
      ingest(server.url, cookie, devices, 10, { total: Math.round(30000 * scale), window, maxMs: 20000 }),
    );
    const r = m.result;
    results.push({
      scenario:
        devices === 1
          ? `ingest: 1 device, 10 viewers, closed loop (${window} in flight)`
          : `ingest: ${devices} devices, 10 viewers, closed loop (${window} in flight each)`,
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
  const m = await measured(server.proc.pid, () => paced(server.url, cookie, 10, 10, 100, quick ? 3 : 10));
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

export async function fanoutScenarios(server: Server, cookie: string) {
  for (const viewers of [10, 50, 100]) {
    const m = await measured(server.proc.pid, () => fanout(server.url, cookie, viewers, 10, quick ? 2 : 5));
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
}
