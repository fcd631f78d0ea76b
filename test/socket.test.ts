// The Socket.IO gateway: the handshake, each device event stored then broadcast, refusals, and intervals.
import { describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import {
  collect,
  connected,
  connectSocket,
  csrfFrom,
  emitWithAck,
  eventMatching,
  fakeJpeg,
  fakePng,
  getPage,
  nextEvent,
  quietFor,
  until,
} from "./helpers.ts";

const fx = useApp();
const client = fx.client;
const count = (table: string) => (fx.app.store.db.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe("handshake", () => {
  test("a socket without a session cookie is refused with a message that says why", async () => {
    const s = connectSocket(fx.app, {});
    fx.track(s);
    await expect(connected(s)).rejects.toThrow(/unauthorized: log in first/);
  });

  test("a socket with a stale cookie is refused", async () => {
    const s = connectSocket(fx.app, { cookie: "layerwatch_session=stale" });
    fx.track(s);
    await expect(connected(s)).rejects.toThrow(/unauthorized/);
  });

  test("the long-polling transport is accepted with the cookie", async () => {
    const device = await client({ transports: ["polling"] });
    const viewer = await client({ transports: ["polling"] });
    const got = nextEvent<{ status: string }>(viewer, "status2v");
    device.emit("status", { status: "polling works" });
    expect((await got).status).toBe("polling works");
  });
});

describe("device events", () => {
  test("temphum is stored, then broadcast to a viewer as temphum2v", async () => {
    const device = await client();
    const viewer = await client();
    const got = nextEvent<{ temperature: number; humidity: number; recorded_at: number }>(viewer, "temphum2v");
    const ack = await emitWithAck<{ ok: boolean; id: number }>(device, "temphum", {
      temperature: 21.5,
      humidity: 40.25,
    });
    expect(ack.ok).toBe(true);
    const r = await got;
    expect(r).toMatchObject({ temperature: 21.5, humidity: 40.25 });
    const row = fx.app.store.db.query("SELECT * FROM readings WHERE id = ?").get(ack.id) as {
      temperature: number;
      humidity: number;
      device_id: number;
    };
    expect(row).toMatchObject({ temperature: 21.5, humidity: 40.25, device_id: 1 });
  });

  test("status is stored trimmed and broadcast as status2v", async () => {
    const device = await client();
    const viewer = await client();
    const got = nextEvent<{ status: string }>(viewer, "status2v");
    const ack = await emitWithAck<{ ok: boolean; id: number }>(device, "status", { status: "  printing 42%  " });
    expect((await got).status).toBe("printing 42%");
    expect(
      (fx.app.store.db.query("SELECT status FROM statuses WHERE id = ?").get(ack.id) as { status: string }).status,
    ).toBe("printing 42%");
  });

  test("a base64 JPEG is stored as bytes and reaches viewers as binary", async () => {
    const device = await client();
    const viewer = await client();
    const jpeg = fakeJpeg(5000);
    const got = nextEvent<{ image: ArrayBuffer | Uint8Array; mime: string }>(viewer, "image2v");
    const ack = await emitWithAck<{ ok: boolean; id: number }>(device, "image", {
      image: Buffer.from(jpeg).toString("base64"),
    });
    expect(ack.ok).toBe(true);
    const frame = await got;
    expect(frame.mime).toBe("image/jpeg");
    expect(new Uint8Array(frame.image as ArrayBuffer)).toEqual(jpeg);
    const row = fx.app.store.db.query("SELECT bytes, typeof(bytes) AS kind FROM frames WHERE id = ?").get(ack.id) as {
      bytes: Uint8Array;
      kind: string;
    };
    expect(row.kind).toBe("blob");
    expect(new Uint8Array(row.bytes)).toEqual(jpeg);
    const served = await fetch(`${fx.app.url}/frames/${ack.id}.jpg`, { headers: { cookie: fx.cookie } });
    expect(served.headers.get("content-type")).toBe("image/jpeg");
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(jpeg);
  });

  test("a PNG sent as a binary attachment is accepted", async () => {
    const device = await client();
    const ack = await emitWithAck<{ ok: boolean; id: number }>(device, "image", { image: Buffer.from(fakePng()) });
    expect(ack.ok).toBe(true);
    expect((fx.app.store.db.query("SELECT mime FROM frames WHERE id = ?").get(ack.id) as { mime: string }).mime).toBe(
      "image/png",
    );
  });

  test("events without an acknowledgement callback are stored all the same", async () => {
    const device = await client();
    const before = count("readings");
    device.emit("temphum", { temperature: 20, humidity: 50 });
    device.emit("temphum", { temperature: 20.1, humidity: 50 });
    await until(
      () => count("readings"),
      (n) => n >= before + 2,
    );
    expect(count("readings")).toBe(before + 2);
  });

  test("a connection that sent a device event stops receiving broadcasts; other viewers still get them", async () => {
    const device = await client();
    const viewer = await client();
    await emitWithAck(device, "status", { status: "I am a device now" });
    const echoed = collect(device, "status2v");
    const got = eventMatching<{ status: string }>(viewer, "status2v", (s) => s.status === "second");
    await emitWithAck(device, "status", { status: "second" });
    await got;
    // Bounded: the viewer has the broadcast; a copy to the device would have come with it.
    await quietFor(150);
    expect(echoed).toEqual([]);
  });

  test("only the newest image_retention frames are kept", async () => {
    const device = await client();
    for (let i = 0; i < 13; i++)
      await emitWithAck(device, "image", { image: Buffer.from(fakeJpeg(300, i)).toString("base64") });
    expect(count("frames")).toBe(10);
    const newest = fx.app.store.db.query("SELECT max(id) AS id FROM frames").get() as { id: number };
    const ids = (fx.app.store.db.query("SELECT id FROM frames ORDER BY id").all() as { id: number }[]).map((r) => r.id);
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => newest.id - 9 + i));
  });
});

describe("invalid payloads", () => {
  const big = Buffer.alloc(10 * 1024 * 1024 + 10, 7);
  big.set([0xff, 0xd8, 0xff, 0xe0]);
  const cases: [string, string, unknown, RegExp][] = [
    ["temphum", "a string temperature", { temperature: "21", humidity: 40 }, /temperature must be a number/],
    ["temphum", "NaN sent as null by JSON", { temperature: NaN, humidity: 40 }, /temperature is missing/],
    ["temphum", "humidity over 100", { temperature: 20, humidity: 100.5 }, /humidity 100.5 is out of range/],
    ["temphum", "temperature under -50", { temperature: -51, humidity: 10 }, /temperature -51 is out of range/],
    ["temphum", "a missing humidity", { temperature: 20 }, /humidity is missing/],
    ["temphum", "no payload at all", undefined, /must be an object/],
    ["temphum", "an array", [20, 40], /must be an object/],
    ["status", "an empty status", { status: "   " }, /must not be empty/],
    ["status", "a number status", { status: 5 }, /must be a string/],
    ["status", "a 257-character status", { status: "x".repeat(257) }, /at most 256 characters/],
    ["status", "a missing status", {}, /status is missing/],
    ["image", "text that is not base64", { image: "not base64 at all!" }, /not valid base64/],
    [
      "image",
      "base64 of non-image bytes",
      { image: Buffer.from("hello world, not a jpeg").toString("base64") },
      /not a JPEG or PNG/,
    ],
    ["image", "a missing image", {}, /image is missing/],
    ["image", "an empty image", { image: "" }, /not valid base64|empty/],
    ["image", "binary over 10 MiB", { image: big }, /larger than 10 MiB/],
    ["image", "base64 over 10 MiB", { image: big.toString("base64") }, /larger than 10 MiB/],
  ];

  for (const [event, what, payload, message] of cases) {
    test(`${event} with ${what} gets an error to the sender only and stores nothing`, async () => {
      const device = await client();
      const viewer = await client();
      const viewerErrors = collect(viewer, "error");
      const broadcasts = collect(viewer, `${event}2v`);
      const before = { readings: count("readings"), statuses: count("statuses"), frames: count("frames") };
      const error = nextEvent<{ message: string }>(device, "error", 10000);
      const ack = await emitWithAck<{ ok: boolean; error: string }>(device, event, payload);
      expect(ack.ok).toBe(false);
      expect((await error).message).toMatch(message);
      expect({ readings: count("readings"), statuses: count("statuses"), frames: count("frames") }).toEqual(before);
      // Bounded: the sender has its error; an error or broadcast to the viewer would have come with it.
      await quietFor(100);
      expect(viewerErrors).toEqual([]);
      expect(broadcasts).toEqual([]);
      expect(device.connected).toBe(true);
    });
  }
});

describe("capture intervals", () => {
  test("a device gets the current intervals as soon as it reveals itself, in case it missed a change", async () => {
    const device = await client();
    const welcome = nextEvent<Record<string, number>>(device, "timelapse_conf");
    await emitWithAck(device, "temphum", { temperature: 20, humidity: 20 });
    expect(await welcome).toEqual(fx.app.store.intervals.get());
  });

  test("saving intervals in settings pushes timelapse_conf to a connected device", async () => {
    const device = await client();
    await emitWithAck(device, "status", { status: "idle" });
    // A device is sent the current intervals when it reveals itself, then again on every change.
    const conf = eventMatching<Record<string, number>>(device, "timelapse_conf", (c) => c.image_delay === 30);
    const page = await getPage(fx.app, "/settings", fx.cookie);
    const res = await fetch(`${fx.app.url}/settings/intervals`, {
      method: "POST",
      headers: { cookie: fx.cookie },
      redirect: "manual",
      body: new URLSearchParams({
        _csrf: csrfFrom(page.text),
        image_delay: "30",
        temphum_delay: "15",
        status_delay: "5",
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Sent to 1 connected device.");
    expect(await conf).toEqual({ image_delay: 30, temphum_delay: 15, status_delay: 5 });
    expect(
      await (await fetch(`${fx.app.url}/api/timelapse_config`, { headers: { cookie: fx.cookie } })).json(),
    ).toEqual({
      image_delay: 30,
      temphum_delay: 15,
      status_delay: 5,
    });
  });
});
