// The views from outside: stylesheets per page area, plural forms, the settings' printer rows, a print without
// room readings, "today" in the configured zone, and no LAN-only controls without a LAN link. Real app, real HTTP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ASSETS } from "../src/http/assets.ts";
import { dictionaries } from "../src/i18n.ts";
import { formatStamp, type ViewContext } from "../views/context.ts";
import {
  connected,
  connectSocket,
  deviceToken,
  emitWithAck,
  getPage,
  login,
  startApp,
  type TestApp,
} from "./helpers.ts";

let app: TestApp;
let fiApp: TestApp;
let cookie: string;
let fiCookie: string;
beforeAll(async () => {
  app = await startApp({ printers: [{ name: "A1 workshop" }] as never });
  fiApp = await startApp({ locale: "fi", printers: [{ name: "A1 verstas" }] as never });
  cookie = await login(app);
  fiCookie = await login(fiApp);
});
afterAll(async () => {
  await app.close();
  await fiApp.close();
});

/** A page's text as a reader gets it: tags gone, whitespace collapsed. */
const text = (html: string) =>
  html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/g, "")
    .replace(/<[^>]+>/g, "")
    .replace(/\s+/g, " ");
const ok = async (p: Promise<unknown>) => expect(await p).toMatchObject({ ok: true });
/** A camera Pi logged in as the admin (printer 1): one reading, or a print's statuses. */
async function deviceOf(a: TestApp, c: string) {
  return connected(connectSocket(a, { cookie: c }));
}

const stylesheetsOf = (html: string) => [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) => m[1]!);

describe("stylesheets by page area", () => {
  test("every stylesheet in static/ is embedded and served", async () => {
    const files = readdirSync(join(import.meta.dir, "../static")).filter((f) => f.endsWith(".css"));
    expect(files.filter((f) => !(f in ASSETS))).toEqual([]);
    for (const f of files) expect(`${f} ${(await fetch(`${app.url}/static/${f}`)).status}`).toBe(`${f} 200`);
  });

  test("each page links the base stylesheet and its own area's, and nothing it does not use", async () => {
    const links: Record<string, string[]> = {};
    for (const path of ["/login", "/", "/printers/1", "/history", "/settings"])
      links[path] = stylesheetsOf((await getPage(app, path, path === "/login" ? undefined : cookie)).text);
    const base = "/static/app.css";
    expect(links).toEqual({
      "/login": [base, "/static/login.css"],
      "/": [base, "/static/printer-state.css", "/static/overview.css"],
      "/printers/1": [base, "/static/printer-state.css", "/static/printer.css"],
      "/history": [base, "/static/printer-state.css", "/static/history.css"],
      "/settings": [base, "/static/settings.css"],
    });
  });
});

describe("counts say one or many", () => {
  test("a day with one reading says 1 reading, in English and in Finnish (1 mittaus)", async () => {
    for (const [a, c, one, many] of [
      [app, cookie, "1 reading", "2 readings"],
      [fiApp, fiCookie, "1 mittaus", "2 mittausta"],
    ] as const) {
      const device = await deviceOf(a, c);
      await ok(emitWithAck(device, "temphum", { temperature: 22.5, humidity: 40 }));
      const page = text((await getPage(a, "/printers/1", c)).text);
      expect(page).toMatch(new RegExp(`(?<![\\d])${one}(?![\\p{L}])`, "u"));
      expect(page).not.toMatch(/\b1 (readings|mittausta)\b/);
      await ok(emitWithAck(device, "temphum", { temperature: 22.6, humidity: 41 }));
      expect(text((await getPage(a, "/printers/1", c)).text)).toMatch(new RegExp(`(?<![\\d])${many}(?![\\p{L}])`, "u"));
      device.disconnect();
    }
  });

  test("deleting a printer names each count in its right form", async () => {
    const res = await fetch(`${app.url}/api/printers`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify({ name: "Counted" }),
    });
    const { id } = (await res.json()) as { id: number };
    const device = await connected(connectSocket(app, { auth: { token: await deviceToken(app, cookie, "cam", id) } }));
    await ok(emitWithAck(device, "temphum", { temperature: 22.5, humidity: 40 }));
    device.disconnect();
    const page = text((await getPage(app, `/settings/printers/${id}`, cookie)).text);
    expect(page).toContain("1 reading, 0 frames, 0 statuses, 1 device token, its print history");
  });
});

describe("settings: a printer's row", () => {
  test("its camera Pi's state and 'from config.json' are separate, not run together", async () => {
    const html = (await getPage(app, "/settings", cookie)).text;
    const row = text(/<li>\s*<a href="\/printers\/1"[\s\S]*?<\/li>/.exec(html)![0]);
    expect(row).toContain("from config.json");
    expect(row).not.toMatch(/[\p{L}\d]from config\.json/u);
    expect(row).not.toMatch(/from config\.json[\p{L}\d✎]/u);
  });
});

describe("a print's page", () => {
  test("a print without any room reading says so, not 'No data yet'", async () => {
    for (const [a, c, said] of [
      [app, cookie, "No room readings were taken during this print."],
      [fiApp, fiCookie, "Tämän tulosteen aikana ei otettu yhtään huoneen mittausta."],
    ] as const) {
      const device = await deviceOf(a, c);
      const status = { status: "PRINTING", gcode_status: "RUNNING", file_name: "dry.3mf", total_layers: 2 };
      await ok(emitWithAck(device, "status", { ...status, current_layer: 1, percentage: 50 }));
      await ok(emitWithAck(device, "status", { file_name: "dry.3mf", gcode_status: "FINISH", percentage: 100 }));
      device.disconnect();
      const jobs = await fetch(`${a.url}/api/printers/1/jobs`, { headers: { cookie: c } });
      const job = ((await jobs.json()) as { id: number; name: string }[]).find((j) => j.name === "dry.3mf")!;
      const weather = /<section class="tile job-weather"[\s\S]*?<\/section>/.exec(
        (await getPage(a, `/jobs/${job.id}`, c)).text,
      )![0];
      expect(text(weather)).toContain(said);
      expect(text(weather)).not.toContain(dictionaries[a === app ? "en" : "fi"].noData);
    }
  });
});

describe("today is the configured zone's today", () => {
  // Auckland is 13 hours ahead of UTC in March (daylight saving): its midnight is 11:00 UTC.
  const ctx: ViewContext = { t: dictionaries.en, locale: "en", zone: "Pacific/Auckland" };
  const utc = (iso: string) => Date.parse(`${iso}Z`);
  let tz: string | undefined;
  beforeAll(() => {
    tz = process.env.TZ;
    process.env.TZ = "UTC";
  });
  afterAll(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  test("just before Auckland's midnight is yesterday there, though the same UTC day", () => {
    // 23:30 on 10 March in Auckland, seen at 00:30 on 11 March there (both 10 March in UTC).
    const stamp = formatStamp(utc("2026-03-10T10:30:00"), ctx, utc("2026-03-10T11:30:00"));
    expect(stamp).toBe("10 Mar, 23:30");
  });

  test("just after Auckland's midnight is today there, though the day before in UTC", () => {
    // 00:05 on 11 March in Auckland (10 March in UTC), seen at 13:30 on 11 March there.
    const stamp = formatStamp(utc("2026-03-10T11:05:00"), ctx, utc("2026-03-11T00:30:00"));
    expect(stamp).toBe("00:05:00");
  });
});

describe("the printer page's controls", () => {
  test("a printer without a LAN link (a camera Pi alone) has no light or speed control", async () => {
    const html = (await getPage(app, "/printers/1", cookie)).text;
    const controls = [...html.matchAll(/data-control="(\w+)"/g)].map((m) => m[1]);
    expect([...new Set(controls)]).toEqual(["pause", "resume", "stop", "timelapse"]);
  });
});
