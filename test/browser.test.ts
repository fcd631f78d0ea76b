// The first printer's page in a real browser (Debian's Chromium via playwright-core): login, live tiles, going
// stale, the history chart, a server restart, screenshots, and axe and CSP checks on the main pages.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { Socket } from "socket.io-client";
import { zonedToUtc } from "../src/time.ts";
import { browserKit, makeJpeg, relevantErrors, SCREENSHOTS } from "./browser-helpers.ts";
import { ADMIN, connected, connectSocket, emitWithAck, login, startApp, type TestApp, tempDir } from "./helpers.ts";

// A browser on 2 shared cores can be slow; a timed-out test also takes Chromium down with it.
setDefaultTimeout(60000);

const ZONE = "Europe/Helsinki";
let app: TestApp;
let dir: string;
let device: Socket;
const kit = browserKit(() => app, ZONE);
const { consoleErrors, newPage, logIn } = kit;

beforeAll(async () => {
  dir = tempDir("layerwatch-browser-");
  app = await startApp({ timezone: ZONE, device_rate_limit: 0 }, dir);
  await kit.launch();
  device = await connected(connectSocket(app, { cookie: await login(app) }));
}, 60000);
afterAll(async () => {
  device?.disconnect();
  await kit.close();
  await app?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits for the history chart; on a timeout, says what the page had (for a failure worth reading). */
async function chartDrawn(page: Page, timeout = 15000) {
  try {
    await page.waitForSelector("#chart-panel[data-drawn=true]", { timeout });
  } catch (err) {
    const state = await page.evaluate(() => ({
      chartJs: typeof (window as unknown as { Chart?: unknown }).Chart,
      panel: document.querySelector("#chart-panel")?.getAttribute("data-day"),
      data: !!document.querySelector("#chart-panel .chart-data"),
      empty: document.querySelector("#chart-panel .empty-day")?.textContent,
      scripts: [...document.scripts].map((s) => s.src),
    }));
    throw new Error(`chart not drawn: ${JSON.stringify(state)} (${(err as Error).message.split("\n")[0]})`);
  }
}

describe("the dashboard in a browser", () => {
  test("logging in through the form lands on the page that was asked for", async () => {
    const { page, context } = await newPage();
    await logIn(page);
    expect(await page.textContent("h1")).toBe("Printer");
    await context.close();
  });

  test("an image, a reading and a status from the device appear within a second, without a reload", async () => {
    const { page, context } = await newPage();
    await logIn(page);
    await page.waitForSelector("#conn[data-state=live]");
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });
    const jpeg = await makeJpeg(page, "layer 42 / 180");

    let t0 = Date.now();
    await emitWithAck(device, "temphum", { temperature: 23.4, humidity: 41.5 });
    await page.waitForFunction(
      () => document.querySelector("#tile-temperature .value")?.textContent === "23.4 °C",
      undefined,
      { timeout: 1000 },
    );
    expect(await page.textContent("#tile-humidity .value")).toBe("41.5 %");
    const readingMs = Date.now() - t0;

    t0 = Date.now();
    await emitWithAck(device, "status", { status: "Printing <layer 42>" });
    await page.waitForFunction(
      () => document.querySelector("#tile-status .value")?.textContent === "Printing <layer 42>",
      undefined,
      { timeout: 1000 },
    );

    t0 = Date.now();
    await emitWithAck(device, "image", { image: jpeg });
    await page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>("#live-image");
        return !!img && img.src.startsWith("blob:") && img.complete && img.naturalWidth === 640;
      },
      undefined,
      { timeout: 1000 },
    );
    expect(await page.locator("#frames-strip a").count()).toBeGreaterThanOrEqual(1);
    expect(await page.evaluate(() => (window as unknown as { marker: number }).marker)).toBe(42);
    console.log(`reading shown ${readingMs} ms after its ack`);
    await context.close();
  });

  test("when the device stops, the tiles go stale and the page says the device is offline", async () => {
    app.store.db.run("UPDATE capture_intervals SET temphum_delay = 1, status_delay = 1, image_delay = 5");
    const { page, context } = await newPage();
    // The interval service caches; set it through the service so tiles render with the 1 s interval.
    await fetch(`${app.url}/api/timelapse_config`, {
      method: "PUT",
      headers: { cookie: await login(app), "content-type": "application/json" },
      body: JSON.stringify({ image_delay: 5, temphum_delay: 1, status_delay: 1 }),
    });
    await logIn(page);
    await emitWithAck(device, "temphum", { temperature: 22, humidity: 40 });
    await emitWithAck(device, "status", { status: "idle" });
    await page.waitForSelector("#device-state[data-state=online]", { timeout: 2000 });
    expect(await page.getAttribute("#tile-temperature", "class")).not.toContain("stale");
    // Nothing more arrives: past 3 x 1 s the reading is stale.
    await page.waitForSelector("#tile-temperature.stale", { timeout: 6000 });
    await page.waitForSelector("#device-state[data-state=offline]", { timeout: 6000 });
    expect(await page.textContent("#device-state")).toContain("Device offline");
    await context.close();
    await fetch(`${app.url}/api/timelapse_config`, {
      method: "PUT",
      headers: { cookie: await login(app), "content-type": "application/json" },
      body: JSON.stringify({ image_delay: 10, temphum_delay: 10, status_delay: 10 }),
    });
  }, 20000);

  test("the history chart draws a day with data, shows its averages, and says so for an empty day", async () => {
    const day = "2025-06-01";
    const [y, m, d] = day.split("-").map(Number);
    const fill = app.store.db.transaction(() => {
      for (let i = 0; i < 24 * 6; i++)
        app.store.readings.insert(
          1,
          1,
          zonedToUtc(y!, m!, d!, ZONE, Math.floor(i / 6), (i % 6) * 10),
          20 + Math.sin(i / 20) * 3,
          45 + Math.cos(i / 15) * 10,
        );
    });
    fill();
    const { page, context } = await newPage();
    await logIn(page, ADMIN.username, ADMIN.password, `/3d?day=${day}`);
    await chartDrawn(page);
    const inked = await page.evaluate(() => {
      const c = document.querySelector<HTMLCanvasElement>("#day-chart")!;
      const px = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(1000);
    expect(await page.locator(".averages .avg").count()).toBe(3);
    expect(await page.textContent(".averages")).toContain("Dew point");

    await page.click("button[aria-label='Previous day']");
    await page.waitForSelector("#chart-panel[data-day='2025-05-31'] .empty-day");
    expect(await page.textContent(".empty-day")).toBe("No readings on this day.");
    await page.click("button[aria-label='Next day']");
    await page.waitForSelector("#chart-panel[data-day='2025-06-01'][data-drawn=true]");

    await page.click("button.tab:has-text('Week')");
    await page.waitForSelector("#chart-panel[data-view=week][data-drawn=true]");
    await page.click("button.tab:has-text('Month')");
    await page.waitForSelector("#chart-panel[data-view=month][data-drawn=true]");
    expect(await page.textContent("#chart-panel .count")).toContain("144 readings");
    await context.close();
  });

  test("a device fills the dashboard for the screenshots", async () => {
    const { page, context } = await newPage();
    await logIn(page);
    await emitWithAck(device, "image", { image: await makeJpeg(page, "Bambu A1 · layer 118 / 240") });
    await emitWithAck(device, "temphum", { temperature: 24.8, humidity: 38.2 });
    await emitWithAck(device, "status", { status: "Printing: benchy.3mf (49%)" });
    await context.close();
  });

  for (const [name, width, height, dark] of [
    ["desktop", 1280, 900, false],
    ["phone", 390, 844, false],
    ["desktop-dark", 1280, 900, true],
  ] as const) {
    test(`saves a screenshot of the dashboard: ${name}`, async () => {
      const { page, context } = await newPage({ width, height, dark });
      await logIn(page, ADMIN.username, ADMIN.password, "/3d?day=2025-06-01");
      await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
      await chartDrawn(page);
      await page.waitForFunction(
        () => document.querySelector<HTMLImageElement>("#live-image")?.complete ?? false,
        undefined,
        { timeout: 15000 },
      );
      await page.screenshot({ path: join(SCREENSHOTS, `dashboard-${name}.png`), fullPage: true });
      await context.close();
    }, 60000);
  }

  test("a server restart: the indicator goes offline, then live again, and the page catches up", async () => {
    const { page, context } = await newPage();
    await logIn(page);
    await page.waitForSelector("#conn[data-state=live]");
    const port = app.port;
    device.disconnect();
    await app.stop();
    await page.waitForSelector("#conn[data-state=offline]", { timeout: 10000 });
    app = await startApp({ timezone: ZONE, device_rate_limit: 0, port }, dir);
    // Reported while the page was cut off (its reconnect waits a second or more): the catch-up must bring it in.
    device = await connected(connectSocket(app, { cookie: await login(app) }));
    await emitWithAck(device, "temphum", { temperature: 30.1, humidity: 55.5 });
    await page.waitForSelector("#conn[data-state=live]", { timeout: 15000 });
    await page.waitForFunction(
      () => document.querySelector("#tile-temperature .value")?.textContent === "30.1 °C",
      undefined,
      { timeout: 3000 },
    );
    await context.close();
  }, 40000);

  for (const [path, dark] of [
    ["/login", false],
    ["/3d?day=2025-06-01", false],
    ["/3d?day=2025-06-01", true],
    ["/settings", false],
  ] as const) {
    test(`axe finds no serious accessibility problem on ${path}${dark ? " (dark)" : ""}`, async () => {
      // Our CSP rightly refuses axe's injected script; only these audit pages bypass it.
      const { page, context } = await newPage({ dark, bypassCSP: true });
      if (path === "/login") await page.goto(`${app.url}/login`);
      else await logIn(page, ADMIN.username, ADMIN.password, path);
      await page.waitForLoadState("networkidle");
      await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
      const violations = await page.evaluate(async () => {
        const axe = (
          window as unknown as {
            axe: {
              run: (
                ctx: Document,
                o: object,
              ) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
            };
          }
        ).axe;
        const result = await axe.run(document, { resultTypes: ["violations"] });
        return result.violations
          .filter((v) => v.impact === "serious" || v.impact === "critical")
          .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
      });
      expect(violations).toEqual([]);
      await context.close();
    });
  }

  test("no page broke the Content-Security-Policy or threw", () => {
    // Refused connections while the server restarts, and the deliberate 403/400 answers, are expected.
    const relevant = relevantErrors(consoleErrors);
    expect(relevant).toEqual([]);
  });
});
