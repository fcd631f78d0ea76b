import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "socket.io-client";
import {
  ADMIN,
  collect,
  connected,
  connectSocket,
  csrfFrom,
  emitWithAck,
  eventMatching,
  getPage,
  login,
  nextEvent,
  sleep,
  startApp,
  type TestApp,
} from "./helpers.ts";

let app: TestApp;
let cookie: string;
let csrf: string;
const open: Socket[] = [];
const track = (s: Socket) => {
  open.push(s);
  return s;
};
beforeAll(async () => {
  app = await startApp({ device_rate_limit: 5, allowed_origins: "https://allowed.example" });
  cookie = await login(app);
  csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
});
afterEach(() => {
  while (open.length) open.pop()!.disconnect();
});
afterAll(async () => {
  await app.close();
});

const postForm = (
  target: TestApp,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) => fetch(`${target.url}${path}`, { method: "POST", body: new URLSearchParams(fields), redirect: "manual", headers });

describe("login throttling", () => {
  test("the sixth failure within a minute for one username answers 429 with Retry-After and a readable page", async () => {
    const target = await startApp({ trust_proxy: true });
    const attacker = { "cf-connecting-ip": "198.51.100.7" };
    try {
      for (let i = 0; i < 5; i++)
        expect((await postForm(target, "/login", { username: "victim", password: `guess${i}` }, attacker)).status).toBe(
          401,
        );
      const res = await postForm(target, "/login", { username: "victim", password: "guess5" }, attacker);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await res.text()).toContain("Too many failed logins");
      // Even the right password waits: the lockout is on the name, not on the guess.
      expect(
        (
          await postForm(
            target,
            "/login",
            { username: "victim", password: "anything" },
            { "cf-connecting-ip": "203.0.113.9" },
          )
        ).status,
      ).toBe(429);
      // Another user from another address is unaffected.
      expect((await postForm(target, "/login", ADMIN, { "cf-connecting-ip": "203.0.113.9" })).status).toBe(303);
    } finally {
      await target.close();
    }
  });

  test("failures are counted per client address across usernames", async () => {
    const target = await startApp();
    try {
      for (let i = 0; i < 5; i++) await postForm(target, "/login", { username: `user${i}`, password: "x" });
      expect((await postForm(target, "/login", ADMIN)).status).toBe(429);
    } finally {
      await target.close();
    }
  });

  test("forwarded addresses count only behind a trusted proxy", async () => {
    const untrusted = await startApp();
    const trusted = await startApp({ trust_proxy: true });
    try {
      for (let i = 0; i < 5; i++) {
        await postForm(
          untrusted,
          "/login",
          { username: `u${i}`, password: "x" },
          { "cf-connecting-ip": `10.0.0.${i}` },
        );
        await postForm(trusted, "/login", { username: `u${i}`, password: "x" }, { "cf-connecting-ip": `10.0.0.${i}` });
      }
      // Spoofed headers do not escape the limit when the proxy is not trusted...
      expect((await postForm(untrusted, "/login", ADMIN, { "cf-connecting-ip": "10.9.9.9" })).status).toBe(429);
      // ...and behind a trusted proxy each client has its own count.
      expect((await postForm(trusted, "/login", ADMIN, { "cf-connecting-ip": "10.9.9.9" })).status).toBe(303);
    } finally {
      await untrusted.close();
      await trusted.close();
    }
  });
});

describe("sessions", () => {
  test("every login issues a new session id, even when the browser presents an old one", async () => {
    const first = await login(app);
    const res = await postForm(app, "/login", ADMIN, { cookie: first });
    const second = res.headers.getSetCookie()[0]!.split(";")[0]!;
    expect(second).not.toBe(first);
  });

  test("changing a password disconnects that user's other sockets at once", async () => {
    await postForm(
      app,
      "/settings/users",
      { _csrf: csrf, username: "sockuser", password: "sockuser-pass" },
      { cookie },
    );
    const mine = await login(app, "sockuser", "sockuser-pass");
    const other = await login(app, "sockuser", "sockuser-pass");
    const otherSocket = track(await connected(connectSocket(app, { cookie: other })));
    const mySocket = track(await connected(connectSocket(app, { cookie: mine })));
    const gone = nextEvent(otherSocket, "disconnect");
    const myCsrf = csrfFrom((await getPage(app, "/settings", mine)).text);
    expect(
      (
        await postForm(
          app,
          "/settings/password",
          { _csrf: myCsrf, current: "sockuser-pass", next: "sockuser-pass-2" },
          { cookie: mine },
        )
      ).status,
    ).toBe(200);
    await gone;
    await sleep(50);
    expect(mySocket.connected).toBe(true);
  });
});

describe("device tokens", () => {
  async function createToken(name: string) {
    const res = await postForm(app, "/settings/tokens", { _csrf: csrf, name }, { cookie, "hx-request": "true" });
    expect(res.status).toBe(200);
    const html = await res.text();
    const token = /<code class="token">([^<]+)<\/code>/.exec(html)![1]!;
    const id = (
      app.store.db.query("SELECT id FROM device_tokens WHERE name = ? ORDER BY id DESC").get(name) as { id: number }
    ).id;
    return { token, id, html };
  }

  test("a token is shown once, stored only as a hash, and the settings page never shows it again", async () => {
    const { token, id } = await createToken("camera-1");
    expect(token).toStartWith("lwd_");
    const row = app.store.db.query("SELECT token_hash FROM device_tokens WHERE id = ?").get(id) as {
      token_hash: string;
    };
    expect(row.token_hash).not.toContain(token);
    const page = (await getPage(app, "/settings", cookie)).text;
    expect(page).toContain("camera-1");
    expect(page).not.toContain(token);
    expect(app.logs.some((l) => JSON.stringify(l).includes(token))).toBe(false);
  });

  test("a token device emits events (auth or Bearer header), stored under its own device; it gets no broadcasts", async () => {
    const { token, id } = await createToken("camera-2");
    const viaAuth = track(await connected(connectSocket(app, { auth: { token } })));
    const viaHeader = track(await connected(connectSocket(app, { bearer: token })));
    const viewer = track(await connected(connectSocket(app, { cookie })));
    const echoed = collect(viaHeader, "temphum2v");
    const got = nextEvent<{ temperature: number }>(viewer, "temphum2v");
    const ack = await emitWithAck<{ ok: boolean; id: number }>(viaAuth, "temphum", { temperature: 30.5, humidity: 20 });
    expect(ack.ok).toBe(true);
    expect((await got).temperature).toBe(30.5);
    const deviceId = (
      app.store.db.query("SELECT device_id FROM device_tokens WHERE id = ?").get(id) as { device_id: number }
    ).device_id;
    expect(
      (app.store.db.query("SELECT device_id FROM readings WHERE id = ?").get(ack.id) as { device_id: number })
        .device_id,
    ).toBe(deviceId);
    expect(deviceId).not.toBe(1);
    await sleep(100);
    expect(echoed).toEqual([]);
    expect(app.store.deviceTokens.list().find((t) => t.id === id)!.last_used_at).toBeGreaterThan(0);
  });

  test("a token opens no page and no API", async () => {
    const { token } = await createToken("camera-3");
    for (const path of ["/api/temphum", "/api/timelapse_config", "/api/latest"]) {
      const res = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    }
    const page = await fetch(`${app.url}/3d`, { headers: { authorization: `Bearer ${token}` }, redirect: "manual" });
    expect(page.status).toBe(303);
  });

  test("a token device receives timelapse_conf", async () => {
    const { token } = await createToken("camera-4");
    const conf = eventMatching(
      track(connectSocket(app, { auth: { token } })),
      "timelapse_conf",
      (c: Record<string, number>) => c.image_delay === 40,
    );
    await Bun.sleep(100);
    await postForm(
      app,
      "/settings/intervals",
      { _csrf: csrf, image_delay: "40", temphum_delay: "10", status_delay: "10" },
      { cookie },
    );
    expect(await conf).toEqual({ image_delay: 40, temphum_delay: 10, status_delay: 10 });
  });

  test("revoking a token disconnects its device at once and refuses it afterwards", async () => {
    const { token, id } = await createToken("camera-5");
    const device = track(await connected(connectSocket(app, { auth: { token } })));
    const gone = nextEvent(device, "disconnect");
    const res = await postForm(app, `/settings/tokens/${id}/revoke`, { _csrf: csrf }, { cookie });
    expect(res.status).toBe(200);
    await gone;
    const again = track(connectSocket(app, { auth: { token } }));
    await expect(connected(again)).rejects.toThrow(/unknown or revoked device token/);
  });

  test("an unknown token is refused with a message", async () => {
    await expect(connected(track(connectSocket(app, { auth: { token: "lwd_nope" } })))).rejects.toThrow(
      /unknown or revoked/,
    );
  });

  test("hostile token names render escaped", async () => {
    const name = '"><img src=x onerror=alert(1)>';
    const { html } = await createToken(name);
    expect(html).not.toContain(name);
    const page = (await getPage(app, "/settings", cookie)).text;
    expect(page).not.toContain(name);
    expect(page).toContain(Bun.escapeHTML(name));
  });

  test("a viewer cannot create tokens", async () => {
    await postForm(
      app,
      "/settings/users",
      { _csrf: csrf, username: "tokenviewer", password: "tokenviewer-pass", role: "viewer" },
      { cookie },
    );
    const viewer = await login(app, "tokenviewer", "tokenviewer-pass");
    const viewerCsrf = csrfFrom((await getPage(app, "/settings", viewer)).text);
    const before = app.store.deviceTokens.list().length;
    expect(
      (await postForm(app, "/settings/tokens", { _csrf: viewerCsrf, name: "sneaky" }, { cookie: viewer })).status,
    ).toBe(403);
    expect(app.store.deviceTokens.list().length).toBe(before);
  });
});

describe("socket origin", () => {
  test("a browser handshake from a foreign Origin is refused; this site, the allow-list and devices without Origin are not", async () => {
    await expect(connected(track(connectSocket(app, { cookie, origin: "https://evil.example" })))).rejects.toThrow(
      /origin may not connect/,
    );
    await connected(track(connectSocket(app, { cookie, origin: app.url })));
    await connected(track(connectSocket(app, { cookie, origin: "https://allowed.example" })));
    await connected(track(connectSocket(app, { cookie })));
  });
});

describe("device event rate limit", () => {
  test("a runaway device is told to slow down, nothing more is stored, and the connection stays", async () => {
    const device = track(await connected(connectSocket(app, { cookie })));
    const errors = collect<{ message: string }>(device, "error");
    const before = (app.store.db.query("SELECT count(*) AS n FROM statuses").get() as { n: number }).n;
    const acks = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        emitWithAck<{ ok: boolean; error?: string }>(device, "status", { status: `burst ${i}` }),
      ),
    );
    const accepted = acks.filter((a) => a.ok).length;
    // Burst allowance 2 x 5/s: about ten get through, the rest are refused.
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThan(14);
    expect(acks.find((a) => !a.ok)!.error).toBe("rate limit exceeded");
    expect((app.store.db.query("SELECT count(*) AS n FROM statuses").get() as { n: number }).n).toBe(before + accepted);
    expect(errors.length).toBe(1);
    expect(errors[0]!.message).toContain("rate limit exceeded");
    expect(device.connected).toBe(true);
    await sleep(1100);
    expect((await emitWithAck<{ ok: boolean }>(device, "status", { status: "calm again" })).ok).toBe(true);
  });
});

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
      const res = await fetch(`${app.url}${path}`, { headers: withCookie ? { cookie } : {}, redirect: "manual" });
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(`${path}: ${csp}`).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain("unsafe-inline");
      expect(csp).toContain(`connect-src 'self' ws://${new URL(app.url).host} wss://${new URL(app.url).host}`);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("referrer-policy")).toBe("same-origin");
      expect(res.headers.get("strict-transport-security")).toBeNull();
    }
  });

  test("pages have no inline script", async () => {
    for (const path of ["/", "/3d", "/settings"]) {
      const html = (await getPage(app, path, cookie)).text;
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
    const before = app.store.intervals.get();
    const res = await postForm(
      app,
      "/settings/intervals",
      { _csrf: csrf, image_delay: "50", temphum_delay: "10", status_delay: "10", pad: "x".repeat(100 * 1024) },
      { cookie },
    );
    expect(res.status).toBe(413);
    expect(app.store.intervals.get()).toEqual(before);
  });
});

describe("storage failures and the admin log", () => {
  test("a failing write is reported to the sender and logged; the server keeps serving", async () => {
    const device = track(await connected(connectSocket(app, { cookie })));
    await sleep(1100); // let the rate-limit bucket refill after the burst test
    app.store.db.run("PRAGMA query_only = ON");
    try {
      const error = nextEvent<{ message: string }>(device, "error");
      const ack = await emitWithAck<{ ok: boolean; error: string }>(device, "temphum", {
        temperature: 20,
        humidity: 20,
      });
      expect(ack).toEqual({ ok: false, error: "storage failed" });
      expect((await error).message).toContain("could not store");
      expect((await getPage(app, "/healthz")).status).toBe(200);
    } finally {
      app.store.db.run("PRAGMA query_only = OFF");
    }
    expect(app.logs.some((l) => l.level === "error" && l.msg === "storing a device event failed")).toBe(true);
    expect((await emitWithAck<{ ok: boolean }>(device, "temphum", { temperature: 20, humidity: 20 })).ok).toBe(true);
  });

  test("admins see recent warnings and errors in settings; the list is bounded", async () => {
    const device = track(await connected(connectSocket(app, { cookie })));
    await emitWithAck(device, "temphum", { temperature: "<b>hot</b>", humidity: 1 });
    const page = (await getPage(app, "/settings", cookie)).text;
    expect(page).toContain("Recent warnings and errors");
    expect(page).toContain("rejected device event");
    expect(page).not.toContain("<b>hot</b>");
    for (let i = 0; i < 600; i++) app.store.eventLog.append("warn", `filler ${i}`, "{}", 500);
    expect((app.store.db.query("SELECT count(*) AS n FROM event_log").get() as { n: number }).n).toBeLessThanOrEqual(
      500,
    );
  });
});
