// The library, send, skip and queue pages in a real browser (desktop and phone, axe clean): a file dropped on the
// page and one chosen with the file input, both uploaded (XMLHttpRequest, with a progress bar); a plate sent to a
// fake A1 from its form; the skip picker on the printer page; the queue reordered with its buttons.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { axeSerious, browserKit, layoutProblems, relevantErrors } from "./browser-helpers.ts";
import { type FakePrinter, startFakePrinter } from "./fakes/bambu-printer.ts";
import { apiRequest, login, printerEntry, startApp, type TestApp, until } from "./helpers.ts";
import { LIBRARY_FIXTURES } from "./library-helpers.ts";

setDefaultTimeout(60000);
const ZONE = "Europe/Helsinki";
let app: TestApp;
let printer: FakePrinter;
let cookie: string;
const kit = browserKit(() => app, ZONE);

beforeAll(async () => {
  printer = await startFakePrinter({ commandDelayMs: 30, sentPrint: { layers: 200, stepMs: 150 } });
  app = await startApp(
    {
      timezone: ZONE,
      printers: [
        printerEntry(printer, { name: "Farm A1", camera: false, ftps_port: printer.ftpsPort, tls: "pin" }),
      ] as never,
    },
    undefined,
    { queueTickMs: 200 },
  );
  cookie = await login(app);
  await kit.launch();
});
afterAll(async () => {
  await kit.close();
  await app?.close();
  await printer?.close();
});

const api = async (method: string, path: string, body?: unknown) =>
  (await apiRequest(app, cookie, method, path, body).then((r) => r.json())) as Record<string, unknown>;

describe("the library in a browser", () => {
  test("a dropped file and a chosen one upload and are listed with their plates; a refused one says why", async () => {
    const { page, context } = await kit.newPage({ bypassCSP: true });
    await kit.logIn(page, undefined, undefined, "/library");
    // Drop: a File made in the page from the fixture's bytes, as a drag from the desktop gives.
    const bytes = [...(await Bun.file(join(LIBRARY_FIXTURES, "two-plates-a1mini.gcode.3mf")).bytes())];
    await Promise.all([
      page.waitForEvent("load"),
      page.evaluate((data) => {
        const file = new File([new Uint8Array(data)], "two-plates-a1mini.gcode.3mf");
        const transfer = new DataTransfer();
        transfer.items.add(file);
        document.getElementById("drop-zone")!.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer }));
      }, bytes),
    ]);
    await page.waitForSelector("text=Spares");
    await Promise.all([
      page.waitForEvent("load"),
      page.setInputFiles("#library-file", join(LIBRARY_FIXTURES, "cubes-a1.gcode.3mf")),
    ]);
    await page.waitForSelector("text=Three cubes");
    expect(await page.locator(".library-file").count()).toBe(2);
    // A refused file says why in place, and nothing is added.
    await page.setInputFiles("#library-file", join(LIBRARY_FIXTURES, "traversal.gcode.3mf"));
    await page.waitForSelector("#upload-status:has-text('refused')");
    expect(await page.locator(".library-file").count()).toBe(2);
    expect(await axeSerious(page)).toEqual([]);
    expect(await layoutProblems(page)).toEqual([]);
    await context.close();
  });

  test("on a phone the library fits the screen and is axe clean", async () => {
    const { page, context } = await kit.newPage({ width: 390, height: 844, bypassCSP: true });
    await kit.logIn(page, undefined, undefined, "/library");
    expect(await layoutProblems(page)).toEqual([]);
    expect(await axeSerious(page)).toEqual([]);
    await context.close();
  });

  test("a plate sent from its form starts on the printer, and the printer page's picker skips an object", async () => {
    const { page, context } = await kit.newPage({ bypassCSP: true });
    await kit.logIn(page, undefined, undefined, "/library");
    await until(
      () => api("GET", "/api/printers/1"),
      (p) => (p.state as { gcode_state?: string } | null)?.gcode_state === "IDLE",
    );
    const form = page.locator(".library-file", { hasText: "Three cubes" }).locator("form.send-form").first();
    await form.locator("input[name=timelapse]").check();
    await Promise.all([page.waitForURL("**/sends/*"), form.locator("button[type=submit]").click()]);
    await page.waitForSelector("text=The print started.", { timeout: 20000 });
    expect(await axeSerious(page)).toEqual([]);
    expect(printer.projectFiles[0]).toMatchObject({ timelapse: true, subtask_name: "cubes-a1" });
    await page.goto(`${app.url}/printers/1`);
    await page.waitForSelector("#farm-panel input[value='187']");
    await until(
      () => api("GET", "/api/printers/1"),
      (p) => (p.state as { gcode_state?: string }).gcode_state === "RUNNING",
    );
    await page.check("#farm-panel input[value='187']");
    await page.click("#farm-panel button[type=submit]");
    await page.waitForSelector("#farm-panel >> text=Skipped.");
    expect(printer.state.s_obj).toEqual([187]);
    expect(await page.locator("#farm-panel input[value='187']").isDisabled()).toBe(true);
    expect(await axeSerious(page)).toEqual([]);
    await api("POST", "/api/printers/1/actions", { action: "stop" });
    await context.close();
  });

  test("the queue is reordered with its buttons, on a phone too", async () => {
    await api("POST", "/api/queue/pause", { paused: true });
    const files = (await api("GET", "/api/library")) as unknown as { id: number; name: string }[];
    const cubes = files.find((f) => f.name.startsWith("cubes"))!;
    const first = await api("POST", "/api/queue", { file_id: cubes.id, plate: 1, printer_id: 1 });
    const second = await api("POST", "/api/queue", { file_id: cubes.id, plate: 1, rule: { model: "A1" } });
    for (const size of [{}, { width: 390, height: 844 }]) {
      const { page, context } = await kit.newPage({ ...size, bypassCSP: true });
      await kit.logIn(page, undefined, undefined, "/queue");
      expect(await page.locator("text=The queue is paused").count()).toBe(1);
      expect(await axeSerious(page)).toEqual([]);
      expect(await layoutProblems(page)).toEqual([]);
      await context.close();
    }
    const { page, context } = await kit.newPage({ bypassCSP: true });
    await kit.logIn(page, undefined, undefined, "/queue");
    const firstRow = page.locator(".queue-item").first();
    await Promise.all([page.waitForURL("**/queue"), firstRow.locator("button", { hasText: "Down" }).click()]);
    const order = ((await api("GET", "/api/queue")).items as { id: number; status: string }[])
      .filter((i) => i.status === "queued")
      .map((i) => i.id);
    expect(order).toEqual([second.id as number, first.id as number]);
    await context.close();
    expect(relevantErrors(kit.consoleErrors)).toEqual([]);
  });
});
