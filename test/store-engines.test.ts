// The store on both engines: every case runs on a fresh SQLite file (opened as the app opens it, db.ts) and on a
// fresh PostgreSQL database (migrated by pg-migrate.ts), through the same AsyncStore methods and write queue; the
// answers of the two runs are compared call by call at the end, and every method must have been called on both.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, setSystemTime, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { createLogger } from "../src/log.ts";
import { type AsyncStore, asyncSqliteStore, type StoreWriteQueue } from "../src/store/async-store.ts";
import { openDatabase } from "../src/store/db.ts";
import { FencedOut } from "../src/store/jobs.ts";
import { createPgStore } from "../src/store/pg/store.ts";
import { createPgWriteQueue } from "../src/store/pg/write-queue.ts";
import { openPostgres } from "../src/store/pg.ts";
import { pgMigrate } from "../src/store/pg-migrate.ts";
import { sqliteStoreWriteQueue } from "../src/store/sqlite-write-queue.ts";
import { createStore, type PrinterSetup, type Store } from "../src/store/store.ts";
import { summaryBuckets } from "../src/time.ts";
import { LIBRARY_PLATE_ROW } from "./library-helpers.ts";
import { type PostgresServer, startPostgres } from "./servers.ts";

const ZONE = "Europe/Helsinki";
/** Every Date.now() in the store reads this on both engines, so rows stamped "now" compare equal. */
const NOW = Date.UTC(2026, 2, 29, 0, 30);
const HOUR = 3_600_000;
const ENGINES = ["sqlite", "postgres"] as const;
type Engine = (typeof ENGINES)[number];

let pg: PostgresServer;
let admin: SQL;
const TEMPLATE = "lw_store_template";
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  setSystemTime(NOW);
  pg = await startPostgres();
  const sql = openPostgres(await pg.createDatabase(TEMPLATE), { max: 1 });
  await pgMigrate(sql, { zone: ZONE });
  await sql.close();
  admin = new SQL(pg.url, { max: 1 });
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await admin?.close();
  await pg?.stop();
  setSystemTime();
});

/** One call and its answer (or that it threw: the two engines' messages differ), in the order calls were made. */
type Call = { path: string; args: unknown[]; result?: unknown; threw?: true; uncompared?: true };
const calls: Record<Engine, Call[]> = { sqlite: [], postgres: [] };
/** Set by a test whose answers legitimately differ by engine (it says why); its calls still count as made. */
let uncompared = false;

/** The same store, every call recorded in `log` (the slot is taken when called, filled when it settles). */
function recording<T extends object>(obj: T, log: Call[], prefix = ""): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    const path = `${prefix}${key}`;
    if (typeof value === "function")
      out[key] = async (...args: unknown[]) => {
        const call: Call = { path, args, ...(uncompared && { uncompared: true as const }) };
        log.push(call);
        try {
          call.result = await value.apply(obj, args);
          return call.result;
        } catch (err) {
          call.threw = true;
          throw err;
        }
      };
    else if (value && typeof value === "object") out[key] = recording(value, log, `${path}.`);
    else out[key] = value;
  }
  return out as T;
}

type Fresh = { store: AsyncStore; writes: StoreWriteQueue; raw?: Store; sql?: SQL };
let made = 0;

async function fresh(engine: Engine): Promise<Fresh> {
  if (engine === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "lw-store-engines-"));
    const db = openDatabase(join(dir, "layerwatch.db"), { zone: ZONE, log: createLogger({ quiet: true }) });
    const raw = createStore(db, { zone: ZONE });
    cleanups.push(() => {
      try {
        raw.close();
      } catch {
        // A test closed it already.
      }
      rmSync(dir, { recursive: true, force: true });
    });
    return { store: asyncSqliteStore(raw), writes: sqliteStoreWriteQueue(raw), raw };
  }
  const name = `lw_case_${process.pid}_${++made}`;
  await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
  const sql = openPostgres(`postgres://postgres@127.0.0.1:${pg.port}/${name}`, { max: 4 });
  const store = createPgStore(sql, { zone: ZONE });
  cleanups.push(() => sql.close());
  return { store, writes: createPgWriteQueue(sql, { zone: ZONE }), sql };
}

const A1: PrinterSetup = {
  name: "Bench A1",
  model: "A1",
  host: "192.168.1.40",
  serial: "03919A3B0100254",
  access_code: "12345678",
  mqtt_port: 8883,
  camera: 1,
  camera_port: 6000,
  ftps_port: 990,
  rtsp_port: 322,
  tls: "pin",
};
const jpeg = (n: number) => new Uint8Array([0xff, 0xd8, n & 255, 0, 1, 2, 0xff, 0xd9]);

/** Every method path of a store: `readings.insert`, `devices.tokens.list`, ... (deviceTokens is devices.tokens). */
function methodPaths(obj: object, prefix = ""): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(obj)) {
    const path = `${prefix}${key}`;
    if (typeof value === "function") out.push(path);
    else if (value && typeof value === "object") out.push(...methodPaths(value, `${path}.`));
  }
  return out.sort();
}
const canonical = (path: string) => path.replace(/^deviceTokens\./, "devices.tokens.").replace(/^writes:/, "");

for (const engine of ENGINES) {
  describe(engine, () => {
    let s: AsyncStore;
    let writes: StoreWriteQueue;
    let f: Fresh;
    beforeEach(async () => {
      uncompared = false;
      f = await fresh(engine);
      s = recording(f.store, calls[engine]);
      const log = calls[engine];
      writes = {
        run: (family, method, ...args) => {
          const call: Call = {
            path: `writes:${family}.${String(method)}`,
            args,
            ...(uncompared && { uncompared: true as const }),
          };
          log.push(call);
          return f.writes.run(family, method, ...args).then(
            (r) => {
              call.result = r;
              return r;
            },
            (err) => {
              call.threw = true;
              throw err;
            },
          );
        },
        later: f.writes.later,
        cancel: f.writes.cancel,
        flush: f.writes.flush,
      };
    });

    describe("users and sessions", () => {
      test("a user is found by name and id, listed in name order, and counted when admin", async () => {
        const bob = await s.users.insert("bob", "hash-b", "viewer");
        const ann = await s.users.insert("ann", "hash-a", "admin");
        expect(await s.users.byName("bob")).toEqual({
          id: bob,
          username: "bob",
          password_hash: "hash-b",
          role: "viewer",
          created_at: NOW,
        });
        expect((await s.users.byId(ann))?.username).toBe("ann");
        expect(await s.users.byName("nobody")).toBeNull();
        expect(await s.users.byId(999)).toBeNull();
        expect((await s.users.list()).map((u) => u.username)).toEqual(["ann", "bob"]);
        expect(await s.users.countAdmins()).toBe(1);
        await s.users.setPasswordHash(bob, "hash-b2");
        expect((await s.users.byId(bob))?.password_hash).toBe("hash-b2");
        await s.users.delete(ann);
        expect(await s.users.countAdmins()).toBe(0);
      });

      test("a second user of the same name is refused", async () => {
        await s.users.insert("ann", "h", "admin");
        await expect(s.users.insert("ann", "h2", "viewer")).rejects.toThrow();
        expect((await s.users.list()).length).toBe(1);
      });

      test("sessions are stored, touched, and ended one, all-but-one, or by expiry", async () => {
        const uid = await s.users.insert("ann", "h", "admin");
        const session = (token_hash: string, expires_at: number) => ({
          token_hash,
          user_id: uid,
          created_at: NOW,
          expires_at,
          persistent: 1,
          last_seen_at: NOW,
        });
        await s.sessions.insert(session("t1", NOW + HOUR));
        await s.sessions.insert(session("t2", NOW + 2 * HOUR));
        await s.sessions.insert(session("t3", NOW - 1));
        expect(await s.sessions.byHash("t1")).toEqual(session("t1", NOW + HOUR));
        await s.sessions.touch("t1", NOW + 10, NOW + 5 * HOUR);
        expect(await s.sessions.byHash("t1")).toMatchObject({ last_seen_at: NOW + 10, expires_at: NOW + 5 * HOUR });
        await s.sessions.deleteExpired(NOW);
        expect(await s.sessions.byHash("t3")).toBeNull();
        await s.sessions.deleteForUser(uid, "t2");
        expect(await s.sessions.byHash("t1")).toBeNull();
        expect(await s.sessions.byHash("t2")).not.toBeNull();
        await s.sessions.delete("t2");
        expect(await s.sessions.byHash("t2")).toBeNull();
        await s.sessions.insert(session("t4", NOW + HOUR));
        await s.sessions.deleteForUser(uid);
        expect(await s.sessions.byHash("t4")).toBeNull();
      });
    });

    describe("readings and summaries", () => {
      test("readings fold into hour and day summaries in the zone, across its DST change", async () => {
        // 29 March 2026 in Helsinki: 03:00 EET becomes 04:00 EEST; the local day began at 22:00 UTC on the 28th.
        const ats = [NOW - 3 * HOUR, NOW - HOUR / 2, NOW, NOW + 10 * 60_000, NOW + HOUR];
        const temps = [20, 21.5, 22.25, 19.75, 23];
        for (const [i, at] of ats.entries()) await s.readings.insert(1, 1, at, temps[i]!, 40 + i);
        const days = await s.readings.summaries(1, "day", NOW - 2 * 24 * HOUR, NOW + 24 * HOUR);
        expect(days.map((d) => d.start_at)).toEqual([Date.UTC(2026, 2, 27, 22), Date.UTC(2026, 2, 28, 22)]);
        expect(days[0]).toEqual({
          start_at: Date.UTC(2026, 2, 27, 22),
          count: 1,
          temp_min: 20,
          temp_avg: 20,
          temp_max: 20,
          hum_min: 40,
          hum_avg: 40,
          hum_max: 40,
        });
        expect(days[1]).toEqual({
          start_at: summaryBuckets(NOW, ZONE).day,
          count: 4,
          temp_min: 19.75,
          temp_avg: (21.5 + 22.25 + 19.75 + 23) / 4,
          temp_max: 23,
          hum_min: 41,
          hum_avg: 42.5,
          hum_max: 44,
        });
        const hours = await s.readings.summaries(1, "hour", 0, NOW + 24 * HOUR);
        // 00:00 UTC is 02:00 EET, 01:00 UTC is 04:00 EEST: the zone's hours either side of the change.
        expect(hours.map((h) => [h.start_at, h.count])).toEqual([
          [Date.UTC(2026, 2, 28, 21), 1],
          [Date.UTC(2026, 2, 29, 0), 3],
          [Date.UTC(2026, 2, 29, 1), 1],
        ]);
        expect(hours[1]!.start_at).toBe(summaryBuckets(NOW, ZONE).hour);
        expect(await s.readings.summaries(2, "hour", 0, NOW + 24 * HOUR)).toEqual([]);
      });

      test("readings are read back in time order, the latest first by time then id, with a stamp", async () => {
        const a = await s.readings.insert(1, 1, NOW, 21, 40);
        const b = await s.readings.insert(1, 1, NOW - 1000, 20, 41);
        const c = await s.readings.insert(1, 1, NOW, 22, 42);
        await s.readings.insert(2, 1, NOW, 30, 30);
        const rows = await s.readings.between(1, NOW - HOUR, NOW + 1);
        expect(rows.map((r) => r.id)).toEqual([b, a, c]);
        expect(rows[0]).toEqual({
          id: b,
          printer_id: 1,
          device_id: 1,
          recorded_at: NOW - 1000,
          temperature: 20,
          humidity: 41,
        });
        expect(typeof rows[0]!.temperature).toBe("number");
        expect((await s.readings.latest(1))?.id).toBe(c);
        expect(await s.readings.latest(3)).toBeNull();
        expect(await s.readings.stamp(1, NOW - HOUR, NOW + 1)).toBe(`3-${c}`);
        expect(await s.readings.stamp(1, 0, 1)).toBe("0-0");
      });

      test("pruning deletes the oldest raw readings in batches and keeps the summaries", async () => {
        for (let i = 0; i < 5; i++) await s.readings.insert(1, 1, NOW - (5 - i) * 1000, 20 + i, 40);
        expect(await s.readings.pruneBatch(NOW - 1500, 2)).toBe(2);
        expect(await s.readings.pruneBatch(NOW - 1500, 10)).toBe(2);
        expect(await s.readings.pruneBatch(NOW - 1500, 10)).toBe(0);
        expect((await s.readings.between(1, 0, NOW)).map((r) => r.temperature)).toEqual([24]);
        expect((await s.readings.summaries(1, "day", 0, NOW + HOUR))[0]?.count).toBe(5);
        await s.readings.deleteOfPrinter(1);
        expect(await s.readings.between(1, 0, NOW)).toEqual([]);
        expect(await s.readings.summaries(1, "day", 0, NOW + HOUR)).toEqual([]);
      });
    });

    describe("statuses", () => {
      test("a repeated status moves last_seen_at; a new one, or another printer's, is a new row", async () => {
        const first = await s.statuses.record(1, 1, NOW, "printing");
        expect(first).toEqual({
          id: first.id,
          printer_id: 1,
          device_id: 1,
          recorded_at: NOW,
          last_seen_at: NOW,
          status: "printing",
        });
        const again = await s.statuses.record(1, 1, NOW + 5, "printing");
        expect(again).toEqual({ ...first, last_seen_at: NOW + 5 });
        expect(await s.statuses.latest(1)).toEqual(again);
        const changed = await s.statuses.record(1, 1, NOW + 9, "idle");
        expect(changed.id).not.toBe(first.id);
        const moved = await s.statuses.record(2, 1, NOW + 10, "idle");
        expect(moved.id).not.toBe(changed.id);
        expect(await s.statuses.latest(3)).toBeNull();
        await s.statuses.deleteOfPrinter(1);
        expect(await s.statuses.latest(1)).toBeNull();
        expect((await s.statuses.latest(2))?.id).toBe(moved.id);
      });
    });

    describe("frames", () => {
      test("a frame's bytes come back as a Uint8Array, and each source keeps only its newest", async () => {
        const ids: number[] = [];
        for (let i = 0; i < 4; i++) ids.push(await s.frames.insert(1, 1, NOW + i, "image/jpeg", jpeg(i), 2));
        const cam = await s.frames.insert(1, 1, NOW + 9, "image/jpeg", jpeg(9), 2, "printer");
        const row = await s.frames.byId(ids[3]!);
        expect(row).toEqual({
          id: ids[3]!,
          printer_id: 1,
          device_id: 1,
          recorded_at: NOW + 3,
          mime: "image/jpeg",
          size: 8,
          source: "device",
          bytes: jpeg(3),
        });
        expect(row!.bytes.constructor).toBe(Uint8Array);
        expect(await s.frames.byId(ids[0]!)).toBeNull();
        expect((await s.frames.list(1)).map((f) => f.id)).toEqual([cam, ids[3]!, ids[2]!]);
        expect((await s.frames.list(1, 1)).map((f) => f.id)).toEqual([cam]);
        expect((await s.frames.latest(1))?.id).toBe(cam);
        expect((await s.frames.latest(1, "device"))?.id).toBe(ids[3]!);
        expect(await s.frames.latest(1, "device")).not.toHaveProperty("bytes");
        expect(await s.frames.latest(2)).toBeNull();
        await s.frames.deleteOfPrinter(1);
        expect(await s.frames.list(1)).toEqual([]);
      });
    });

    describe("devices and tokens", () => {
      test("a printer's login device is made once; printer 1's is the default device", async () => {
        expect(await s.devices.loginDevice(1)).toBe(1);
        const p = await s.printers.insert(A1);
        const d = await s.devices.loginDevice(p);
        expect(await s.devices.loginDevice(p)).toBe(d);
        expect(d).not.toBe(1);
      });

      test("a token is its own device, found by hash, listed per printer, touched and revoked once", async () => {
        const p = await s.printers.insert(A1);
        const t1 = await s.devices.tokens.insert(1, "pi one", "hash-1");
        const t2 = await s.deviceTokens.insert(p, "pi two", "hash-2");
        const one = await s.deviceTokens.byHash("hash-1");
        expect(one).toMatchObject({ id: t1, name: "pi one", token_hash: "hash-1", printer_id: 1, created_at: NOW });
        expect(one?.last_used_at).toBeNull();
        expect(one?.revoked_at).toBeNull();
        expect(one?.device_id).not.toBe(1);
        expect((await s.devices.tokens.list()).map((t) => t.id)).toEqual([t1, t2]);
        expect((await s.devices.tokens.list(p)).map((t) => t.id)).toEqual([t2]);
        await s.devices.tokens.touch(t1, NOW + 7);
        expect((await s.devices.tokens.byHash("hash-1"))?.last_used_at).toBe(NOW + 7);
        expect(await s.devices.tokens.revoke(t1)).toBe(true);
        expect(await s.devices.tokens.revoke(t1)).toBe(false);
        expect(await s.devices.tokens.byHash("hash-1")).toBeNull();
        await s.devices.deleteOfPrinter(p);
        expect(await s.devices.tokens.list()).toEqual([]);
      });
    });

    describe("printers", () => {
      test("a printer is stored, found by id and by name in any case, updated and listed", async () => {
        const id = await s.printers.insert(A1, true);
        const row = await s.printers.byId(id);
        expect(row).toEqual({
          ...A1,
          id,
          tls_fingerprint: null,
          ftps_fingerprint: null,
          from_config: 1,
          state_json: null,
          created_at: NOW,
          temp_high: null,
          temp_low: null,
          hum_high: null,
          hum_low: null,
        });
        expect((await s.printers.byName("bench a1"))?.id).toBe(id);
        expect((await s.printers.byName("BENCH A1"))?.id).toBe(id);
        expect(await s.printers.byName("nothing")).toBeNull();
        await s.printers.update(id, {
          ...A1,
          name: "Bench P1S",
          model: "P1S",
          tls: "insecure",
          camera: 0,
          rtsp_port: 3220,
        });
        await s.printers.setLimits(id, { temp_high: 30.5, temp_low: 10, hum_high: null, hum_low: 20 });
        await s.printers.saveState(id, '{"gcode_state":"RUNNING"}');
        await s.printers.setFingerprint(id, "ab:cd");
        await s.printers.setFtpsFingerprint(id, "ef:01");
        const other = await s.printers.insert({ ...A1, name: "Other" });
        await s.printers.markFromConfig(other);
        // Both printers' snapshots in one call; the first one's is saved again below, as saveState left it.
        await s.printers.saveStates([
          [other, '{"gcode_state":"IDLE"}'],
          [id, '{"gcode_state":"PAUSE"}'],
        ]);
        expect((await s.printers.byId(other))?.state_json).toBe('{"gcode_state":"IDLE"}');
        await s.printers.saveState(id, '{"gcode_state":"RUNNING"}');
        // Last in this test: a refused insert uses up an id on PostgreSQL (sequences are not rolled back).
        await expect(s.printers.insert({ ...A1, name: "BENCH p1s" })).rejects.toThrow();
        expect(await s.printers.byId(id)).toMatchObject({
          name: "Bench P1S",
          model: "P1S",
          tls: "insecure",
          camera: 0,
          rtsp_port: 3220,
          temp_high: 30.5,
          temp_low: 10,
          hum_high: null,
          hum_low: 20,
          state_json: '{"gcode_state":"RUNNING"}',
          tls_fingerprint: "ab:cd",
          ftps_fingerprint: "ef:01",
        });
        await s.printers.setFingerprint(id, null);
        await s.printers.setFtpsFingerprint(id, null);
        expect(await s.printers.byId(id)).toMatchObject({ tls_fingerprint: null, ftps_fingerprint: null });
        expect((await s.printers.list()).map((p) => [p.id, p.from_config])).toEqual([
          [1, 0],
          [id, 1],
          [other, 1],
        ]);
        await s.printers.deleteRow(other);
        expect(await s.printers.byId(other)).toBeNull();
      });

      test("deleting a printer removes everything it holds and nothing of another's", async () => {
        const p = await s.printers.insert(A1);
        const keep = await s.readings.insert(1, 1, NOW, 20, 40);
        await s.readings.insert(p, 1, NOW, 21, 41);
        await s.statuses.record(p, 1, NOW, "idle");
        await s.frames.insert(p, 1, NOW, "image/png", jpeg(1), 5);
        await s.devices.tokens.insert(p, "pi", "hash-p");
        await s.devices.tokens.revoke(await s.devices.tokens.insert(p, "old pi", "hash-old"));
        const job = await s.jobs.insert(p, "cube", "cube.3mf", NOW);
        await s.jobs.addFrame(job, NOW, 1, "image/jpeg", jpeg(2));
        expect(await s.printers.data(p)).toEqual({ readings: 1, frames: 1, statuses: 1, tokens: 1 });
        await s.printers.delete(p);
        expect(await s.printers.byId(p)).toBeNull();
        expect(await s.printers.data(p)).toEqual({ readings: 0, frames: 0, statuses: 0, tokens: 0 });
        expect(await s.jobs.byId(job)).toBeNull();
        expect(await s.jobs.archiveBytes()).toBe(0);
        expect((await s.readings.latest(1))?.id).toBe(keep);
      });

      test("a printer delete that fails part-way leaves every row of the printer in place", async () => {
        const p = await s.printers.insert(A1);
        await s.readings.insert(p, 1, NOW, 21, 41);
        await s.frames.insert(p, 1, NOW, "image/png", jpeg(1), 5);
        const job = await s.jobs.insert(p, "cube", "cube.3mf", NOW);
        // Nothing in the schema refuses a printer's delete: a trigger makes its last statement (the row) fail.
        await breakPrinterDelete(f);
        await expect(s.printers.delete(p)).rejects.toThrow(/kept/);
        expect(await s.printers.data(p)).toEqual({ readings: 1, frames: 1, statuses: 0, tokens: 0 });
        expect((await s.jobs.byId(job))?.id).toBe(job);
        expect((await s.printers.byId(p))?.id).toBe(p);
      });
    });

    describe("printer actions and the event log", () => {
      test("actions are kept newest first, trimmed to the newest n, and removed with their printer", async () => {
        const action = (i: number, printer_id = 1) => ({
          printer_id,
          at: NOW + i,
          username: "ann",
          action: `pause ${i}`,
          via: "web",
          result: "ok",
          detail: "",
        });
        for (let i = 0; i < 5; i++) await s.printerActions.record(action(i), 3);
        await s.printerActions.record(action(5, 2));
        const recent = await s.printerActions.recent(10);
        expect(recent.map((a) => a.action)).toEqual(["pause 5", "pause 4", "pause 3", "pause 2"]);
        expect(recent[1]).toEqual({ id: recent[1]!.id, ...action(4) });
        expect((await s.printerActions.between(1, NOW + 3, NOW + 4)).map((a) => a.action)).toEqual([
          "pause 3",
          "pause 4",
        ]);
        await s.printerActions.deleteOfPrinter(1);
        expect((await s.printerActions.recent(2)).map((a) => a.printer_id)).toEqual([2]);
      });

      test("the event log keeps the newest lines", async () => {
        for (let i = 0; i < 4; i++) await s.eventLog.append("warn", `line ${i}`, "{}", 2);
        expect(await s.eventLog.recent(10)).toEqual([
          { id: 4, at: NOW, level: "warn", message: "line 3", details: "{}" },
          { id: 3, at: NOW, level: "warn", message: "line 2", details: "{}" },
        ]);
        expect((await s.eventLog.recent(1)).length).toBe(1);
      });

      test("the capture intervals are read and set", async () => {
        expect(await s.intervals.get()).toEqual({ image_delay: 10, temphum_delay: 10, status_delay: 10 });
        await s.intervals.set({ image_delay: 5, temphum_delay: 60, status_delay: 30 });
        expect(await s.intervals.get()).toEqual({ image_delay: 5, temphum_delay: 60, status_delay: 30 });
      });
    });

    describe("jobs and their archive", () => {
      test("a job is opened, updated, given its weather, closed and listed with its frames", async () => {
        const p = await s.printers.insert(A1);
        const a = await s.jobs.insert(1, "cube", "cube.3mf", NOW);
        const b = await s.jobs.insert(p, "boat", "boat.3mf", NOW + 1);
        const row = (await s.jobs.byId(a))!;
        expect(row).toEqual({
          id: a,
          printer_id: 1,
          name: "cube",
          file: "cube.3mf",
          started_at: NOW,
          ended_at: null,
          outcome: "running",
          layer: null,
          total_layers: null,
          paused_ms: 0,
          paused_since: null,
          errors: "[]",
          temp_min: null,
          temp_max: null,
          temp_sum: 0,
          hum_min: null,
          hum_max: null,
          hum_sum: 0,
          readings: 0,
          weather_points: "[]",
        });
        expect(await s.jobs.byId(999)).toBeNull();
        await s.jobs.update({
          ...row,
          layer: 3,
          total_layers: 120,
          paused_ms: 1500,
          paused_since: NOW + 2,
          errors: '[{"code":1}]',
        });
        await s.jobs.saveWeather({
          ...row,
          temp_min: 19.5,
          temp_max: 22,
          temp_sum: 61.5,
          hum_min: 40,
          hum_max: 45,
          hum_sum: 127,
          readings: 3,
          weather_points: "[[1,2,3]]",
        });
        expect(await s.jobs.byId(a)).toMatchObject({
          layer: 3,
          total_layers: 120,
          paused_since: NOW + 2,
          temp_min: 19.5,
          readings: 3,
        });
        expect((await s.jobs.open()).map((j) => j.id)).toEqual([a, b]);
        const f1 = await s.jobs.addFrame(a, NOW + 5, 3, "image/jpeg", jpeg(1));
        const f2 = await s.jobs.addFrame(a, NOW + 6, null, "image/jpeg", jpeg(2));
        await s.jobs.close(a, NOW + 10, "finished");
        expect((await s.jobs.open()).map((j) => j.id)).toEqual([b]);
        const list = await s.jobs.list({ limit: 10 });
        expect(list.map((j) => [j.id, j.frames, j.thumb])).toEqual([
          [b, 0, null],
          [a, 2, f2],
        ]);
        expect(list[1]).toMatchObject({ ended_at: NOW + 10, outcome: "finished" });
        expect((await s.jobs.list({ printerId: p, limit: 10 })).map((j) => j.id)).toEqual([b]);
        expect((await s.jobs.list({ outcome: "finished", limit: 10 })).map((j) => j.id)).toEqual([a]);
        expect((await s.jobs.list({ before: b, limit: 10 })).map((j) => j.id)).toEqual([a]);
        expect((await s.jobs.list({ limit: 1 })).map((j) => j.id)).toEqual([b]);
        expect(await s.jobs.frames(a)).toEqual([
          { id: f1, job_id: a, recorded_at: NOW + 5, layer: 3, size: 8 },
          { id: f2, job_id: a, recorded_at: NOW + 6, layer: null, size: 8 },
        ]);
        const frame = await s.jobs.frame(f1);
        expect(frame).toEqual({ id: f1, job_id: a, mime: "image/jpeg", bytes: jpeg(1) });
        expect(frame!.bytes.constructor).toBe(Uint8Array);
        expect(await s.jobs.frame(999)).toBeNull();
      });

      test("a job's filaments: one row per tray, the first filament seen stays, listed per job", async () => {
        const a = await s.jobs.insert(1, "a", "", NOW);
        const b = await s.jobs.insert(1, "b", "", NOW + 1);
        const pla = { job_id: a, tray: 0, type: "PLA", color: "FFFFFFFF", brand: "PLA Basic", first_used_at: NOW };
        await s.jobs.addFilament(pla);
        await s.jobs.addFilament({ ...pla, type: "PETG", first_used_at: NOW + 5 });
        await s.jobs.addFilament({ ...pla, tray: 254, type: "TPU", color: null, brand: null, first_used_at: NOW + 2 });
        await s.jobs.addFilament({ ...pla, job_id: b, tray: 128, type: "PA-CF", color: "000000FF" });
        expect(await s.jobs.filaments([a])).toEqual([
          pla,
          { job_id: a, tray: 254, type: "TPU", color: null, brand: null, first_used_at: NOW + 2 },
        ]);
        expect((await s.jobs.filaments([b, a])).map((f) => [f.job_id, f.tray])).toEqual([
          [a, 0],
          [a, 254],
          [b, 128],
        ]);
        expect(await s.jobs.filaments([])).toEqual([]);
        await s.jobs.deleteOfPrinter(1);
        expect(await s.jobs.filaments([a, b])).toEqual([]);
      });

      test("the archive is measured, pruned oldest job first, and frames deleted one by one", async () => {
        const a = await s.jobs.insert(1, "a", "", NOW);
        const b = await s.jobs.insert(1, "b", "", NOW + 1);
        await s.jobs.addFrame(a, NOW, 1, "image/jpeg", jpeg(1));
        await s.jobs.addFrame(a, NOW, 2, "image/jpeg", new Uint8Array(100));
        const fb = await s.jobs.addFrame(b, NOW, 1, "image/jpeg", jpeg(3));
        expect(await s.jobs.archiveBytes()).toBe(116);
        expect(await s.jobs.pruneOldestArchive()).toBe(108);
        expect(await s.jobs.archiveBytes()).toBe(8);
        await s.jobs.deleteFrame(fb);
        expect(await s.jobs.pruneOldestArchive()).toBe(0);
        expect(await s.jobs.archiveBytes()).toBe(0);
        await s.jobs.deleteOfPrinter(1);
        expect(await s.jobs.byId(a)).toBeNull();
      });
    });

    describe("job writes under a lease (fencing)", () => {
      test("a write carrying the lease as its holder has it is done; one carrying a lost lease is not", async () => {
        // PostgreSQL checks the fence, SQLite (one instance, no leases kept) does not: each engine checked here.
        uncompared = true;
        await s.leases.claim("printer:1", "a", 10_000);
        const mine = { lease: "printer:1", holder: "a", epoch: 1 };
        const job = await s.jobs.insert(1, "cube", "cube.3mf", NOW, mine);
        const row = (await s.jobs.byId(job))!;
        await s.jobs.update({ ...row, layer: 5 }, mine);
        await s.jobs.saveWeather({ ...row, temp_min: 20, temp_max: 21, temp_sum: 41, readings: 2 }, mine);
        const frame = await s.jobs.addFrame(job, NOW, 5, "image/jpeg", jpeg(1), mine);
        expect(await s.jobs.byId(job)).toMatchObject({ layer: 5, readings: 2 });
        expect((await s.jobs.frames(job)).map((f) => f.id)).toEqual([frame]);

        // "b" takes the lease over (it ran out): "a"'s writes with its old epoch are refused from now on.
        await s.leases.release("printer:1", "a");
        expect(await s.leases.claim("printer:1", "b", 10_000)).toMatchObject({ holder: "b", epoch: 2 });
        const fenced = engine === "postgres";
        await s.jobs.update({ ...row, layer: 3 }, mine);
        await s.jobs.saveWeather({ ...row, readings: 1 }, mine);
        await s.jobs.close(job, NOW + 1, "cancelled", mine);
        const late = s.jobs.addFrame(job, NOW + 1, 3, "image/jpeg", jpeg(2), mine);
        const opened = s.jobs.insert(1, "ghost", "", NOW + 1, mine);
        const [lateResult, openedResult] = await Promise.allSettled([late, opened]);
        // The same calls on both engines (the last test compares which were made), then each engine's answer.
        const [after, frames, open] = [await s.jobs.byId(job), await s.jobs.frames(job), await s.jobs.open()];
        if (fenced) {
          expect([lateResult.status, openedResult.status]).toEqual(["rejected", "rejected"]);
          expect((lateResult as PromiseRejectedResult).reason).toBeInstanceOf(FencedOut);
          expect((openedResult as PromiseRejectedResult).reason).toBeInstanceOf(FencedOut);
          expect(after).toMatchObject({ layer: 5, readings: 2, outcome: "running" });
          expect(frames).toHaveLength(1);
          expect(open.map((j) => j.name)).toEqual(["cube"]);
        } else {
          expect([lateResult.status, openedResult.status]).toEqual(["fulfilled", "fulfilled"]);
          expect(after).toMatchObject({ layer: 3, readings: 1, outcome: "cancelled" });
          expect(frames).toHaveLength(2);
        }
        // The new holder's writes are done, and so are writes with no fence (a printer no lease guards).
        const theirs = { lease: "printer:1", holder: "b", epoch: 2 };
        await s.jobs.update({ ...row, layer: 7 }, theirs);
        expect((await s.jobs.byId(job))!.layer).toBe(7);
        await s.jobs.update({ ...row, layer: 8 });
        expect((await s.jobs.byId(job))!.layer).toBe(8);
      });

      test("fenced writes go through the write queue too, one refused without failing its batch", async () => {
        uncompared = true;
        await s.leases.claim("printer:1", "a", 10_000);
        const job = await s.jobs.insert(1, "cube", "", NOW);
        const row = (await s.jobs.byId(job))!;
        const stale = { lease: "printer:1", holder: "a", epoch: 0 };
        const [frame, refused] = await Promise.allSettled([
          writes.run("jobs", "addFrame", job, NOW, 1, "image/jpeg", jpeg(1)),
          writes.run("jobs", "addFrame", job, NOW, 2, "image/jpeg", jpeg(2), stale),
          writes.run("jobs", "update", { ...row, layer: 9 }, stale),
        ]);
        expect(frame.status).toBe("fulfilled");
        const [frames, after] = [await s.jobs.frames(job), await s.jobs.byId(job)];
        if (engine === "postgres") {
          expect(refused.status).toBe("rejected");
          expect(frames.map((f) => f.layer)).toEqual([1]);
          expect(after!.layer).toBeNull();
        } else {
          expect(frames.map((f) => f.layer)).toEqual([1, 2]);
          expect(after!.layer).toBe(9);
        }
      });
    });

    describe("timelapses", () => {
      test("an upload is recorded, advanced, completed, found with its job, and counted in the usage", async () => {
        const p = await s.printers.insert(A1);
        const job = await s.jobs.insert(p, "cube", "", NOW - HOUR);
        await s.jobs.close(job, NOW - 60_000, "finished");
        expect(await s.timelapses.jobOfPrinter(job, p)).toBe(job);
        expect(await s.timelapses.jobOfPrinter(job, 1)).toBeNull();
        expect(await s.timelapses.jobAround(p, NOW, 120_000)).toBe(job);
        expect(await s.timelapses.jobAround(p, NOW, 30_000)).toBeNull();
        const base = { printer_id: p, filename: "cube.mp4", filetype: "video/mp4", created_at: NOW };
        const t1 = await s.timelapses.insert({
          ...base,
          job_id: job,
          upload_id: "u1",
          size: 1000,
          path: "u1.part",
          metadata: "filename Y3ViZS5tcDQ=",
        });
        const t2 = await s.timelapses.insert({
          ...base,
          job_id: null,
          upload_id: "u2",
          size: 500,
          path: "u2.part",
          metadata: null,
          created_at: NOW + 1,
        });
        expect(await s.timelapses.byId(t2)).toEqual({
          ...base,
          id: t2,
          job_id: null,
          upload_id: "u2",
          size: 500,
          received: 0,
          path: "u2.part",
          created_at: NOW + 1,
          completed_at: null,
          metadata: null,
        });
        await expect(
          s.timelapses.insert({ ...base, job_id: null, upload_id: "u1", size: 1, path: "x", metadata: null }),
        ).rejects.toThrow();
        await s.timelapses.setReceived(t1, 400);
        expect((await s.timelapses.byUpload("u1"))?.received).toBe(400);
        expect(await s.timelapses.byUpload("nope")).toBeNull();
        expect(await s.timelapses.usage()).toEqual({ done: 0, pending: 1500 });
        expect(await s.jobs.timelapseOf(job)).toBeNull();
        await s.timelapses.complete(t1, NOW + 5, "u1.mp4");
        await s.timelapses.complete(t2, NOW + 6, "u2.mp4");
        expect(await s.jobs.timelapseOf(job)).toBe(t1);
        expect(await s.timelapses.usage()).toEqual({ done: 1500, pending: 0 });
        expect((await s.timelapses.ofPrinter(p)).map((t) => t.id)).toEqual([t2, t1]);
        expect((await s.timelapses.oldestDone()).map((t) => t.id)).toEqual([t1, t2]);
        expect(await s.timelapses.pending()).toEqual([]);
        await s.timelapses.deleteRow(t1);
        expect(await s.timelapses.byId(t1)).toBeNull();
      });
    });

    describe("notifications", () => {
      test("targets are added, found, marked ok and failed, and deleted with their deliveries", async () => {
        const t = await s.notify.addTarget("ntfy://example/room", true);
        expect(await s.notify.target(t)).toEqual({
          id: t,
          url: "ntfy://example/room",
          from_config: 1,
          created_at: NOW,
          failures: 0,
          last_ok_at: null,
          last_error: null,
        });
        expect((await s.notify.targetByUrl("ntfy://example/room"))?.id).toBe(t);
        expect(await s.notify.targetByUrl("nope")).toBeNull();
        await s.notify.targetFailed(t, "timeout");
        await s.notify.targetFailed(t, "refused");
        expect(await s.notify.target(t)).toMatchObject({ failures: 2, last_error: "refused" });
        await s.notify.targetOk(t);
        expect(await s.notify.target(t)).toMatchObject({ failures: 0, last_ok_at: NOW, last_error: null });
        const other = await s.notify.addTarget("https://hooks.example/x", false);
        expect((await s.notify.targets()).map((x) => x.id)).toEqual([t, other]);
        await s.notify.enqueue(t, "print_finished", "done");
        await s.notify.deleteTarget(t);
        expect(await s.notify.target(t)).toBeNull();
        expect(await s.notify.log(t)).toEqual([]);
      });

      test("deliveries are due in order, settled, and the log trimmed to 200 settled rows", async () => {
        const t = await s.notify.addTarget("ntfy://example/room", false);
        expect(await s.notify.nextDue()).toBeNull();
        const d1 = await s.notify.enqueue(t, "print_finished", "one");
        const d2 = await s.notify.enqueue(t, "print_failed", "two");
        expect(await s.notify.nextDue()).toBe(NOW);
        const due = await s.notify.due(NOW, 10);
        expect(due.map((d) => d.id)).toEqual([d1, d2]);
        expect(due[0]).toEqual({
          id: d1,
          target_id: t,
          event: "print_finished",
          message: "one",
          created_at: NOW,
          status: "pending",
          attempts: 0,
          next_at: NOW,
          done_at: null,
          last_error: null,
          claimed_by: null,
          claimed_until: null,
        });
        expect(await s.notify.due(NOW - 1, 10)).toEqual([]);
        await s.notify.settle({
          id: d1,
          status: "sent",
          attempts: 1,
          next_at: NOW,
          done_at: NOW + 3,
          last_error: null,
        });
        await s.notify.settle({
          id: d2,
          status: "pending",
          attempts: 1,
          next_at: NOW + 60_000,
          done_at: null,
          last_error: "503",
        });
        expect(await s.notify.nextDue()).toBe(NOW + 60_000);
        expect((await s.notify.log(t, 1))[0]).toMatchObject({ id: d2, last_error: "503", attempts: 1 });
        for (let i = 0; i < 205; i++) {
          const id = await s.notify.enqueue(t, "e", `m${i}`);
          await s.notify.settle({ id, status: "failed", attempts: 5, next_at: NOW, done_at: NOW, last_error: "x" });
        }
        await s.notify.trimLog(t);
        const log = await s.notify.log(t, 1000);
        expect(log.length).toBe(201);
        expect(log.some((d) => d.id === d2)).toBe(true);
        expect((await s.notify.log(t)).length).toBe(200);
      });

      test("due deliveries are claimed by one holder until the claim runs out or the delivery is settled", async () => {
        const t = await s.notify.addTarget("https://hooks.example/x", false);
        const d1 = await s.notify.enqueue(t, "print_finished", "one");
        const d2 = await s.notify.enqueue(t, "print_failed", "two");
        const mine = await s.notify.claimDue(NOW, 10, "a", NOW + 60_000);
        expect(mine.map((d) => [d.id, d.claimed_by, d.claimed_until])).toEqual([
          [d1, "a", NOW + 60_000],
          [d2, "a", NOW + 60_000],
        ]);
        expect(await s.notify.claimDue(NOW, 10, "b", NOW + 60_000)).toEqual([]);
        // The holder claims its own again, for longer.
        expect((await s.notify.claimDue(NOW, 10, "a", NOW + 90_000)).map((d) => d.claimed_until)).toEqual([
          NOW + 90_000,
          NOW + 90_000,
        ]);
        await s.notify.settle({
          id: d1,
          status: "pending",
          attempts: 1,
          next_at: NOW,
          done_at: null,
          last_error: "503",
        });
        expect((await s.notify.claimDue(NOW, 10, "b", NOW + 60_000)).map((d) => [d.id, d.claimed_by])).toEqual([
          [d1, "b"],
        ]);
        // d2's claim by "a" ran out (a died while sending): another holder may take it.
        expect((await s.notify.claimDue(NOW + 90_000, 10, "b", NOW + 120_000)).map((d) => d.id)).toEqual([d1, d2]);
        await s.notify.settle({ id: d2, status: "sent", attempts: 1, next_at: NOW, done_at: NOW, last_error: null });
        expect(await s.notify.log(t, 1)).toEqual([
          expect.objectContaining({ id: d2, status: "sent", claimed_by: null, claimed_until: null }),
        ]);
        expect(await s.notify.claimDue(NOW - 1, 10, "c", NOW)).toEqual([]);
      });

      test("a second subscribe of an endpoint replaces the first, and a key set again replaces its value", async () => {
        const uid = await s.users.insert("ann", "h", "admin");
        await s.notify.subscribe("https://push.example/1", "p1", "a1", uid);
        await s.notify.subscribe("https://push.example/2", "p2", "a2", uid);
        await s.notify.subscribe("https://push.example/1", "p1b", "a1b", uid);
        const subs = await s.notify.subscriptions();
        expect(subs.map((x) => [x.endpoint, x.p256dh, x.auth, x.user_id, x.created_at])).toEqual([
          ["https://push.example/1", "p1b", "a1b", uid, NOW],
          ["https://push.example/2", "p2", "a2", uid, NOW],
        ]);
        await s.notify.unsubscribe("https://push.example/1");
        expect((await s.notify.subscriptions()).length).toBe(1);
        expect(await s.notify.key("vapid")).toBeNull();
        await s.notify.setKey("vapid", "k1");
        await s.notify.setKey("vapid", "k2");
        expect(await s.notify.key("vapid")).toBe("k2");
        expect(await s.notify.keepKey("vapid", "k3")).toBe("k2");
        expect(await s.notify.keepKey("other", "o1")).toBe("o1");
        expect(await s.notify.key("other")).toBe("o1");
      });
    });

    describe("statistics and print timelines", () => {
      test("closing a print adds it once to its month, errors and room band; deleting the printer removes them", async () => {
        const start = Date.UTC(2026, 2, 15, 12);
        const a = await s.jobs.insert(1, "a", "a.3mf", start);
        const job = (await s.jobs.byId(a))!;
        job.errors = JSON.stringify([{ code: "0300_4000", kind: "print_error" }]);
        job.paused_ms = 600_000;
        await s.jobs.update(job);
        Object.assign(job, { temp_min: 23, temp_max: 25, temp_sum: 48, hum_min: 70, hum_max: 76, hum_sum: 146 });
        Object.assign(job, { readings: 2, weather_points: "[]" });
        await s.jobs.saveWeather(job);
        await s.jobs.close(a, start + HOUR, "failed");
        await s.jobs.close(a, start + 2 * HOUR, "failed");
        const b = await s.jobs.insert(2, "b", "b.3mf", start + HOUR);
        await s.jobs.close(b, start + 3 * HOUR, "finished");
        const range = { from: "2026-01", to: "2026-12", printerId: 0 };
        expect(await s.stats.months(range)).toEqual([
          { printer_id: 1, month: "2026-03", prints: 1, finished: 0, failed: 1, cancelled: 0, print_ms: 3_000_000 },
          { printer_id: 2, month: "2026-03", prints: 1, finished: 1, failed: 0, cancelled: 0, print_ms: 2 * HOUR },
        ]);
        expect(await s.stats.months({ ...range, to: "2026-02" })).toEqual([]);
        expect(await s.stats.errors(range, 10)).toEqual([{ kind: "print_error", code: "0300_4000", count: 1 }]);
        expect(await s.stats.room("humidity", 0, "")).toEqual([{ band: 70, prints: 1, failed: 1 }]);
        expect(await s.stats.room("temperature", 1, "")).toEqual([{ band: 24, prints: 1, failed: 1 }]);
        expect(await s.stats.room("humidity", 2, "")).toEqual([]);
        await s.stats.addJob((await s.jobs.byId(b))!);
        expect((await s.stats.months({ ...range, printerId: 2 }))[0]?.prints).toBe(2);
        await s.stats.deleteOfPrinter(1);
        expect((await s.stats.months(range)).map((m) => m.printer_id)).toEqual([2]);
        expect(await s.stats.errors(range, 10)).toEqual([]);
        expect(await s.stats.room("humidity", 0, "")).toEqual([]);
      });

      test("closing a print adds its filaments (grams from its library plate) and its main filament's room band", async () => {
        const start = Date.UTC(2026, 3, 10, 12);
        const plate = {
          plate: 1,
          name: "Plate 1",
          estimate_s: 60,
          model: "A1",
          nozzle_mm: 0.4,
          filaments_json:
            '[{"type":"PLA","color":"#FFFFFF","grams":10.5},{"type":"PETG","color":"#00FF00","grams":2.25}]',
          objects_json: "[]",
          thumbnail: 0,
        };
        const file = { name: "A.gcode.3mf", size: 1, sha256: "x", tags: ",", uploaded_by: "op", created_at: NOW };
        const fileId = await s.library.insert(file, [plate]);
        const sent = await s.jobs.insert(1, "A", "A.gcode.3mf", start);
        await s.jobs.addFilament({
          job_id: sent,
          tray: 3,
          type: "PLA",
          color: "000000FF",
          brand: null,
          first_used_at: 1,
        });
        const sendId = await s.sends.insert({
          printer_id: 1,
          file_id: fileId,
          plate: 1,
          options_json: '{"ams_mapping":[3,-1]}',
          remote_name: "A.gcode.3mf",
          username: "op",
          created_at: NOW,
        });
        await s.sends.update(sendId, { status: "started", progress: 1, reason: null, error: null, job_id: sent });
        const job = (await s.jobs.byId(sent))!;
        Object.assign(job, { temp_min: 20, temp_max: 20, temp_sum: 40, hum_min: 45, hum_max: 45, hum_sum: 90 });
        Object.assign(job, { readings: 2, weather_points: "[]" });
        await s.jobs.saveWeather(job);
        await s.jobs.close(sent, start + HOUR, "failed");
        const seen = await s.jobs.insert(2, "B", "B.3mf", start);
        await s.jobs.addFilament({
          job_id: seen,
          tray: 0,
          type: "PETG",
          color: "00FF00FF",
          brand: null,
          first_used_at: 1,
        });
        await s.jobs.close(seen, start + HOUR, "finished");
        expect(await s.stats.filamentFacts(sent)).toEqual({
          trays: [{ tray: 3, type: "PLA", color: "000000FF" }],
          plate: {
            filaments: [
              { type: "PLA", color: "#FFFFFF", grams: 10.5 },
              { type: "PETG", color: "#00FF00", grams: 2.25 },
            ],
            ams_mapping: [3, -1],
          },
        });
        const range = { from: "2026-01", to: "2026-12", printerId: 0 };
        // Tray 3 (black PLA, as the AMS said) for plate filament 0; plate filament 1 unmapped: as the slicer said.
        expect(await s.stats.filaments(range)).toEqual([
          { type: "PLA", color: "#000000", prints: 1, grams: 10.5, grams_prints: 1 },
          { type: "PETG", color: "#00FF00", prints: 2, grams: 2.25, grams_prints: 1 },
        ]);
        expect(await s.stats.filaments({ ...range, printerId: 2 })).toEqual([
          { type: "PETG", color: "#00FF00", prints: 1, grams: 0, grams_prints: 0 },
        ]);
        expect(await s.stats.room("humidity", 0, "PLA")).toEqual([{ band: 40, prints: 1, failed: 1 }]);
        expect(await s.stats.room("humidity", 0, "PETG")).toEqual([]);
        await s.stats.deleteOfPrinter(1);
        expect((await s.stats.filaments(range)).map((f) => f.prints)).toEqual([1]);
      });

      test("Spoolman: a tray's link replaces the last one; a job's use per tray is kept once until reported", async () => {
        await s.spoolman.link({
          printer_id: 1,
          tray: 2,
          spool_id: 5,
          spool_grams: null,
          linked_by: "op",
          linked_at: NOW,
        });
        await s.spoolman.link({
          printer_id: 1,
          tray: 2,
          spool_id: 9,
          spool_grams: 1000,
          linked_by: "admin",
          linked_at: NOW + 1,
        });
        await s.spoolman.link({
          printer_id: 1,
          tray: 254,
          spool_id: 3,
          spool_grams: 750.5,
          linked_by: "op",
          linked_at: NOW,
        });
        expect((await s.spoolman.links(1)).map((l) => [l.tray, l.spool_id, l.linked_by])).toEqual([
          [2, 9, "admin"],
          [254, 3, "op"],
        ]);
        await s.spoolman.unlink(1, 254);
        expect((await s.spoolman.links(1)).map((l) => l.tray)).toEqual([2]);
        const job = await s.jobs.insert(1, "a", "a.3mf", NOW);
        const use = { job_id: job, printer_id: 1, tray: 2, spool_id: 9, grams: 4.5, source: "plate" as const };
        const id = await s.spoolman.addUse({ ...use, created_at: NOW });
        expect(id).toBeNumber();
        expect(await s.spoolman.addUse({ ...use, grams: 99, created_at: NOW })).toBeNull();
        await s.spoolman.failed(id!, "Spoolman answered 500");
        expect(await s.spoolman.pending(10)).toMatchObject([
          { id, grams: 4.5, attempts: 1, last_error: "Spoolman answered 500" },
        ]);
        await s.spoolman.reported(id!, NOW + 5);
        expect(await s.spoolman.pending(10)).toEqual([]);
        expect(await s.spoolman.ofJob(job)).toMatchObject([{ reported_at: NOW + 5, attempts: 2, last_error: null }]);
      });

      test("a print's events come back in time order", async () => {
        const job = await s.jobs.insert(1, "a", "a.3mf", NOW);
        await s.jobEvents.add(job, NOW + 20, "resume", "{}");
        await s.jobEvents.add(job, NOW + 10, "pause", '{"layer":3}');
        const other = await s.jobs.insert(1, "b", "b.3mf", NOW);
        await s.jobEvents.add(other, NOW, "state", "{}");
        expect((await s.jobEvents.of(job)).map((e) => [e.at, e.kind, e.detail])).toEqual([
          [NOW + 10, "pause", '{"layer":3}'],
          [NOW + 20, "resume", "{}"],
        ]);
      });
    });

    describe("API tokens", () => {
      test("a token is found by hash with its user until revoked by that user; touched; listed per user", async () => {
        const ann = await s.users.insert("ann", "h", "operator");
        const bob = await s.users.insert("bob", "h", "viewer");
        const a = await s.apiTokens.insert(ann, "script", "hash-a", NOW);
        const b = await s.apiTokens.insert(ann, "other", "hash-b", NOW + 1);
        await s.apiTokens.insert(bob, "bob's", "hash-c", NOW);
        const found = await s.apiTokens.byHash("hash-a");
        expect(found).toEqual({
          token: {
            id: a,
            user_id: ann,
            name: "script",
            token_hash: "hash-a",
            created_at: NOW,
            last_used_at: null,
            revoked_at: null,
          },
          user: { id: ann, username: "ann", password_hash: "h", role: "operator", created_at: NOW },
        });
        expect(await s.apiTokens.byHash("nope")).toBeNull();
        await s.apiTokens.touch(a, NOW + 5);
        expect((await s.apiTokens.ofUser(ann)).map((t) => [t.id, t.last_used_at])).toEqual([
          [b, null],
          [a, NOW + 5],
        ]);
        expect(await s.apiTokens.revoke(a, bob, NOW + 6)).toBe(false);
        expect(await s.apiTokens.revoke(a, ann, NOW + 6)).toBe(true);
        expect(await s.apiTokens.revoke(a, ann, NOW + 7)).toBe(false);
        expect(await s.apiTokens.byHash("hash-a")).toBeNull();
        expect((await s.apiTokens.ofUser(ann)).map((t) => t.id)).toEqual([b]);
        await s.users.delete(bob);
        expect(await s.apiTokens.byHash("hash-c")).toBeNull();
      });
    });

    describe("share links", () => {
      test("a link is found by its hash, listed with its print's or printer's name, opened, and revoked once", async () => {
        const job = await s.jobs.insert(1, "benchy", "benchy.3mf", NOW);
        const base = { job_id: job, printer_id: null, created_by: "ann", created_at: NOW, expires_at: NOW + HOUR };
        const a = await s.shares.insert({ ...base, token_hash: "hash-a" });
        const b = await s.shares.insert({ ...base, token_hash: "hash-b", job_id: 999 });
        const c = await s.shares.insert({ ...base, token_hash: "hash-c", job_id: null, printer_id: 1 });
        expect(await s.shares.byHash("hash-a")).toEqual({
          id: a,
          token_hash: "hash-a",
          ...base,
          revoked_at: null,
          opened: 0,
          last_opened_at: null,
        });
        expect(await s.shares.byHash("nope")).toBeNull();
        await s.shares.recordOpen(a, NOW + 1, "10.0.0.1");
        await s.shares.recordOpen(a, NOW + 2, "10.0.0.2");
        const list = await s.shares.list(NOW, 10);
        const printer = (await s.printers.byId(1))!.name;
        expect(list.map((r) => [r.id, r.job_name, r.printer_name, r.opened, r.last_opened_at])).toEqual([
          [c, null, printer, 0, null],
          [b, null, null, 0, null],
          [a, "benchy", null, 2, NOW + 2],
        ]);
        expect((await s.shares.opens(a, 10)).map((o) => o.address)).toEqual(["10.0.0.2", "10.0.0.1"]);
        expect(await s.shares.revoke(a, NOW + 3)).toBe(true);
        expect(await s.shares.revoke(a, NOW + 4)).toBe(false);
        expect((await s.shares.byHash("hash-a"))?.revoked_at).toBe(NOW + 3);
      });

      test("a link keeps only its newest opens, and the count keeps them all", async () => {
        const job = await s.jobs.insert(1, "benchy", "benchy.3mf", NOW);
        const id = await s.shares.insert({
          token_hash: "h",
          job_id: job,
          printer_id: null,
          created_by: "ann",
          created_at: NOW,
          expires_at: NOW + HOUR,
        });
        for (let i = 0; i < 55; i++) await s.shares.recordOpen(id, NOW + i, `a${i}`);
        const opens = await s.shares.opens(id, 100);
        expect(opens.length).toBe(50);
        expect(opens[0]?.address).toBe("a54");
        expect((await s.shares.byHash("h"))?.opened).toBe(55);
      });

      test("deleting a printer deletes the links to it and to its prints, and no other link", async () => {
        const p = await s.printers.insert(A1);
        const job = await s.jobs.insert(p, "cube", "cube.3mf", NOW);
        const otherJob = await s.jobs.insert(1, "benchy", "benchy.3mf", NOW);
        const base = { created_by: "ann", created_at: NOW, expires_at: NOW + HOUR };
        await s.shares.insert({ ...base, token_hash: "p", job_id: null, printer_id: p });
        const toJob = await s.shares.insert({ ...base, token_hash: "j", job_id: job, printer_id: null });
        const kept = await s.shares.insert({ ...base, token_hash: "k", job_id: otherJob, printer_id: null });
        const keptPrinter = await s.shares.insert({ ...base, token_hash: "k1", job_id: null, printer_id: 1 });
        await s.shares.recordOpen(toJob, NOW + 1, "10.0.0.1");
        await s.printers.delete(p);
        expect(await s.shares.byHash("p")).toBeNull();
        expect(await s.shares.byHash("j")).toBeNull();
        expect(await s.shares.opens(toJob, 10)).toEqual([]);
        expect((await s.shares.list(NOW, 10)).map((r) => r.id)).toEqual([keptPrinter, kept]);
        // The family's own delete, as printers.delete runs it: only printer 1's links and its prints' go.
        await s.shares.deleteOfPrinter(1);
        expect(await s.shares.list(NOW, 10)).toEqual([]);
      });

      test("the list has every live link however old, and only the newest ended ones", async () => {
        const base = { job_id: null, printer_id: 1, created_by: "ann", created_at: NOW };
        const oldLive = await s.shares.insert({ ...base, token_hash: "live-old", expires_at: NOW + HOUR });
        let revoked = 0;
        for (let i = 0; i < 3; i++) {
          revoked = await s.shares.insert({ ...base, token_hash: `revoked-${i}`, expires_at: NOW + HOUR });
          await s.shares.revoke(revoked, NOW);
        }
        const expired = await s.shares.insert({ ...base, token_hash: "expired", expires_at: NOW });
        const newLive = await s.shares.insert({ ...base, token_hash: "live-new", expires_at: NOW + 1 });
        expect((await s.shares.list(NOW, 2)).map((r) => r.id)).toEqual([newLive, expired, revoked, oldLive]);
        expect((await s.shares.list(NOW, 0)).map((r) => r.id)).toEqual([newLive, oldLive]);
        // An hour on, every one has ended: only the newest two are listed.
        expect((await s.shares.list(NOW + HOUR, 2)).map((r) => r.id)).toEqual([newLive, expired]);
      });
    });

    describe("leases", () => {
      test("a lease is taken when free, renewed by its holder, refused to another, and taken over when expired", async () => {
        // Instants are the database's clock on PostgreSQL and the (frozen) process clock on SQLite: the rows are
        // checked here on each engine, not compared between them.
        uncompared = true;
        const first = await s.leases.claim("printer:1", "a", 10_000);
        expect(first).toMatchObject({ name: "printer:1", holder: "a", epoch: 1 });
        const renewed = await s.leases.claim("printer:1", "a", 10_000);
        expect(renewed).toMatchObject({ holder: "a", epoch: 1 });
        expect(renewed.expires_at).toBeGreaterThanOrEqual(first.expires_at);
        expect(await s.leases.claim("printer:1", "b", 10_000)).toMatchObject({ holder: "a", epoch: 1 });
        expect((await s.leases.live("printer:")).map((l) => [l.name, l.holder])).toEqual([["printer:1", "a"]]);
        // A lease given for no time has run out at once: another takes it over, and the epoch fences the old holder.
        await s.leases.claim("printer:1", "a", 0);
        expect(await s.leases.live("printer:")).toEqual([]);
        expect(await s.leases.claim("printer:1", "b", 10_000)).toMatchObject({ holder: "b", epoch: 2 });
        expect(await s.leases.claim("printer:1", "a", 10_000)).toMatchObject({ holder: "b", epoch: 2 });
        await s.leases.claim("housekeeping", "a", 10_000);
        expect((await s.leases.live("printer:")).map((l) => l.name)).toEqual(["printer:1"]);
        expect((await s.leases.live("")).map((l) => l.name)).toEqual(["housekeeping", "printer:1"]);
      });

      test("a lease released by its holder is free at once; another's release changes nothing", async () => {
        uncompared = true;
        await s.leases.claim("housekeeping", "a", 10_000);
        await s.leases.release("housekeeping", "b");
        expect((await s.leases.live("house")).map((l) => l.holder)).toEqual(["a"]);
        await s.leases.release("housekeeping", "a");
        expect(await s.leases.live("house")).toEqual([]);
        expect(await s.leases.claim("housekeeping", "b", 10_000)).toMatchObject({ holder: "b", epoch: 2 });
      });
    });

    describe("figures", () => {
      test("jobs are counted per printer and outcome, deliveries per target and status, devices per printer", async () => {
        const p = await s.printers.insert(A1);
        const a = await s.jobs.insert(1, "cube", "cube.3mf", NOW);
        await s.jobs.close(a, NOW + 1, "finished");
        await s.jobs.insert(1, "vase", "vase.3mf", NOW + 2);
        const b = await s.jobs.insert(p, "benchy", "benchy.3mf", NOW);
        await s.jobs.close(b, NOW + 1, "failed");
        expect(await s.figures.jobCounts()).toEqual([
          { printer_id: 1, outcome: "finished", n: 1 },
          { printer_id: 1, outcome: "running", n: 1 },
          { printer_id: p, outcome: "failed", n: 1 },
        ]);
        const target = await s.notify.addTarget("ntfy://ntfy.example/topic", false);
        const d1 = await s.notify.enqueue(target, "job_finished", "{}");
        await s.notify.enqueue(target, "job_failed", "{}");
        await s.notify.settle({ id: d1, status: "sent", attempts: 1, next_at: NOW, done_at: NOW, last_error: null });
        expect(await s.figures.deliveryCounts()).toEqual([
          { target_id: target, status: "pending", n: 1 },
          { target_id: target, status: "sent", n: 1 },
        ]);
        await s.devices.loginDevice(p);
        expect(await s.figures.deviceCounts()).toEqual([
          { printer_id: 1, n: 1 },
          { printer_id: p, n: 1 },
        ]);
      });

      test("the database's size is a positive number of bytes", async () => {
        // SQLite counts the file's pages, PostgreSQL the whole database: the numbers differ by engine.
        uncompared = true;
        const bytes = await s.figures.databaseBytes();
        expect(Number.isInteger(bytes) && bytes > 0).toBe(true);
      });
    });

    describe("export pages", () => {
      test("readings page by (time, id): rows sharing an instant are split across pages without loss or repeat", async () => {
        const dev = await s.devices.loginDevice(2);
        const p = await s.printers.insert(A1);
        expect(p).toBe(2);
        for (const [at, t] of [
          [NOW, 1],
          [NOW, 2],
          [NOW, 3],
          [NOW + 1, 4],
          [NOW + 2, 5],
        ] as const)
          await s.readings.insert(p, dev, at, t, 40);
        await s.readings.insert(p, 1, NOW + 1, 99, 40);
        await s.readings.insert(1, 1, NOW, 50, 40);
        const seen: number[] = [];
        let after: { at: number; id: number } | null = null;
        for (let i = 0; i < 10; i++) {
          const page = await s.exports.readingPage({
            printerId: p,
            deviceId: dev,
            from: NOW,
            to: NOW + 3,
            after,
            limit: 2,
          });
          seen.push(...page.map((r) => r.temperature));
          if (page.length < 2) break;
          const last = page.at(-1)!;
          after = { at: last.recorded_at, id: last.id };
        }
        expect(seen).toEqual([1, 2, 3, 4, 5]);
        const all = await s.exports.readingPage({
          printerId: p,
          deviceId: 0,
          from: NOW + 1,
          to: NOW + 2,
          after: null,
          limit: 10,
        });
        expect(all.map((r) => [r.temperature, r.device])).toEqual([
          [4, "login device of printer 2"],
          [99, "printer"],
        ]);
      });

      test("prints page by id, oldest first, in a range of start times, of one printer or all", async () => {
        const p = await s.printers.insert(A1);
        const ids = [
          await s.jobs.insert(1, "a", "a.3mf", NOW),
          await s.jobs.insert(p, "b", "b.3mf", NOW + 1),
          await s.jobs.insert(1, "c", "c.3mf", NOW + 2),
          await s.jobs.insert(1, "d", "d.3mf", NOW + 10),
        ];
        const first = await s.exports.jobPage({ printerId: 0, from: NOW, to: NOW + 5, afterId: 0, limit: 2 });
        expect(first.map((j) => j.name)).toEqual(["a", "b"]);
        const next = await s.exports.jobPage({ printerId: 0, from: NOW, to: NOW + 5, afterId: ids[1]!, limit: 2 });
        expect(next.map((j) => j.name)).toEqual(["c"]);
        const one = await s.exports.jobPage({ printerId: 1, from: 0, to: NOW + 100, afterId: 0, limit: 10 });
        expect(one.map((j) => j.name)).toEqual(["a", "c", "d"]);
      });
    });

    describe("write queue", () => {
      test("a waiting write rides with the next batch; one of the same key replaces it, and cancel drops it", async () => {
        const row = await s.readings.insert(1, 1, NOW, 20, 40);
        const first = writes.later("w", 60_000, "statuses", "record", 1, 1, NOW, "first");
        const second = writes.later("w", 60_000, "statuses", "record", 1, 1, NOW + 1, "second");
        const dropped = writes.later("gone", 60_000, "statuses", "record", 1, 1, NOW + 2, "dropped");
        writes.cancel("gone");
        await Promise.all([first, dropped]);
        expect(await s.statuses.latest(1)).toBeNull();
        await writes.run("readings", "deleteOfPrinter", 1);
        await second;
        expect((await s.statuses.latest(1))?.status).toBe("second");
        expect(await s.readings.latest(1)).toBeNull();
        expect(row).toBeGreaterThan(0);
      });

      test("writes queued in one tick commit together, each answered with its method's result", async () => {
        const pending = [
          writes.run("readings", "insert", 1, 1, NOW, 20, 40),
          writes.run("statuses", "record", 1, 1, NOW, "printing"),
          writes.run("frames", "insert", 1, 1, NOW, "image/jpeg", jpeg(1), 3, "device"),
          writes.run("readings", "insert", 1, 1, NOW + 1, 21, 41),
        ];
        const [r1, status, frame, r2] = await Promise.all(pending);
        expect(r2).toBe((r1 as number) + 1);
        expect(status).toMatchObject({ printer_id: 1, status: "printing", last_seen_at: NOW });
        expect((await s.frames.latest(1))?.id).toBe(frame as number);
        expect(await s.readings.stamp(1, 0, NOW + HOUR)).toBe(`2-${r2}`);
        expect((await s.readings.summaries(1, "hour", 0, NOW + HOUR))[0]?.count).toBe(2);
        if (f.sql) {
          // Rows written by one transaction share its id (xmin): the four writes were one transaction.
          const [tx] = await f.sql`SELECT count(DISTINCT x)::int4 AS n FROM (
              SELECT xmin::text AS x FROM readings UNION ALL SELECT xmin::text FROM statuses
              UNION ALL SELECT xmin::text FROM frames UNION ALL SELECT xmin::text FROM printer_summaries) t`;
          expect(tx.n).toBe(1);
        }
      });

      test("a failing write in a batch rejects alone; its neighbours still commit", async () => {
        // The batch's first try used up ids on PostgreSQL (sequences are not rolled back): ids differ by engine.
        uncompared = true;
        await s.users.insert("ann", "h", "admin");
        const results = await Promise.allSettled([
          writes.run("readings", "insert", 1, 1, NOW, 20, 40),
          writes.run("users", "insert", "ann", "h", "viewer"),
          writes.run("readings", "insert", 1, 1, NOW + 1, 21, 41),
        ]);
        expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
        expect((await s.readings.between(1, 0, NOW + 2)).map((r) => r.temperature)).toEqual([20, 21]);
        expect((await s.users.list()).length).toBe(1);
      });

      test("writes queued after a flush form the next batch, one transaction, committed after the first", async () => {
        const first = writes.run("readings", "insert", 1, 1, NOW, 20, 40);
        await writes.flush();
        const second = writes.run("readings", "insert", 1, 1, NOW + 1, 21, 41);
        const status = writes.run("statuses", "record", 1, 1, NOW + 1, "idle");
        const third = writes.run("readings", "insert", 1, 1, NOW + 2, 22, 42);
        const ids = [await first, await second, await third];
        expect((await status).status).toBe("idle");
        expect((await s.readings.between(1, 0, NOW + 3)).map((r) => r.id)).toEqual(ids);
        if (f.sql) {
          const rows = await f.sql`SELECT xmin::text AS x FROM readings ORDER BY id`;
          expect(rows[0].x).not.toBe(rows[1].x);
          expect(rows[1].x).toBe(rows[2].x);
        }
      });

      test("flush commits what is queued at once", async () => {
        const p = writes.run("eventLog", "append", "warn", "flushed", "{}", 10);
        await writes.flush();
        expect((await s.eventLog.recent(1))[0]?.message).toBe("flushed");
        await p;
      });

      test("a printer delete can be queued like any write", async () => {
        const p = await s.printers.insert(A1);
        await s.readings.insert(p, 1, NOW, 20, 40);
        // Not the highest id that goes: SQLite (no AUTOINCREMENT) would hand it out again, PostgreSQL never does.
        await s.readings.insert(1, 1, NOW, 21, 41);
        await Promise.all([writes.run("printers", "delete", p), writes.run("readings", "insert", 1, 1, NOW, 1, 1)]);
        expect(await s.printers.byId(p)).toBeNull();
        expect((await s.printers.data(1)).readings).toBe(2);
      });
    });

    test("library files keep their plates, are found by name and whole tag, and take their plates when deleted", async () => {
      const file = {
        name: "Cube_100%.gcode.3mf",
        size: 2749,
        sha256: "ab",
        tags: ",",
        uploaded_by: "admin",
        created_at: NOW,
      };
      const a = await s.library.insert(file, [
        LIBRARY_PLATE_ROW,
        { ...LIBRARY_PLATE_ROW, plate: 2, estimate_s: null, model: null, nozzle_mm: null },
      ]);
      const b = await s.library.insert({ ...file, name: "Hook.gcode.3mf" }, []);
      await s.library.setTags(b, ",spares,hooks,");
      expect((await s.library.plates(a)).map((p) => [p.plate, p.estimate_s, p.nozzle_mm])).toEqual([
        [1, 2712, 0.4],
        [2, null, null],
      ]);
      expect((await s.library.search({ text: "cube", tag: "", limit: 10 })).map((r) => r.id)).toEqual([a]);
      // LIKE's own characters are taken literally.
      expect((await s.library.search({ text: "_100%", tag: "", limit: 10 })).map((r) => r.id)).toEqual([a]);
      expect((await s.library.search({ text: "x%", tag: "", limit: 10 })).map((r) => r.id)).toEqual([]);
      expect((await s.library.search({ text: "", tag: "hooks", limit: 10 })).map((r) => r.id)).toEqual([b]);
      expect((await s.library.search({ text: "", tag: "hook", limit: 10 })).map((r) => r.id)).toEqual([]);
      expect((await s.library.search({ text: "", tag: "", limit: 10 })).map((r) => r.id)).toEqual([b, a]);
      await s.library.delete(a);
      expect(await s.library.byId(a)).toBeNull();
      expect(await s.library.plates(a)).toEqual([]);
    });

    test("a send records its progress and outcome, is found by its job, and unfinished ones are listed", async () => {
      const file = { name: "A.gcode.3mf", size: 1, sha256: "x", tags: ",", uploaded_by: "admin", created_at: NOW };
      const fileId = await s.library.insert(file, []);
      const job = await s.jobs.insert(1, "A", "A.gcode.3mf", NOW);
      const base = {
        printer_id: 1,
        file_id: fileId,
        plate: 1,
        options_json: "{}",
        remote_name: "A.gcode.3mf",
        username: "op",
        created_at: NOW,
      };
      const one = await s.sends.insert(base);
      const two = await s.sends.insert(base);
      expect((await s.sends.unfinished()).map((r) => r.id)).toEqual([one, two]);
      await s.sends.update(one, { status: "started", progress: 1, reason: null, error: null, job_id: job });
      await s.sends.update(two, {
        status: "failed",
        progress: 0.5,
        reason: "upload_refused",
        error: "553",
        job_id: null,
      });
      expect(await s.sends.byId(one)).toMatchObject({
        status: "started",
        progress: 1,
        job_id: job,
        task_id: one,
      });
      expect((await s.sends.ofJob(job))?.id).toBe(one);
      expect(await s.sends.unfinished()).toEqual([]);
      // The file may go; the send's record stays.
      await s.library.delete(fileId);
      expect((await s.sends.byId(two))?.file_id).toBeNull();
    });

    test("queue items keep their order, move, are claimed once, and plates wait until cleared", async () => {
      const fileId = await s.library.insert(
        { name: "Q.gcode.3mf", size: 1, sha256: "q", tags: ",", uploaded_by: "op", created_at: NOW },
        [],
      );
      const item = { file_id: fileId, plate: 1, options_json: "{}", username: "op", created_at: NOW };
      const a = await s.queue.insert({ ...item, printer_id: 1, rule_json: null });
      const b = await s.queue.insert({ ...item, printer_id: null, rule_json: '{"model":"A1"}' });
      const c = await s.queue.insert({ ...item, printer_id: 1, rule_json: null });
      expect((await s.queue.list()).map((r) => [r.id, r.position])).toEqual([
        [a, 1],
        [b, 2],
        [c, 3],
      ]);
      await s.queue.move(c, 0);
      expect((await s.queue.list()).map((r) => r.id)).toEqual([c, a, b]);
      expect(await s.queue.claim(a, 1)).toBe(true);
      expect(await s.queue.claim(a, 1)).toBe(false);
      await s.queue.setSend(a, 9);
      await s.queue.setStatus(b, "failed", "no printer");
      expect(await s.queue.byId(a)).toMatchObject({ status: "sending", assigned_printer: 1, send_id: 9 });
      expect(await s.queue.byId(b)).toMatchObject({ status: "failed", error: "no printer" });
      await s.queue.plateDirty(1, NOW);
      await s.queue.plateDirty(1, NOW + 1);
      expect(await s.queue.dirtyPlates()).toEqual([{ printer_id: 1, since: NOW }]);
      await s.queue.plateCleared(1);
      expect(await s.queue.dirtyPlates()).toEqual([]);
      await s.queue.delete(c);
      expect(await s.queue.byId(c)).toBeNull();
    });

    test("all of a user's live tokens are revoked at once, and counted; other users' are kept", async () => {
      const ann = await s.users.insert("ann", "h", "operator");
      const bob = await s.users.insert("bob", "h", "viewer");
      const gone = await s.apiTokens.insert(ann, "old", "hash-a", NOW);
      await s.apiTokens.revoke(gone, ann, NOW + 1);
      await s.apiTokens.insert(ann, "script", "hash-b", NOW);
      await s.apiTokens.insert(ann, "other", "hash-c", NOW);
      await s.apiTokens.insert(bob, "bob's", "hash-d", NOW);
      expect(await s.apiTokens.revokeAllOfUser(ann, NOW + 2)).toBe(2);
      expect(await s.apiTokens.ofUser(ann)).toEqual([]);
      expect(await s.apiTokens.byHash("hash-b")).toBeNull();
      expect(await s.apiTokens.revokeAllOfUser(ann, NOW + 3)).toBe(0);
      expect((await s.apiTokens.ofUser(bob)).map((t) => t.name)).toEqual(["bob's"]);
    });

    test("Spoolman: a use refused for good is no longer pending, is listed, and is pending again once retried", async () => {
      const job = await s.jobs.insert(1, "a", "a.3mf", NOW);
      const use = { job_id: job, printer_id: 1, spool_id: 9, grams: 4.5, source: "plate" as const, created_at: NOW };
      const a = (await s.spoolman.addUse({ ...use, tray: 0 }))!;
      const b = (await s.spoolman.addUse({ ...use, tray: 1 }))!;
      const c = (await s.spoolman.addUse({ ...use, tray: 2 }))!;
      await s.spoolman.refused(a, "Spoolman answered 404: No spool with ID 9 found.", NOW + 1);
      await s.spoolman.refused(c, "Spoolman answered 400: bad", NOW + 2);
      expect((await s.spoolman.pending(10)).map((u) => u.id)).toEqual([b]);
      expect(await s.spoolman.refusedUses(10)).toMatchObject([
        { id: c, refused_at: NOW + 2, attempts: 1, last_error: "Spoolman answered 400: bad" },
        { id: a, refused_at: NOW + 1, attempts: 1, last_error: "Spoolman answered 404: No spool with ID 9 found." },
      ]);
      expect(await s.spoolman.retry(b)).toBeNull();
      expect(await s.spoolman.retry(a)).toMatchObject({ id: a, refused_at: null, attempts: 1 });
      expect(await s.spoolman.retry(a)).toBeNull();
      expect((await s.spoolman.pending(10)).map((u) => u.id)).toEqual([a, b]);
      expect((await s.spoolman.refusedUses(10)).map((u) => u.id)).toEqual([c]);
      await s.spoolman.reported(a, NOW + 3);
      expect(await s.spoolman.retry(a)).toBeNull();
    });

    test("the store answers while open, and says so", async () => {
      expect(await s.healthy()).toBe(true);
      expect(s.engine).toBe(engine);
    });

    test("a closed store is no longer healthy", async () => {
      await s.close();
      expect(await s.healthy()).toBe(false);
    });
  });
}

/** Makes deleting a printer's own row fail, after its other rows were deleted in the same transaction. */
async function breakPrinterDelete(f: Fresh): Promise<void> {
  if (f.raw) {
    f.raw.db.run(
      "CREATE TRIGGER keep_printers BEFORE DELETE ON printers BEGIN SELECT RAISE(ABORT, 'printers are kept'); END",
    );
    return;
  }
  await f.sql!.unsafe(`CREATE FUNCTION keep_printers() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'printers are kept'; END $$`);
  await f.sql!.unsafe(
    "CREATE TRIGGER keep_printers BEFORE DELETE ON printers FOR EACH ROW EXECUTE FUNCTION keep_printers()",
  );
}

describe("both engines", () => {
  test("the PostgreSQL store has exactly the SQLite store's families and methods", async () => {
    const raw = createStore(openDatabase(":memory:", { zone: ZONE, log: createLogger({ quiet: true }) }), {
      zone: ZONE,
    });
    const { db: _db, ...sqliteFamilies } = raw;
    const sql = openPostgres(pg.url, { max: 1 });
    const pgStore = createPgStore(sql, { zone: ZONE });
    const { engine: _e, ...pgFamilies } = pgStore;
    expect(methodPaths(pgFamilies)).toEqual(methodPaths(sqliteFamilies));
    const { engine: _s, ...asyncFamilies } = asyncSqliteStore(raw);
    expect(methodPaths(asyncFamilies)).toEqual(methodPaths(sqliteFamilies));
    raw.close();
    await sql.close();
  });

  test("every method of every family was called on both engines", () => {
    const raw = createStore(openDatabase(":memory:", { zone: ZONE, log: createLogger({ quiet: true }) }), {
      zone: ZONE,
    });
    const { db: _db, ...families } = raw;
    const all = methodPaths(families).map(canonical);
    raw.close();
    for (const engine of ENGINES) {
      const called = new Set(calls[engine].map((c) => canonical(c.path)));
      expect({ engine, missing: all.filter((p) => !called.has(p)) }).toEqual({ engine, missing: [] });
    }
  });

  test("both engines gave the same answers to the same calls", () => {
    expect(calls.postgres.length).toBe(calls.sqlite.length);
    expect(calls.sqlite.length).toBeGreaterThan(300);
    for (const [i, call] of calls.sqlite.entries()) {
      const other = calls.postgres[i]!;
      expect(other.path).toBe(call.path);
      if (call.uncompared) continue;
      expect({ i, ...other }).toEqual({ i, ...call });
    }
  });
});

// Each PostgreSQL case opens its own pool: closed after its test, or the cases together outgrow max_connections.
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
