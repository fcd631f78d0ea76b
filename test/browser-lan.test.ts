// The printer itself in a real browser: a fake A1 on the LAN feeds a printer page live, pause works from
// the page's button, and the printer's own camera picture updates. Debian's Chromium via playwright-core.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { browserKit, relevantErrors } from "./browser-helpers.ts";
import { type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import { printerEntry, startApp, type TestApp } from "./helpers.ts";

setDefaultTimeout(60000);
const ZONE = "Europe/Helsinki";
let app: TestApp;
let printer: FakePrinter;
const kit = browserKit(() => app, ZONE);

beforeAll(async () => {
  printer = await startFakePrinter({ commandDelayMs: 50, frameIntervalMs: 150 });
  app = await startApp({
    timezone: ZONE,
    printers: [printerEntry(printer, { name: "A1 bench", camera_port: printer.cameraPort })] as never,
  });
  await kit.launch();
}, 60000);
afterAll(async () => {
  await kit.close();
  await app?.close();
  await printer?.close();
});

test("the printer page follows the fake A1 live, pauses it from the button, and shows its camera", async () => {
  const { page, context } = await kit.newPage();
  await kit.logIn(page, undefined, undefined, "/printers/1");
  await page.evaluate(() => {
    (window as unknown as { marker: number }).marker = 1;
  });
  printer.set({ gcode_state: "RUNNING", subtask_name: "calibration cube", layer_num: 12, total_layer_num: 80 });
  printer.set({ mc_percent: 15, mc_remaining_time: 33 });
  await page.waitForFunction(() => document.querySelector("#printer-panel")?.textContent?.includes("Layer 12/80"));
  printer.set({ layer_num: 13, mc_percent: 17 });
  await page.waitForFunction(() => document.querySelector("#printer-panel")?.textContent?.includes("Layer 13/80"));
  expect(await page.textContent("#printer-panel")).toContain("17 %");

  // The camera: the built-in one sends frames while this page is open; the picture changes.
  await page.waitForSelector("#live-image");
  const first = await page.getAttribute("#live-image", "src");
  await page.waitForFunction((src) => document.querySelector("#live-image")?.getAttribute("src") !== src, first);

  // Pause from the page: the answer comes from the state the printer reports.
  page.on("dialog", (d) => d.accept());
  await page.click("#printer-controls button:has-text('Pause')");
  await page.waitForFunction(() => document.querySelector("#control-result")?.textContent?.includes("Done: pause"));
  await page.waitForFunction(() => document.querySelector("#printer-panel .state-badge")?.textContent === "Paused");
  expect(printer.state.gcode_state).toBe("PAUSE");
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
  expect(relevantErrors(kit.consoleErrors)).toEqual([]);
  await context.close();
});
