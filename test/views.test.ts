// The views from outside: stylesheets per page area, plural forms, the settings' printer rows, a print without
// room readings, and "today" in the configured zone. Real app, real HTTP.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ASSETS } from "../src/http/assets.ts";
import { getPage, login, startApp, type TestApp } from "./helpers.ts";

let app: TestApp;
let cookie: string;
beforeAll(async () => {
  app = await startApp({ printers: [{ name: "A1 workshop" }] as never });
  cookie = await login(app);
});
afterAll(async () => {
  await app.close();
});

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
      "/history": [base, "/static/history.css"],
      "/settings": [base, "/static/settings.css"],
    });
  });
});
