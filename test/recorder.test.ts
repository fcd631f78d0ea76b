// A print's flight recorder, from a print run on the fake printer (MQTT over TLS, its camera) with a camera Pi
// pushing room readings and an operator pausing and resuming it from the page: every kind of event is in the
// timeline, in time order; the print's page shows it; the export is one HTML file that opens in Chromium offline,
// asks for nothing, and shows the same timeline.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchChromium } from "./browser-helpers.ts";
import { FAIL_HMS, type FakePrinter, hmsToString, startFakePrinter } from "./fakes/bambu-printer.ts";
import {
  connected,
  connectSocket,
  csrfFrom,
  deviceToken,
  emitWithAck,
  getPage,
  login,
  postForm,
  printerEntry,
  startApp,
  type TestApp,
  until,
} from "./helpers.ts";

setDefaultTimeout(60_000);

type Event = { at: string; t_s: number; kind: string; [k: string]: unknown };
type Recording = { job: { id: number; outcome: string; frames: number }; events: Event[] };

let app: TestApp;
let printer: FakePrinter;
let cookie: string;
let recording: Recording;
const PRINT_ERROR = 0x0300_4000;

beforeAll(async () => {
  printer = await startFakePrinter({ commandDelayMs: 30, frameIntervalMs: 100 });
  app = await startApp({
    printers: [printerEntry(printer, { name: "A1 bench", camera_port: printer.cameraPort })] as never,
  });
  cookie = await login(app);
  await until(
    () => app.printers.get(1)?.lan.state,
    (s) => s === "connected",
  );
  const device = await connected(connectSocket(app, { auth: { token: await deviceToken(app, cookie) } }));
  const csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
  const act = (action: string) => postForm(app, "/printers/1/actions", { action, _csrf: csrf }, { cookie });
  const state = () => app.printers.get(1)?.state;

  const run = printer.runPrint({ name: "benchy", layers: 12, stepMs: 150, outcome: "fail", hms: [FAIL_HMS] });
  await until(state, (s) => s?.gcode_state === "RUNNING" && (s.layer ?? 0) >= 1);
  await emitWithAck(device, "temphum", { temperature: 22.5, humidity: 41 });
  await until(state, (s) => (s?.layer ?? 0) >= 2);
  printer.set({ print_error: PRINT_ERROR });
  await emitWithAck(device, "temphum", { temperature: 23, humidity: 43 });
  expect((await act("pause")).status).toBe(303);
  await until(state, (s) => s?.gcode_state === "PAUSE");
  expect((await act("resume")).status).toBe(303);
  await until(state, (s) => s?.gcode_state === "RUNNING");
  await run;
  const jobId = (
    await until(
      () => app.jobs.list({ limit: 1 }),
      (j) => j[0]?.outcome === "failed",
    )
  )[0]!.id;
  recording = (await (
    await fetch(`${app.url}/api/jobs/${jobId}/recording`, { headers: { cookie } })
  ).json()) as Recording;
  device.disconnect();
});
afterAll(async () => {
  await app?.close();
  await printer?.close();
});

describe("the flight recorder", () => {
  test("every kind of event is there, in time order", () => {
    const { events } = recording;
    expect(new Set(events.map((e) => e.kind))).toEqual(
      new Set(["frame", "reading", "state", "hms", "error", "action", "pause", "resume"]),
    );
    const times = events.map((e) => Date.parse(e.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(events.map((e) => e.t_s)).toEqual([...events.map((e) => e.t_s)].sort((a, b) => a - b));
  });

  test("each kind says what happened: layers with temperatures, readings, codes, who paused and resumed", () => {
    const { events, job } = recording;
    const of = (kind: string) => events.filter((e) => e.kind === kind);
    expect(events[0]).toMatchObject({ kind: "state" });
    // The print ends with its outcome: nothing but frames and readings (taken before it) sort after it.
    const last = events.filter((e) => e.kind !== "frame" && e.kind !== "reading").at(-1);
    expect(last).toMatchObject({ kind: "state", outcome: "failed", gcode_state: "FAILED" });
    const layers = of("state").filter((e) => typeof e.layer === "number" && e.layer > 0);
    expect(layers.map((e) => e.layer)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(layers[0]).toMatchObject({ nozzle_temp: 220, nozzle_target: 220, bed_temp: 65, bed_target: 65 });
    expect(of("reading").map((e) => [e.temperature, e.humidity])).toEqual([
      [22.5, 41],
      [23, 43],
    ]);
    expect(of("hms").map((e) => e.code)).toEqual([hmsToString(FAIL_HMS)]);
    expect(of("error").map((e) => e.code)).toEqual(["0300_4000"]);
    expect(of("action").map((e) => [e.username, e.action, e.result])).toEqual([
      ["admin", "pause", "ok"],
      ["admin", "resume", "ok"],
    ]);
    // The operator's pause comes before the printer's pause it caused, and the resume after both.
    const order = events
      .filter((e) => e.kind === "action" || e.kind === "pause" || e.kind === "resume")
      .map((e) => (e.kind === "action" ? `action:${e.action}` : e.kind));
    expect(order).toEqual(["action:pause", "pause", "action:resume", "resume"]);
    const frames = of("frame");
    expect(frames.length).toBe(job.frames);
    expect(frames[0]!.url).toBe(`/jobs/${job.id}/frames/${frames[0]!.id}.jpg`);
  });

  test("the print's page shows the timeline, frames tied to the flip-book", async () => {
    const page = await getPage(app, `/jobs/${recording.job.id}`, cookie);
    const items = [...page.text.matchAll(/<li data-kind="([a-z]+)"/g)].map((m) => m[1]);
    expect(items).toEqual(recording.events.map((e) => e.kind));
    expect(page.text).toContain('data-frame="0"');
    expect(page.text).toContain(`/jobs/${recording.job.id}/export`);
  });

  test("the export opens offline in Chromium, asks for nothing, and shows the same timeline", async () => {
    const res = await fetch(`${app.url}/jobs/${recording.job.id}/export`, { headers: { cookie } });
    expect(res.headers.get("content-disposition")).toContain("attachment");
    const file = join(app.dir, "export.html");
    writeFileSync(file, await res.text());
    const browser = await launchChromium();
    try {
      const context = await browser.newContext();
      await context.setOffline(true);
      const page = await context.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      await page.goto(`file://${file}`);
      expect(requests.filter((u) => !u.startsWith("file:") && !u.startsWith("data:"))).toEqual([]);
      expect(errors).toEqual([]);
      const kinds = await page.$$eval("#events tbody tr", (rows) => rows.map((r) => r.getAttribute("data-kind")));
      expect(kinds).toEqual(recording.events.map((e) => e.kind));
      const frames = recording.events.filter((e) => e.kind === "frame").length;
      expect(await page.$$eval(".book img", (imgs) => imgs.map((i) => i.getAttribute("src")!.slice(0, 23)))).toEqual(
        Array(frames).fill("data:image/jpeg;base64,"),
      );
      // Its script ran: the scrubber shows, at the last frame.
      expect(await page.textContent("#pos")).toBe(`${frames}/${frames}`);
      await page.fill("#scrub", "0");
      expect(await page.textContent("#pos")).toBe(`1/${frames}`);
    } finally {
      await browser.close();
    }
  });
});
