// A printer page's controls in a real browser: a fake A1 on the LAN printing, paused, finished, its light and
// speed, Authorization Control, and a printer that is offline; plus a day chart with a single reading.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { axeSerious, browserKit, layoutProblems, relevantErrors, SCREENSHOTS } from "./browser-helpers.ts";
import { DEV_MODE_HMS, type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import { connected, connectSocket, emitWithAck, login, printerEntry, startApp, type TestApp } from "./helpers.ts";

setDefaultTimeout(60000);
const ZONE = "Europe/Helsinki";
let app: TestApp;
let printer: FakePrinter;
const kit = browserKit(() => app, ZONE);

/**
 * The offline printer's address: a port that takes a connection and never answers, as a printer switched off looks
 * from afar (silence). A closed port would be a printer refusing LAN connections, which is told apart.
 */
let silent: Server;
async function silentPort(): Promise<number> {
  silent = createServer(() => {}).listen(0, "127.0.0.1");
  await new Promise((r) => silent.once("listening", r));
  return (silent.address() as { port: number }).port;
}

beforeAll(async () => {
  printer = await startFakePrinter({ commandDelayMs: 50, frameIntervalMs: 1000 });
  const gone = { host: "127.0.0.1", serial: "03919A3B0109999", access_code: "12345678", mqtt_port: await silentPort() };
  app = await startApp({
    timezone: ZONE,
    printers: [
      printerEntry(printer, { name: "A1 bench", camera: false }),
      { name: "A1 shed", model: "A1", ...gone, camera: false },
    ] as never,
  });
  await kit.launch();
}, 60000);
afterAll(async () => {
  await kit.close();
  await app?.close();
  await printer?.close();
  silent?.close();
});

type Control = { text: string; hidden: boolean; disabled: boolean; pressed: string | null; checked: string | null };
/** Every control as the user meets it: its text, whether it is shown, enabled, pressed or switched on. */
const controls = (page: Page) =>
  page.$$eval("#printer-controls [data-control]", (els) =>
    Object.fromEntries(
      els.map((el) => {
        const b = el as HTMLButtonElement;
        const key = b.dataset.level ? `speed ${b.dataset.level}` : (b.dataset.control as string);
        const c = {
          text: (b.textContent ?? "").trim(),
          hidden: b.hidden || b.offsetParent === null,
          disabled: b.disabled,
          pressed: b.getAttribute("aria-pressed"),
          checked: b.getAttribute("aria-checked"),
        };
        return [key, c];
      }),
    ),
  ) as Promise<Record<string, Control>>;
/** The names of the controls one can press now. */
const usable = async (page: Page) =>
  Object.entries(await controls(page))
    .filter(([, c]) => !c.hidden && !c.disabled)
    .map(([k]) => k);
const panelSays = (page: Page, text: string) =>
  page.waitForFunction((t) => document.querySelector("#printer-panel")?.textContent?.includes(t), text);

async function openPrinter(id: number, opts: Parameters<typeof kit.newPage>[0] = {}) {
  const { page, context } = await kit.newPage(opts);
  await kit.logIn(page, undefined, undefined, `/printers/${id}`);
  await page.waitForSelector("#conn[data-state=live]");
  await page.evaluate(() => {
    (window as unknown as { marker: number }).marker = 1;
  });
  return { page, context };
}
const notReloaded = async (page: Page) =>
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);

describe("the printer page's controls", () => {
  test("they follow the print live: pause while printing, resume while paused, nothing once finished", async () => {
    await until(() => app.printers.get(1)!.lan.state === "connected");
    const { page, context } = await openPrinter(1);
    page.on("dialog", (d) => d.accept());

    printer.set({ gcode_state: "RUNNING", subtask_name: "cube", layer_num: 3, total_layer_num: 50, mc_percent: 6 });
    await panelSays(page, "Layer 3/50");
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>("[data-control=pause]")?.disabled);
    expect(await usable(page)).toEqual(["pause", "stop", "light", "speed 1", "speed 2", "speed 3", "speed 4"]);
    expect((await controls(page)).resume!.hidden).toBe(true);
    expect(await page.isVisible("#control-reason")).toBe(false);

    await page.click("#printer-controls button:has-text('Pause')");
    await page.waitForFunction(() => document.querySelector("#control-result")?.textContent?.includes("Done: pause"));
    await panelSays(page, "Paused");
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>("[data-control=resume]")?.hidden);
    const paused = await controls(page);
    expect([paused.pause!.hidden, paused.resume!.hidden, paused.resume!.disabled]).toEqual([true, false, false]);
    expect(await usable(page)).toContain("stop");

    printer.set({ gcode_state: "FINISH", mc_percent: 100 });
    await panelSays(page, "Finished");
    await page.waitForFunction(() => document.querySelector<HTMLButtonElement>("[data-control=stop]")?.disabled);
    const done = await usable(page);
    for (const name of ["pause", "resume", "stop"]) expect(done).not.toContain(name);
    expect(await page.textContent("#control-note-print")).toBe("Nothing to pause or stop: the printer is Finished.");
    const described = await page.getAttribute("[data-control=stop]", "aria-describedby");
    expect(described).toContain("control-note-print");
    await notReloaded(page);
    expect(relevantErrors(kit.consoleErrors)).toEqual([]);
    await context.close();
  });

  test("one light switch shows the light's state and turns it the other way; the speed is one control", async () => {
    printer.set({ gcode_state: "RUNNING", spd_lvl: 2, lights_report: [{ node: "chamber_light", mode: "off" }] });
    const { page, context } = await openPrinter(1);
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>("[data-control=pause]")?.disabled);
    expect(await page.locator("#printer-controls [data-control=light]").count()).toBe(1);
    let c = await controls(page);
    expect([c.light!.checked, c.light!.text]).toEqual(["false", "Off"]);
    expect(Object.keys(c).filter((k) => c[k]!.pressed === "true")).toEqual(["speed 2"]);

    await page.click("#printer-controls [data-control=light]");
    await page.waitForFunction(
      () => document.querySelector("[data-control=light]")?.getAttribute("aria-checked") === "true",
    );
    expect(printer.state.lights_report).toEqual([{ node: "chamber_light", mode: "on" }]);
    expect((await controls(page)).light!.text).toBe("On");
    await page.click("#printer-controls [data-control=light]");
    await page.waitForFunction(
      () => document.querySelector("[data-control=light]")?.getAttribute("aria-checked") === "false",
    );
    expect(printer.state.lights_report).toEqual([{ node: "chamber_light", mode: "off" }]);

    await page.click("#printer-controls [data-control=speed][data-level='3']");
    await page.waitForFunction(
      () => document.querySelector("[data-level='3']")?.getAttribute("aria-pressed") === "true",
    );
    c = await controls(page);
    expect(Object.keys(c).filter((k) => c[k]!.pressed === "true")).toEqual(["speed 3"]);
    expect(printer.state.spd_lvl).toBe(3);
    await notReloaded(page);
    await page.screenshot({ path: join(SCREENSHOTS, "controls-printing-desktop.png"), fullPage: true });
    await context.close();
  });

  test("under Authorization Control every printer control turns off live, saying why", async () => {
    printer.set({ gcode_state: "RUNNING", hms: [] });
    const { page, context } = await openPrinter(1);
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>("[data-control=pause]")?.disabled);
    printer.set({ hms: [DEV_MODE_HMS] });
    await page.waitForSelector("#control-reason", { state: "visible" });
    expect(await page.textContent("#control-reason")).toContain("Authorization Control is on");
    expect(await usable(page)).toEqual([]);
    await notReloaded(page);
    printer.set({ hms: [] });
    await page.waitForSelector("#control-reason", { state: "hidden" });
    expect(await usable(page)).toContain("pause");
    await context.close();
  });

  test("a printer that is offline has every control off, and says why in text and to screen readers", async () => {
    for (const [w, h, name] of [
      [1280, 900, "desktop"],
      [390, 844, "phone"],
    ] as const) {
      const { page, context } = await openPrinter(2, { width: w, height: h });
      expect(await usable(page)).toEqual([]);
      const reason = "The printer is offline (no LAN connection, no camera Pi): controls are off until it is back.";
      expect(await page.isVisible("#control-reason")).toBe(true);
      expect(await page.textContent("#control-reason")).toBe(reason);
      for (const id of ["pause", "stop", "light"]) {
        const description = await page.evaluate((sel) => {
          const ids = document.querySelector(sel)?.getAttribute("aria-describedby")?.split(" ") ?? [];
          return ids.map((i) => document.getElementById(i)?.textContent ?? "").join(" ");
        }, `[data-control=${id}]`);
        expect(description).toContain(reason);
      }
      expect(await layoutProblems(page)).toEqual([]);
      await page.screenshot({ path: join(SCREENSHOTS, `controls-offline-${name}.png`), fullPage: true });
      await context.close();
    }
  });

  test("axe finds no serious accessibility problem in the controls, working or off, light or dark", async () => {
    printer.set({ gcode_state: "RUNNING", hms: [] });
    for (const [id, dark] of [
      [1, false],
      [2, true],
    ] as const) {
      const { page, context } = await kit.newPage({ bypassCSP: true, dark });
      await kit.logIn(page, undefined, undefined, `/printers/${id}`);
      expect(await axeSerious(page)).toEqual([]);
      await context.close();
    }
  });

  test("a viewer sees the state but no controls", async () => {
    const cookie = await login(app);
    const page = await fetch(`${app.url}/settings`, { headers: { cookie } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1]!;
    const body = new URLSearchParams({
      _csrf: csrf,
      username: "watcher",
      password: "watcher-password",
      role: "viewer",
    });
    await fetch(`${app.url}/settings/users`, { method: "POST", headers: { cookie }, body });
    const { page: p, context } = await kit.newPage();
    await kit.logIn(p, "watcher", "watcher-password", "/printers/1");
    expect(await p.locator("#printer-panel").count()).toBe(1);
    expect(await p.locator("#printer-controls, [data-control]").count()).toBe(0);
    await context.close();
  });
});

describe("the day chart", () => {
  test("a day with a single reading shows that reading as a point, its numbers fitting a phone", async () => {
    const device = await connected(connectSocket(app, { cookie: await login(app) }));
    await emitWithAck(device, "temphum", { temperature: 22.5, humidity: 40 });
    device.disconnect();
    const { page, context } = await openPrinter(1);
    await page.waitForSelector("#chart-panel[data-drawn=true]");
    // Pixels of the temperature colour inside the plot area (the legend's swatch is outside it).
    const inked = await page.evaluate(() => {
      const canvas = document.querySelector<HTMLCanvasElement>("#day-chart")!;
      const chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { chartArea: DOMRect } } }).Chart;
      const area = chart.getChart(canvas).chartArea;
      const scale = canvas.width / canvas.clientWidth;
      const [x, y] = [Math.floor(area.left * scale), Math.floor(area.top * scale)];
      const [w, h] = [Math.ceil((area.right - area.left) * scale), Math.ceil((area.bottom - area.top) * scale)];
      const px = canvas.getContext("2d")!.getImageData(x, y, w, h).data;
      const temp = getComputedStyle(document.documentElement).getPropertyValue("--temp").trim();
      const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(temp.slice(i, i + 2), 16));
      let n = 0;
      for (let i = 0; i < px.length; i += 4)
        if (Math.abs(px[i]! - r!) + Math.abs(px[i + 1]! - g!) + Math.abs(px[i + 2]! - b!) < 60 && px[i + 3]! > 200) n++;
      return n;
    });
    expect(inked).toBeGreaterThan(12);
    expect(await page.textContent("#chart-panel .count")).toBe("1 reading");
    await page.locator("#chart-panel").screenshot({ path: join(SCREENSHOTS, "chart-one-reading.png") });
    await context.close();

    // On a phone the min/avg/max table stays inside the panel.
    const phone = await openPrinter(1, { width: 390, height: 844 });
    await phone.page.waitForSelector("#chart-panel[data-drawn=true]");
    const right = (sel: string) => phone.page.$eval(sel, (e) => Math.round(e.getBoundingClientRect().right));
    expect(await right("#chart-panel .averages")).toBeLessThanOrEqual((await right("#chart-panel")) - 16);
    await phone.context.close();
  });
});

async function until(ok: () => boolean, ms = 15000) {
  const end = Date.now() + ms;
  while (!ok() && Date.now() < end) await Bun.sleep(50);
  expect(ok()).toBe(true);
}
