// Prints in a real browser: the history lists, a print's page with its flip-book, weather chart and timelapse
// video (played and seeked over HTTP Range). Jobs come from camera Pis' structured statuses, readings and
// frames; the video is a real MP4 made by ffmpeg and uploaded with tus. Debian's Chromium via playwright-core.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { Socket } from "socket.io-client";
import { axeSerious, browserKit, makeJpeg, picturesLoaded, relevantErrors, SCREENSHOTS } from "./browser-helpers.ts";
import { b64, createUpload, patch } from "./fixtures/tus.ts";
import {
  apiRequest,
  connected,
  connectSocket,
  emitWithAck,
  login,
  quietFor,
  startApp,
  type TestApp,
} from "./helpers.ts";

// A browser on 2 shared cores can be slow; a timed-out test also takes Chromium down with it.
setDefaultTimeout(60000);

const ZONE = "Europe/Helsinki";
const CHUNK = 2 * 1024 * 1024;
let app: TestApp;
let cookie: string;
let drawer: Page;
const kit = browserKit(() => app, ZONE);
const devices: Socket[] = [];
type Job = { id: number; name: string; outcome: string; frames: number; timelapse_id: number | null };
const jobs = new Map<string, Job>();

const api = (path: string, body?: unknown) => apiRequest(app, cookie, body === undefined ? "GET" : "POST", path, body);

/** A camera Pi with its own token for printer `id`, connected; answers it and its token. */
async function deviceFor(id: number): Promise<{ device: Socket; token: string }> {
  const res = await api(`/api/printers/${id}/tokens`, { name: `pi-${id}` });
  const { token } = (await res.json()) as { token: string };
  const device = await connected(connectSocket(app, { auth: { token } }));
  devices.push(device);
  return { device, token };
}

const ok = async (p: Promise<unknown>) => expect(await p).toMatchObject({ ok: true });

/** One print as a camera Pi reports it: a status, a room reading and a frame per layer, then `end` if any. */
async function print(device: Socket, file: string, layers: number, hue: number, end?: Record<string, unknown>) {
  for (let layer = 1; layer <= layers; layer++) {
    const percentage = Math.round((layer / layers) * 100);
    const status = { status: "PRINTING", gcode_status: "RUNNING", print_error_code: 0, file_name: file };
    await ok(emitWithAck(device, "status", { ...status, current_layer: layer, total_layers: layers, percentage }));
    await ok(
      emitWithAck(device, "temphum", { temperature: 21 + layer / 2, humidity: [48, 45, 47, 42, 44, 40][layer - 1] }),
    );
    const image = await makeJpeg(drawer, `${file} · layer ${layer}/${layers}`, hue + layer * 25);
    await ok(emitWithAck(device, "image", { image }));
  }
  if (end) await ok(emitWithAck(device, "status", { file_name: file, ...end }));
}

/** A real H.264 MP4: 4 s of ffmpeg's test picture at 25 fps, noisy so that it is a few MB. */
async function makeMp4(): Promise<Uint8Array<ArrayBuffer>> {
  if (!Bun.which("ffmpeg")) throw new Error("ffmpeg is missing: apt-get install ffmpeg");
  const out = join(app.dir, "timelapse.mp4");
  const args = "-loglevel error -y -f lavfi -i testsrc2=duration=4:size=640x360:rate=25 -vf noise=alls=30:allf=t";
  const encode = "-c:v libx264 -preset ultrafast -crf 24 -pix_fmt yuv420p -movflags +faststart";
  const ff = Bun.spawn(["ffmpeg", ...`${args} ${encode}`.split(" "), out], { stderr: "pipe" });
  if ((await ff.exited) !== 0) throw new Error(`ffmpeg: ${await new Response(ff.stderr).text()}`);
  return new Uint8Array(await Bun.file(out).arrayBuffer());
}

beforeAll(async () => {
  app = await startApp({ timezone: ZONE, device_rate_limit: 0, printers: [{ name: "A1 workshop" }] as never });
  cookie = await login(app);
  await kit.launch();
  drawer = (await kit.newPage()).page;
  expect((await api("/api/printers", { name: "P1S garage", model: "P1S" })).status).toBe(201);
  const [one, two] = [await deviceFor(1), await deviceFor(2)];
  await print(one.device, "benchy.3mf", 6, 24, { gcode_status: "FINISH", percentage: 100 });
  const failed = (print_error_code: number) => ({ gcode_status: "FAILED", print_error_code });
  await print(one.device, "bracket.3mf", 3, 200, failed(0x0300_8014));
  await print(one.device, "vase.3mf", 2, 120, failed(50348044)); // cancelled by the user
  await print(two.device, "gear_set_v2_final.3mf", 2, 280, failed(0x0500_4004));
  await print(two.device, "lamp.3mf", 3, 60);
  // The timelapse of benchy, uploaded in chunks by printer 1's Pi and linked to the job by its id.
  const benchy = ((await (await api("/api/printers/1/jobs")).json()) as Job[]).find((j) => j.name === "benchy.3mf")!;
  const mp4 = await makeMp4();
  const meta = `filename ${b64("benchy.mp4")},filetype ${b64("video/mp4")},job_id ${b64(String(benchy.id))}`;
  const bearer = { authorization: `Bearer ${one.token}` };
  const created = await createUpload(app.url, 1, mp4.length, { ...bearer, "upload-metadata": meta });
  const location = new URL(created.headers.get("location")!, app.url).href;
  for (let at = 0; at < mp4.length; at += CHUNK)
    expect((await patch(location, at, mp4.slice(at, at + CHUNK), bearer)).status).toBe(204);
  for (const printer of [1, 2])
    for (const j of (await (await api(`/api/printers/${printer}/jobs`)).json()) as Job[]) jobs.set(j.name, j);
}, 60000);
afterAll(async () => {
  for (const d of devices) d.disconnect();
  await kit.close();
  await app?.close();
});

const job = (name: string) => jobs.get(`${name}.3mf`)!;

async function open(path: string, opts: Parameters<typeof kit.newPage>[0] = {}, watch?: (page: Page) => void) {
  const { page, context } = await kit.newPage(opts);
  watch?.(page);
  await kit.logIn(page, undefined, undefined, path);
  await picturesLoaded(page);
  return { page, context };
}

/** Each row's name and outcome, as "benchy.3mf Finished". */
const rows = (page: Page) =>
  page.$$eval(".job-row", (rs) =>
    rs.map((r) => [".job-name", ".outcome"].map((s) => r.querySelector(s)?.textContent).join(" ")),
  );

describe("the history", () => {
  test("the camera Pis' statuses made one job per print, each with its outcome and frames", () => {
    const outcomes = [...jobs.values()].map((j) => `${j.name} ${j.outcome}${j.frames > 1 ? "" : " without frames"}`);
    const expected = "benchy finished,bracket failed,gear_set_v2_final failed,lamp running,vase cancelled".split(",");
    expect(outcomes.sort()).toEqual(expected.map((e) => e.replace(" ", ".3mf ")));
    expect(job("benchy").frames).toBeGreaterThanOrEqual(6);
    expect(job("benchy").timelapse_id).not.toBeNull();
  });

  test("/history lists every printer's prints newest first, each with its printer, outcome and thumbnail", async () => {
    const { page, context } = await open("/history");
    const newestFirst = "lamp Printing,gear_set_v2_final Failed,vase Cancelled,bracket Failed,benchy Finished";
    expect(await rows(page)).toEqual(newestFirst.split(",").map((r) => r.replace(" ", ".3mf ")));
    expect(await page.textContent(".job-row:nth-child(2) .job-main")).toContain("P1S garage");
    expect(await page.locator(".job-row .job-thumb img").count()).toBe(5);
    expect(await page.textContent(".job-row:last-child")).toMatch(/Layer 6\/6.*22\.8 °C \(21\.5–24\) · 44 %/);
    await page.screenshot({ path: join(SCREENSHOTS, "history-desktop.png"), fullPage: true });
    await context.close();
  });

  test("on a desktop the history's columns line up from row to row, each fact on one line", async () => {
    const { page, context } = await open("/history");
    const layout = await page.$$eval(".job-row", (els) =>
      els.map((r) => {
        const cells = [...r.querySelectorAll(".outcome, .job-fact")];
        const text = document.createRange();
        text.selectNodeContents(cells.at(-1)!);
        const lines = new Set([...text.getClientRects()].map((l) => Math.round(l.top))).size;
        return { lefts: cells.map((c) => Math.round(c.getBoundingClientRect().left)).join(" "), lines };
      }),
    );
    expect(layout).toEqual(layout.map(() => ({ lefts: layout[0]!.lefts, lines: 1 })));
    await context.close();
  });

  test("one printer's history filtered to failed prints shows only that printer's failure", async () => {
    const { page, context } = await open("/printers/1/history?outcome=failed");
    expect(await rows(page)).toEqual(["bracket.3mf Failed"]);
    expect(await page.getAttribute(".history-filter a.active", "href")).toBe("/printers/1/history?outcome=failed");
    await page.click(".history-filter a:has-text('Cancelled')");
    await page.waitForURL("**/printers/1/history?outcome=cancelled");
    expect(await rows(page)).toEqual(["vase.3mf Cancelled"]);
    await context.close();
  });

  test("on a phone the history fits the screen, long file names included, and saves a screenshot", async () => {
    const { page, context } = await open("/history", { width: 390, height: 844 });
    await page.screenshot({ path: join(SCREENSHOTS, "history-phone.png"), fullPage: true });
    // Nothing wider than the screen, and no name or line spilling out of its column over the outcome beside it.
    const spill = await page.$$eval(".job-main > *", (els) =>
      els
        .filter((e) => e.getBoundingClientRect().right > e.parentElement!.getBoundingClientRect().right + 1)
        .map((e) => e.textContent),
    );
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect({ width, spill }).toEqual({ width: 390, spill: [] });
    await context.close();
  });
});

describe("a print's page", () => {
  const state = (page: Page) =>
    page.evaluate(() => ({
      src: new URL(document.querySelector<HTMLImageElement>("#flip-image")!.src).pathname,
      position: document.querySelector("#flip-position")!.textContent,
      playing: document.querySelector<HTMLElement>("#flipbook")!.dataset.playing ?? "false",
    }));

  test("the flip-book plays, pauses, scrubs and answers the keyboard", async () => {
    const { page, context } = await open(`/jobs/${job("benchy").id}`);
    const urls = await page.$eval("#flip-frames", (e) => JSON.parse(e.textContent!) as string[]);
    const n = urls.length;
    expect(n).toBeGreaterThanOrEqual(6);
    expect(await state(page)).toEqual({ src: urls[n - 1]!, position: `${n}/${n}`, playing: "false" });
    await page.selectOption("#flip-speed", "4"); // the slowest: a frame every 250 ms
    await page.click("#flip-play");
    expect(await page.textContent("#flip-play")).toBe("Pause");
    await page.waitForFunction((p) => document.querySelector("#flip-position")?.textContent === p, `3/${n}`);
    await page.click("#flip-play");
    const paused = await state(page);
    expect(paused).toEqual({ ...paused, src: urls[Number(paused.position!.split("/")[0]) - 1]!, playing: "false" });
    await quietFor(600); // paused: no frame may turn in the time two more would have
    expect(await state(page)).toEqual(paused);
    // The frames shown are real pictures, decoded.
    expect(await page.$eval("#flip-image", (i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(640);
    await page.$eval("#flip-scrub", (e: HTMLInputElement) => {
      e.value = "1";
      e.dispatchEvent(new Event("input", { bubbles: true }));
    });
    expect(await state(page)).toEqual({ src: urls[1]!, position: `2/${n}`, playing: "false" });
    await page.focus("#flipbook");
    await page.keyboard.press("ArrowRight");
    expect((await state(page)).position).toBe(`3/${n}`);
    for (const _ of [1, 2, 3]) await page.keyboard.press("ArrowLeft");
    expect(await state(page)).toEqual({ src: urls[n - 1]!, position: `${n}/${n}`, playing: "false" }); // wraps
    await page.keyboard.press(" ");
    expect((await state(page)).playing).toBe("true");
    await page.keyboard.press(" ");
    expect((await state(page)).playing).toBe("false");
    expect(await page.evaluate(() => window.scrollY)).toBe(0); // space did not scroll the page
    await context.close();
  });

  test("shows the print's facts and the room's weather drawn as a chart, and saves a screenshot", async () => {
    const { page, context } = await open(`/jobs/${job("benchy").id}`);
    expect(await page.textContent(".job-facts")).toMatch(/Layer\s*6\/6\s*File\s*benchy\.3mf/);
    expect(await page.textContent(".job-weather")).toContain("Temperature: 21.5–24 °C (average 22.75)");
    await page.waitForSelector("#weather-chart[data-drawn=true]");
    const painted = await page.$eval("#weather-chart", (c: HTMLCanvasElement) => {
      const { data } = c.getContext("2d")!.getImageData(0, 0, c.width, c.height);
      return data.filter((v, i) => i % 4 === 3 && v > 0).length;
    });
    expect(painted).toBeGreaterThan(1000); // pixels drawn: axes, labels and the two lines
    await page.screenshot({ path: join(SCREENSHOTS, "job-desktop.png"), fullPage: true });
    await context.close();
  });

  test("the flip-book's controls share a row on a desktop; the facts are laid out as on a printer's page", async () => {
    const { page, context } = await open(`/jobs/${job("benchy").id}`);
    const layout = await page.evaluate(() => {
      const boxes = [...document.querySelectorAll(".flip-controls > *")].map((e) => e.getBoundingClientRect());
      const oneRow = Math.max(...boxes.map((b) => b.top)) < Math.min(...boxes.map((b) => b.bottom));
      const dd = getComputedStyle(document.querySelector(".job-facts dd")!);
      return { controlRows: oneRow ? 1 : 2, ddIndent: dd.marginInlineStart };
    });
    expect(layout).toEqual({ controlRows: 1, ddIndent: "0px" });
    await context.close();
  });

  test("a failed print's page names its print error as the printer's card and Bambu's wiki do", async () => {
    const { page, context } = await open(`/jobs/${job("bracket").id}`);
    expect(await page.textContent(".printer-errors")).toContain("Error 0300_8014");
    await context.close();
  });

  test("the timelapse video loads, plays and seeks over HTTP Range", async () => {
    // Each answer for the video, as "206 bytes=0- bytes 0-99/100": status, Range asked, Content-Range given.
    const fetched: Promise<string>[] = [];
    const watch = (page: Page) =>
      page.on("response", (r) => {
        const answer = (range: string | null) => `${r.status()} ${range} ${r.headers()["content-range"]}`;
        if (r.url().includes("/timelapses/")) fetched.push(r.request().headerValue("range").then(answer));
      });
    const { page, context } = await open(`/jobs/${job("benchy").id}`, {}, watch);
    const src = `/timelapses/${job("benchy").timelapse_id}.mp4`;
    expect(await page.getAttribute("video#timelapse", "src")).toBe(src);
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>("#timelapse")!.readyState >= 1);
    const meta = await page.$eval("#timelapse", (v: HTMLVideoElement) => [v.videoWidth, v.videoHeight, v.duration]);
    expect(meta).toEqual([640, 360, expect.closeTo(4, 1)]);
    await page.$eval("#timelapse", (v: HTMLVideoElement) => v.play());
    await page.waitForFunction(() => document.querySelector<HTMLVideoElement>("#timelapse")!.currentTime > 0.5);
    const seeked = await page.$eval("#timelapse", async (v: HTMLVideoElement) => {
      v.pause();
      v.currentTime = 2.5; // "seeked" comes in a later task
      await new Promise((r) => v.addEventListener("seeked", r, { once: true }));
      return v.error ?? v.currentTime;
    });
    expect(seeked).toBeCloseTo(2.5, 1);
    // The browser fetched the video in ranges, the seek's from past what it had read; the server answered each
    // with 206 and the Content-Range asked for.
    const answers = await Promise.all(fetched);
    expect(answers[0]).toMatch(/^206 bytes=0- bytes 0-\d+\/\d+$/);
    expect(answers.filter((a) => !/^206 bytes=(\d+)-\d* bytes \1-\d+\/\d+$/.test(a))).toEqual([]);
    expect(answers.some((a) => !a.startsWith("206 bytes=0-"))).toBe(true);
    // A range in the middle, asked by the page itself, is exactly those bytes of the file.
    const part = await page.evaluate(async (url) => {
      const res = await fetch(url, { headers: { range: "bytes=1000-1999" } });
      return `${res.status} ${res.headers.get("content-type")} ${(await res.arrayBuffer()).byteLength}`;
    }, src);
    expect(part).toBe("206 video/mp4 1000");
    await context.close();
  });
});

describe("accessibility and the Content-Security-Policy", () => {
  for (const path of ["/history", "/printers/1/history?outcome=failed", "job"]) {
    test(`axe finds no serious accessibility problem on ${path === "job" ? "a print's page" : path}`, async () => {
      // Our CSP rightly refuses axe's injected script; only these audit pages bypass it.
      const { page, context } = await open(path === "job" ? `/jobs/${job("benchy").id}` : path, { bypassCSP: true });
      await page.waitForLoadState("networkidle");
      const report = (await axeSerious(page)).flatMap((f) =>
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
