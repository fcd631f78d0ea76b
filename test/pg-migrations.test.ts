// The numbered migrations on PostgreSQL: the same schema as SQLite's at the same version, applied once under a lock.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { SQL } from "bun";
import { migrate, migrateTo, SCHEMA_VERSION } from "../src/store/migrations.ts";
import { numbers, openPostgres } from "../src/store/pg.ts";
import { PG_MIGRATIONS, pgMigrate, pgMigrateTo, pgSchemaVersion } from "../src/store/pg-migrate.ts";
import { type PostgresServer, startPostgres } from "./servers.ts";

const ctx = { zone: "Europe/Helsinki" };
let pg: PostgresServer;
const clients: SQL[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await pg?.stop();
});

async function freshDatabase(): Promise<SQL> {
  const sql = openPostgres(await pg.createDatabase(), { max: 2 });
  clients.push(sql);
  return sql;
}

const KIND: Record<string, string> = {
  INTEGER: "bigint",
  REAL: "double precision",
  TEXT: "text",
  BLOB: "bytea",
};

/** `'A1'::text` and `'A1'` are the same default; so are `0` and `0`. */
const plainDefault = (d: string | null) => (d === null ? null : d.replace(/::[a-z ]+$/, ""));

type Column = { name: string; kind: string; notNull: boolean; default: string | null };

function sqliteSchema(db: Database) {
  const tables = (
    db.query("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
      name: string;
      sql: string;
    }[]
  ).sort((a, b) => a.name.localeCompare(b.name));
  const columns: Record<string, Column[]> = {};
  const indexes: string[] = [];
  const foreignKeys: string[] = [];
  const checks: Record<string, number> = {};
  for (const t of tables) {
    const info = db.query(`PRAGMA table_info(${t.name})`).all() as {
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }[];
    columns[t.name] = info.map((c) => ({
      name: c.name,
      kind: KIND[c.type] ?? `? ${c.type}`,
      // A primary key column is never null in practice (PostgreSQL makes it NOT NULL; SQLite's rowid alias is).
      notNull: c.notnull === 1 || c.pk > 0,
      default: c.dflt_value,
    }));
    const pk = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    if (pk.length === 1 && pk[0]!.type === "INTEGER") indexes.push(`${t.name}(${pk[0]!.name}) primary`);
    for (const ix of db.query(`PRAGMA index_list(${t.name})`).all() as { name: string; origin: string }[]) {
      const cols = (db.query(`PRAGMA index_info(${ix.name})`).all() as { seqno: number; name: string }[])
        .sort((a, b) => a.seqno - b.seqno)
        .map((c) => c.name)
        .join(", ");
      indexes.push(
        ix.origin === "c"
          ? `${ix.name}: ${t.name}(${cols})`
          : `${t.name}(${cols}) ${ix.origin === "pk" ? "primary" : "unique"}`,
      );
    }
    for (const fk of db.query(`PRAGMA foreign_key_list(${t.name})`).all() as {
      table: string;
      from: string;
      to: string;
      on_delete: string;
    }[])
      foreignKeys.push(`${t.name}.${fk.from} -> ${fk.table}.${fk.to} on delete ${fk.on_delete.toLowerCase()}`);
    checks[t.name] = (t.sql.match(/CHECK \(/g) ?? []).length;
  }
  return {
    tables: tables.map((t) => t.name),
    columns,
    indexes: indexes.sort(),
    foreignKeys: foreignKeys.sort(),
    checks,
  };
}

async function postgresSchema(sql: SQL) {
  const tables = numbers<{ table_name: string }>(
    await sql`SELECT table_name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_name <> 'schema_migrations' ORDER BY table_name COLLATE "C"`,
  ).map((t) => t.table_name);
  const columns: Record<string, Column[]> = {};
  for (const t of tables) {
    const rows = await sql`SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = ${t} ORDER BY ordinal_position`;
    columns[t] = rows.map((c: Record<string, string>) => ({
      name: c.column_name,
      kind: c.data_type,
      notNull: c.is_nullable === "NO",
      default: plainDefault(c.column_default ?? null),
    }));
  }
  const indexRows = await sql`
    SELECT t.relname AS table_name, i.relname AS index_name, x.indisprimary AS is_primary, x.indisunique AS is_unique,
      EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) AS from_constraint,
      (SELECT string_agg(a.attname, ', ' ORDER BY k.n) FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum WHERE k.n <= x.indnkeyatts) AS cols,
      (SELECT string_agg(a.attname, ', ' ORDER BY k.n) FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum WHERE k.n > x.indnkeyatts
          AND NOT EXISTS (SELECT 1 FROM pg_index p WHERE p.indrelid = t.oid AND p.indisprimary
            AND p.indnatts = 1 AND p.indkey[0] = k.attnum AND a.atttypid = 'int8'::regtype)) AS included
    FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND t.relname <> 'schema_migrations'`;
  // INCLUDE columns follow the key. Including the table's single bigint primary key is what every SQLite index
  // does already (it ends with the rowid, which an INTEGER PRIMARY KEY is), so that one is left out; any other
  // included column is shown, and SQLite (which has no INCLUDE) cannot match it.
  const indexes = indexRows
    .map((r: Record<string, string | boolean | null>) => {
      const include = r.included ? ` include (${r.included})` : "";
      return r.from_constraint
        ? `${r.table_name}(${r.cols})${include} ${r.is_primary ? "primary" : "unique"}`
        : `${r.index_name}: ${r.table_name}(${r.cols})${include}`;
    })
    .sort();
  const fkRows = await sql`
    SELECT t.relname AS table_name, a.attname AS col, r.relname AS ref, ra.attname AS ref_col, c.confdeltype
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1]
    JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = c.confkey[1]
    WHERE c.contype = 'f'`;
  const action: Record<string, string> = { a: "no action", c: "cascade", n: "set null", r: "restrict" };
  const foreignKeys = fkRows
    .map(
      (r: Record<string, string>) =>
        `${r.table_name}.${r.col} -> ${r.ref}.${r.ref_col} on delete ${action[r.confdeltype!]}`,
    )
    .sort();
  const checks: Record<string, number> = Object.fromEntries(tables.map((t) => [t, 0]));
  for (const r of numbers<{ table_name: string; n: number }>(
    await sql`SELECT t.relname AS table_name, count(*) AS n FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
      WHERE c.contype = 'c' GROUP BY t.relname`,
  ))
    checks[r.table_name] = r.n;
  return { tables, columns, indexes, foreignKeys, checks };
}

function sqliteAt(version = SCHEMA_VERSION): Database {
  const db = new Database(":memory:", { strict: true });
  migrateTo(db, version, ctx);
  return db;
}

describe("PostgreSQL migrations", () => {
  test("there is a PostgreSQL form of every numbered migration", () => {
    expect(PG_MIGRATIONS.length).toBe(SCHEMA_VERSION);
  });

  test("a fresh database ends with SQLite's tables, columns, kinds, defaults, indexes, keys and checks", async () => {
    const sql = await freshDatabase();
    expect(await pgMigrate(sql, ctx)).toBe(SCHEMA_VERSION);
    expect(await pgSchemaVersion(sql)).toBe(SCHEMA_VERSION);
    const db = sqliteAt();
    const lite = sqliteSchema(db);
    const post = await postgresSchema(sql);
    expect(post.tables).toEqual(lite.tables);
    for (const t of lite.tables) expect({ [t]: post.columns[t] }).toEqual({ [t]: lite.columns[t] });
    expect(post.indexes).toEqual(lite.indexes);
    expect(post.foreignKeys).toEqual(lite.foreignKeys);
    expect(post.checks).toEqual(lite.checks);
    db.close();
  });

  test("a printer's readings index carries their ids, so a day's stamp reads the index alone", async () => {
    const sql = await freshDatabase();
    await pgMigrate(sql, ctx);
    const [ix] = await sql`SELECT x.indnkeyatts AS keys, pg_get_indexdef(x.indexrelid) AS def
      FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE i.relname = 'readings_by_printer_time'`;
    expect(ix.def).toEndWith("(printer_id, recorded_at) INCLUDE (id)");
    expect(ix.keys).toBe(2);
    await sql`INSERT INTO readings (printer_id, device_id, recorded_at, temperature, humidity)
      SELECT 1 + n % 10, 1, n * 1000, 20, 40 FROM generate_series(1, 3000) AS n`;
    await sql`VACUUM ANALYZE readings`;
    const plan = await sql.begin(async (tx) => {
      // Few rows: the planner would read the table straight; what matters is that the index can answer alone.
      await tx`SET LOCAL enable_seqscan = off`;
      await tx`SET LOCAL enable_bitmapscan = off`;
      return tx`EXPLAIN SELECT count(*) AS n, max(id) AS m FROM readings
        WHERE printer_id = 1 AND recorded_at >= 0 AND recorded_at < 10000000`;
    });
    expect(plan.map((r: Record<string, string>) => r["QUERY PLAN"]).join("\n")).toContain(
      "Index Only Scan using readings_by_printer_time",
    );
  });

  test("the old readings index gives way to the one carrying ids, rows kept", async () => {
    const sql = await freshDatabase();
    await pgMigrateTo(sql, 9, ctx);
    await sql`INSERT INTO readings (printer_id, device_id, recorded_at, temperature, humidity)
      SELECT 1, 1, n * 1000, 20, 40 FROM generate_series(1, 100) AS n`;
    await pgMigrate(sql, ctx);
    const names = await sql`SELECT indexname FROM pg_indexes WHERE tablename = 'readings' ORDER BY indexname`;
    expect(names.map((r: { indexname: string }) => r.indexname)).toEqual([
      "readings_by_printer_time",
      "readings_by_time",
      "readings_pkey",
    ]);
    expect(numbers(await sql`SELECT count(*) AS n FROM readings`)).toEqual([{ n: 100 }]);
  });

  test("the seed rows are SQLite's, and the next generated id follows them", async () => {
    const sql = await freshDatabase();
    await pgMigrate(sql, ctx);
    const db = sqliteAt();
    const seeds = [
      "SELECT id, name FROM devices ORDER BY id",
      "SELECT id, name, model, host, serial, access_code, mqtt_port, camera, camera_port, tls FROM printers",
      "SELECT id, image_delay, temphum_delay, status_delay FROM capture_intervals",
    ];
    for (const q of seeds) expect(numbers(await sql.unsafe(q))).toEqual(db.query(q).all() as Record<string, unknown>[]);
    const [device] = numbers<{ id: number }>(
      await sql`INSERT INTO devices (name, created_at) VALUES ('second', ${Date.now()}) RETURNING id`,
    );
    expect(device!.id).toBe(2);
    db.close();
  });

  test("printer names are unique in any case and found in any case, as SQLite's NOCASE", async () => {
    const sql = await freshDatabase();
    await pgMigrate(sql, ctx);
    expect(numbers(await sql`SELECT id FROM printers WHERE name = ${"PRINTER"}`)).toEqual([{ id: 1 }]);
    expect(sql`INSERT INTO printers (name, created_at) VALUES (${"printer"}, ${Date.now()})`).rejects.toThrow(
      /unique|duplicate/i,
    );
  });

  test("readings made before migration 3 end as the same per-printer summaries as on SQLite", async () => {
    const sql = await freshDatabase();
    expect(await pgMigrateTo(sql, 2, ctx)).toBe(2);
    const db = sqliteAt(2);
    const hour = 3600000;
    const t0 = Date.UTC(2026, 0, 31, 21, 30);
    const readings = [0, 1, 2, 30].map((h, i) => [1, t0 + h * hour, 20 + i, 40 + i] as const);
    for (const r of readings) {
      await sql`INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (${r[0]}, ${r[1]},
        ${r[2]}, ${r[3]})`;
      db.run("INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (?, ?, ?, ?)", [...r]);
    }
    await pgMigrate(sql, ctx);
    migrate(db, ctx);
    const q = "SELECT * FROM printer_summaries ORDER BY bucket, start_at";
    const got = numbers(await sql.unsafe(q));
    expect(got.length).toBe(7);
    expect(got).toEqual(db.query(q).all() as Record<string, unknown>[]);
    db.close();
  });

  test("prints ended before the statistics existed are counted in them, as on SQLite", async () => {
    // The migration before print_stats (015): found by where the statistics function sits in the list.
    const { printStatsAndJobEvents } = await import("../src/store/migrations/015-print-stats-and-job-events.pg.ts");
    const before = PG_MIGRATIONS.indexOf(printStatsAndJobEvents);
    expect(before).toBeGreaterThan(0);
    const sql = await freshDatabase();
    await pgMigrateTo(sql, before, ctx);
    const db = sqliteAt(before);
    // 31 March 23:30 in Helsinki (still March there); an hour on, April.
    const t0 = Date.UTC(2026, 2, 31, 20, 30);
    const jobs = [
      [1, t0, t0 + 3_600_000, "finished", "[]", 2, 44, 46],
      [1, t0 + 3_600_000, t0 + 7_200_000, "failed", '[{"code":"0300_4000","kind":"print_error"}]', 1, 23, 71],
      [2, t0, null, "running", "[]", 0, 0, 0],
      [2, t0 - 86_400_000 * 40, t0, "cancelled", '[{"code":"0700_2000_0002_0001","kind":"hms"}]', 0, 0, 0],
    ] as const;
    for (const j of jobs) {
      await sql`INSERT INTO jobs (printer_id, name, started_at, ended_at, outcome, errors, readings, temp_sum, hum_sum)
        VALUES (${j[0]}, ${"p"}, ${j[1]}, ${j[2]}, ${j[3]}, ${j[4]}, ${j[5]}, ${j[6]}, ${j[7]})`;
      db.run(
        `INSERT INTO jobs (printer_id, name, started_at, ended_at, outcome, errors, readings, temp_sum, hum_sum)
         VALUES (?, 'p', ?, ?, ?, ?, ?, ?, ?)`,
        [...j],
      );
    }
    await pgMigrate(sql, ctx);
    migrate(db, ctx);
    for (const [table, order] of [
      ["print_stats", "printer_id, month"],
      ["print_error_stats", "printer_id, month, kind, code"],
      ["print_room_stats", "printer_id, filament, measure, band"],
    ]) {
      const q = `SELECT * FROM ${table} ORDER BY ${order}`;
      expect(numbers(await sql.unsafe(q))).toEqual(db.query(q).all() as Record<string, unknown>[]);
    }
    expect(db.query("SELECT month, prints, failed, print_ms FROM print_stats WHERE printer_id = 1").all()).toEqual([
      { month: "2026-03", prints: 1, failed: 0, print_ms: 3_600_000 },
      { month: "2026-04", prints: 1, failed: 1, print_ms: 3_600_000 },
    ]);
    expect((db.query("SELECT count(*) AS n FROM print_room_stats").get() as { n: number }).n).toBe(3);
    db.close();
  });

  test("prints ended before filament statistics existed are counted by filament, their room bands moved, as on SQLite", async () => {
    // Migrated up to before 015, so 015 counts the room bands as "any filament" and 016 moves them.
    const { printStatsAndJobEvents } = await import("../src/store/migrations/015-print-stats-and-job-events.pg.ts");
    const before = PG_MIGRATIONS.indexOf(printStatsAndJobEvents);
    const sql = await freshDatabase();
    await pgMigrateTo(sql, before, ctx);
    const db = sqliteAt(before);
    const t0 = Date.UTC(2026, 5, 10, 12);
    // printer, outcome, readings, humidity sum, trays [tray, type, colour]
    const jobs = [
      [1, "finished", 2, 90, [[0, "PLA", "FF0000FF"]]],
      [
        1,
        "failed",
        2,
        150,
        [
          [1, "PETG", "00FF00FF"],
          [0, "PLA", "FF0000FF"],
        ],
      ],
      [2, "failed", 2, 152, []],
      [2, "cancelled", 0, 0, [[2, "PLA", "FF0000FF"]]],
    ] as const;
    for (const [i, j] of jobs.entries()) {
      const id = i + 1;
      await sql`INSERT INTO jobs (id, printer_id, name, started_at, ended_at, outcome, readings, temp_sum, hum_sum)
        VALUES (${id}, ${j[0]}, ${"p"}, ${t0}, ${t0 + 3_600_000}, ${j[1]}, ${j[2]}, ${j[2] * 22}, ${j[3]})`;
      db.run(
        `INSERT INTO jobs (id, printer_id, name, started_at, ended_at, outcome, readings, temp_sum, hum_sum)
         VALUES (?, ?, 'p', ?, ?, ?, ?, ?, ?)`,
        [id, j[0], t0, t0 + 3_600_000, j[1], j[2], j[2] * 22, j[3]],
      );
      for (const [n, f] of j[4].entries()) {
        await sql`INSERT INTO job_filaments (job_id, tray, type, color, first_used_at)
          VALUES (${id}, ${f[0]}, ${f[1]}, ${f[2]}, ${n})`;
        db.run("INSERT INTO job_filaments (job_id, tray, type, color, first_used_at) VALUES (?, ?, ?, ?, ?)", [
          id,
          f[0],
          f[1],
          f[2],
          n,
        ]);
      }
    }
    await pgMigrate(sql, ctx);
    migrate(db, ctx);
    for (const [table, order] of [
      ["print_filament_stats", "printer_id, month, type, color"],
      ["print_room_stats", "printer_id, filament, measure, band"],
    ]) {
      const q = `SELECT * FROM ${table} ORDER BY ${order}`;
      expect(numbers(await sql.unsafe(q))).toEqual(db.query(q).all() as Record<string, unknown>[]);
    }
    expect(
      db.query("SELECT printer_id, type, color, prints, grams_prints FROM print_filament_stats ORDER BY 1, 2").all(),
    ).toEqual([
      { printer_id: 1, type: "PETG", color: "#00FF00", prints: 1, grams_prints: 0 },
      { printer_id: 1, type: "PLA", color: "#FF0000", prints: 2, grams_prints: 0 },
      { printer_id: 2, type: "PLA", color: "#FF0000", prints: 1, grams_prints: 0 },
    ]);
    // Job 1 (45 %) and job 2 (75 %, PETG first) by filament; job 3 knew none and stays under "".
    expect(
      db
        .query(
          "SELECT printer_id, filament, band, prints, failed FROM print_room_stats WHERE measure = 'humidity' ORDER BY 1, 2",
        )
        .all(),
    ).toEqual([
      { printer_id: 1, filament: "PETG", band: 70, prints: 1, failed: 1 },
      { printer_id: 1, filament: "PLA", band: 40, prints: 1, failed: 0 },
      { printer_id: 2, filament: "", band: 70, prints: 1, failed: 1 },
    ]);
    db.close();
  });

  test("two instances migrating at once apply each migration once and end at the same version", async () => {
    const url = await pg.createDatabase();
    const a = openPostgres(url, { max: 2 });
    const b = openPostgres(url, { max: 2 });
    clients.push(a, b);
    const [ranA, ranB] = await Promise.all([pgMigrate(a, ctx), pgMigrate(b, ctx)]);
    expect(ranA + ranB).toBe(SCHEMA_VERSION);
    const versions = numbers<{ version: number }>(await a`SELECT version FROM schema_migrations ORDER BY version`);
    expect(versions.map((v) => v.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    expect(numbers(await a`SELECT count(*) AS n FROM printers`)).toEqual([{ n: 1 }]);
  });

  test("migrating a database already at the latest version changes nothing", async () => {
    const sql = await freshDatabase();
    await pgMigrate(sql, ctx);
    const before = await postgresSchema(sql);
    expect(await pgMigrate(sql, ctx)).toBe(0);
    expect(await postgresSchema(sql)).toEqual(before);
    expect(numbers(await sql`SELECT count(*) AS n FROM schema_migrations`)).toEqual([{ n: SCHEMA_VERSION }]);
  });

  test("a database from a newer layerwatch is refused with a clear message", async () => {
    const sql = await freshDatabase();
    await pgMigrate(sql, ctx);
    await sql`INSERT INTO schema_migrations VALUES (${SCHEMA_VERSION + 1}, ${Date.now()})`;
    expect(pgMigrate(sql, ctx)).rejects.toThrow(/newer than this layerwatch understands/);
  });
});
