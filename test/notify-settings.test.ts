// Notifications from Settings and the browser's side: targets added and tested from the form, room limits with
// hysteresis, and a Web Push to a subscription made here (its own keys), decrypted and compared.
import { describe, expect, test } from "bun:test";
import { useCleanup } from "./app-fixture.ts";
import { startNotifyServices } from "./fakes/notify-services.ts";
import { decryptPayload, makeBrowserSubscription, startPushService } from "./fakes/push-service.ts";
import {
  connected,
  connectSocket,
  csrfFrom,
  emitWithAck,
  getPage,
  login,
  quietFor,
  startApp,
  until,
} from "./helpers.ts";

const cleanup = useCleanup();
const FAST = { notifyTimings: { retryMs: [100], timeoutMs: 2000, tickMs: 50 } };
const unb64u = (s: string) => new Uint8Array(Buffer.from(s, "base64url"));

async function setup() {
  const services = await startNotifyServices();
  cleanup.push(() => services.close());
  const app = await startApp({}, undefined, FAST);
  cleanup.push(() => app.close());
  const cookie = await login(app);
  const csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
  const form = (path: string, fields: Record<string, string>, hx = false) =>
    fetch(`${app.url}${path}`, {
      method: "POST",
      headers: { cookie, ...(hx ? { "hx-request": "true" } : {}) },
      body: new URLSearchParams({ _csrf: csrf, ...fields }),
      redirect: "manual",
    });
  return { services, app, cookie, form };
}

describe("targets in Settings", () => {
  test("a bad address is refused with the reason; send test uses the form's value before it is saved", async () => {
    const { services, app, form } = await setup();
    const bad = await form("/settings/notify", { url: "ftp://example.org/x" }, true);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("a target starts with ntfy://");
    const tested = await form("/settings/notify/test", { url: services.ntfyUrl("trial") }, true);
    expect(await tested.text()).toContain("Test sent.");
    expect(services.of("ntfy").map((r) => r.path)).toEqual(["/trial"]);
    expect((await app.notifier.targets()).map((t) => t.url)).toEqual(["webpush://"]);
    const down = await form("/settings/notify/test", { url: "json://127.0.0.1:9/nothing-listens" }, true);
    expect(await down.text()).toContain("flash error");
  });

  test("a saved target shows without its secret; the settings page lists its delivery log", async () => {
    const { services, app, cookie, form } = await setup();
    const url = `${services.ntfyUrl("room")}?token=tk_supersecretvalue`;
    expect((await form("/settings/notify", { url }, true)).status).toBe(200);
    const page = (await getPage(app, "/settings", cookie)).text;
    expect(page).not.toContain("supersecretvalue");
    expect(page).toContain("token=tk_sup…");
    expect(page).toContain("Delivery log");
  });

  test("room limits raise reading_high once, and again only once back past the hysteresis", async () => {
    const { services, app, cookie, form } = await setup();
    await form("/settings/notify", { url: `${services.webhookUrl()}?events=reading_high,reading_low` }, true);
    await form("/settings/printers/1/limits", { temp_high: "30", temp_low: "", hum_high: "", hum_low: "" });
    expect(app.printers.limits(1)).toEqual({ temp_high: 30, temp_low: null, hum_high: null, hum_low: null });
    const device = await connected(connectSocket(app, { cookie }));
    cleanup.push(() => device.disconnect());
    for (const t of [29, 31, 32, 30.5, 29.5, 31, 28.9, 30.2])
      await emitWithAck(device, "temphum", { temperature: t, humidity: 40 });
    await until(
      () => services.of("webhook").length,
      (n) => n >= 2,
    );
    // Bounded: every reading was taken before this; a third message, were one raised, would be sent within it.
    await quietFor(300);
    const bodies = services.of("webhook").map((r) => (r.json as { event: string; body: string }).body);
    expect(bodies).toEqual(["31 °C (limit 30 °C)", "30.2 °C (limit 30 °C)"]);
  });
});

describe("Web Push", () => {
  test("with no browser subscribed nothing is queued for Web Push; once one subscribes it is", async () => {
    const { services, app, cookie, form } = await setup();
    await form("/settings/notify", { url: services.webhookUrl() }, true);
    const device = await connected(connectSocket(app, { cookie }));
    cleanup.push(() => device.disconnect());
    const webpushLog = async () => (await app.notifier.targets()).find((t) => t.url === "webpush://")!.log;
    await emitWithAck(device, "status", { gcode_status: "RUNNING", file_name: "alone.3mf" });
    await until(
      () => services.of("webhook").length,
      (n) => n >= 1,
    );
    // The webhook had it, so the notification was raised and worked: the Web Push target got no delivery.
    expect(await webpushLog()).toEqual([]);

    const push = startPushService();
    cleanup.push(() => push.close());
    const browser = await makeBrowserSubscription(push.endpoint("later"));
    const headers = { cookie, "content-type": "application/json" };
    const body = JSON.stringify(browser.subscription);
    expect((await fetch(`${app.url}/api/push/subscription`, { method: "POST", headers, body })).status).toBe(201);
    await emitWithAck(device, "status", { gcode_status: "FINISH", file_name: "alone.3mf" });
    const log = await until(webpushLog, (l) => l[0]?.status === "sent");
    expect(log.map((d) => [d.event, d.status])).toEqual([["print_finished", "sent"]]);
    expect(push.received).toHaveLength(1);
  });

  test("a subscription made here receives the notification encrypted for it, with a valid VAPID token", async () => {
    const { app, cookie } = await setup();
    const push = startPushService();
    cleanup.push(() => push.close());
    const browser = await makeBrowserSubscription(push.endpoint("me"));
    const headers = { cookie, "content-type": "application/json" };
    const key = (await (await fetch(`${app.url}/api/push/key`, { headers })).json()) as { publicKey: string };
    expect(unb64u(key.publicKey)).toHaveLength(65);
    const sub = await fetch(`${app.url}/api/push/subscription`, {
      method: "POST",
      headers,
      body: JSON.stringify(browser.subscription),
    });
    expect(sub.status).toBe(201);
    const lan = await fetch(`${app.url}/api/push/subscription`, {
      method: "POST",
      headers,
      body: JSON.stringify({ ...browser.subscription, endpoint: "http://192.168.1.1/push" }),
    });
    expect(lan.status).toBe(400);
    const device = await connected(connectSocket(app, { cookie }));
    cleanup.push(() => device.disconnect());
    await emitWithAck(device, "status", { gcode_status: "RUNNING", file_name: "pushed.3mf" });
    await until(
      () => push.received.length,
      (n) => n > 0,
      3000,
    );
    const got = push.received[0]!;
    expect(got.status).toBe(201);
    expect(got.vapid!.k).toBe(key.publicKey);
    const keys = browser.subscription.keys;
    const plain = await decryptPayload(got.body, browser.privateKey, unb64u(keys.p256dh), unb64u(keys.auth));
    expect(JSON.parse(new TextDecoder().decode(plain))).toMatchObject({
      title: "Printer: print started",
      body: "pushed.3mf",
      tag: "print_started-1",
    });
  });
});
