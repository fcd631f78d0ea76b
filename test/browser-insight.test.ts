// Statistics and a share link in a real browser (Debian's Chromium via playwright-core), on a desktop and a phone:
// the statistics page draws its chart and keeps its tables inside the screen; a share link opened by someone
// without an account shows that print (flip-book, timeline) and nothing else; a printer's link shows it live (a new
// frame arrives by polling) until it is revoked; axe finds no serious problem.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { Socket } from "socket.io-client";
import { axeSerious, browserKit, makeJpeg, picturesLoaded, relevantErrors, SCREENSHOTS } from "./browser-helpers.ts";
import { apiRequest, connected, connectSocket, emitWithAck, login, startApp, type TestApp } from "./helpers.ts";

setDefaultTimeout(60000);

const ZONE = "Europe/Helsinki";
let app: TestApp;
let cookie: string;
let drawer: Page;
let shareUrl: string;
let printerShare: { id: number; url: string };
let device: Socket;
let jobId: number;
const kit = browserKit(() => app, ZONE);
const devices: Socket[] = [];

const api = (path: string, body?: unknown) => apiRequest(app, cookie, body === undefined ? "GET" : "POST", path, body);

/** One print as a camera Pi reports it: per layer a status, a room reading and a frame; then its end. */
async function print(device: Socket, file: string, layers: number, humidity: number, end: string) {
  for (let layer = 1; layer <= layers; layer++) {
    await emitWithAck(device, "status", {
      gcode_status: "RUNNING",
      file_name: file,
      current_layer: layer,
      total_layers: layers,
    });
    await emitWithAck(device, "temphum", { temperature: 21 + layer / 2, humidity });
    await emitWithAck(device, "image", { image: await makeJpeg(drawer, `${file} · ${layer}/${layers}`, 40 * layer) });
  }
  await emitWithAck(device, "status", { gcode_status: end, file_name: file });
}

beforeAll(async () => {
  app = await startApp({ timezone: ZONE, device_rate_limit: 0, printers: [{ name: "A1 workshop" }] as never });
  cookie = await login(app);
  await kit.launch();
  drawer = (await kit.newPage()).page;
  const res = await api("/api/printers/1/tokens", { name: "pi" });
  const { token } = (await res.json()) as { token: string };
  device = await connected(connectSocket(app, { auth: { token } }));
  devices.push(device);
  await print(device, "benchy.3mf", 4, 44, "FINISH");
  await print(device, "bracket.3mf", 2, 71, "FAILED");
  await print(device, "clip.3mf", 2, 46, "FINISH");
  // Earlier months, as the statistics keep them: prints closed through the store.
  for (let m = 1; m <= 8; m++) {
    const start = Date.UTC(2026, m - 1, 14, 10);
    const id = app.store.jobs.insert(1, `old-${m}`, "", start);
    app.store.jobs.close(id, start + (60 + m * 10) * 60_000, m % 3 ? "finished" : "failed");
  }
  const jobs = (await (await api("/api/printers/1/jobs")).json()) as { id: number; name: string }[];
  jobId = jobs.find((j) => j.name === "benchy.3mf")!.id;
  shareUrl = ((await (await api(`/api/jobs/${jobId}/share`, { expires_in_s: 3600 })).json()) as { url: string }).url;
  printerShare = (await (await api("/api/printers/1/share", { expires_in_s: 3600 })).json()) as typeof printerShare;
}, 60000);
afterAll(async () => {
  for (const d of devices) d.disconnect();
  await kit.close();
  await app?.close();
});

async function open(path: string, opts: Parameters<typeof kit.newPage>[0] = {}) {
  const { page, context } = await kit.newPage(opts);
  await kit.logIn(page, undefined, undefined, path);
  return { page, context };
}
/** A page opened without logging in, as the person a link was given to would. */
async function openShared(opts: Parameters<typeof kit.newPage>[0] = {}, url = shareUrl) {
  const { page, context } = await kit.newPage(opts);
  await page.goto(url);
  await picturesLoaded(page);
  return { page, context };
}
const pageWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

describe("the statistics page", () => {
  test("on a desktop it draws prints per month as a chart beside the tables, and saves a screenshot", async () => {
    const { page, context } = await open("/stats?from=2026-01&to=2026-12");
    await page.waitForFunction(() => {
      const c = document.querySelector<HTMLCanvasElement>("#stats-chart");
      return !!c && (window as unknown as { Chart?: { getChart(c: unknown): unknown } }).Chart?.getChart(c);
    });
    const months = await page.$$eval("#stats-months tbody tr", (rows) => rows.map((r) => r.getAttribute("data-month")));
    expect(months.length).toBeGreaterThanOrEqual(8);
    expect(await page.textContent("#stats-printers tbody tr[data-printer='1'] th")).toBe("A1 workshop");
    await page.screenshot({ path: join(SCREENSHOTS, "stats-desktop.png"), fullPage: true });
    await context.close();
  });

  test("on a phone it fits the screen: wide tables scroll inside their box", async () => {
    const { page, context } = await open("/stats?from=2026-01&to=2026-12", { width: 390, height: 844 });
    expect(await pageWidth(page)).toBe(390);
    await page.screenshot({ path: join(SCREENSHOTS, "stats-phone.png"), fullPage: true });
    await context.close();
  });

  test("the filter narrows the months and the CSV link carries it", async () => {
    const { page, context } = await open("/stats?from=2026-01&to=2026-12");
    await page.fill("#stats-from", "2026-03");
    await page.fill("#stats-to", "2026-04");
    await Promise.all([page.waitForURL(/from=2026-03/), page.click(".stats-filter button[type=submit]")]);
    const months = await page.$$eval("#stats-months tbody tr", (rows) => rows.map((r) => r.getAttribute("data-month")));
    expect(months).toEqual(["2026-03", "2026-04"]);
    expect(await page.getAttribute(".stats-filter a[download]", "href")).toContain("from=2026-03");
    await context.close();
  });
});

describe("a share link", () => {
  test("on a desktop, without an account, it shows that print's flip-book and timeline and nothing else", async () => {
    const { page, context } = await openShared();
    expect(await page.textContent("h1")).toBe("benchy.3mf");
    expect(await page.$("header.topbar")).toBeNull();
    expect(
      await page.$$eval("a[href]", (as) => as.map((a) => a.getAttribute("href")).filter((h) => h!.startsWith("/"))),
    ).toEqual([]);
    // A frame in the timeline shows that frame in the flip-book.
    const first = await page.$eval("#timeline li[data-frame='0']", (li) => li.getAttribute("data-at"));
    expect(first).not.toBeNull();
    await page.click("#timeline li[data-frame='0']");
    expect(await page.textContent("#flip-position")).toMatch(/^1\//);
    expect(await page.getAttribute("#timeline li[aria-current]", "data-at")).toBe(first);
    await page.screenshot({ path: join(SCREENSHOTS, "share-desktop.png"), fullPage: true });
    await context.close();
  });

  test("on a phone it fits the screen", async () => {
    const { page, context } = await openShared({ width: 390, height: 844 });
    expect(await pageWidth(page)).toBe(390);
    await page.screenshot({ path: join(SCREENSHOTS, "share-phone.png"), fullPage: true });
    await context.close();
  });
});

describe("a printer's share link", () => {
  test("on a desktop it shows the printer live, nothing to click, and a new frame arrives by itself", async () => {
    const { page, context } = await openShared({}, printerShare.url);
    expect(await page.textContent("h1")).toBe("A1 workshop");
    expect(await page.$("header.topbar")).toBeNull();
    // Nothing to click but the skip link: no link out, no form, no button.
    expect(
      await page.$$eval("a[href], form, button", (els) => els.map((e) => e.getAttribute("href") ?? e.tagName)),
    ).toEqual(["#main"]);
    const before = await page.getAttribute("#live-image", "src");
    expect(before).toContain("/frames/");
    await emitWithAck(device, "image", { image: await makeJpeg(drawer, "live", 200) });
    await page.waitForFunction((src) => document.querySelector("#live-image")?.getAttribute("src") !== src, before, {
      timeout: 20000,
    });
    await picturesLoaded(page);
    await page.screenshot({ path: join(SCREENSHOTS, "share-printer-desktop.png"), fullPage: true });
    await context.close();
  });

  test("on a phone it fits the screen", async () => {
    const { page, context } = await openShared({ width: 390, height: 844 }, printerShare.url);
    expect(await pageWidth(page)).toBe(390);
    await page.screenshot({ path: join(SCREENSHOTS, "share-printer-phone.png"), fullPage: true });
    await context.close();
  });
});

describe("accessibility and the Content-Security-Policy", () => {
  for (const which of ["/stats", "share", "printer share", "job"] as const) {
    test(`axe finds no serious accessibility problem on ${which === "share" ? "a share link" : which === "job" ? "a print's page with its timeline" : which}`, async () => {
      const opts = { bypassCSP: true };
      const { page, context } =
        which === "share"
          ? await openShared(opts)
          : which === "printer share"
            ? await openShared(opts, printerShare.url)
            : await open(which === "job" ? `/jobs/${jobId}` : which, opts);
      await page.waitForLoadState("networkidle");
      const report = (await axeSerious(page)).flatMap((f) =>
        f.nodes.map((n) => `${f.id} (${f.impact}) ${n.target}: ${n.summary.replace(/\s+/g, " ")}`),
      );
      expect(report).toEqual([]);
      await context.close();
    });
  }

  test("a revoked printer link stops showing the printer on an open page", async () => {
    const { page, context } = await openShared({}, printerShare.url);
    const del = await fetch(`${app.url}/api/shares/${printerShare.id}`, {
      method: "DELETE",
      headers: { cookie, "content-type": "application/json" },
    });
    expect(del.status).toBe(200);
    await page.waitForSelector("#shared-live .flash.error", { timeout: 20000 });
    expect(await page.$("#live-image")).toBeNull();
    await context.close();
  });

  test("no page broke the Content-Security-Policy or threw", () => {
    expect(relevantErrors(kit.consoleErrors)).toEqual([]);
  });
});
