// Unit: room limits in the notification rules (src/notify/rules.ts): one message per crossing, hysteresis before
// the next. Real rules on a real event bus and printer service over an in-memory SQLite; no server, no sockets.
import { afterEach, describe, expect, test } from "bun:test";
import { createEventBus } from "../../src/events.ts";
import { createLogger } from "../../src/log.ts";
import { createNotifyRules, type Limits } from "../../src/notify/rules.ts";
import type { Message } from "../../src/notify/senders.ts";
import { createPrinterService } from "../../src/services/printers.ts";
import { asyncSqliteStore } from "../../src/store/async-store.ts";
import { openDatabase } from "../../src/store/db.ts";
import { createStore } from "../../src/store/store.ts";

const NO_LIMITS: Limits = { temp_high: null, temp_low: null, hum_high: null, hum_low: null };
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0).reverse()) stop();
});

/** Printer 1 with `limits`; `feed` sends readings through the bus as the telemetry service would. */
async function rulesWith(limits: Partial<Limits>) {
  const log = createLogger({ quiet: true });
  const zone = "Europe/Helsinki";
  const db = openDatabase(":memory:", { zone, log });
  const store = asyncSqliteStore(createStore(db, { zone }));
  const events = createEventBus();
  const printers = await createPrinterService({ store, events, log, deviceStaleAfter: () => 60_000 });
  await printers.setLimits(1, { ...NO_LIMITS, ...limits });
  const raised: Message[] = [];
  const rules = createNotifyRules({
    events,
    printers,
    raise: (m) => raised.push(m),
    latestFrame: () => null,
    currentJob: () => null,
    limits: printers.limits,
    publicUrl: "",
    timings: { checkMs: 3_600_000 }, // the link and camera checks stay out of these tests
  });
  stops.push(
    () => db.close(),
    () => void printers.stop(),
    () => rules.stop(),
  );
  let id = 0;
  const feed = (...readings: [temperature: number, humidity: number][]) => {
    for (const [temperature, humidity] of readings)
      events.emit("reading", { id: ++id, printer_id: 1, device_id: 1, recorded_at: Date.now(), temperature, humidity });
  };
  return { raised, feed, bodies: () => raised.map((m) => `${m.event} ${m.body}`), printers, events };
}

describe("a high temperature limit", () => {
  test("fires once when crossed and stays quiet while the reading hovers above or just under it", async () => {
    const { feed, bodies } = await rulesWith({ temp_high: 30 });
    feed([29, 40], [30, 40], [31, 40], [32, 40], [30.5, 40], [29.5, 40], [31, 40], [29.01, 40], [30.2, 40]);
    expect(bodies()).toEqual(["reading_high 31 °C (limit 30 °C)"]);
  });

  test("fires again only after the reading came back a full degree inside the limit", async () => {
    const { feed, bodies } = await rulesWith({ temp_high: 30 });
    feed([31, 40], [29.5, 40], [30.5, 40], [29, 40], [30.2, 40]);
    expect(bodies()).toEqual(["reading_high 31 °C (limit 30 °C)", "reading_high 30.2 °C (limit 30 °C)"]);
  });

  test("a reading at the limit exactly is not over it", async () => {
    const { feed, raised } = await rulesWith({ temp_high: 30 });
    feed([30, 40], [30, 40]);
    expect(raised).toEqual([]);
  });
});

describe("low limits and humidity", () => {
  test("a low temperature limit needs the reading a degree above it to re-arm", async () => {
    const { feed, bodies } = await rulesWith({ temp_low: 15 });
    feed([14.5, 40], [15.5, 40], [14, 40], [16, 40], [14.9, 40]);
    expect(bodies()).toEqual(["reading_low 14.5 °C (limit 15 °C)", "reading_low 14.9 °C (limit 15 °C)"]);
  });

  test("humidity limits use a hysteresis of 3 %, each side on its own", async () => {
    const { feed, bodies } = await rulesWith({ hum_high: 60, hum_low: 30 });
    feed([20, 61], [20, 58], [20, 62], [20, 57], [20, 61], [20, 29], [20, 32], [20, 28], [20, 33], [20, 29.5]);
    expect(bodies()).toEqual([
      "reading_high 61 % (limit 60 %)",
      "reading_high 61 % (limit 60 %)",
      "reading_low 29 % (limit 30 %)",
      "reading_low 29.5 % (limit 30 %)",
    ]);
  });

  test("temperature and humidity limits of one printer fire independently from the same reading", async () => {
    const { feed, raised } = await rulesWith({ temp_high: 30, hum_high: 60 });
    feed([31, 61], [31, 61]);
    expect(raised.map((m) => m.event)).toEqual(["reading_high", "reading_high"]);
    expect(raised.map((m) => m.body)).toEqual(["31 °C (limit 30 °C)", "61 % (limit 60 %)"]);
  });
});

describe("changing the limits", () => {
  test("clearing a limit forgets it was crossed: set again, the next reading over it fires", async () => {
    const { feed, bodies, printers } = await rulesWith({ temp_high: 30 });
    feed([31, 40]);
    await printers.setLimits(1, NO_LIMITS);
    feed([31, 40]);
    await printers.setLimits(1, { ...NO_LIMITS, temp_high: 30 });
    feed([31, 40]);
    expect(bodies()).toEqual(["reading_high 31 °C (limit 30 °C)", "reading_high 31 °C (limit 30 °C)"]);
  });

  test("with no limits set, no reading raises anything", async () => {
    const { feed, raised } = await rulesWith({});
    feed([-40, 0], [140, 100]);
    expect(raised).toEqual([]);
  });

  test("the message names the printer, links to its page and carries no picture", async () => {
    const { feed, raised } = await rulesWith({ temp_high: 30 });
    feed([35, 40]);
    expect(raised[0]).toMatchObject({
      event: "reading_high",
      title: expect.stringMatching(/: room reading too high$/),
      printer: { id: 1 },
      job: null,
      link: "/printers/1",
      frameId: null,
    });
  });
});

describe("the queue's plate", () => {
  test("a printer waiting for its plate to be cleared is told once, with a link to the queue page", async () => {
    const { raised, events } = await rulesWith({});
    events.emit("plateWaiting", { printerId: 1, itemId: 7 });
    expect(raised.map((m) => [m.event, m.link])).toEqual([["plate_waiting", "/queue"]]);
  });
});
