// Owns every SQL statement the app runs, prepared once and named for what it does.
import type { Database } from "bun:sqlite";
import type { ImageMime } from "../images.ts";
import { summaryBuckets } from "../time.ts";
import { summaryUpsert } from "./migrations.ts";

export type Role = "admin" | "viewer";
export type UserRow = { id: number; username: string; password_hash: string; role: Role; created_at: number };
export type SessionRow = {
  token_hash: string;
  user_id: number;
  created_at: number;
  expires_at: number;
  persistent: number;
  last_seen_at: number;
};
export type ReadingRow = { id: number; device_id: number; recorded_at: number; temperature: number; humidity: number };
export type StatusRow = { id: number; device_id: number; recorded_at: number; last_seen_at: number; status: string };
export type SummaryRow = {
  start_at: number;
  count: number;
  temp_min: number;
  temp_avg: number;
  temp_max: number;
  hum_min: number;
  hum_avg: number;
  hum_max: number;
};
export type FrameMeta = { id: number; device_id: number; recorded_at: number; mime: ImageMime; size: number };
export type FrameRow = FrameMeta & { bytes: Uint8Array };
export type DeviceTokenRow = {
  id: number;
  name: string;
  token_hash: string;
  device_id: number;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
};
export type LogRow = { id: number; at: number; level: string; message: string; details: string };
export type Intervals = { image_delay: number; temphum_delay: number; status_delay: number };

export function createStore(db: Database, opts: { zone: string }) {
  const q = {
    userByName: db.query<UserRow, [string]>("SELECT * FROM users WHERE username = ?"),
    userById: db.query<UserRow, [number]>("SELECT * FROM users WHERE id = ?"),
    listUsers: db.query<UserRow, []>("SELECT * FROM users ORDER BY username"),
    countAdmins: db.query<{ n: number }, []>("SELECT count(*) AS n FROM users WHERE role = 'admin'"),
    insertUser: db.query<{ id: number }, [string, string, Role, number]>(
      "INSERT INTO users (username, password_hash, role, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    ),
    setPasswordHash: db.query<never, [string, number]>("UPDATE users SET password_hash = ? WHERE id = ?"),
    deleteUser: db.query<never, [number]>("DELETE FROM users WHERE id = ?"),

    insertSession: db.query<never, [string, number, number, number, number, number]>(
      "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, persistent, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
    ),
    sessionByHash: db.query<SessionRow, [string]>("SELECT * FROM sessions WHERE token_hash = ?"),
    touchSession: db.query<never, [number, number, string]>(
      "UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE token_hash = ?",
    ),
    deleteSession: db.query<never, [string]>("DELETE FROM sessions WHERE token_hash = ?"),
    deleteUserSessions: db.query<never, [number, string]>("DELETE FROM sessions WHERE user_id = ? AND token_hash != ?"),
    deleteExpiredSessions: db.query<never, [number]>("DELETE FROM sessions WHERE expires_at <= ?"),

    insertReading: db.query<{ id: number }, [number, number, number, number]>(
      "INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (?, ?, ?, ?) RETURNING id",
    ),
    readingsBetween: db.query<ReadingRow, [number, number]>(
      "SELECT * FROM readings WHERE recorded_at >= ? AND recorded_at < ? ORDER BY recorded_at, id",
    ),
    readingsStamp: db.query<{ n: number; m: number | null }, [number, number]>(
      "SELECT count(*) AS n, max(id) AS m FROM readings WHERE recorded_at >= ? AND recorded_at < ?",
    ),
    latestReading: db.query<ReadingRow, []>("SELECT * FROM readings ORDER BY recorded_at DESC, id DESC LIMIT 1"),
    upsertSummary: summaryUpsert(db),
    summariesBetween: db.query<SummaryRow, [string, number, number]>(`
      SELECT start_at, sum(count) AS count,
        min(temp_min) AS temp_min, sum(temp_sum) / sum(count) AS temp_avg, max(temp_max) AS temp_max,
        min(hum_min) AS hum_min, sum(hum_sum) / sum(count) AS hum_avg, max(hum_max) AS hum_max
      FROM reading_summaries WHERE bucket = ? AND start_at >= ? AND start_at < ?
      GROUP BY start_at ORDER BY start_at`),
    oldestRawBefore: db.query<{ id: number }, [number, number]>(
      "SELECT id FROM readings WHERE recorded_at < ? ORDER BY recorded_at LIMIT ?",
    ),
    deleteReading: db.query<never, [number]>("DELETE FROM readings WHERE id = ?"),

    insertStatus: db.query<{ id: number }, [number, number, string]>(
      "INSERT INTO statuses (device_id, recorded_at, last_seen_at, status) VALUES (?1, ?2, ?2, ?3) RETURNING id",
    ),
    latestStatusOf: db.query<StatusRow, [number]>(
      "SELECT * FROM statuses WHERE device_id = ? ORDER BY recorded_at DESC, id DESC LIMIT 1",
    ),
    seeStatus: db.query<never, [number, number]>("UPDATE statuses SET last_seen_at = ? WHERE id = ?"),
    latestStatus: db.query<StatusRow, []>("SELECT * FROM statuses ORDER BY last_seen_at DESC, id DESC LIMIT 1"),

    insertFrame: db.query<{ id: number }, [number, number, string, Uint8Array]>(
      "INSERT INTO frames (device_id, recorded_at, mime, bytes) VALUES (?, ?, ?, ?) RETURNING id",
    ),
    pruneFrames: db.query<never, [number]>(
      "DELETE FROM frames WHERE id NOT IN (SELECT id FROM frames ORDER BY id DESC LIMIT ?)",
    ),
    frameById: db.query<FrameRow, [number]>(
      "SELECT id, device_id, recorded_at, mime, length(bytes) AS size, bytes FROM frames WHERE id = ?",
    ),
    latestFrame: db.query<FrameMeta, []>(
      "SELECT id, device_id, recorded_at, mime, length(bytes) AS size FROM frames ORDER BY id DESC LIMIT 1",
    ),
    listFrames: db.query<FrameMeta, []>(
      "SELECT id, device_id, recorded_at, mime, length(bytes) AS size FROM frames ORDER BY id DESC",
    ),

    insertDevice: db.query<{ id: number }, [string, number]>(
      "INSERT INTO devices (name, created_at) VALUES (?, ?) RETURNING id",
    ),
    insertToken: db.query<{ id: number }, [string, string, number, number]>(
      "INSERT INTO device_tokens (name, token_hash, device_id, created_at) VALUES (?, ?, ?, ?) RETURNING id",
    ),
    tokenByHash: db.query<DeviceTokenRow, [string]>(
      "SELECT * FROM device_tokens WHERE token_hash = ? AND revoked_at IS NULL",
    ),
    listTokens: db.query<DeviceTokenRow, []>("SELECT * FROM device_tokens WHERE revoked_at IS NULL ORDER BY id"),
    touchToken: db.query<never, [number, number]>("UPDATE device_tokens SET last_used_at = ? WHERE id = ?"),
    revokeToken: db.query<never, [number, number]>(
      "UPDATE device_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
    ),

    insertLog: db.query<never, [number, string, string, string]>(
      "INSERT INTO event_log (at, level, message, details) VALUES (?, ?, ?, ?)",
    ),
    trimLog: db.query<never, [number]>("DELETE FROM event_log WHERE id <= (SELECT max(id) FROM event_log) - ?"),
    recentLog: db.query<LogRow, [number]>("SELECT * FROM event_log ORDER BY id DESC LIMIT ?"),

    intervals: db.query<Intervals, []>(
      "SELECT image_delay, temphum_delay, status_delay FROM capture_intervals WHERE id = 1",
    ),
    setIntervals: db.query<never, [number, number, number, number]>(
      "UPDATE capture_intervals SET image_delay = ?, temphum_delay = ?, status_delay = ?, updated_at = ? WHERE id = 1",
    ),
  };

  return {
    db,
    users: {
      byName: (username: string) => q.userByName.get(username),
      byId: (id: number) => q.userById.get(id),
      list: () => q.listUsers.all(),
      countAdmins: () => q.countAdmins.get()!.n,
      insert: (username: string, passwordHash: string, role: Role) =>
        q.insertUser.get(username, passwordHash, role, Date.now())!.id,
      setPasswordHash: (id: number, hash: string) => void q.setPasswordHash.run(hash, id),
      delete: (id: number) => void q.deleteUser.run(id),
    },
    sessions: {
      insert: (s: SessionRow) =>
        void q.insertSession.run(s.token_hash, s.user_id, s.created_at, s.expires_at, s.persistent, s.last_seen_at),
      byHash: (hash: string) => q.sessionByHash.get(hash),
      touch: (hash: string, now: number, expiresAt: number) => void q.touchSession.run(now, expiresAt, hash),
      delete: (hash: string) => void q.deleteSession.run(hash),
      /** Ends all of a user's sessions except `keepHash` (pass "" to end all). */
      deleteForUser: (userId: number, keepHash = "") => void q.deleteUserSessions.run(userId, keepHash),
      deleteExpired: (now: number) => void q.deleteExpiredSessions.run(now),
    },
    readings: {
      /** Stores a reading and folds it into its hour and day summaries, in one transaction. */
      insert: db.transaction((deviceId: number, at: number, temperature: number, humidity: number) => {
        const id = q.insertReading.get(deviceId, at, temperature, humidity)!.id;
        const b = summaryBuckets(at, opts.zone);
        q.upsertSummary.run(deviceId, "hour", b.hour, temperature, humidity);
        q.upsertSummary.run(deviceId, "day", b.day, temperature, humidity);
        return id;
      }),
      between: (start: number, end: number) => q.readingsBetween.all(start, end),
      /** Changes whenever a reading in [start, end) is added or removed: a cheap cache validator. */
      stamp: (start: number, end: number) => {
        const r = q.readingsStamp.get(start, end)!;
        return `${r.n}-${r.m ?? 0}`;
      },
      latest: () => q.latestReading.get(),
      summaries: (bucket: "hour" | "day", start: number, end: number) => q.summariesBetween.all(bucket, start, end),
      /** Deletes up to `limit` raw readings older than `before` (oldest first); summaries stay. */
      pruneBatch: db.transaction((before: number, limit: number) => {
        const ids = q.oldestRawBefore.all(before, limit);
        for (const { id } of ids) q.deleteReading.run(id);
        return ids.length;
      }),
    },
    statuses: {
      /** A status equal to the device's current one only moves last_seen_at: changes are stored, not repeats. */
      record: db.transaction((deviceId: number, at: number, status: string): StatusRow => {
        const current = q.latestStatusOf.get(deviceId);
        if (current && current.status === status) {
          q.seeStatus.run(at, current.id);
          return { ...current, last_seen_at: at };
        }
        const id = q.insertStatus.get(deviceId, at, status)!.id;
        return { id, device_id: deviceId, recorded_at: at, last_seen_at: at, status };
      }),
      latest: () => q.latestStatus.get(),
    },
    frames: {
      /** Stores a frame and keeps only the newest `keep`, in one transaction. */
      insert: db.transaction((deviceId: number, at: number, mime: ImageMime, bytes: Uint8Array, keep: number) => {
        const id = q.insertFrame.get(deviceId, at, mime, bytes)!.id;
        q.pruneFrames.run(keep);
        return id;
      }),
      byId: (id: number) => q.frameById.get(id),
      /** The newest frame's metadata (no bytes). */
      latest: () => q.latestFrame.get(),
      list: () => q.listFrames.all(),
    },
    deviceTokens: {
      /** A token belongs to a device row of its own, so its events are told apart from others'. */
      insert: db.transaction((name: string, tokenHash: string) => {
        const deviceId = q.insertDevice.get(`${name} #${crypto.randomUUID().slice(0, 8)}`, Date.now())!.id;
        return q.insertToken.get(name, tokenHash, deviceId, Date.now())!.id;
      }),
      byHash: (hash: string) => q.tokenByHash.get(hash),
      list: () => q.listTokens.all(),
      touch: (id: number, at: number) => void q.touchToken.run(at, id),
      revoke: (id: number) => q.revokeToken.run(Date.now(), id).changes > 0,
    },
    eventLog: {
      /** Appends a line and keeps only the newest `keep`. */
      append: (level: string, message: string, details: string, keep: number) => {
        q.insertLog.run(Date.now(), level, message, details);
        q.trimLog.run(keep);
      },
      recent: (limit: number) => q.recentLog.all(limit),
    },
    intervals: {
      get: () => q.intervals.get()!,
      set: (i: Intervals) => void q.setIntervals.run(i.image_delay, i.temphum_delay, i.status_delay, Date.now()),
    },
    close: () => {
      try {
        db.run("PRAGMA wal_checkpoint(TRUNCATE)");
      } finally {
        db.close();
      }
    },
  };
}

export type Store = ReturnType<typeof createStore>;
