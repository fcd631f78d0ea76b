// Owns the in-place upgrade of a database written by the old Flask server (five tables, base64 images).
import type { Database } from "bun:sqlite";
import { decodeBase64Image, sniffImage } from "../images.ts";
import { parseLegacyTimestamp } from "../time.ts";
import { DEFAULT_DEVICE_ID, DEFAULT_INTERVALS, migrateTo, schemaVersion } from "./migrations.ts";

const LEGACY_TABLES = ["users", "temphum", "status", "images", "timelapse_conf"] as const;

export type LegacyReport = {
  users: number;
  readings: number;
  statuses: number;
  frames: number;
  rejected: number;
  backup: string | null;
};

function tableNames(db: Database): Set<string> {
  return new Set(
    (db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name),
  );
}

function columns(db: Database, table: string): Set<string> {
  return new Set((db.query(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((r) => r.name));
}

/** True for a database the old server wrote and layerwatch has not upgraded yet. */
export function isLegacyDatabase(db: Database): boolean {
  return schemaVersion(db) === 0 && tableNames(db).has("temphum");
}

/**
 * Upgrades an old-server database in one transaction: a backup copy first, then every row moved
 * into the new tables. A row that cannot be read is kept verbatim in legacy_rejects, never dropped.
 */
export function upgradeLegacyDatabase(db: Database, opts: { path: string; zone: string }): LegacyReport {
  let backup: string | null = null;
  if (opts.path !== ":memory:") {
    backup = `${opts.path}.pre-layerwatch-${new Date().toISOString().replace(/[:.]/g, "-")}.bak`;
    db.run("VACUUM INTO ?", [backup]);
  }
  const report: LegacyReport = { users: 0, readings: 0, statuses: 0, frames: 0, rejected: 0, backup };
  db.transaction(() => {
    const present = tableNames(db);
    for (const t of LEGACY_TABLES) if (present.has(t)) db.run(`ALTER TABLE ${t} RENAME TO legacy_${t}`);
    for (const { name } of db.query("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as {
      name: string;
    }[])
      db.run(`DROP TRIGGER "${name.replace(/"/g, '""')}"`);
    // Up to the first schema only: the later migrations (summaries) run after the rows are moved.
    migrateTo(db, 1, { zone: opts.zone });
    db.run(
      "CREATE TABLE IF NOT EXISTS legacy_rejects (source TEXT NOT NULL, row_json TEXT NOT NULL, reason TEXT NOT NULL)",
    );
    const reject = db.prepare("INSERT INTO legacy_rejects (source, row_json, reason) VALUES (?, ?, ?)");
    const keep = (source: string, row: unknown, reason: string) => {
      reject.run(source, JSON.stringify(row), reason);
      report.rejected++;
    };
    const when = (row: { timestamp?: unknown }) =>
      typeof row.timestamp === "string" ? parseLegacyTimestamp(row.timestamp, opts.zone) : null;

    if (present.has("users")) {
      const hasAdminFlag = columns(db, "legacy_users").has("is_admin");
      const insert = db.prepare(
        "INSERT INTO users (id, username, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)",
      );
      for (const u of db.query("SELECT * FROM legacy_users ORDER BY id").all() as Record<string, unknown>[]) {
        if (typeof u.username !== "string" || typeof u.password_hash !== "string") {
          keep("users", u, "missing username or hash");
          continue;
        }
        const role = hasAdminFlag && !u.is_admin ? "viewer" : "admin";
        insert.run(u.id as number, u.username, u.password_hash, role, Date.now());
        report.users++;
      }
    }
    if (present.has("temphum")) {
      const insert = db.prepare(
        "INSERT INTO readings (id, device_id, recorded_at, temperature, humidity) VALUES (?, ?, ?, ?, ?)",
      );
      for (const r of db.query("SELECT * FROM legacy_temphum ORDER BY id").iterate() as Iterable<
        Record<string, unknown>
      >) {
        const at = when(r);
        const [t, h] = [Number(r.temperature), Number(r.humidity)];
        if (
          at === null ||
          r.temperature === null ||
          r.humidity === null ||
          !Number.isFinite(t) ||
          !Number.isFinite(h)
        ) {
          keep("temphum", r, "unreadable timestamp or value");
          continue;
        }
        insert.run(r.id as number, DEFAULT_DEVICE_ID, at, t, h);
        report.readings++;
      }
    }
    if (present.has("status")) {
      const insert = db.prepare("INSERT INTO statuses (id, device_id, recorded_at, status) VALUES (?, ?, ?, ?)");
      for (const r of db.query("SELECT * FROM legacy_status ORDER BY id").iterate() as Iterable<
        Record<string, unknown>
      >) {
        const at = when(r);
        if (at === null || r.status === null || r.status === undefined) {
          keep("status", r, "unreadable timestamp or status");
          continue;
        }
        insert.run(r.id as number, DEFAULT_DEVICE_ID, at, String(r.status));
        report.statuses++;
      }
    }
    if (present.has("images")) {
      const insert = db.prepare("INSERT INTO frames (id, device_id, recorded_at, mime, bytes) VALUES (?, ?, ?, ?, ?)");
      for (const r of db.query("SELECT * FROM legacy_images ORDER BY id").iterate() as Iterable<
        Record<string, unknown>
      >) {
        const at = when(r);
        const bytes =
          typeof r.image === "string" ? decodeBase64Image(r.image) : r.image instanceof Uint8Array ? r.image : null;
        const mime = bytes ? sniffImage(bytes) : null;
        if (at === null || !bytes || !mime) {
          keep("images", r, "unreadable timestamp or not a JPEG/PNG");
          continue;
        }
        insert.run(r.id as number, DEFAULT_DEVICE_ID, at, mime, bytes);
        report.frames++;
      }
    }
    if (present.has("timelapse_conf")) {
      const conf = db.query("SELECT * FROM legacy_timelapse_conf ORDER BY id LIMIT 1").get() as Record<
        string,
        unknown
      > | null;
      if (conf) {
        const pick = (k: keyof typeof DEFAULT_INTERVALS, min: number) => {
          const v = Number(conf[k]);
          return Number.isInteger(v) && v >= min ? v : DEFAULT_INTERVALS[k];
        };
        db.run(
          "UPDATE capture_intervals SET image_delay = ?, temphum_delay = ?, status_delay = ?, updated_at = ? " +
            "WHERE id = 1",
          [pick("image_delay", 5), pick("temphum_delay", 1), pick("status_delay", 1), Date.now()],
        );
      }
    }
    for (const t of LEGACY_TABLES) if (present.has(t)) db.run(`DROP TABLE legacy_${t}`);
    if (report.rejected === 0) db.run("DROP TABLE legacy_rejects");
  })();
  return report;
}
