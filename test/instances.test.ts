// Several instances on one PostgreSQL: a printer's LAN link is held by exactly one of them (its lease), both say
// which one (API and Settings); a clean stop hands it over at once; with Redis, the instance not holding it gives
// the open job and state, and carries printer and camera Pi actions over to where they can run; after kill -9 of
// the holder the other takes the printer over within 30 s, and the print under way ends as one finished job with
// one print_finished delivery; the holder that loses its database stops its link at once; a holder frozen
// (SIGSTOP) past its lease drops the link when woken and writes nothing for the print.
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Socket } from "bun";
import { numbers, openPostgres } from "../src/store/pg.ts";
import { useInstances } from "./app-fixture.ts";
import { startFakePrinter } from "./fakes/bambu-printer.ts";
import { startNotifyServices } from "./fakes/notify-services.ts";
import {
  connected,
  connectSocket,
  deviceToken,
  leaseHolder,
  login,
  printerEntry,
  quietFor,
  type TestApp,
  until,
} from "./helpers.ts";
import { type Child, startChild, writeConfig } from "./process.ts";
import { type RedisServer, startRedis } from "./servers.ts";

const MAIN = join(import.meta.dir, "../src/main.ts");
/** A lease is renewed every 2 s: two renewals are enough for a second instance to have tried to take it. */
const TWO_RENEWALS_MS = 4_500;

type PrinterJson = { lan: { holder: string | null; last_message_at: string | null }; sources: { lan: string } };
type Job = { id: number; name: string; outcome: string; layer: number };

const fx = useInstances();
const getJson = async <T>(base: { url: string }, path: string, cookie: string) =>
  (await (await fetch(`${base.url}${path}`, { headers: { cookie } })).json()) as T;

async function fakeA1() {
  const printer = await startFakePrinter({ commandDelayMs: 30, frameIntervalMs: 500 });
  fx.atEnd(() => printer.close());
  const entry = printerEntry(printer, { camera_port: printer.cameraPort });
  return { printer, entry };
}

describe("two instances in one process", () => {
  let a: TestApp;
  let b: TestApp;
  let printer: Awaited<ReturnType<typeof fakeA1>>["printer"];

  beforeAll(async () => {
    const fake = await fakeA1();
    printer = fake.printer;
    const config = { database_url: await fx.pg.createDatabase(), printers: [fake.entry] as never };
    a = await fx.instance(config, { instanceName: "alpha" });
    b = await fx.instance(config, { instanceName: "beta" });
  }, 60_000);

  test("only one instance connects to the printer, and both name the same holder", async () => {
    await until(
      () => printer.clientsConnected,
      (n) => n === 1,
    );
    // Both have renewed twice: the second instance tried and was refused.
    await quietFor(TWO_RENEWALS_MS);
    expect(printer.clientsConnected).toBe(1);
    expect(printer.connectCount).toBe(1);
    const [ca, cb] = [await login(a), await login(b)];
    const [pa, pb] = [
      await getJson<PrinterJson>(a, "/api/printers/1", ca),
      await getJson<PrinterJson>(b, "/api/printers/1", cb),
    ];
    expect(pa.lan.holder).not.toBeNull();
    expect(pb.lan.holder).toBe(pa.lan.holder);
    const holder = pa.lan.holder!.startsWith("alpha:") ? a : b;
    expect(holder.leases.holds("printer:1")).toBe(true);
    expect((holder === a ? b : a).leases.holds("printer:1")).toBe(false);
    const settings = await fetch(`${b.url}/settings`, { headers: { cookie: cb } });
    expect(await settings.text()).toContain(pa.lan.holder!);
    // Settings' instances section on each: the printer, its holder, and on the holder "(This instance)".
    for (const [app, cookie] of [
      [a, ca],
      [b, cb],
    ] as const) {
      const section = await (await fetch(`${app.url}/settings/instances`, { headers: { cookie } })).text();
      const mine = app === holder ? " (This instance)" : "";
      expect(section).toMatch(
        new RegExp(`<td[^>]*>A1</td>\\s*<td[^>]*>${pa.lan.holder!}${mine.replace(/[()]/g, "\\$&")}</td>`),
      );
    }
  });

  test("the housekeeping lease is held by exactly one instance", () => {
    expect([a.leases.holds("housekeeping"), b.leases.holds("housekeeping")].filter(Boolean)).toEqual([true]);
  });

  test("a clean stop of the holder hands the printer to the other at once", async () => {
    const holder = a.leases.holds("printer:1") ? a : b;
    const other = holder === a ? b : a;
    const connects = printer.connectCount;
    const t0 = performance.now();
    await holder.stop();
    await until(
      () => printer.connectCount,
      (n) => n > connects,
      15_000,
    );
    const ms = performance.now() - t0;
    console.log(`takeover after a clean stop: ${Math.round(ms)} ms`);
    expect(printer.connectCount).toBe(connects + 1);
    // Released at once: the other takes it at its next renewal (every 2 s), not after the 10 s expiry.
    expect(ms).toBeLessThan(8_000);
    expect(other.leases.holds("printer:1")).toBe(true);
  });
});

describe("a takeover where the printer's progress comes before its full report", () => {
  test("the new holder does not read its stale held state as the print's end: the print stays one job", async () => {
    // The full report (pushall) answered 2 s late, progress every 300 ms: the new holder hears layers first.
    const printer = await startFakePrinter({ commandDelayMs: 30, frameIntervalMs: 500, pushallDelayMs: 2_000 });
    fx.atEnd(() => printer.close());
    const entry = printerEntry(printer, { camera_port: printer.cameraPort });
    const config = { database_url: await fx.pg.createDatabase(), printers: [entry] as never };
    const first = await fx.instance(config, { instanceName: "first" });
    await until(
      () => first.leases.holds("printer:1") && printer.clientsConnected === 1,
      (ok) => ok,
    );
    // The holder's snapshot of the idle printer is saved (every 10 s); the second, started now without Redis, holds
    // that IDLE from then on.
    await until(
      async () => (await first.asyncStore.printers.byId(1))?.state_json ?? "",
      (json) => json.includes('"gcode_state":"IDLE"'),
      15_000,
    );
    const second = await fx.instance(config, { instanceName: "second" });
    expect(second.printers.get(1)!.state.gcode_state).toBe("IDLE");
    const run = printer.runPrint({ name: "arch", layers: 40, stepMs: 300 });
    await until(
      () => first.jobs.current(1)?.layer ?? 0,
      (layer) => layer >= 2,
      15_000,
    );
    const connects = printer.connectCount;
    await first.stop();
    await until(
      () => printer.connectCount,
      (n) => n > connects,
      15_000,
    );
    await run;
    const jobs = await until(
      () => second.asyncStore.jobs.list({ limit: 10 }),
      (js) => js.some((j) => j.outcome !== "running"),
      15_000,
    );
    expect(jobs.map((j) => [j.name, j.outcome, j.layer])).toEqual([["arch", "finished", 40]]);
  }, 60_000);
});

describe("two instances with Redis: the one not holding the printer", () => {
  let redis: RedisServer;
  let printer: Awaited<ReturnType<typeof fakeA1>>["printer"];
  let holder: TestApp;
  let other: TestApp;
  let cookie: string;

  beforeAll(async () => {
    redis = await startRedis();
    fx.atEnd(() => redis.stop());
    const fake = await fakeA1();
    printer = fake.printer;
    const config = {
      database_url: await fx.pg.createDatabase(),
      redis_url: redis.url,
      printers: [fake.entry] as never,
    };
    const a = await fx.instance(config, { instanceName: "left" });
    const b = await fx.instance(config, { instanceName: "right" });
    [holder, other] = await leaseHolder(a, b);
    cookie = await login(other);
    void printer.runPrint({ name: "tower", layers: 200, stepMs: 300 });
  }, 60_000);

  const post = (path: string, body: unknown) =>
    fetch(`${other.url}${path}`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  test("its printer API gives the open job (from the store) and the state (relayed from the holder)", async () => {
    const holderJob = await until(
      () => holder.jobs.current(1),
      (j) => j !== null,
      15_000,
    );
    const p = await until(
      () =>
        getJson<{ job: { id: number; name: string } | null; state: { gcode_state: string } | null }>(
          other,
          "/api/printers/1",
          cookie,
        ),
      (x) => x.job !== null && x.state?.gcode_state === "RUNNING",
      15_000,
    );
    expect(p.job).toMatchObject({ id: holderJob!.id, name: "tower" });
    expect(p.state!.gcode_state).toBe("RUNNING");
    expect(other.jobs.current(1)).toBeNull(); // it does not hold the job itself
  });

  test("a pause sent to it is run by the holder through its control, audited once, and answered", async () => {
    await until(
      () => printer.state.gcode_state,
      (g) => g === "RUNNING",
      15_000,
    );
    const commands = printer.commands.length;
    const res = await post("/api/printers/1/actions", { action: "pause" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { state: { gcode_state: string } }).state.gcode_state).toBe("PAUSE");
    expect(printer.commands.slice(commands)).toContainEqual({ print: expect.objectContaining({ command: "pause" }) });
    const audit = (await holder.asyncStore.printerActions.recent(10)).filter((r) => r.action === "pause");
    expect(audit.map((r) => [r.username, r.via, r.result])).toEqual([["admin", "lan", "ok"]]);
    expect(holder.logs.some((l) => l.msg === "printer action" && l.fields?.action === "pause")).toBe(true);
    expect(other.logs.some((l) => l.msg === "printer action")).toBe(false);

    // A refusal comes back as the holder worded it: resume while paused is fine, a second resume is not.
    expect((await post("/api/printers/1/actions", { action: "resume" })).status).toBe(200);
    const again = await post("/api/printers/1/actions", { action: "resume" });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { reason: string }).reason).toBe("not_paused");
  }, 40_000);

  test("a camera Pi action asked of it reaches the Pi connected to the holder, and its answer comes back", async () => {
    const holderCookie = await login(holder);
    const device = await connected(connectSocket(holder, { auth: { token: await deviceToken(holder, holderCookie) } }));
    fx.atEnd(() => device.disconnect());
    const asked: string[] = [];
    device.on("printerAction", ({ action }: { action: string }) => {
      asked.push(action);
      device.emit("printerAction", { action, result: action === "timelapse_start" });
    });
    const started = await post("/api/printers/1/actions", { action: "timelapse_start" });
    expect(started.status).toBe(200);
    const refused = await post("/api/printers/1/actions", { action: "timelapse_stop" });
    expect(refused.status).toBe(502);
    expect(((await refused.json()) as { reason: string }).reason).toBe("device_refused");
    expect(asked).toEqual(["timelapse_start", "timelapse_stop"]);
    const audit = (await holder.asyncStore.printerActions.recent(10)).filter((r) => r.action.startsWith("timelapse"));
    expect(audit.map((r) => [r.action, r.via, r.result]).sort()).toEqual([
      ["timelapse_start", "device", "ok"],
      ["timelapse_stop", "device", "device_refused"],
    ]);
  }, 30_000);

  // Last in this group: the holder stays cut off from Redis.
  test("with the holder out of reach, an action is refused as instance_silent (504) and kept in the audit", async () => {
    await holder.redis!.close();
    const res = await post("/api/printers/1/actions", { action: "light_on" });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { reason: string }).reason).toBe("instance_silent");
    const audit = (await other.asyncStore.printerActions.recent(10)).filter((r) => r.action === "light_on");
    expect(audit.map((r) => [r.username, r.result])).toEqual([["admin", "instance_silent"]]);
    expect(printer.commands.some((c) => JSON.stringify(c).includes("ledctrl"))).toBe(false);
  });
});

/** A TCP proxy to PostgreSQL that a test can cut: every connection through it is closed, and new ones refused. */
async function cuttableProxy(port: number) {
  type Pair = { peer?: Socket<Pair>; pending: Uint8Array[] };
  const open = new Set<Socket<Pair>>();
  let cut = false;
  const server = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async open(client) {
        if (cut) return void client.end();
        client.data = { pending: [] };
        open.add(client);
        const upstream = await Bun.connect<Pair>({
          hostname: "127.0.0.1",
          port,
          socket: {
            data: (_s, bytes) => void client.write(bytes),
            close: () => void client.end(),
            error: () => void client.end(),
          },
          data: { peer: client, pending: [] },
        });
        open.add(upstream);
        client.data.peer = upstream;
        for (const bytes of client.data.pending.splice(0)) upstream.write(bytes);
      },
      data(client, bytes) {
        if (client.data.peer) client.data.peer.write(bytes);
        else client.data.pending.push(new Uint8Array(bytes));
      },
      close: (client) => void client.data?.peer?.end(),
      error: (client) => void client.data?.peer?.end(),
    },
  });
  return {
    port: server.port,
    cut() {
      cut = true;
      for (const s of open) s.end();
      open.clear();
    },
    /** Lets connections through again. */
    heal() {
      cut = false;
    },
    stop: () => server.stop(true),
  };
}

describe("the holder loses its database", () => {
  test("it stops its link at once, and the other instance takes the printer over", async () => {
    const fake = await fakeA1();
    const printer = fake.printer;
    const name = `lw_cut_${process.pid}`;
    await fx.pg.createDatabase(name);
    const proxy = await cuttableProxy(fx.pg.port);
    fx.atEnd(() => proxy.stop());
    const printers = [fake.entry] as never;
    const a = await fx.instance(
      { database_url: `postgres://postgres@127.0.0.1:${proxy.port}/${name}`, printers },
      { instanceName: "cut" },
    );
    await until(
      () => a.leases.holds("printer:1") && printer.clientsConnected === 1,
      (held) => held,
    );
    const b = await fx.instance(
      { database_url: `postgres://postgres@127.0.0.1:${fx.pg.port}/${name}`, printers },
      { instanceName: "kept" },
    );
    const connects = printer.connectCount;
    const t0 = performance.now();
    proxy.cut();
    // At its next renewal (every 2 s, a hung one fails after 2 s more) the holder stops its link.
    await until(
      () => printer.clientsConnected,
      (n) => n === 0,
      6_000,
    );
    const stoppedMs = performance.now() - t0;
    expect(printer.clientsConnected).toBe(0);
    expect(a.leases.holds("printer:1")).toBe(false);
    await until(
      () => printer.connectCount,
      (n) => n > connects,
      30_000,
    );
    const takeoverMs = performance.now() - t0;
    console.log(
      `database cut: link stopped after ${(stoppedMs / 1000).toFixed(1)} s, taken over after ${(takeoverMs / 1000).toFixed(1)} s`,
    );
    expect(printer.connectCount).toBe(connects + 1);
    expect(b.leases.holds("printer:1")).toBe(true);
    expect(a.leases.holds("printer:1")).toBe(false);
    // Its log says so (the probe runs every 5 s), once.
    await until(
      () => a.logs.filter((l) => l.msg === "database down").length,
      (n) => n === 1,
      10_000,
    );

    // The database is back for the first: it finds the printer held by the other and leaves it be.
    proxy.heal();
    await until(
      () => a.asyncStore.healthy(),
      (ok) => ok,
    );
    await quietFor(TWO_RENEWALS_MS);
    expect(a.leases.holds("printer:1")).toBe(false);
    expect(b.leases.holds("printer:1")).toBe(true);
    expect(printer.clientsConnected).toBe(1);
    expect(printer.connectCount).toBe(connects + 1);
    await until(
      () => a.logs.filter((l) => l.msg === "database back").length,
      (n) => n === 1,
      10_000,
    );
    expect(a.logs.filter((l) => l.msg === "database down")).toHaveLength(1);
  }, 60_000);
});

describe("kill -9 of the instance holding the printer", () => {
  const children: Child[] = [];
  let printer: Awaited<ReturnType<typeof fakeA1>>["printer"];
  let services: Awaited<ReturnType<typeof startNotifyServices>>;

  beforeAll(async () => {
    const fake = await fakeA1();
    printer = fake.printer;
    services = await startNotifyServices();
    fx.atEnd(() => services.close());
    const databaseUrl = await fx.pg.createDatabase();
    const config = { database_url: databaseUrl, printers: [fake.entry], notify: [services.webhookUrl()] };
    for (let i = 0; i < 2; i++) {
      const d = fx.dir();
      writeConfig(d, config);
      const child = await startChild([process.execPath, MAIN], d);
      children.push(child);
      fx.atEnd(() => {
        if (child.proc.exitCode === null && !child.proc.killed) child.proc.kill("SIGTERM");
        return child.proc.exited;
      });
    }
  }, 120_000);

  test("the other instance takes the print over within 30 s: one finished job, one print_finished", async () => {
    const cookies = await Promise.all(children.map((c) => login(c, "admin", "binary-pass-1")));
    await until(
      () => printer.clientsConnected,
      (n) => n === 1,
      15_000,
    );
    const holders = await until(
      () => Promise.all(children.map((c, i) => getJson<PrinterJson>(c, "/api/printers/1", cookies[i]!))),
      (ps) => ps.every((p) => p.lan.holder !== null && p.lan.holder === ps[0]!.lan.holder),
    );
    const holderId = holders[0]!.lan.holder!;
    expect(holders.map((p) => p.lan.holder)).toEqual([holderId, holderId]);
    const victim = children.findIndex((c) => c.log().includes(holderId));
    expect(victim).toBeGreaterThanOrEqual(0);
    const survivor = 1 - victim;
    const [dead, alive] = [children[victim]!, children[survivor]!];
    const cookie = cookies[survivor]!;

    // A print long enough to outlast the takeover (about 40 s).
    const run = printer.runPrint({ name: "benchy", layers: 40, stepMs: 1000 });
    await until(
      () => getJson<{ job: unknown }>(dead, "/api/printers/1", cookies[victim]!),
      (p) => p.job !== null,
      15_000,
    );
    // Its print_started is sent before the kill (a claimed delivery of a dead instance waits for its claim to run
    // out, a minute, which is past this test).
    await until(
      () => services.of("webhook").filter((r) => r.json?.event === "print_started").length,
      (n) => n === 1,
      15_000,
    );
    const connects = printer.connectCount;
    const t0 = performance.now();
    dead.proc.kill("SIGKILL");
    await dead.proc.exited;
    await until(
      () => printer.connectCount,
      (n) => n > connects,
      30_000,
    );
    const takeoverMs = performance.now() - t0;
    console.log(`takeover after kill -9: ${(takeoverMs / 1000).toFixed(1)} s`);
    expect(printer.connectCount).toBe(connects + 1);
    expect(takeoverMs).toBeLessThan(30_000);
    const after = await getJson<PrinterJson>(alive, "/api/printers/1", cookie);
    expect(after.lan.holder).not.toBe(holderId);
    expect(alive.log()).toContain(after.lan.holder!);

    await run;
    const jobs = await until(
      () => getJson<Job[]>(alive, "/api/printers/1/jobs", cookie),
      (j) => j[0]?.outcome === "finished",
      15_000,
    );
    expect(jobs.map((j) => [j.name, j.outcome, j.layer])).toEqual([["benchy", "finished", 40]]);
    const finished = () => services.of("webhook").filter((r) => r.json?.event === "print_finished");
    await until(
      () => finished().length,
      (n) => n >= 1,
      15_000,
    );
    // Every instance still running looks for due deliveries every second: three looks would find a second one.
    await quietFor(3_000);
    expect(finished().length).toBe(1);
    expect(services.of("webhook").filter((r) => r.json?.event === "print_started").length).toBe(1);
  }, 120_000);
});

describe("a holder frozen past its lease (SIGSTOP, then SIGCONT)", () => {
  test("the other takes the printer; the woken one drops its link and writes nothing for the print", async () => {
    const fake = await fakeA1();
    const printer = fake.printer;
    const databaseUrl = await fx.pg.createDatabase();
    const children: Child[] = [];
    for (let i = 0; i < 2; i++) {
      const d = fx.dir();
      writeConfig(d, { database_url: databaseUrl, printers: [fake.entry] });
      const child = await startChild([process.execPath, MAIN], d);
      children.push(child);
      fx.atEnd(() => {
        if (child.proc.exitCode === null) {
          child.proc.kill("SIGCONT");
          child.proc.kill("SIGTERM");
        }
        return child.proc.exited;
      });
    }
    const db = openPostgres(databaseUrl, { max: 1 });
    fx.atEnd(() => db.close());
    const cookies = await Promise.all(children.map((c) => login(c, "admin", "binary-pass-1")));
    const holders = await until(
      () => Promise.all(children.map((c, i) => getJson<PrinterJson>(c, "/api/printers/1", cookies[i]!))),
      (ps) => ps.every((p) => p.lan.holder !== null && p.lan.holder === ps[0]!.lan.holder),
      15_000,
    );
    const frozen = children.find((c) => c.log().includes(holders[0]!.lan.holder!))!;
    const run = printer.runPrint({ name: "spire", layers: 60, stepMs: 1000 });
    const layerInDb = async () =>
      numbers<{ layer: number | null }>(await db`SELECT layer FROM jobs WHERE outcome = 'running'`)[0]?.layer ?? null;
    // Past a few layers: the holder has written some and has the next ones queued (progress rides every 5 s).
    await until(layerInDb, (l) => l !== null && l >= 3, 20_000);
    const connects = printer.connectCount;
    frozen.proc.kill("SIGSTOP");
    const frozenAt = printer.state.layer_num as number;
    // The lease runs out 10 s after the frozen holder's last renewal; the other takes it at its next one.
    await until(
      () => printer.connectCount,
      (n) => n > connects,
      30_000,
    );
    // The new holder has written layers past where the frozen one stood: a stale write would now go backwards.
    const beforeWake = await until(layerInDb, (l) => l !== null && l > frozenAt + 1, 20_000);
    expect(printer.clientsConnected).toBe(2); // the frozen one's connection is still open
    frozen.proc.kill("SIGCONT");
    // Woken: it finds its lease gone and drops the link.
    await until(
      () => printer.clientsConnected,
      (n) => n === 1,
      10_000,
    );
    await until(
      () => frozen.log(),
      (log) => /lease let go.*printer:1/.test(log),
      10_000,
    );
    // Its progress queued before the freeze comes due now (within 5 s): refused, so the layer never goes back.
    const seen: number[] = [];
    const watchUntil = performance.now() + 6_000;
    while (performance.now() < watchUntil) {
      seen.push((await layerInDb()) ?? -1);
      await Bun.sleep(50);
    }
    expect(seen.every((l, i) => l >= (i ? seen[i - 1]! : beforeWake!))).toBe(true);
    await run;
    // One print, finished, every layer: the woken instance opened no second job and closed none.
    const jobs = async () =>
      numbers<{ name: string; outcome: string; layer: number }>(
        await db`SELECT name, outcome, layer FROM jobs ORDER BY id`,
      );
    await until(jobs, (js) => js.some((j) => j.outcome === "finished"), 15_000);
    const got = await jobs();
    // Should it fail, each instance's story of the lease and the print says who did what.
    if (got.length !== 1)
      for (const c of children)
        console.log(
          c === frozen ? "woken instance:" : "other instance:",
          c
            .log()
            .split("\n")
            .filter((l) => /print|lease|job|another instance/i.test(l))
            .join("\n"),
        );
    expect(got).toEqual([{ name: "spire", outcome: "finished", layer: 60 }]);
  }, 150_000);
});
