// Security for devices: token devices, revocation, socket origins, rate limits, storage failures, the event log.
import { describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import {
  addUser,
  collect,
  connected,
  connectSocket,
  csrfFrom,
  emitWithAck,
  eventMatching,
  getPage,
  nextEvent,
  postForm,
  quietFor,
  until,
} from "./helpers.ts";

const fx = useApp({ config: { device_rate_limit: 5, allowed_origins: "https://allowed.example" } });

describe("device tokens", () => {
  async function createToken(name: string) {
    const res = await postForm(
      fx.app,
      "/settings/tokens",
      { _csrf: fx.csrf, name },
      { cookie: fx.cookie, "hx-request": "true" },
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    const token = /<code class="token">([^<]+)<\/code>/.exec(html)![1]!;
    const id = (
      fx.app.store.db.query("SELECT id FROM device_tokens WHERE name = ? ORDER BY id DESC").get(name) as { id: number }
    ).id;
    return { token, id, html };
  }

  test("a token is shown once, stored only as a hash, and the settings page never shows it again", async () => {
    const { token, id } = await createToken("camera-1");
    expect(token).toStartWith("lwd_");
    const row = fx.app.store.db.query("SELECT token_hash FROM device_tokens WHERE id = ?").get(id) as {
      token_hash: string;
    };
    expect(row.token_hash).not.toContain(token);
    const page = (await getPage(fx.app, "/settings", fx.cookie)).text;
    expect(page).toContain("camera-1");
    expect(page).not.toContain(token);
    expect(fx.app.logs.some((l) => JSON.stringify(l).includes(token))).toBe(false);
  });

  test("a token device emits (auth or Bearer header) under its own device and gets no broadcasts", async () => {
    const { token, id } = await createToken("camera-2");
    const viaAuth = fx.track(await connected(connectSocket(fx.app, { auth: { token } })));
    const viaHeader = fx.track(await connected(connectSocket(fx.app, { bearer: token })));
    const viewer = fx.track(await connected(connectSocket(fx.app, { cookie: fx.cookie })));
    const echoed = collect(viaHeader, "temphum2v");
    const got = nextEvent<{ temperature: number }>(viewer, "temphum2v");
    const ack = await emitWithAck<{ ok: boolean; id: number }>(viaAuth, "temphum", { temperature: 30.5, humidity: 20 });
    expect(ack.ok).toBe(true);
    expect((await got).temperature).toBe(30.5);
    const deviceId = (
      fx.app.store.db.query("SELECT device_id FROM device_tokens WHERE id = ?").get(id) as { device_id: number }
    ).device_id;
    expect(
      (fx.app.store.db.query("SELECT device_id FROM readings WHERE id = ?").get(ack.id) as { device_id: number })
        .device_id,
    ).toBe(deviceId);
    expect(deviceId).not.toBe(1);
    // Bounded: the viewer already has the broadcast; a copy to the device would have come with it.
    await quietFor(100);
    expect(echoed).toEqual([]);
    expect(fx.app.store.deviceTokens.list().find((t) => t.id === id)!.last_used_at).toBeGreaterThan(0);
  });

  test("a token opens no page and no API", async () => {
    const { token } = await createToken("camera-3");
    for (const path of ["/api/temphum", "/api/timelapse_config", "/api/latest"]) {
      const res = await fetch(`${fx.app.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    }
    const page = await fetch(`${fx.app.url}/3d`, { headers: { authorization: `Bearer ${token}` }, redirect: "manual" });
    expect(page.status).toBe(303);
  });

  test("a token device receives timelapse_conf", async () => {
    const { token } = await createToken("camera-4");
    const device = fx.track(connectSocket(fx.app, { auth: { token } }));
    const conf = eventMatching(device, "timelapse_conf", (c: Record<string, number>) => c.image_delay === 40);
    await connected(device);
    await postForm(
      fx.app,
      "/settings/intervals",
      { _csrf: fx.csrf, image_delay: "40", temphum_delay: "10", status_delay: "10" },
      { cookie: fx.cookie },
    );
    expect(await conf).toEqual({ image_delay: 40, temphum_delay: 10, status_delay: 10 });
  });

  test("revoking a token disconnects its device at once and refuses it afterwards", async () => {
    const { token, id } = await createToken("camera-5");
    const device = fx.track(await connected(connectSocket(fx.app, { auth: { token } })));
    const gone = nextEvent(device, "disconnect");
    const res = await postForm(fx.app, `/settings/tokens/${id}/revoke`, { _csrf: fx.csrf }, { cookie: fx.cookie });
    expect(res.status).toBe(200);
    await gone;
    const again = fx.track(connectSocket(fx.app, { auth: { token } }));
    await expect(connected(again)).rejects.toThrow(/unknown or revoked device token/);
  });

  test("an unknown token is refused with a message", async () => {
    await expect(connected(fx.track(connectSocket(fx.app, { auth: { token: "lwd_nope" } })))).rejects.toThrow(
      /unknown or revoked/,
    );
  });

  test("hostile token names render escaped", async () => {
    const name = '"><img src=x onerror=alert(1)>';
    const { html } = await createToken(name);
    expect(html).not.toContain(name);
    const page = (await getPage(fx.app, "/settings", fx.cookie)).text;
    expect(page).not.toContain(name);
    expect(page).toContain(Bun.escapeHTML(name));
  });

  test("a viewer cannot create tokens", async () => {
    const viewer = await addUser(fx.app, fx.cookie, "tokenviewer", "viewer", "tokenviewer-pass");
    const viewerCsrf = csrfFrom((await getPage(fx.app, "/settings", viewer)).text);
    const before = fx.app.store.deviceTokens.list().length;
    expect(
      (await postForm(fx.app, "/settings/tokens", { _csrf: viewerCsrf, name: "sneaky" }, { cookie: viewer })).status,
    ).toBe(403);
    expect(fx.app.store.deviceTokens.list().length).toBe(before);
  });

  test("a printer's token list is for admins: a viewer gets 403 and no names, an admin the list", async () => {
    const viewer = await addUser(fx.app, fx.cookie, "listviewer", "viewer", "listviewer-pass");
    await createToken("listed-pi");
    const refused = await fetch(`${fx.app.url}/api/printers/1/tokens`, { headers: { cookie: viewer } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toContain("listed-pi");
    const listed = await fetch(`${fx.app.url}/api/printers/1/tokens`, { headers: { cookie: fx.cookie } });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { name: string }[]).map((t) => t.name)).toContain("listed-pi");
  });
});

describe("socket origin", () => {
  test("a foreign browser Origin is refused; this site, the allow-list and Origin-less devices connect", async () => {
    await expect(
      connected(fx.track(connectSocket(fx.app, { cookie: fx.cookie, origin: "https://evil.example" }))),
    ).rejects.toThrow(/origin may not connect/);
    await connected(fx.track(connectSocket(fx.app, { cookie: fx.cookie, origin: fx.app.url })));
    await connected(fx.track(connectSocket(fx.app, { cookie: fx.cookie, origin: "https://allowed.example" })));
    await connected(fx.track(connectSocket(fx.app, { cookie: fx.cookie })));
  });
});

describe("device event rate limit", () => {
  test("a runaway device is told to slow down, nothing more is stored, and the connection stays", async () => {
    const device = fx.track(await connected(connectSocket(fx.app, { cookie: fx.cookie })));
    const errors = collect<{ message: string }>(device, "error");
    const before = (fx.app.store.db.query("SELECT count(*) AS n FROM statuses").get() as { n: number }).n;
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
    expect((fx.app.store.db.query("SELECT count(*) AS n FROM statuses").get() as { n: number }).n).toBe(
      before + accepted,
    );
    expect(errors.length).toBe(1);
    expect(errors[0]!.message).toContain("rate limit exceeded");
    expect(device.connected).toBe(true);
    // The bucket refills at 5 a second: within the second it took before, an event is accepted again.
    const calm = () => emitWithAck<{ ok: boolean }>(device, "status", { status: "calm again" });
    expect((await until(calm, (a) => a.ok, 1100)).ok).toBe(true);
  });
});

describe("storage failures and the admin log", () => {
  test("a failing write is reported to the sender and logged; the server keeps serving", async () => {
    // A new connection has its own full rate-limit bucket, whatever the burst test did to its own.
    const device = fx.track(await connected(connectSocket(fx.app, { cookie: fx.cookie })));
    fx.app.store.db.run("PRAGMA query_only = ON");
    try {
      const error = nextEvent<{ message: string }>(device, "error");
      const ack = await emitWithAck<{ ok: boolean; error: string }>(device, "temphum", {
        temperature: 20,
        humidity: 20,
      });
      expect(ack).toEqual({ ok: false, error: "storage failed" });
      expect((await error).message).toContain("could not store");
      expect((await getPage(fx.app, "/healthz")).status).toBe(200);
    } finally {
      fx.app.store.db.run("PRAGMA query_only = OFF");
    }
    expect(fx.app.logs.some((l) => l.level === "error" && l.msg === "storing a device event failed")).toBe(true);
    expect((await emitWithAck<{ ok: boolean }>(device, "temphum", { temperature: 20, humidity: 20 })).ok).toBe(true);
  });

  test("admins see recent warnings and errors in settings; the list is bounded", async () => {
    const device = fx.track(await connected(connectSocket(fx.app, { cookie: fx.cookie })));
    await emitWithAck(device, "temphum", { temperature: "<b>hot</b>", humidity: 1 });
    const page = (await getPage(fx.app, "/settings", fx.cookie)).text;
    expect(page).toContain("Recent warnings and errors");
    expect(page).toContain("rejected device event");
    expect(page).not.toContain("<b>hot</b>");
    for (let i = 0; i < 600; i++) fx.app.store.eventLog.append("warn", `filler ${i}`, "{}", 500);
    expect((fx.app.store.db.query("SELECT count(*) AS n FROM event_log").get() as { n: number }).n).toBeLessThanOrEqual(
      500,
    );
  });
});
