// RTSPS printer cameras in a real browser: an X1C's page shows the picture ffmpeg decodes from a real RTSP server
// over TLS, changing live; an X1E whose camera refuses the connection (LAN Only Liveview off) says so on its page.
// Debian's Chromium via playwright-core.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { axeSerious, browserKit, relevantErrors } from "./browser-helpers.ts";
import { type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import { type FakeRtspsCamera, startFakeRtspsCamera } from "./fakes/bambu-rtsps.ts";
import { makeCert } from "./fakes/certs.ts";
import { printerEntry, startApp, type TestApp } from "./helpers.ts";
import { freePort } from "./servers.ts";

setDefaultTimeout(60000);
const ZONE = "Europe/Helsinki";
let app: TestApp;
let printer: FakePrinter;
let camera: FakeRtspsCamera;
const kit = browserKit(() => app, ZONE);

beforeAll(async () => {
  printer = await startFakePrinter({ commandDelayMs: 50 });
  camera = await startFakeRtspsCamera({ accessCode: printer.accessCode, cert: makeCert(printer.serial) });
  const off = freePort();
  app = await startApp(
    {
      timezone: ZONE,
      printers: [
        printerEntry(printer, { name: "X1C bench", model: "X1C", rtsp_port: camera.port }),
        // No MQTT either: only its camera matters here.
        {
          name: "X1E dark",
          model: "X1E",
          host: "127.0.0.1",
          serial: "03W00X000000001",
          access_code: "abcd1234",
          mqtt_port: off,
          rtsp_port: off,
        },
      ] as never,
    },
    undefined,
    { cameraTimings: { graceMs: 500, checkMs: 100 } },
  );
  await kit.launch();
}, 60000);
afterAll(async () => {
  await kit.close();
  await app?.close();
  await camera?.close();
  await printer?.close();
});

test("an X1C's page shows the decoded camera picture, changing live", async () => {
  const { page, context } = await kit.newPage();
  await kit.logIn(page, undefined, undefined, "/printers/1");
  await page.waitForSelector("#live-image", { timeout: 30000 });
  const first = await page.getAttribute("#live-image", "src");
  await page.waitForFunction((src) => document.querySelector("#live-image")?.getAttribute("src") !== src, first, {
    timeout: 30000,
  });
  await page.waitForFunction(() => (document.querySelector("#live-image") as HTMLImageElement | null)?.complete);
  // The fake's 640×360 H.264, decoded to a JPEG the browser can show.
  expect(await page.evaluate(() => (document.querySelector("#live-image") as HTMLImageElement).naturalWidth)).toBe(640);
  expect(relevantErrors(kit.consoleErrors)).toEqual([]);
  await context.close();
});

test("a camera that refuses the connection is explained on the printer's page", async () => {
  // axe is injected as a script, which the CSP rightly refuses: this page opens without it.
  const { page, context } = await kit.newPage({ bypassCSP: true });
  await kit.logIn(page, undefined, undefined, "/printers/2");
  await page.waitForFunction(
    () => document.querySelector("#printer-panel .camera-error")?.textContent?.includes("LAN Only Liveview"),
    undefined,
    { timeout: 30000 },
  );
  expect(await page.textContent("#printer-panel .camera-error")).toBe(
    "Printer camera: LAN Only Liveview must be on in the printer's settings (or the access code is wrong)",
  );
  expect(await axeSerious(page)).toEqual([]);
  await context.close();
});
