// Security over HTTP: the CSP and other headers on every answer, no inline script, HSTS behind a proxy, body limits.
import { describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import { getPage, postForm, startApp } from "./helpers.ts";

const fx = useApp({ config: { device_rate_limit: 5, allowed_origins: "https://allowed.example" } });

describe("headers and limits", () => {
  test("every page, error and API answer carries the CSP and the other security headers", async () => {
    for (const [path, withCookie] of [
      ["/login", false],
      ["/", true],
      ["/3d", true],
      ["/settings", true],
      ["/nope", true],
      ["/api/latest", true],
      ["/api/latest", false],
      ["/static/app.css", false],
    ] as const) {
      const res = await fetch(`${fx.app.url}${path}`, {
        headers: withCookie ? { cookie: fx.cookie } : {},
        redirect: "manual",
      });
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(`${path}: ${csp}`).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain(`connect-src 'self' ws://${new URL(fx.app.url).host} wss://${new URL(fx.app.url).host}`);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("same-origin");
      expect(res.headers.get("strict-transport-security")).toBeNull();
    }
  });

  test("pages have no inline script", async () => {
    for (const path of ["/", "/3d", "/settings"]) {
      const html = (await getPage(fx.app, path, fx.cookie)).text;
      for (const m of html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)) {
        expect(m[1]!.includes("src=") || m[1]!.includes('type="application/json"')).toBe(true);
      }
      expect(html).not.toMatch(/\son[a-z]+="/);
    }
  });

  test("HSTS is sent when served over HTTPS through a trusted proxy", async () => {
    const proxied = await startApp({ trust_proxy: true });
    try {
      const res = await fetch(`${proxied.url}/login`, { headers: { "x-forwarded-proto": "https" } });
      expect(res.headers.get("strict-transport-security")).toContain("max-age=");
    } finally {
      await proxied.close();
    }
  });

  test("an oversized form body is refused with 413 and changes nothing", async () => {
    const before = fx.app.store.intervals.get();
    const res = await postForm(
      fx.app,
      "/settings/intervals",
      { _csrf: fx.csrf, image_delay: "50", temphum_delay: "10", status_delay: "10", pad: "x".repeat(100 * 1024) },
      { cookie: fx.cookie },
    );
    expect(res.status).toBe(413);
    expect(fx.app.store.intervals.get()).toEqual(before);
  });
});
