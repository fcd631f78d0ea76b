// Test helpers: start the real app on port 0 with a temp SQLite file, log in, connect real socket clients, wait
// for events and conditions, fake JPEG/PNG bytes, and fetch pages and forms with their CSRF token.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { io as ioClient, type Socket } from "socket.io-client";
import { type AppHandle, type AppOptions, createApp } from "../src/app.ts";
import { type Config, loadConfig } from "../src/config.ts";

import { createLogger, type Level } from "../src/log.ts";

export type TestApp = AppHandle & {
  dir: string;
  config: Config;
  logs: { level: Level; msg: string; fields?: Record<string, unknown> }[];
  close(): Promise<void>;
};

export const ADMIN = { username: "admin", password: "admin-password-1" };

export function tempDir(prefix = "layerwatch-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startApp(
  overrides: Partial<Config> = {},
  dir = tempDir(),
  appOpts: Omit<AppOptions, "log"> = {},
): Promise<TestApp> {
  const { config } = await loadConfig({
    path: undefined,
    env: {},
    overrides: {
      web_username: ADMIN.username,
      web_password: ADMIN.password,
      secret_key: "test-secret-key-0123456789",
      database_uri: join(dir, "app.db"),
      host: "127.0.0.1",
      port: 0,
      timezone: "Europe/Helsinki",
      // Tests seed readings from past years; pruning them 30 s in would empty days under a slow test.
      raw_retention_days: 0,
      ...overrides,
    },
  });
  const logs: TestApp["logs"] = [];
  const app = await createApp(config, {
    log: createLogger({ quiet: true, sink: (level, msg, fields) => logs.push({ level, msg, fields }) }),
    ...appOpts,
  });
  return Object.assign(app, {
    dir,
    config,
    logs,
    async close() {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** A fake printer as tests reach it: the parts of it a config entry names. */
type ReachablePrinter = { serial: string; accessCode: string; mqttPort: number };

/**
 * The config file's entry for a fake printer on 127.0.0.1: an A1 named "A1" with the fake's serial, access code and
 * MQTT port; `extra` adds or overrides keys (name, model, camera, camera_port, ftps_port, rtsp_port, tls).
 */
export function printerEntry(printer: ReachablePrinter, extra: Record<string, unknown> = {}) {
  return {
    name: "A1",
    model: "A1",
    host: "127.0.0.1",
    serial: printer.serial,
    access_code: printer.accessCode,
    mqtt_port: printer.mqttPort,
    ...extra,
  };
}

/** Logs in through the form like a browser or device would; returns the Cookie header value. */
export async function login(
  app: { url: string },
  username = ADMIN.username,
  password = ADMIN.password,
  remember = false,
): Promise<string> {
  const body = new URLSearchParams({ username, password, ...(remember ? { remember: "on" } : {}) });
  const res = await fetch(`${app.url}/login`, { method: "POST", body, redirect: "manual" });
  if (res.status !== 303) throw new Error(`login failed: ${res.status}`);
  return res.headers.getSetCookie()[0]!.split(";")[0]!;
}

/**
 * Adds a user through Settings' users form as the admin (`adminCookie`) would, with `role` (the form's default
 * without it) and the password `<username>-password` unless given; logs them in and gives their Cookie header value.
 */
export async function addUser(
  app: { url: string },
  adminCookie: string,
  username: string,
  role?: string,
  password = `${username}-password`,
): Promise<string> {
  const csrf = csrfFrom((await getPage(app, "/settings", adminCookie)).text);
  const fields = { _csrf: csrf, username, password, ...(role === undefined ? {} : { role }) };
  const res = await postForm(app, "/settings/users", fields, { cookie: adminCookie });
  if (res.status >= 400) throw new Error(`adding user ${username} failed: ${res.status}`);
  return login(app, username, password);
}

/** A device token for printer `printer`, made through the API with an admin's `cookie` as Settings does; the token. */
export async function deviceToken(app: { url: string }, cookie: string, name = "pi", printer = 1): Promise<string> {
  const res = await fetch(`${app.url}/api/printers/${printer}/tokens`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json" },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`making device token ${name} failed: ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

export function connectSocket(
  app: { url: string },
  opts: {
    cookie?: string;
    transports?: ("websocket" | "polling")[];
    auth?: Record<string, string>;
    bearer?: string;
    origin?: string;
  } = {},
): Socket {
  const headers: Record<string, string> = {};
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  if (opts.origin) headers.origin = opts.origin;
  return ioClient(app.url, {
    transports: opts.transports ?? ["websocket"],
    extraHeaders: headers,
    auth: opts.auth,
    reconnection: false,
    forceNew: true,
  });
}

/** Resolves when connected; rejects with the server's connect_error message. */
export function connected(socket: Socket): Promise<Socket> {
  return new Promise((resolve, reject) => {
    if (socket.connected) return resolve(socket);
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(err));
  });
}

export function nextEvent<T = unknown>(socket: Socket, event: string, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

/** Collects every payload of `event` into an array, to assert later that nothing (or something) came. */
export function collect<T = unknown>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (p: T) => seen.push(p));
  return seen;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bounded window for a negative check: the test waits `ms`, then asserts that something did NOT happen in it.
 *  Use `until` (or an event) to wait for something that should happen; this is only for what should not. */
export const quietFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `what` until `ok` holds or `ms` pass; gives the last value either way (the test asserts on it). */
export async function until<T>(what: () => Promise<T> | T, ok: (v: T) => boolean, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (ok(v) || Date.now() > end) return v;
    await sleep(30);
  }
}

/** Polls `what` until its value has stayed the same for `quietMs` (or `ms` pass) and gives it. A bounded wait for
 *  "nothing more comes", for a test that then asserts on how much came. */
export async function settled<T>(what: () => Promise<T> | T, quietMs: number, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  let last = await what();
  let since = Date.now();
  for (;;) {
    await sleep(30);
    const v = await what();
    if (!Object.is(v, last)) [last, since] = [v, Date.now()];
    else if (Date.now() - since >= quietMs || Date.now() > end) return v;
  }
}

/** Resolves with the first payload of `event` that satisfies `match` (earlier ones are skipped). */
export function eventMatching<T = unknown>(
  socket: Socket,
  event: string,
  match: (p: T) => boolean,
  timeoutMs = 3000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`no matching "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (p: T) => {
      if (!match(p)) return;
      clearTimeout(timer);
      socket.off(event, on);
      resolve(p);
    };
    socket.on(event, on);
  });
}

export function emitWithAck<T = unknown>(socket: Socket, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(5000).emitWithAck(event, ...args) as Promise<T>;
}

/**
 * Waits until one of two instances holds `lease` and the other has read who does (it reads at each renewal, every
 * 2 s); gives them as [holder, other].
 */
export async function leaseHolder(a: TestApp, b: TestApp, lease = "printer:1"): Promise<[TestApp, TestApp]> {
  await until(
    () => a.leases.holds(lease) || b.leases.holds(lease),
    (held) => held,
  );
  const [holder, other] = a.leases.holds(lease) ? [a, b] : [b, a];
  await until(
    () => other.leases.holder(lease),
    (h) => h === holder.instance,
  );
  return [holder, other];
}

/** The smallest valid JPEG-looking bytes: SOI, APP0 marker, filler, EOI. */
export function fakeJpeg(size = 1024, seed = 1): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(size);
  b.set([0xff, 0xd8, 0xff, 0xe0]);
  for (let i = 4; i < size - 2; i++) b[i] = (i * 31 + seed) & 0xff;
  b.set([0xff, 0xd9], size - 2);
  return b;
}

export function fakePng(size = 256): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(size);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  return b;
}

/** Fetches a page with a session cookie and returns its text. */
export async function getPage(app: { url: string }, path: string, cookie?: string) {
  const res = await fetch(`${app.url}${path}`, { headers: cookie ? { cookie } : {}, redirect: "manual" });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** An API request with a session cookie, its body (if any) sent as JSON; the response. */
export const apiRequest = (app: { url: string }, cookie: string, method: string, path: string, body?: unknown) =>
  fetch(`${app.url}${path}`, {
    method,
    headers: { cookie, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** Posts a form (URL-encoded) without following a redirect, as a browser's form or a script would. */
export const postForm = (
  target: { url: string },
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) => fetch(`${target.url}${path}`, { method: "POST", body: new URLSearchParams(fields), redirect: "manual", headers });

/** The CSRF token a page hands to its forms. */
export function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error("no CSRF token in page");
  return m[1]!;
}
