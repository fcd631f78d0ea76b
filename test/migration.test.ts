// Upgrades in place: the old server's database (test/fixtures/make_legacy_db.py) and one from the release before
// printers (schema 3) lose no row, keep their users' passwords and open again unchanged.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { getPage, login, startApp, type TestApp, tempDir } from "./helpers.ts";
import { requirePython } from "./python.ts";

type Summary = {
  users: Record<string, string>;
  readings: number;
  statuses: number;
  images: number;
  first_reading: string;
};
let app: TestApp;
let summary: Summary;
let dir: string;

beforeAll(async () => {
  requirePython(["werkzeug"]);
  dir = tempDir();
  const made = Bun.spawnSync([
    "/usr/bin/python3",
    join(import.meta.dir, "fixtures/make_legacy_db.py"),
    join(dir, "app.db"),
  ]);
  if (made.exitCode !== 0) throw new Error(made.stderr.toString());
  summary = JSON.parse(made.stdout.toString());
  // The config's admin exists in the old database already: it must not be replaced or re-seeded.
  app = await startApp(
    { web_username: "admin", web_password: "a-different-password", timezone: "Europe/Helsinki" },
    dir,
  );
});
afterAll(async () => {
  await app?.close();
});

const count = (table: string) => (app.store.db.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe("upgrading a database written by the old server", () => {
  test("keeps a backup copy of the original file beside it", () => {
    const backups = readdirSync(dir).filter((f) => f.startsWith("app.db.pre-layerwatch-") && f.endsWith(".bak"));
    expect(backups.length).toBe(1);
    expect(existsSync(join(dir, backups[0]!))).toBe(true);
  });

  test("loses no row: every reading, status, image and user is there, all printer 1's", () => {
    expect(count("printers")).toBe(1);
    for (const table of ["readings", "statuses", "frames"])
      expect(app.store.db.query(`SELECT count(*) AS n FROM ${table} WHERE printer_id != 1`).get()).toEqual({ n: 0 });
    expect(count("readings")).toBe(summary.readings);
    expect(count("statuses")).toBe(summary.statuses);
    expect(count("frames")).toBe(summary.images);
    expect(count("users")).toBe(Object.keys(summary.users).length);
    const tables = (
      app.store.db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]
    ).map((t) => t.name);
    expect(tables).not.toContain("legacy_rejects");
    expect(tables).not.toContain("temphum");
  });

  test("images become bytes, not base64 text, and the old trigger is gone", () => {
    const row = app.store.db.query("SELECT typeof(bytes) AS kind, mime FROM frames LIMIT 1").get() as {
      kind: string;
      mime: string;
    };
    expect(row).toEqual({ kind: "blob", mime: "image/jpeg" });
    expect(app.store.db.query("SELECT count(*) AS n FROM sqlite_master WHERE type = 'trigger'").get()).toEqual({
      n: 0,
    });
  });

  test("old local timestamps with offset and microseconds map to the right instant and day", async () => {
    const cookie = await login(app, "janne", summary.users.janne!);
    const res = await getPage(app, "/api/temphum?date=2025-07-14", cookie);
    const rows = JSON.parse(res.text) as { timestamp: string }[];
    expect(rows.length).toBe(1440);
    expect(rows[0]!.timestamp).toBe("2025-07-14T00:00:30.123+03:00");
    expect(rows.at(-1)!.timestamp).toBe("2025-07-14T23:59:30.123+03:00");
    expect(summary.first_reading).toBe("2025-07-14T00:00:30.123456+03:00");
  });

  test("summaries are built for the old readings", async () => {
    const cookie = await login(app, "janne", summary.users.janne!);
    const days = JSON.parse(
      (await getPage(app, "/api/temphum/summary?from=2025-07-14&to=2025-07-14&bucket=day", cookie)).text,
    );
    expect(days).toHaveLength(1);
    expect(days[0].count).toBe(1440);
  });

  test("the old capture intervals carry over", async () => {
    expect(app.store.intervals.get()).toEqual({ image_delay: 30, temphum_delay: 20, status_delay: 15 });
  });

  test("a pbkdf2 user logs in with the old password, which is then re-hashed to bcrypt", async () => {
    expect(app.store.users.byName("admin")!.password_hash).toStartWith("pbkdf2:sha256:");
    await login(app, "admin", summary.users.admin!);
    expect(app.store.users.byName("admin")!.password_hash).toStartWith("$2");
    await login(app, "admin", summary.users.admin!);
  });

  test("a scrypt user logs in with the old password and a wrong one still fails", async () => {
    const res = await fetch(`${app.url}/login`, {
      method: "POST",
      redirect: "manual",
      body: new URLSearchParams({ username: "janne", password: "wrong" }),
    });
    expect(res.status).toBe(401);
    await login(app, "janne", summary.users.janne!);
    expect(app.store.users.byName("janne")!.password_hash).toStartWith("$2");
  });

  test("opening the upgraded database again changes nothing", async () => {
    await app.stop();
    const again = await startApp({ web_username: "admin", timezone: "Europe/Helsinki" }, dir);
    try {
      expect((again.store.db.query("SELECT count(*) AS n FROM readings").get() as { n: number }).n).toBe(
        summary.readings,
      );
      expect(readdirSync(dir).filter((f) => f.endsWith(".bak")).length).toBe(1);
    } finally {
      await again.close();
    }
  });
});

describe("upgrading a database made by the release before printers (schema 3)", () => {
  test("every device, token, reading, status, frame and summary becomes printer 1's; nothing is lost", async () => {
    const { Database } = await import("bun:sqlite");
    const { migrateTo } = await import("../src/store/migrations.ts");
    const dir3 = tempDir();
    const db = new Database(join(dir3, "app.db"), { create: true, strict: true });
    migrateTo(db, 3, { zone: "Europe/Helsinki" });
    const at = Date.parse("2026-03-02T10:00:00Z");
    db.run("INSERT INTO devices (id, name, created_at) VALUES (2, 'cam #1', ?)", [at]);
    db.run("INSERT INTO device_tokens (name, token_hash, device_id, created_at) VALUES ('cam', 'h', 2, ?)", [at]);
    const upsert = db.query(`INSERT INTO reading_summaries
      (device_id, bucket, start_at, count, temp_sum, temp_min, temp_max, hum_sum, hum_min, hum_max)
      VALUES (?, 'day', ?, 1, ?, ?, ?, 40, 40, 40)
      ON CONFLICT (bucket, start_at, device_id) DO UPDATE SET count = count + 1,
        temp_sum = temp_sum + excluded.temp_sum,
        temp_min = min(temp_min, excluded.temp_min), temp_max = max(temp_max, excluded.temp_max),
        hum_sum = hum_sum + 40`);
    for (let i = 0; i < 50; i++) {
      const device = i % 2 ? 1 : 2;
      db.run("INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (?, ?, ?, 40)", [
        device,
        at + i * 1000,
        20 + i / 10,
      ]);
      upsert.run(device, Date.parse("2026-03-01T22:00:00Z"), 20 + i / 10, 20 + i / 10, 20 + i / 10);
    }
    db.run("INSERT INTO statuses (device_id, recorded_at, last_seen_at, status) VALUES (2, ?, ?, 'Idle')", [at, at]);
    db.run("INSERT INTO frames (device_id, recorded_at, mime, bytes) VALUES (1, ?, 'image/jpeg', x'FFD8FFD9')", [at]);
    db.close();

    const upgraded = await startApp({ timezone: "Europe/Helsinki" }, dir3);
    try {
      const q = (sql: string) => upgraded.store.db.query(sql).get() as { n: number };
      expect(q("SELECT count(*) AS n FROM readings WHERE printer_id = 1").n).toBe(50);
      expect(q("SELECT count(*) AS n FROM statuses WHERE printer_id = 1").n).toBe(1);
      expect(q("SELECT count(*) AS n FROM frames WHERE printer_id = 1").n).toBe(1);
      expect(q("SELECT count(*) AS n FROM devices WHERE printer_id = 1").n).toBe(2);
      expect(upgraded.store.deviceTokens.list(1).map((t) => t.name)).toEqual(["cam"]);
      const [day] = upgraded.store.readings.summaries(1, "day", at - 86400000, at + 86400000);
      expect(day!.count).toBe(50);
      expect(day!.temp_min).toBe(20);
      expect(day!.temp_max).toBeCloseTo(24.9, 5);
      expect(upgraded.printers.list().map((p) => [p.info.id, p.info.name])).toEqual([[1, "Printer"]]);
    } finally {
      await upgraded.close();
    }
  });
});

describe("upgrading a database made by the release before refused Spoolman uses (schema 17)", () => {
  test("every Spoolman use is kept; those not yet reported are still pending and none is refused", async () => {
    const { Database } = await import("bun:sqlite");
    const { migrateTo } = await import("../src/store/migrations.ts");
    const dir17 = tempDir();
    const db = new Database(join(dir17, "app.db"), { create: true, strict: true });
    migrateTo(db, 17, { zone: "Europe/Helsinki" });
    const at = Date.parse("2026-03-02T10:00:00Z");
    const use = db.query(`INSERT INTO spoolman_uses
      (job_id, printer_id, tray, spool_id, grams, source, created_at, reported_at, attempts, last_error)
      VALUES (?, 1, 0, 5, 4.5, 'plate', ?, ?, ?, ?)`);
    use.run(1, at, at + 1, 1, null);
    use.run(2, at, null, 3, "Spoolman answered 404: No spool with ID 5 found.");
    use.run(3, at, null, 0, null);
    db.close();

    const upgraded = await startApp({ timezone: "Europe/Helsinki" }, dir17);
    try {
      const all = upgraded.store.db.query("SELECT job_id, refused_at FROM spoolman_uses ORDER BY id").all();
      expect(all).toEqual([
        { job_id: 1, refused_at: null },
        { job_id: 2, refused_at: null },
        { job_id: 3, refused_at: null },
      ]);
      expect(upgraded.store.spoolman.pending(10).map((u) => [u.job_id, u.attempts])).toEqual([
        [2, 3],
        [3, 0],
      ]);
      expect(upgraded.store.spoolman.refusedUses(10)).toEqual([]);
    } finally {
      await upgraded.close();
    }
  });
});

describe("upgrading a database made by the release before FTPS pins and printer RTSPS ports (schema 18)", () => {
  test("every printer is kept with its MQTT pin, no FTPS pin and port 322, but the config's rtsp_port", async () => {
    const { Database } = await import("bun:sqlite");
    const { migrateTo } = await import("../src/store/migrations.ts");
    const dir18 = tempDir();
    const db = new Database(join(dir18, "app.db"), { create: true, strict: true });
    migrateTo(db, 18, { zone: "Europe/Helsinki" });
    const add = db.query(`INSERT INTO printers (id, name, model, tls_fingerprint, from_config, created_at)
      VALUES (?, ?, 'X1C', ?, ?, 1772445600000)`);
    add.run(2, "Lab X1C", "AA:BB", 0);
    add.run(3, "Farm X1C", null, 1);
    db.close();

    const upgraded = await startApp(
      { timezone: "Europe/Helsinki", printers: [{ name: "Farm X1C", model: "X1C", rtsp_port: 3220 }] as never },
      dir18,
    );
    try {
      const rows = upgraded.store.db
        .query("SELECT id, name, tls_fingerprint, ftps_fingerprint, rtsp_port FROM printers ORDER BY id")
        .all();
      expect(rows).toEqual([
        { id: 1, name: "Printer", tls_fingerprint: null, ftps_fingerprint: null, rtsp_port: 322 },
        { id: 2, name: "Lab X1C", tls_fingerprint: "AA:BB", ftps_fingerprint: null, rtsp_port: 322 },
        { id: 3, name: "Farm X1C", tls_fingerprint: null, ftps_fingerprint: null, rtsp_port: 3220 },
      ]);
    } finally {
      await upgraded.close();
    }
  });
});
