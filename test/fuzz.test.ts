// Bounded fuzzing with a fixed seed: malformed socket payloads, raw frames and HTTP requests.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { sniffImage } from "../src/images.ts";
import { connected, connectSocket, csrfFrom, getPage, login, startApp, type TestApp } from "./helpers.ts";

let app: TestApp;
let cookie: string;
beforeAll(async () => {
  app = await startApp({ device_rate_limit: 0 });
  cookie = await login(app);
});
afterAll(async () => {
  await app.close();
});

/** mulberry32: small, fast, and the same sequence on every machine. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(20261124);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  20.5,
  99.99,
  100,
  100.0001,
  150,
  150.5,
  -50,
  -50.1,
  1e308,
  -1e308,
  5e-324,
  NaN,
  Infinity,
  -Infinity,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
];
const STRINGS = [
  "",
  " ",
  "idle",
  "\u0000",
  "<script>alert(1)</script>",
  "é😀\u202e",
  "x".repeat(256),
  "x".repeat(257),
  " ".repeat(300),
  "/9j/4AAQ",
  "iVBORw0KGgo=",
  "%%%",
  "null",
  "21.5",
];
let binaryBudget = 8;
function value(depth = 0): unknown {
  switch (int(depth > 2 ? 4 : 8)) {
    case 0:
      return pick(NUMBERS);
    case 1:
      return pick(STRINGS);
    case 2:
      return pick([null, undefined, true, false]);
    // socket.io-parser closes a connection whose packet carries over 10 binary attachments (its own
    // DoS guard); a device sends one, so payloads here stay under that.
    case 3:
      return binaryBudget-- > 0 ? randomBytes(int(64)) : pick(STRINGS);
    case 4:
      return Array.from({ length: int(4) }, () => value(depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      // defineProperty: a plain assignment to "__proto__" would set the prototype, not a key.
      for (const k of ["temperature", "humidity", "status", "image", "__proto__", "constructor", "toString", "extra"])
        if (rand() < 0.5)
          Object.defineProperty(o, k, {
            value: value(depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
      return o;
    }
  }
}
function randomBytes(n: number) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  if (n > 4 && rand() < 0.3) b.set([0xff, 0xd8, 0xff]);
  return b;
}

test("thousands of bad socket payloads: the server answers, stores nothing invalid, memory stays bounded", async () => {
  const device = await connected(connectSocket(app, { cookie }));
  let disconnectReason = "";
  device.on("disconnect", (reason) => {
    disconnectReason = reason;
  });
  const events = ["temphum", "status", "image", "unknown", "image2v", "error", "disconnecting", "x".repeat(300)];
  const runBatch = async (n: number) => {
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      binaryBudget = 8;
      const args = Array.from({ length: int(3) }, () => value());
      // Unknown events are never acknowledged; a short timeout keeps the run brief.
      pending.push(
        device
          .timeout(1000)
          .emitWithAck(pick(events), ...args)
          .catch(() => null),
      );
    }
    await Promise.all(pending);
  };
  await runBatch(500); // warm up before measuring memory
  Bun.gc(true);
  const heapBefore = process.memoryUsage().heapUsed;
  for (let round = 0; round < 5; round++) await runBatch(500);
  Bun.gc(true);
  const growthMb = (process.memoryUsage().heapUsed - heapBefore) / 1048576;
  expect(growthMb).toBeLessThan(64);
  expect(disconnectReason).toBe("");
  device.disconnect();

  const db = app.store.db;
  const badReadings = db
    .query(
      "SELECT count(*) AS n FROM readings WHERE NOT (temperature BETWEEN -50 AND 150 AND humidity BETWEEN 0 AND 100)",
    )
    .get() as { n: number };
  expect(badReadings.n).toBe(0);
  const badStatuses = db
    .query(
      "SELECT count(*) AS n FROM statuses WHERE length(status) = 0 OR length(status) > 256 OR status != trim(status)",
    )
    .get() as { n: number };
  expect(badStatuses.n).toBe(0);
  for (const f of db.query("SELECT bytes FROM frames").all() as { bytes: Uint8Array }[])
    expect(sniffImage(f.bytes)).not.toBeNull();
  expect((await getPage(app, "/healthz")).status).toBe(200);
}, 60000);

test("raw malformed Engine.IO / Socket.IO frames never take the server down", async () => {
  const frames = [
    "",
    "4",
    "40",
    "42",
    "42[",
    '42["temphum",{]',
    '42["temphum"]',
    '451-["image",{"image":{"_placeholder":true,"num":9}}]',
    "6",
    "9999",
    "\u0000\u0001",
    "2probe",
    '43["temphum"]',
    "41",
    "0{}",
    "x".repeat(10000),
  ];
  for (let i = 0; i < 200; i++) {
    const ws = new WebSocket(`${app.url.replace("http", "ws")}/socket.io/?EIO=4&transport=websocket`, {
      headers: { cookie },
    } as never);
    await new Promise<void>((resolve) => {
      ws.onopen = () => {
        ws.send("40");
        for (let k = 0; k < 5; k++) ws.send(rand() < 0.8 ? pick(frames) : randomBytes(int(100)));
        setTimeout(() => {
          ws.close();
          resolve();
        }, 5);
      };
      ws.onerror = () => resolve();
    });
  }
  expect((await getPage(app, "/healthz")).status).toBe(200);
  const device = await connected(connectSocket(app, { cookie }));
  expect(
    (await device.timeout(5000).emitWithAck("temphum", { temperature: 1, humidity: 1 })) as { ok: boolean },
  ).toMatchObject({ ok: true });
  device.disconnect();
}, 60000);

test("random HTTP requests never get a 500 and never change settings without a token", async () => {
  const csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
  const before = { intervals: app.store.intervals.get(), users: app.store.users.list().length };
  const paths = [
    "/",
    "/3d",
    "/login",
    "/logout",
    "/settings",
    "/settings/intervals",
    "/settings/users",
    "/settings/users/1/delete",
    "/settings/tokens",
    "/settings/tokens/1/revoke",
    "/settings/password",
    "/api/temphum",
    "/api/timelapse_config",
    "/api/latest",
    "/frames/1.jpg",
    "/frames/latest",
    "/frames/x",
    "/static/app.css",
    "/static/../package.json",
    "/partials/chart",
    "/healthz",
    "/%00",
    "/api/%ff",
    `/${"a".repeat(3000)}`,
  ];
  const queries = [
    "",
    "?date=2025-01-01",
    `?date=${"9".repeat(100)}`,
    "?day=2025-02-30",
    "?next=//evil",
    "?date[]=1",
    "?%zz",
    "?date=%00",
  ];
  const bodies = (): [string | Uint8Array | undefined, string | undefined] => {
    switch (int(5)) {
      case 0:
        return [undefined, undefined];
      case 1:
        return [
          new URLSearchParams({
            username: pick(STRINGS),
            password: pick(STRINGS),
            image_delay: pick(STRINGS),
            name: pick(STRINGS),
            role: pick(STRINGS),
          }).toString(),
          "application/x-www-form-urlencoded",
        ];
      case 2:
        return [JSON.stringify(value()) ?? "null", "application/json"];
      case 3:
        return [
          randomBytes(int(2000)),
          pick([
            "application/octet-stream",
            "application/json",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
          ]),
        ];
      default:
        return ["{not json", "application/json"];
    }
  };
  const statuses = new Map<number, number>();
  for (let i = 0; i < 1500; i++) {
    const method = pick(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]);
    const [body, type] = method === "GET" || method === "HEAD" ? [undefined, undefined] : bodies();
    const headers: Record<string, string> = {};
    if (type) headers["content-type"] = type;
    if (rand() < 0.7) headers.cookie = cookie;
    if (rand() < 0.3) headers["hx-request"] = "true";
    if (rand() < 0.1) headers["x-csrf-token"] = "forged";
    const res = await fetch(`${app.url}${pick(paths)}${pick(queries)}`, {
      method,
      headers,
      body: body as BodyInit | undefined,
      redirect: "manual",
    });
    await res.arrayBuffer();
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    expect(res.status).toBeLessThan(500);
  }
  // The forged requests carried no valid token, so nothing they posted took effect.
  expect(app.store.intervals.get()).toEqual(before.intervals);
  expect(app.store.users.list().length).toBe(before.users);
  expect((await getPage(app, "/healthz")).status).toBe(200);
  void csrf;
}, 60000);
