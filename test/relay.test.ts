// Two instances on one PostgreSQL and one Redis (redis_url): a device on A, a viewer on B seeing its reading,
// status and frame live (the delay printed), a stalled viewer on B skipped to the newest frame, B's held state
// following A's; a print reported on A one job and one notification (B does not act on it); a session made on A
// valid on B; room limits set on A holding on B; login failures on A counting on B; a Redis restart (events flow
// again, /healthz says down then ok, no app restart); an instance starting while Redis does not answer; and with
// redis_url empty no Redis connection at all.
import { beforeAll, describe, expect, test } from "bun:test";
import { RedisClient } from "bun";
import type { Socket } from "socket.io-client";
import { useInstances } from "./app-fixture.ts";
import { startNotifyServices } from "./fakes/notify-services.ts";
import {
  collect,
  connected,
  connectSocket,
  csrfFrom,
  deviceToken,
  emitWithAck,
  eventMatching,
  fakeJpeg,
  getPage,
  login,
  postForm,
  quietFor,
  settled,
  startApp,
  type TestApp,
  until,
} from "./helpers.ts";
import { rawViewer } from "./raw-viewer.ts";

const fx = useInstances({ redis: true });
let a: TestApp;
let b: TestApp;
let databaseUrl: string;
/** A socket disconnected after the file, before the instances stop. */
const track = (s: Socket) => {
  fx.atEnd(() => s.disconnect());
  return s;
};
const health = async (app: TestApp) => JSON.parse((await getPage(app, "/healthz")).text) as Record<string, string>;

const percentile = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.ceil((p / 100) * xs.length) - 1]!;
const describeDelays = (xs: number[]) =>
  `n=${xs.length} p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms, ` +
  `max ${Math.max(...xs).toFixed(1)} ms`;

beforeAll(async () => {
  databaseUrl = await fx.pg.createDatabase();
  a = await fx.instance({ database_url: databaseUrl, redis_url: fx.redis.url });
  b = await fx.instance({ database_url: databaseUrl, redis_url: fx.redis.url });
}, 60_000);

describe("two instances on one PostgreSQL and one Redis", () => {
  test("/healthz on each says Redis answers", async () => {
    expect(await health(a)).toMatchObject({ status: "ok", engine: "postgres", database: "ok", redis: "ok" });
    expect(await health(b)).toMatchObject({ status: "ok", engine: "postgres", database: "ok", redis: "ok" });
  });

  test("a device on A: a viewer on B sees its reading, status and frame live", async () => {
    const cookieA = await login(a);
    const cookieB = await login(b);
    const device = track(await connected(connectSocket(a, { auth: { token: await deviceToken(a, cookieA, "pi") } })));
    const viewer = track(await connected(connectSocket(b, { cookie: cookieB })));
    // A viewer on A too: what the crossing adds is the difference between the two.
    const local = track(await connected(connectSocket(a, { cookie: cookieA })));

    /** Emits, and resolves with the delays until the viewer on B and the one on A saw it. */
    const delays = async <T>(event: string, match: (p: T) => boolean, send: () => Promise<unknown>) => {
      const t0 = performance.now();
      const at = (s: Socket) => eventMatching<T>(s, event, match).then((p) => [p, performance.now() - t0] as const);
      const [[remote, onB], [, onA]] = await Promise.all([at(viewer), at(local), send()]);
      return { remote, onB, onA };
    };
    const onB = { reading: [] as number[], status: [] as number[], frame: [] as number[] };
    const onA = { reading: [] as number[], status: [] as number[], frame: [] as number[] };
    for (let i = 0; i < 30; i++) {
      const temperature = 20 + i / 10;
      const d = await delays<{ temperature: number }>(
        "temphum2v",
        (r) => r.temperature === temperature,
        () => emitWithAck(device, "temphum", { temperature, humidity: 40 }),
      );
      expect(d.remote.temperature).toBe(temperature);
      onB.reading.push(d.onB);
      onA.reading.push(d.onA);
    }
    for (let i = 0; i < 10; i++) {
      const d = await delays<{ status: string }>(
        "status2v",
        (s) => s.status === `printing ${i}`,
        () => emitWithAck(device, "status", { status: `printing ${i}` }),
      );
      onB.status.push(d.onB);
      onA.status.push(d.onA);
    }
    for (let i = 0; i < 10; i++) {
      const bytes = fakeJpeg(200_000, i);
      let ack: { id: number } | undefined;
      const d = await delays<{ id: number; image: Uint8Array }>(
        "image2v",
        (f) => f.image[5] === bytes[5],
        async () => {
          ack = await emitWithAck<{ id: number }>(device, "image", bytes);
        },
      );
      expect(d.remote.id).toBe(ack!.id);
      expect(new Uint8Array(d.remote.image)).toEqual(bytes);
      onB.frame.push(d.onB);
      onA.frame.push(d.onA);
    }
    // From the device's emit on A to each viewer's event: A stores it (PostgreSQL), then its hub sends it to the
    // viewer on A; the relay publishes it, and B re-emits it to the viewer on B.
    for (const kind of ["reading", "status", "frame"] as const)
      console.log(
        `device on A, ${kind === "frame" ? "200 KB frame" : kind}: viewer on B ${describeDelays(onB[kind])}; ` +
          `viewer on A ${describeDelays(onA[kind])}`,
      );
  }, 30_000);

  test("a viewer on B that stops reading is skipped, not queued, and gets the newest frame from A", async () => {
    const cookieA = await login(a);
    const cookieB = await login(b);
    const slow = await rawViewer(b.port, cookieB);
    await slow.joined;
    const device = track(
      await connected(connectSocket(a, { auth: { token: await deviceToken(a, cookieA, "burst") } })),
    );
    const fast = track(await connected(connectSocket(b, { cookie: cookieB })));
    const fastFrames = collect<{ id: number }>(fast, "image2v");
    slow.tcp.pause(); // stop reading: the kernel buffers fill, then B's
    try {
      for (let i = 0; i < 80; i++) await emitWithAck(device, "image", fakeJpeg(200 * 1024, i));
      await until(
        () => fastFrames.length,
        (n) => n >= 80,
      );
      slow.tcp.resume();
      // Bounded: it has read all it will get once nothing more comes for 300 ms (what was skipped never comes).
      const beforeLast = await settled(() => slow.received().length, 300);
      expect(beforeLast).toBeLessThan(60);
      expect(beforeLast).toBeGreaterThan(0);
      const last = (await emitWithAck<{ id: number }>(device, "image", fakeJpeg(200 * 1024, 99))).id;
      await until(slow.received, (r) => r.includes(last), 2000);
      expect(slow.received().at(-1)).toBe(last);
      console.log(`stalled viewer on B got ${beforeLast} of 80 frames from A while not reading, then the newest`);
    } finally {
      slow.tcp.destroy();
    }
  }, 60_000);

  test("B's pages and API show what the device on A said: its held newest reading, status and frame", async () => {
    const cookieA = await login(a);
    const cookieB = await login(b);
    const device = track(await connected(connectSocket(a, { auth: { token: await deviceToken(a, cookieA, "pi2") } })));
    await emitWithAck(device, "temphum", { temperature: 31.5, humidity: 55.25 });
    await emitWithAck(device, "status", { status: "seen on B" });
    const frame = await emitWithAck<{ id: number }>(device, "image", fakeJpeg(3000, 7));
    type Api = {
      reading: { temperature: number } | null;
      status: { text: string } | null;
      frame: { id: number } | null;
      sources: { device: string };
    };
    const seen = await until(
      async () => (await (await fetch(`${b.url}/api/printers/1`, { headers: { cookie: cookieB } })).json()) as Api,
      (p) => p.frame?.id === frame.id,
    );
    expect(seen.reading?.temperature).toBe(31.5);
    expect(seen.status?.text).toBe("seen on B");
    expect(seen.sources.device).toBe("online");
    const page = await getPage(b, "/printers/1", cookieB);
    expect(page.text).toContain("31.5");
    expect(page.text).toContain("seen on B");
  });

  test("a printer renamed on A is renamed on B, and B's viewers are told", async () => {
    const cookieA = await login(a);
    const cookieB = await login(b);
    const viewer = track(await connected(connectSocket(b, { cookie: cookieB })));
    const told = eventMatching<{ printer_id: number }>(viewer, "printers_changed", (p) => p.printer_id === 1);
    const res = await fetch(`${a.url}/api/printers/1`, {
      method: "PATCH",
      headers: { cookie: cookieA, "content-type": "application/json" },
      body: JSON.stringify({ name: "Renamed on A" }),
    });
    expect(res.status).toBe(200);
    await told;
    // Told after B has read the row again: the page it reloads shows the new name at once.
    expect(b.printers.get(1)?.info.name).toBe("Renamed on A");
  });

  test("room limits set on A hold on B at once (a device moving to B is checked against them)", async () => {
    const cookie = await login(a);
    const csrf = csrfFrom((await getPage(a, "/settings", cookie)).text);
    const limits = { temp_high: "33", temp_low: "", hum_high: "70", hum_low: "" };
    const res = await postForm(a, "/settings/printers/1/limits", { _csrf: csrf, ...limits }, { cookie });
    expect(res.status).toBeLessThan(400);
    const want = { temp_high: 33, temp_low: null, hum_high: 70, hum_low: null };
    expect(a.printers.limits(1)).toEqual(want);
    await until(
      () => b.printers.limits(1),
      (l) => l.temp_high === 33,
      3000,
    );
    expect(b.printers.limits(1)).toEqual(want);
  });

  test("a session made on A is valid on B (sessions live in the shared database)", async () => {
    const cookie = await login(a);
    const page = await getPage(b, "/settings", cookie);
    expect(page.status).toBe(200);
    const viewer = track(await connected(connectSocket(b, { cookie })));
    expect(viewer.connected).toBe(true);
  });

  test("a logout on A ends the session's sockets on B", async () => {
    const cookie = await login(a);
    const viewer = track(await connected(connectSocket(b, { cookie })));
    const gone = new Promise<string>((resolve) => viewer.once("disconnect", resolve));
    const settings = await getPage(a, "/settings", cookie);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(settings.text)![1]!;
    const res = await fetch(`${a.url}/logout`, {
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ _csrf: csrf }),
      redirect: "manual",
    });
    expect(res.status).toBe(303);
    expect(await gone).toBe("io server disconnect");
    expect((await getPage(b, "/settings", cookie)).status).toBe(303);
  });

  test("after a Redis restart events flow again without restarting the apps; /healthz says down, then ok", async () => {
    const cookieA = await login(a);
    const cookieB = await login(b);
    const device = track(await connected(connectSocket(a, { auth: { token: await deviceToken(a, cookieA, "pi3") } })));
    const viewer = track(await connected(connectSocket(b, { cookie: cookieB })));
    const restarted = fx.redis.restart(1500);
    await until(
      () => health(b),
      (h) => h.redis === "down",
      5000,
    );
    const down = await health(a);
    expect(down).toMatchObject({ status: "degraded", database: "ok", redis: "down" });
    // Down: A still stores and acknowledges what its own device says.
    expect(await emitWithAck(device, "temphum", { temperature: 12.5, humidity: 30 })).toMatchObject({ ok: true });
    await restarted;
    await until(
      async () => [await health(a), await health(b)],
      (hs) => hs.every((h) => h.redis === "ok" && h.status === "ok"),
      15_000,
    );
    expect(a.logs.filter((l) => l.msg === "Redis down")).toHaveLength(1);
    expect(a.logs.filter((l) => l.msg === "Redis back")).toHaveLength(1);
    // B caught up from the database on what it missed while Redis was down.
    expect(b.logs.filter((l) => l.msg === "Redis back")).toHaveLength(1);
    const missed = await until(
      async () =>
        (await (await fetch(`${b.url}/api/printers/1`, { headers: { cookie: cookieB } })).json()) as {
          reading: { temperature: number };
        },
      (p) => p.reading.temperature === 12.5,
      5000,
    );
    expect(missed.reading.temperature).toBe(12.5);
    const again = eventMatching<{ temperature: number }>(viewer, "temphum2v", (r) => r.temperature === 13.5);
    await emitWithAck(device, "temphum", { temperature: 13.5, humidity: 30 });
    expect((await again).temperature).toBe(13.5);
    const frame = eventMatching<{ id: number }>(viewer, "image2v", () => true);
    const ack = await emitWithAck<{ id: number }>(device, "image", fakeJpeg(5000, 3));
    expect((await frame).id).toBe(ack.id);
  }, 30_000);

  test("Settings names PostgreSQL and Redis up; while Redis restarts it says since when it is down", async () => {
    const cookieB = await login(b);
    const section = async () => (await getPage(b, "/settings/instances", cookieB)).text;
    const first = await section();
    expect(first).toMatch(/PostgreSQL · up since \d\d:\d\d:\d\d/);
    expect(first).toContain(b.instance);
    expect(first).toMatch(/Redis<\/dt>\s*<dd[^>]*>up since /);
    const restarted = fx.redis.restart(1500);
    const down = await until(section, (html) => html.includes("reconnecting"), 5000);
    expect(down).toMatch(/Redis<\/dt>\s*<dd class="error"[^>]*>down since \d\d:\d\d:\d\d, reconnecting/);
    await restarted;
    const back = await until(section, (html) => !html.includes("reconnecting"), 15_000);
    expect(back).toMatch(/Redis<\/dt>\s*<dd[^>]*>up since \d\d:\d\d:\d\d/);
  }, 30_000);

  test("a print reported on A is one job and one notification; B shows its state but does not act", async () => {
    const services = await startNotifyServices();
    try {
      await a.notifier.syncConfig([services.webhookUrl()]);
      const cookieA = await login(a);
      const cookieB = await login(b);
      const device = track(
        await connected(connectSocket(a, { auth: { token: await deviceToken(a, cookieA, "printing") } })),
      );
      const viewer = track(await connected(connectSocket(b, { cookie: cookieB })));
      const stateOnB = eventMatching<{ state: { gcode_state: string } }>(
        viewer,
        "printer_state",
        (p) => p.state.gcode_state === "RUNNING",
      );
      await emitWithAck(device, "status", { gcode_status: "RUNNING", file_name: "relay-benchy", total_layers: 10 });
      await stateOnB;
      expect(b.printers.get(1)?.state.file).toBe("relay-benchy");
      await until(
        () => services.of("webhook").filter((r) => r.json?.event === "print_started").length,
        (n) => n >= 1,
      );
      // Bounded: B's rules and jobs service heard the same state within milliseconds (the viewer on B saw it
      // already); a job or a notification of theirs would be queued well within 500 ms.
      await quietFor(500);
      type Job = { name: string };
      const jobs = async (app: TestApp, cookie: string) =>
        ((await (await fetch(`${app.url}/api/printers/1/jobs`, { headers: { cookie } })).json()) as Job[]).filter(
          (j) => j.name === "relay-benchy",
        );
      expect(await jobs(a, cookieA)).toHaveLength(1);
      expect(await jobs(b, cookieB)).toHaveLength(1);
      const queued = (await a.notifier.targets()).flatMap((t) => t.log).filter((l) => l.event === "print_started");
      expect(queued).toHaveLength(1);
    } finally {
      await a.notifier.syncConfig([]);
      await services.close();
    }
  });

  test("login failures on A count on B: past the limit B refuses the right password too", async () => {
    const user = "admin";
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${a.url}/login`, {
        method: "POST",
        body: new URLSearchParams({ username: user, password: `wrong-${i}` }),
        redirect: "manual",
      });
      expect(res.status).toBe(401);
    }
    const res = await fetch(`${b.url}/login`, {
      method: "POST",
      body: new URLSearchParams({ username: user, password: "admin-password-1" }),
      redirect: "manual",
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("Redis not answering at start", () => {
  test("the instance starts anyway, says redis down, and serves its own device and viewer", async () => {
    // A port nobody listens on: taken and let go at once.
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const t0 = performance.now();
    const alone = await startApp({ database_url: databaseUrl, redis_url: `redis://127.0.0.1:${port}` }, fx.dir());
    try {
      expect(performance.now() - t0).toBeLessThan(10_000);
      expect(await health(alone)).toMatchObject({ status: "degraded", database: "ok", redis: "down" });
      const cookie = await login(alone);
      const device = track(
        await connected(connectSocket(alone, { auth: { token: await deviceToken(alone, cookie, "alone") } })),
      );
      const viewer = track(await connected(connectSocket(alone, { cookie })));
      const seen = eventMatching<{ temperature: number }>(viewer, "temphum2v", (r) => r.temperature === 9.5);
      expect(await emitWithAck(device, "temphum", { temperature: 9.5, humidity: 20 })).toMatchObject({ ok: true });
      expect((await seen).temperature).toBe(9.5);
      expect(alone.logs.filter((l) => l.msg === "Redis down")).toHaveLength(1);
    } finally {
      await alone.stop();
    }
  });
});

describe("one instance (redis_url empty)", () => {
  test("nothing connects to Redis, and /healthz says redis off", async () => {
    const probe = new RedisClient(fx.redis.url);
    await probe.connect();
    const connections = async () =>
      Number(/total_connections_received:(\d+)/.exec(String(await probe.send("INFO", ["stats"])))![1]);
    const before = await connections();
    const solo = await startApp({ database_url: await fx.pg.createDatabase(), redis_url: "" }, fx.dir());
    try {
      const cookie = await login(solo);
      const device = track(
        await connected(connectSocket(solo, { auth: { token: await deviceToken(solo, cookie, "solo") } })),
      );
      await emitWithAck(device, "temphum", { temperature: 20, humidity: 40 });
      await emitWithAck(device, "image", fakeJpeg(2000));
      expect(await health(solo)).toMatchObject({ status: "ok", redis: "off" });
      expect(solo.redis).toBeNull();
      expect(await connections()).toBe(before);
    } finally {
      await solo.stop();
      probe.close();
    }
  });
});
