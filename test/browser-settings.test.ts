// Settings in a real browser: inline validation, a stale CSRF token, and what a viewer may do.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { browserKit, relevantErrors } from "./browser-helpers.ts";
import { ADMIN, startApp, type TestApp } from "./helpers.ts";

setDefaultTimeout(60000);
const ZONE = "Europe/Helsinki";
let app: TestApp;
const kit = browserKit(() => app, ZONE);
const { consoleErrors, newPage, logIn } = kit;

beforeAll(async () => {
  app = await startApp({ timezone: ZONE });
  await kit.launch();
}, 60000);
afterAll(async () => {
  await kit.close();
  await app?.close();
});

describe("settings in a browser", () => {
  test("the server's validation messages appear inline in the htmx forms, and saving says so", async () => {
    const { page, context } = await newPage();
    await logIn(page, ADMIN.username, ADMIN.password, "/settings");
    // Past what the browser itself checks (min): only the server knows the one-day maximum.
    await page.fill("#image_delay", "999999");
    await page.click("#intervals-form button[type=submit]");
    await page.waitForSelector("#image_delay-error");
    expect(await page.textContent("#image_delay-error")).toBe("Must be at most 86400 seconds (one day).");
    expect(await page.getAttribute("#image_delay", "aria-invalid")).toBe("true");
    await page.fill("#image_delay", "30");
    await page.click("#intervals-form button[type=submit]");
    await page.waitForSelector("#intervals-form .flash.ok");
    expect(await page.locator("#image_delay-error").count()).toBe(0);
    expect(app.store.intervals.get().image_delay).toBe(30);

    await page.fill("#new-username", ADMIN.username);
    await page.fill("#new-password", "whatever-pass");
    await page.click(".add-user button[type=submit]");
    await page.waitForSelector("#users .flash.error");
    expect(await page.textContent("#users .flash.error")).toContain("already exists");
    await context.close();
  });

  test("the instances section asks for itself again (htmx, every 5 s) and is replaced in place", async () => {
    const { page, context } = await newPage();
    await logIn(page, ADMIN.username, ADMIN.password, "/settings");
    expect(await page.textContent("#instances")).toContain(app.instance);
    await page.evaluate(() => document.querySelector("#instances")!.setAttribute("data-old", "1"));
    const refreshed = await page.waitForResponse((r) => r.url().endsWith("/settings/instances"), { timeout: 15000 });
    expect(refreshed.status()).toBe(200);
    await page.waitForSelector("#instances:not([data-old])");
    expect(await page.locator("#instances").count()).toBe(1);
    expect(await page.textContent("#instances")).toContain("SQLite");
    await context.close();
  });

  test("a form whose CSRF token went stale reloads the page instead of failing silently", async () => {
    const { page, context } = await newPage();
    await logIn(page, ADMIN.username, ADMIN.password, "/settings");
    await page.evaluate(() => {
      document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRF-Token": "stale" }));
      document.querySelectorAll<HTMLInputElement>("input[name=_csrf]").forEach((i) => {
        i.value = "stale";
      });
      (window as unknown as { marker: number }).marker = 1;
    });
    await page.fill("#image_delay", "31");
    await page.click("#intervals-form button[type=submit]");
    await page.waitForFunction(() => !(window as unknown as { marker?: number }).marker);
    expect(app.store.intervals.get().image_delay).not.toBe(31);
    await page.fill("#image_delay", "32");
    await page.click("#intervals-form button[type=submit]");
    await page.waitForSelector("#intervals-form .flash.ok");
    expect(app.store.intervals.get().image_delay).toBe(32);
    await context.close();
  });

  test("a viewer sees settings without forms, and the server refuses a change all the same", async () => {
    const { page, context } = await newPage();
    await logIn(page, ADMIN.username, ADMIN.password, "/settings");
    await page.fill("#new-username", "wallpanel");
    await page.fill("#new-password", "wallpanel-pass");
    await page.selectOption("#new-role", "viewer");
    await page.click(".add-user button[type=submit]");
    await page.waitForSelector("#users .flash.ok");
    await context.close();

    const viewer = await newPage();
    await logIn(viewer.page, "wallpanel", "wallpanel-pass", "/settings");
    expect(await viewer.page.locator("#intervals-form button[type=submit]").count()).toBe(0);
    expect(await viewer.page.locator("#image_delay").isDisabled()).toBe(true);
    expect(await viewer.page.locator(".add-user").count()).toBe(0);
    const status = await viewer.page.evaluate(async () => {
      const csrf = document.querySelector<HTMLInputElement>("input[name=_csrf]")!.value;
      const res = await fetch("/settings/intervals", {
        method: "POST",
        body: new URLSearchParams({ _csrf: csrf, image_delay: "99", temphum_delay: "99", status_delay: "99" }),
      });
      return res.status;
    });
    expect(status).toBe(403);
    expect(app.store.intervals.get().image_delay).not.toBe(99);
    await viewer.context.close();
  });

  test("no page broke the Content-Security-Policy or threw", () => {
    expect(relevantErrors(consoleErrors)).toEqual([]);
  });
});
