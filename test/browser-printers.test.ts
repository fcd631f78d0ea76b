// The printers in a real browser: the overview with 1 and 12 printers, a printer page while printing,
// live progress without a reload, and an axe audit. Debian's Chromium driven by playwright-core.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { Socket } from "socket.io-client";
import {
  axeSerious,
  browserKit,
  layoutProblems,
  makeJpeg,
  picturesLoaded,
  relevantErrors,
  SCREENSHOTS,
} from "./browser-helpers.ts";
import { apiRequest, connected, connectSocket, emitWithAck, login, startApp, type TestApp } from "./helpers.ts";

// A browser on 2 shared cores can be slow; a timed-out test also takes Chromium down with it.
setDefaultTimeout(60000);

const ZONE = "Europe/Helsinki";
let app: TestApp;
let cookie: string;
let drawer: Page;
const kit = browserKit(() => app, ZONE);
const { newPage, logIn } = kit;
const devices = new Map<number, Socket>();

type Status = Record<string, unknown> | string;
type Fixture = { name: string; model: string; reading?: [number, number]; frame?: number; status?: Status };
const progress = (percentage: number, current_layer: number, total_layers: number) => ({
  percentage,
  current_layer,
  total_layers,
});
const running = (percent: number, layer: number, total: number, rest: Record<string, unknown> = {}) => ({
  status: "PRINTING",
  gcode_status: "RUNNING",
  running_and_printing: true,
  ...progress(percent, layer, total),
  ...rest,
});
const failed = (print_error_code: number) => ({ gcode_status: "FAILED", print_error_code });
const TEMPS = { remaining_time: 75, bed_temperature: 60.2, nozzle_temperature: 219.8 };
const LONG_FILE = { file_name: "articulated_dragon_extra_long_file_name_v3_final_FINAL.gcode.3mf" };
// Printer 1 comes from the config; the other eleven are added through the API, each in its own state.
const FIXTURES: Fixture[] = [
  { name: "A1 workshop", model: "A1", reading: [24.8, 38.2], frame: 24, status: running(40, 48, 120, TEMPS) },
  { name: "P1S left", model: "P1S", reading: [23.1, 41], frame: 200, status: running(87, 210, 240) },
  { name: "X1C lab", model: "X1C", frame: 280, status: { gcode_status: "PAUSE", ...progress(63, 95, 150) } },
  { name: "A1 mini desk", model: "A1 mini", reading: [22, 45], frame: 140, status: { gcode_status: "FINISH" } },
  { name: "P1P garage", model: "P1P", frame: 0, status: failed(0x0300_8014) },
  { name: "A1 kitchen", model: "A1", reading: [21.4, 52], status: failed(50348044) }, // cancelled by the user
  { name: "P1S spare", model: "P1S", reading: [19.9, 48.5], status: { gcode_status: "IDLE", bed_temperature: 24 } },
  { name: "X1E new", model: "X1E" },
  { name: "Old Pi camera", model: "A1", reading: [26.3, 35], status: "Warming up the bed" },
  {
    name: "A1 with a rather long name for a printer card",
    model: "A1",
    frame: 320,
    status: running(12, 9, 310, LONG_FILE),
  },
  { name: "P1S prepare", model: "P1S", status: { gcode_status: "PREPARE", percentage: 0, file_name: "vase.3mf" } },
  { name: "Ender <3> & co", model: "Ender 3", reading: [20.5, 60] },
];

const api = (path: string, body?: unknown) => apiRequest(app, cookie, body === undefined ? "GET" : "POST", path, body);

/** A device (camera Pi) with its own token for printer `id`, connected. */
async function deviceFor(id: number): Promise<Socket> {
  const res = await api(`/api/printers/${id}/tokens`, { name: `cam-${id}` });
  expect(res.status).toBe(201);
  const { token } = (await res.json()) as { token: string };
  const device = await connected(connectSocket(app, { auth: { token } }));
  devices.set(id, device);
  return device;
}

/** Sends a fixture's reading, frame and status through its printer's own device. */
async function feed(id: number, f: Fixture) {
  if (!f.reading && f.frame === undefined && !f.status) return;
  const device = await deviceFor(id);
  const ok = { ok: true };
  if (f.reading) {
    const [temperature, humidity] = f.reading;
    expect(await emitWithAck(device, "temphum", { temperature, humidity })).toMatchObject(ok);
  }
  if (f.frame !== undefined) {
    const image = await makeJpeg(drawer, `${f.name} · ${f.model}`, f.frame);
    expect(await emitWithAck(device, "image", { image })).toMatchObject(ok);
  }
  if (f.status) {
    const status = typeof f.status === "string" ? { status: f.status } : f.status;
    expect(await emitWithAck(device, "status", status)).toMatchObject(ok);
  }
}

/** A mark on the page's window: it survives anything but a reload or a navigation. */
const mark = (page: Page) => page.evaluate(() => Object.assign(window, { __marker: 1 }) && undefined);
const marked = (page: Page) => page.evaluate(() => "__marker" in window);

async function overview(opts: { width: number; height: number; dark?: boolean }) {
  const { page, context } = await newPage(opts);
  await logIn(page, undefined, undefined, "/");
  await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
  await picturesLoaded(page);
  return { page, context };
}

beforeAll(async () => {
  const printers = [{ name: FIXTURES[0]!.name, model: FIXTURES[0]!.model }] as never;
  app = await startApp({ timezone: ZONE, device_rate_limit: 0, printers });
  cookie = await login(app);
  await kit.launch();
  drawer = (await newPage()).page;
  await feed(1, FIXTURES[0]!);
}, 60000);
afterAll(async () => {
  for (const d of devices.values()) d.disconnect();
  await kit.close();
  await app?.close();
});

describe("the overview with one printer", () => {
  for (const [name, width, height] of [
    ["desktop", 1280, 900],
    ["phone", 390, 844],
  ] as const) {
    test(`shows the printing printer with its picture and progress, and saves a screenshot: ${name}`, async () => {
      const { page, context } = await overview({ width, height });
      expect(await page.locator(".printer-card").count()).toBe(1);
      expect(await page.getAttribute("#card-1", "class")).toContain("state-printing");
      expect(await page.textContent("#card-1-info")).toContain("Layer 48/120");
      expect(await page.locator("#card-1 progress").getAttribute("value")).toBe("40");
      await page.screenshot({ path: join(SCREENSHOTS, `overview-1-${name}.png`), fullPage: true });
      expect(await layoutProblems(page)).toEqual([]);
      await context.close();
    });
  }
});

describe("the overview with twelve printers", () => {
  test("eleven printers added through the API, each fed by its own device, all show in their state", async () => {
    for (const f of FIXTURES.slice(1)) {
      const res = await api("/api/printers", { name: f.name, model: f.model });
      expect(res.status).toBe(201);
      await feed(((await res.json()) as { id: number }).id, f);
    }
    const list = (await (await api("/api/printers")).json()) as { id: number; name: string }[];
    expect(list.map((p) => p.name)).toEqual(FIXTURES.map((f) => f.name));

    const { page, context } = await overview({ width: 1280, height: 900 });
    expect(await page.locator(".printer-card").count()).toBe(12);
    const kinds = await page.$$eval(".printer-card", (cards) => cards.map((c) => c.className.split("state-")[1]));
    const expected =
      "printing printing paused finished failed cancelled idle unknown unknown printing printing unknown";
    expect(kinds).toEqual(expected.split(" "));
    expect(await page.locator(".printer-card progress").count()).toBe(5);
    expect(await page.textContent("#card-5-info")).toContain(
      "Error 0300_8014: see the printer's screen for what to do",
    );
    expect(await page.textContent("#card-6-info")).toContain("Cancelled");
    expect(await page.textContent("#card-6-info")).toContain("cancelled by the user");
    expect(await page.textContent("#card-9-info")).toContain("Warming up the bed");
    expect(await page.textContent("#card-8-info")).toContain("No printer state yet");
    expect(await page.textContent("#card-12 h2")).toBe("Ender <3> & co");
    expect(await page.locator("#card-8 .card-img img").count()).toBe(0);
    await context.close();
  });

  for (const [name, width, height, dark] of [
    ["desktop", 1280, 900, false],
    ["desktop-dark", 1280, 900, true],
    ["phone", 390, 844, false],
    ["phone-dark", 390, 844, true],
  ] as const) {
    test(`lays out without overflow and saves a screenshot: ${name}`, async () => {
      const { page, context } = await overview({ width, height, dark });
      await page.screenshot({ path: join(SCREENSHOTS, `overview-12-${name}.png`), fullPage: true });
      expect(await layoutProblems(page)).toEqual([]);
      if (width < 600) {
        // A phone gets a list: one column, each picture beside its text, the text the larger part.
        const rows = await page.$$eval(".printer-card", (cards) =>
          cards.map((c) => {
            const [card, img, info] = [c, c.querySelector(".card-img")!, c.querySelector(".card-info")!].map((e) =>
              e.getBoundingClientRect(),
            ) as [DOMRect, DOMRect, DOMRect];
            const share = Math.round((info.width / card.width) * 100);
            return { id: c.id, left: Math.round(card.left), beside: img.right <= info.left + 1, share };
          }),
        );
        expect(new Set(rows.map((r) => r.left)).size).toBe(1);
        const cramped = rows.filter((r) => !r.beside || r.share < 50).map((r) => `${r.id}: text ${r.share}% wide`);
        expect(cramped).toEqual([]);
      } else {
        const tops = await page.$$eval(".printer-card", (c) => c.map((e) => Math.round(e.getBoundingClientRect().top)));
        expect(tops.filter((t) => t === tops[0]).length).toBeGreaterThanOrEqual(3);
      }
      await context.close();
    });
  }
});

describe("a printer's page while printing", () => {
  test("shows state, progress, temperatures and the picture, and saves a screenshot", async () => {
    const { page, context } = await newPage();
    await logIn(page, undefined, undefined, "/printers/1");
    await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
    await picturesLoaded(page);
    const panel = (await page.textContent("#printer-panel")) ?? "";
    for (const text of ["Printing", "40 %", "Layer 48/120", "220 °C", "60 °C"]) expect(panel).toContain(text);
    await page.screenshot({ path: join(SCREENSHOTS, "printer-printing-desktop.png"), fullPage: true });
    expect(await layoutProblems(page)).toEqual([]);
    // The page's sections stand apart from each other, and ordinary text keeps its normal weight.
    const gaps = await page.$$eval(".dashboard > *", (els) => {
      const boxes = els.map((e) => e.getBoundingClientRect()).filter((r) => r.height > 0);
      return boxes.slice(1).map((r, i) => Math.round(r.top - boxes[i]!.bottom));
    });
    expect(gaps.filter((g) => g < 8)).toEqual([]);
    expect(await page.$eval("#printer-panel dd", (e) => getComputedStyle(e).fontWeight)).toBe("400");
    await context.close();
  });

  test("a progress update from the device appears on the printer's page without a reload", async () => {
    const { page, context } = await newPage();
    await logIn(page, undefined, undefined, "/printers/1");
    await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
    await mark(page);
    const ack = await emitWithAck(devices.get(1)!, "status", running(42, 50, 120, { remaining_time: 70 }));
    expect(ack).toMatchObject({ ok: true });
    await page.waitForFunction(
      () => document.querySelector("#printer-panel")?.textContent?.includes("Layer 50/120"),
      undefined,
      { timeout: 3000 },
    );
    expect(await page.textContent("#printer-panel .percent")).toBe("42 %");
    expect(await marked(page)).toBe(true);
    expect(page.url()).toBe(`${app.url}/printers/1`);
    await context.close();
  });

  test("a progress update from the device appears on its overview card without a reload", async () => {
    const { page, context } = await newPage({ width: 390, height: 844 });
    await logIn(page, undefined, undefined, "/");
    await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
    await mark(page);
    expect(await emitWithAck(devices.get(2)!, "status", running(91, 225, 240, {}))).toMatchObject({ ok: true });
    await page.waitForFunction(
      () => document.querySelector("#card-2-info")?.textContent?.includes("Layer 225/240"),
      undefined,
      { timeout: 3000 },
    );
    expect(await page.textContent("#card-2-info .percent")).toBe("91 %");
    expect(await page.locator("#card-2 progress").getAttribute("value")).toBe("91");
    // The printer that finished meanwhile: its card changes colour too.
    expect(await emitWithAck(devices.get(3)!, "status", { gcode_status: "FINISH", percentage: 100 })).toMatchObject({
      ok: true,
    });
    await page.waitForSelector("#card-3.state-finished", { timeout: 3000 });
    expect(await marked(page)).toBe(true);
    await context.close();
  });
});

describe("accessibility and the Content-Security-Policy", () => {
  for (const [path, dark] of [
    ["/", false],
    ["/", true],
    ["/printers/1", false],
    ["/printers/5", true],
  ] as const) {
    test(`axe finds no serious accessibility problem on ${path}${dark ? " (dark)" : ""}`, async () => {
      // Our CSP rightly refuses axe's injected script; only these audit pages bypass it.
      const { page, context } = await newPage({ dark, bypassCSP: true });
      await logIn(page, undefined, undefined, path);
      await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
      await page.waitForLoadState("networkidle");
      const findings = await axeSerious(page);
      const report = findings.flatMap((f) =>
        f.nodes.map((n) => `${f.id} (${f.impact}) ${n.target}: ${n.summary.replace(/\s+/g, " ")}`),
      );
      expect(report).toEqual([]);
      await context.close();
    });
  }

  test("no page broke the Content-Security-Policy or threw", () => {
    expect(relevantErrors(kit.consoleErrors)).toEqual([]);
  });
});
