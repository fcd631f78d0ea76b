// GET /metrics: off unless enabled, for the bearer token or an admin only; what it says about printers, rooms, jobs,
// devices and notifications; and its output passes Debian's `promtool check metrics` and parses back.
import { describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import { addUser, emitWithAck, login, startApp } from "./helpers.ts";

const TOKEN = "scrape-token-0123456789abcdef";
/** Every character the exposition format must escape in a label value, and some that must pass as they are. */
const HOSTILE = 'Evil "quote" \\ back} x="1" # ä';
const fx = useApp({
  config: {
    metrics: { enabled: true, token: TOKEN },
    printers: [
      { name: "A1 left", model: "A1" },
      { name: HOSTILE, model: "P1S" },
    ] as never,
  },
});

const scrape = (headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
  fetch(`${fx.app.url}/metrics`, { headers });

type Parsed = { name: string; labels: Record<string, string>; value: number };

/** A strict reader of the text format's sample lines: label values unescaped as Prometheus does. */
function parse(text: string): Parsed[] {
  const out: Parsed[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2]?.slice(1, -1) ?? "";
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
    let at = 0;
    while (at < body.length) {
      re.lastIndex = at;
      const l = re.exec(body);
      if (!l) throw new Error(`bad labels in: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
      at = re.lastIndex;
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const sample = (all: Parsed[], name: string, labels: Record<string, string> = {}) =>
  all.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));

describe("who may read /metrics", () => {
  test("it is not there while metrics are off (the default)", async () => {
    const app = await startApp();
    try {
      const cookie = await login(app);
      const res = await fetch(`${app.url}/metrics`, { headers: { cookie } });
      expect(res.status).toBe(404);
    } finally {
      await app.close();
    }
  });

  test("a scraper with the bearer token reads it as Prometheus text", async () => {
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).toContain("# TYPE layerwatch_printer_state gauge");
  });

  test("no token and no session is 401 with a Bearer challenge; a wrong token is 401 even beside an admin cookie", async () => {
    const none = await scrape({});
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    const wrong = await scrape({ authorization: `Bearer ${TOKEN}x`, cookie: fx.cookie });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain("layerwatch_");
  });

  test("an admin's session reads it; a viewer's is refused with 403", async () => {
    expect((await scrape({ cookie: fx.cookie })).status).toBe(200);
    const viewer = await addUser(fx.app, fx.cookie, "metricsviewer", "viewer", "metricsviewer-pass");
    expect((await scrape({ cookie: viewer })).status).toBe(403);
  });
});

describe("what /metrics says", () => {
  test("a printer's state, progress, temperatures and room come from what its device reported", async () => {
    const device = await fx.client({ auth: { printer: "2" } });
    const status = {
      status: "PRINTING",
      gcode_status: "RUNNING",
      percentage: 40,
      current_layer: 12,
      total_layers: 30,
      nozzle_temperature: 220.5,
      bed_temperature: 60,
      remaining_time: 25,
    };
    expect(await emitWithAck(device, "status", status)).toMatchObject({ ok: true });
    expect(await emitWithAck(device, "temphum", { temperature: -3.5, humidity: 41 })).toMatchObject({ ok: true });
    const all = parse(await (await scrape()).text());
    const p2 = { printer_id: "2", printer: HOSTILE };
    expect(sample(all, "layerwatch_printer_info", { ...p2, model: "P1S" })?.value).toBe(1);
    expect(sample(all, "layerwatch_printer_state", { ...p2, state: "RUNNING" })?.value).toBe(1);
    expect(sample(all, "layerwatch_printer_state", { ...p2, state: "IDLE" })?.value).toBe(0);
    expect(sample(all, "layerwatch_printer_progress_ratio", p2)?.value).toBe(0.4);
    expect(sample(all, "layerwatch_printer_layer", p2)?.value).toBe(12);
    expect(sample(all, "layerwatch_printer_remaining_seconds", p2)?.value).toBe(1500);
    expect(sample(all, "layerwatch_printer_nozzle_temperature_celsius", p2)?.value).toBe(220.5);
    expect(sample(all, "layerwatch_room_temperature_celsius", p2)?.value).toBe(-3.5);
    expect(sample(all, "layerwatch_room_humidity_ratio", p2)?.value).toBe(0.41);
    expect(sample(all, "layerwatch_printer_devices_connected", p2)?.value).toBe(1);
    expect(sample(all, "layerwatch_printer_device_source", { ...p2, source: "online" })?.value).toBe(1);
    expect(sample(all, "layerwatch_socket_connections", { kind: "device" })?.value).toBeGreaterThanOrEqual(1);
    // Printer 1 has said nothing of its room: no sample rather than a made-up 0.
    expect(sample(all, "layerwatch_room_temperature_celsius", { printer_id: "1" })).toBeUndefined();
    expect(sample(all, "layerwatch_printer_state", { printer_id: "1", state: "unknown" })?.value).toBe(1);
  });

  test("jobs are counted by outcome, per printer", async () => {
    const jobs = fx.app.store.jobs;
    const a = jobs.insert(1, "cube", "cube.3mf", Date.now() - 60_000);
    jobs.close(a, Date.now(), "finished");
    const b = jobs.insert(1, "benchy", "benchy.3mf", Date.now() - 30_000);
    jobs.close(b, Date.now(), "failed");
    jobs.insert(1, "vase", "vase.3mf", Date.now());
    const all = parse(await (await scrape()).text());
    const p1 = { printer_id: "1", printer: "A1 left" };
    expect(sample(all, "layerwatch_jobs", { ...p1, outcome: "finished" })?.value).toBe(1);
    expect(sample(all, "layerwatch_jobs", { ...p1, outcome: "failed" })?.value).toBe(1);
    expect(sample(all, "layerwatch_jobs", { ...p1, outcome: "running" })?.value).toBe(1);
    expect(sample(all, "layerwatch_jobs", { ...p1, outcome: "cancelled" })?.value).toBe(0);
  });

  test("LAN links, notification targets, the store and the process are there", async () => {
    const all = parse(await (await scrape()).text());
    expect(sample(all, "layerwatch_printer_lan_state", { printer_id: "1", state: "off" })?.value).toBe(1);
    expect(sample(all, "layerwatch_printer_lan_reconnects_total", { printer_id: "1" })?.value).toBe(0);
    expect(sample(all, "layerwatch_notification_deliveries", { kind: "webpush", status: "sent" })?.value).toBe(0);
    expect(sample(all, "layerwatch_store_up")?.value).toBe(1);
    expect(sample(all, "layerwatch_store_size_bytes", { engine: "sqlite" })?.value).toBeGreaterThan(0);
    expect(sample(all, "layerwatch_info", { engine: "sqlite" })?.value).toBe(1);
    expect(sample(all, "process_resident_memory_bytes")?.value).toBeGreaterThan(1e6);
  });

  test("the output passes promtool check metrics, and the hostile printer name parses back unchanged", async () => {
    const text = await (await scrape()).text();
    const promtool = Bun.spawnSync(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text) });
    if (promtool.exitCode !== 0)
      throw new Error(`promtool: ${promtool.stdout.toString()}${promtool.stderr.toString()}\n${text.slice(0, 2000)}`);
    const names = new Set(parse(text).flatMap((s) => (s.labels.printer === undefined ? [] : [s.labels.printer])));
    expect([...names].sort()).toEqual(["A1 left", HOSTILE]);
    // Only the escaped form is on the wire: no raw quote closes a label early.
    expect(text).toContain('printer="Evil \\"quote\\" \\\\ back} x=\\"1\\" # ä"');
  });
});
