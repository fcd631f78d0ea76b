import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "socket.io-client";
import {
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

  test("a token device emits (auth or Bearer header) under its own device and gets no broadcasts", async () => {
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
  test("a foreign browser Origin is refused; this site, the allow-list and Origin-less devices connect", async () => {
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
