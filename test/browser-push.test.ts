// Web Push in a real browser: the service worker registers, a push shows the notification with the printer's
// name, and a click on it opens (or goes to) the print's page. No push service is reachable from here: the
// payload the server sent to a fake push service goes to the worker by Chromium's DevTools protocol. Chromium
// shows it through a desktop's notification server (a fake org.freedesktop.Notifications on a private D-Bus),
// and the click is that server's ActionInvoked "default" signal: what a desktop sends when the user clicks.
import { afterAll, beforeAll, expect, setDefaultTimeout, test } from "bun:test";
import { rmSync } from "node:fs";
import { connect } from "node:net";
import { type BrowserContext, type CDPSession, chromium, type Page } from "playwright-core";
import { relevantErrors } from "./browser-helpers.ts";
import { decryptPayload, makeBrowserSubscription, startPushService } from "./fakes/push-service.ts";
import {
  connected,
  connectSocket,
  emitWithAck,
  login,
  quietFor,
  startApp,
  type TestApp,
  tempDir,
  until,
} from "./helpers.ts";

setDefaultTimeout(60000);

// --- A desktop's notification server, org.freedesktop.Notifications, on D-Bus's own wire protocol ---
type Msg = { type: number; serial: number; fields: Map<number, string | number>; body: Buffer };
/** Header fields by code: 1 path, 2 interface, 3 member, 4 error name, 5 reply serial, 6 destination, 7 sender. */
type Fields = Record<number, unknown>;
const NOTIFY = { path: "/org/freedesktop/Notifications", name: "org.freedesktop.Notifications" };
const le32 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];

/** Appends a little-endian value of type u, s, o, g or `as`, aligned (from the message's start) as D-Bus wants. */
function put(out: number[], type: string, v: unknown) {
  const u32 = (n: number) => out.push(...Array((4 - (out.length % 4)) % 4).fill(0), ...le32(n));
  if (type === "u") u32(v as number);
  else if (type === "g") out.push((v as string).length, ...Buffer.from(v as string), 0);
  else if (type !== "as") {
    u32(Buffer.byteLength(v as string));
    out.push(...Buffer.from(v as string), 0);
  } else {
    u32(0);
    const at = out.length;
    for (const s of v as string[]) put(out, "s", s);
    out.splice(at - 4, 4, ...le32(out.length - at));
  }
}

function message(type: number, serial: number, fields: Fields, sig = "", args: unknown[] = []): Buffer {
  const body: number[] = [];
  for (const [i, t] of (sig.match(/a?./g) ?? []).entries()) put(body, t, args[i]);
  const head = [0x6c, type, 0, 1, ...le32(body.length), ...le32(serial), 0, 0, 0, 0];
  for (const [code, v] of Object.entries(sig ? { ...fields, 8: sig } : fields)) {
    const t = "_osssussg"[Number(code)]!;
    head.push(...Array((8 - (head.length % 8)) % 8).fill(0), Number(code));
    put(head, "g", t);
    put(head, t, v);
  }
  head.splice(12, 4, ...le32(head.length - 16));
  return Buffer.from([...head, ...Array((8 - (head.length % 8)) % 8).fill(0), ...body]);
}

/** Reads y, u, s, o and g values from `b`, `at` on. */
function reader(b: Buffer, at = 0) {
  const align = (n: number) => {
    at = Math.ceil(at / n) * n;
  };
  const y = () => b[at++]!;
  const u = () => {
    align(4);
    at += 4;
    return b.readUInt32LE(at - 4);
  };
  const s = (n = u()) => {
    at += n + 1;
    return b.toString("utf8", at - n - 1, at - 1);
  };
  return { at: () => at, align, y, u, s, g: () => s(y()) };
}

/** One whole message from the front of `buf` and its length, or null while it is still incomplete. */
function parse(buf: Buffer): [Msg, number] | null {
  if (buf.length < 16) return null;
  if (buf[0] !== 0x6c) throw new Error("a big-endian D-Bus message");
  const fieldsEnd = 16 + buf.readUInt32LE(12);
  const bodyAt = Math.ceil(fieldsEnd / 8) * 8;
  const end = bodyAt + buf.readUInt32LE(4);
  if (buf.length < end) return null;
  const r = reader(buf, 16);
  const fields = new Map<number, string | number>();
  while (r.at() < fieldsEnd) {
    r.align(8);
    const code = r.y();
    const t = r.g();
    fields.set(code, t === "u" ? r.u() : t === "g" ? r.g() : r.s());
  }
  return [{ type: buf[1]!, serial: buf.readUInt32LE(8), fields, body: buf.subarray(bodyAt, end) }, end];
}

type Shown = { id: number; summary: string; body: string; actions: string[] };

/** Owns org.freedesktop.Notifications on the bus at `address`: records what is shown and closed; clicks. */
async function notificationServer(address: string) {
  const path = /unix:path=([^,]+)/.exec(address)?.[1];
  if (!path) throw new Error(`a bus address this fake cannot reach: ${address}`);
  const sock = connect(path);
  await new Promise((resolve, reject) => sock.once("connect", resolve).once("error", reject));
  sock.write(`\0AUTH EXTERNAL ${Buffer.from(String(process.getuid!())).toString("hex")}\r\n`);
  const auth = await new Promise<Buffer>((resolve) => sock.once("data", resolve));
  if (!auth.toString().startsWith("OK")) throw new Error(`D-Bus refused us: ${auth}`);
  sock.write("BEGIN\r\n");
  const shown: Shown[] = [];
  const closed: number[] = [];
  const replies = new Map<number, (m: Msg) => void>();
  let serial = 0;
  const send = (type: number, fields: Fields, sig = "", args: unknown[] = []) => {
    sock.write(message(type, ++serial, fields, sig, args));
    return serial;
  };
  const to = (m: Msg): Fields => ({ 5: m.serial, 6: m.fields.get(7) });
  const reply = (m: Msg, sig = "", args: unknown[] = []) => send(2, to(m), sig, args);
  const signal = (member: string, sig: string, args: unknown[]) =>
    send(4, { 1: NOTIFY.path, 2: NOTIFY.name, 3: member }, sig, args);
  const DBUS = "org.freedesktop.DBus";
  const bus = (member: string, sig = "", args: unknown[] = []) =>
    new Promise<Msg>((resolve) =>
      replies.set(send(1, { 1: "/org/freedesktop/DBus", 2: DBUS, 3: member, 6: DBUS }, sig, args), resolve),
    );
  function handle(m: Msg) {
    if (m.type === 2 || m.type === 3) return replies.get(m.fields.get(5) as number)?.(m);
    if (m.type !== 1) return;
    const r = reader(m.body);
    const member = m.fields.get(3);
    if (member === "GetCapabilities") reply(m, "as", [["actions", "body"]]);
    else if (member === "GetServerInformation") reply(m, "ssss", ["fake-notifyd", "layerwatch", "1.0", "1.2"]);
    else if (member === "Notify") {
      r.s(); // app_name
      const replaces = r.u();
      r.s(); // app_icon
      const [summary, body, end] = [r.s(), r.s(), r.u() + r.at()];
      const actions: string[] = [];
      while (r.at() < end) actions.push(r.s());
      const id = replaces || shown.length + 1;
      shown.push({ id, summary, body, actions });
      reply(m, "u", [id]);
    } else if (member === "CloseNotification") {
      const id = r.u();
      closed.push(id);
      reply(m);
      signal("NotificationClosed", "uu", [id, 3]);
    } else send(3, { 4: "org.freedesktop.DBus.Error.UnknownMethod", ...to(m) });
  }
  let pending = Buffer.alloc(0);
  sock.on("data", (data: Buffer) => {
    pending = Buffer.concat([pending, data]);
    for (let got = parse(pending); got; got = parse(pending)) {
      pending = pending.subarray(got[1]);
      handle(got[0]);
    }
  });
  await bus("Hello");
  const owned = await bus("RequestName", "su", [NOTIFY.name, 4]);
  if (reader(owned.body).u() !== 1) throw new Error(`${NOTIFY.name} is taken on this bus`);
  const click = (id: number) => signal("ActionInvoked", "us", [id, "default"]);
  return { shown, closed, click, stop: () => sock.end() };
}

// --- The tests ---
const FAST = { notifyTimings: { retryMs: [100], timeoutMs: 2000, tickMs: 50 } };
const profile = tempDir("layerwatch-chromium-");
let app: TestApp;
let bus: ReturnType<typeof Bun.spawn>;
let notifyd: Awaited<ReturnType<typeof notificationServer>>;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
let finished: Record<string, unknown>;
const errors: string[] = [];
const registrations: { registrationId: string; scopeURL: string; isDeleted: boolean }[] = [];

/** The server's push for a finished print of printer A1, decrypted as the browser would. */
async function serverPayload(cookie: string): Promise<Record<string, unknown>> {
  const push = startPushService();
  const sub = await makeBrowserSubscription(push.endpoint("browser"));
  const headers = { cookie, "content-type": "application/json" };
  const body = JSON.stringify(sub.subscription);
  expect((await fetch(`${app.url}/api/push/subscription`, { method: "POST", headers, body })).status).toBe(201);
  const device = await connected(connectSocket(app, { cookie }));
  await emitWithAck(device, "status", { gcode_status: "RUNNING", file_name: "benchy.3mf" });
  await emitWithAck(device, "status", { gcode_status: "FINISH", file_name: "benchy.3mf" });
  await until(
    () => push.received.length,
    (n) => n >= 2,
    5000,
  );
  device.disconnect();
  push.close();
  const { p256dh, auth } = sub.subscription.keys;
  const [key, secret] = [Buffer.from(p256dh, "base64url"), Buffer.from(auth, "base64url")];
  const plain = await decryptPayload(push.received[1]!.body, sub.privateKey, key, secret);
  return JSON.parse(new TextDecoder().decode(plain));
}

function watch(p: Page) {
  p.on("console", (m) => (m.type() === "error" ? errors.push(m.text()) : undefined));
  p.on("pageerror", (e) => errors.push(e.message));
}

beforeAll(async () => {
  if (!Bun.which("dbus-daemon")) throw new Error("dbus-daemon is missing: apt-get install dbus-daemon");
  bus = Bun.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"], { stdout: "pipe", stderr: "ignore" });
  const first = await (bus.stdout as ReadableStream<Uint8Array>).getReader().read();
  const address = new TextDecoder().decode(first.value).trim();
  notifyd = await notificationServer(address);
  app = await startApp({ printers: [{ name: "A1" }] as never }, undefined, FAST);
  const cookie = await login(app);
  finished = await serverPayload(cookie);
  // A persistent context, not browser.newContext(): Chromium hands a click on a system notification to the
  // profile it names, and the extra off-the-record profiles that newContext() makes are never that one.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run", "--disable-sync"],
    env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: address },
    locale: "en-GB",
    timezoneId: "Europe/Helsinki",
    viewport: { width: 1280, height: 900 },
  });
  context.on("page", watch);
  await context.grantPermissions(["notifications"], { origin: app.url });
  page = await context.newPage();
  cdp = await context.newCDPSession(page);
  cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => registrations.push(...e.registrations));
  await cdp.send("ServiceWorker.enable");
  const [name, ...value] = cookie.split("=");
  await context.addCookies([{ name: name!, value: value.join("="), url: app.url }]); // logged in, as admin
  await page.goto(`${app.url}/settings`);
}, 60000);
afterAll(async () => {
  await context?.close();
  await app?.close();
  notifyd?.stop();
  bus?.kill();
  rmSync(profile, { recursive: true, force: true });
});

/** The worker's notifications, each as "title | body | tag | url to open". */
const notifications = (p: Page) =>
  p.evaluate(async () =>
    (await (await navigator.serviceWorker.ready).getNotifications()).map((n) =>
      [n.title, n.body, n.tag, n.data?.url].join(" | "),
    ),
  );

/**
 * Hands `payload` to the page's service worker as the push service would, and waits until the desktop was asked
 * to show a notification. (Not by polling getNotifications(): Chromium forgets a notification that is asked for
 * before the desktop has been told of it.)
 */
async function deliver(payload: unknown) {
  const reg = registrations.findLast((r) => r.scopeURL === `${app.url}/` && !r.isDeleted)!;
  const before = notifyd.shown.length;
  const data = JSON.stringify(payload);
  await cdp.send("ServiceWorker.deliverPushMessage", { origin: app.url, registrationId: reg.registrationId, data });
  await until(
    () => notifyd.shown.length,
    (n) => n > before,
    5000,
  );
  return notifyd.shown.at(-1)!;
}

test("the service worker registers from /sw.js for the whole site", async () => {
  const reg = await page.evaluate(() => navigator.serviceWorker.ready.then((r) => [r.scope, r.active?.scriptURL]));
  expect(reg).toEqual([`${app.url}/`, `${app.url}/sw.js`]);
});

test("a push delivered to the worker shows the notification with the printer's name", async () => {
  expect(finished).toMatchObject({ title: "A1: print finished", body: "benchy.3mf", url: "/jobs/1" });
  // The desktop was asked to show it, with the "default" action that makes the whole notification clickable.
  const shown = await deliver(finished);
  expect(shown.summary).toBe("A1: print finished");
  expect(shown.body).toContain("benchy.3mf");
  expect(shown.actions).toContain("default");
  expect(await notifications(page)).toEqual(["A1: print finished | benchy.3mf | print_finished-1 | /jobs/1"]);
});

test("a click on the notification opens the print's page in a new tab and closes the notification", async () => {
  const id = notifyd.shown.at(-1)!.id;
  const opened = context.waitForEvent("page", { timeout: 10000 });
  notifyd.click(id);
  const tab = await opened;
  await tab.waitForLoadState();
  expect(tab.url()).toBe(`${app.url}/jobs/1`);
  expect(await tab.textContent("h1")).toBe("benchy.3mf");
  expect(await notifications(page)).toEqual([]);
  expect(notifyd.closed).toContain(id);
});

test("a click while the print's page is open goes to that page and opens no other", async () => {
  expect(context.pages().map((p) => p.url())).toContain(`${app.url}/jobs/1`);
  await page.bringToFront();
  const shown = await deliver(finished);
  const pages = context.pages().length;
  notifyd.click(shown.id);
  await until(
    () => notifyd.closed,
    (closed) => closed.includes(shown.id),
    5000,
  );
  expect(notifyd.closed).toContain(shown.id); // the worker's click handler ran
  await quietFor(1000); // bounded: time enough for a window to open, were one opened
  expect(context.pages().length).toBe(pages);
  expect(await notifications(page)).toEqual([]);
});

test("no page broke the Content-Security-Policy or threw", () => {
  expect(relevantErrors(errors)).toEqual([]);
});
