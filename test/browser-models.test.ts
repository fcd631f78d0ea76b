// Every model's extras in a real browser: an H2D (its real report, through a fake printer on the LAN) with two
// nozzles and an AMS plus an AMS HT, and an X1C with four units, on desktop and phone widths; the overview's
// swatches; axe finds nothing serious. Debian's Chromium via playwright-core.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { axeSerious, browserKit, layoutProblems, relevantErrors } from "./browser-helpers.ts";
import { type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import { printerEntry, startApp, type TestApp } from "./helpers.ts";

setDefaultTimeout(60000);
const ZONE = "Europe/Helsinki";
const read = (file: string) => JSON.parse(readFileSync(join(import.meta.dir, "fixtures/bambu", file), "utf8"));
let app: TestApp;
const printers: FakePrinter[] = [];
const kit = browserKit(() => app, ZONE);

beforeAll(async () => {
  for (const [base, serial] of [
    ["h2d-running", "09400A3B0100010"],
    ["x1c-4ams-finish", "00M00A3B0100008"],
  ] as const)
    printers.push(
      await startFakePrinter({
        serial,
        report: read(`${base}.json`).print,
        modules: read(`${base}.version.json`).info.module,
      }),
    );
  app = await startApp({
    timezone: ZONE,
    printers: printers.map((p, i) => printerEntry(p, { name: ["H2D farm", "X1C lab"][i], camera: false })) as never,
  });
  await kit.launch();
}, 60000);
afterAll(async () => {
  await kit.close();
  await app?.close();
  await Promise.all(printers.map((p) => p.close()));
});

describe.each([
  ["desktop", 1280, 900],
  ["phone", 390, 844],
] as const)("%s", (_, width, height) => {
  test("the H2D page shows two nozzles (the active one marked), its AMS units and trays; axe clean", async () => {
    const { page, context } = await kit.newPage({ width, height, bypassCSP: true });
    await kit.logIn(page, undefined, undefined, "/printers/1");
    await page.waitForSelector('#printer-panel [data-extruder="1"]');
    const nozzles = await page.$$eval("#printer-panel .extruders li", (els) =>
      els.map((e) => ({ text: e.textContent ?? "", active: e.classList.contains("active") })),
    );
    expect(nozzles).toHaveLength(2);
    expect(nozzles[0]).toMatchObject({ active: true });
    expect(nozzles[0]!.text).toContain("Right nozzle");
    expect(nozzles[0]!.text).toContain("264 / 225 °C");
    expect(nozzles[1]!.text).toContain("Left nozzle");
    expect(nozzles[1]!.text).toContain("high-flow hardened steel");
    const units = await page.$$eval("#printer-panel .ams-unit h4", (els) => els.map((e) => e.textContent?.trim()));
    expect(units[0]).toContain("AMS 1");
    expect(units[1]).toContain("AMS HT 1");
    expect(await page.$$eval("#printer-panel .tray", (els) => els.length)).toBe(5);
    // The tray printing now (the HT's, for the active right nozzle) is marked.
    expect(await page.textContent('#printer-panel .tray.active[data-tray="128"]')).toContain("PA-GF");
    expect(await page.getAttribute('#printer-panel [data-tray="2"] svg rect', "fill")).toBe("#DE4343");
    expect(await page.textContent("#printer-panel")).toContain("H2D (as the printer says)");
    expect(await page.textContent("#printer-panel .badge.lockdown")).toContain("Authorization Control");
    expect(await layoutProblems(page)).toEqual([]);
    expect(await axeSerious(page)).toEqual([]);
    expect(relevantErrors(kit.consoleErrors)).toEqual([]);
    await context.close();
  });

  test("an X1C's four units (AMS, AMS 2 Pro, AMS HT) and the overview's swatches; axe clean", async () => {
    const { page, context } = await kit.newPage({ width, height, bypassCSP: true });
    await kit.logIn(page, undefined, undefined, "/printers/2");
    await page.waitForSelector('#printer-panel [data-ams-unit="128"]');
    const units = await page.$$eval("#printer-panel .ams-unit h4", (els) => els.map((e) => e.textContent?.trim()));
    expect(units).toHaveLength(4);
    expect(units[2]).toContain("AMS 2 Pro 3");
    expect(units[0]).toContain("humidity 8 %");
    expect(await layoutProblems(page)).toEqual([]);
    expect(await axeSerious(page)).toEqual([]);

    await page.goto(`${app.url}/`);
    await page.waitForSelector("#card-2 .ams-strip li");
    // Loaded trays only: 12 of the four units' 13 (one slot empty), no external spool.
    expect(await page.$$eval("#card-2 .ams-strip li", (els) => els.length)).toBe(12);
    expect(await page.getAttribute("#card-2 .ams-strip li", "title")).toContain("PLA");
    expect(await layoutProblems(page)).toEqual([]);
    expect(await axeSerious(page)).toEqual([]);
    expect(relevantErrors(kit.consoleErrors)).toEqual([]);
    await context.close();
  });
});
