// Owns the notification tables: targets, the delivery queue (which is also the delivery log), browsers'
// push subscriptions, and the app's generated keys (VAPID).
import type { Database } from "bun:sqlite";

export type TargetRow = {
  id: number;
  url: string;
  from_config: number;
  created_at: number;
  failures: number;
  last_ok_at: number | null;
  last_error: string | null;
};
export type DeliveryRow = {
  id: number;
  target_id: number;
  event: string;
  message: string;
  created_at: number;
  status: "pending" | "sent" | "failed";
  attempts: number;
  next_at: number;
  done_at: number | null;
  last_error: string | null;
  /** The instance sending it now, and until when its claim holds (null when no one is). */
  claimed_by: string | null;
  claimed_until: number | null;
};
export type PushSubscriptionRow = {
  id: number;
  endpoint: string;
  p256dh: string;
  auth: string;
  user_id: number;
  created_at: number;
};

/** Deliveries kept per target: the log an admin reads. */
const LOG_ROWS = 200;

export function notifyStatements(db: Database) {
  const q = {
    targets: db.query<TargetRow, []>("SELECT * FROM notify_targets ORDER BY id"),
    target: db.query<TargetRow, [number]>("SELECT * FROM notify_targets WHERE id = ?"),
    targetByUrl: db.query<TargetRow, [string]>("SELECT * FROM notify_targets WHERE url = ?"),
    insertTarget: db.query<{ id: number }, [string, number, number]>(
      "INSERT INTO notify_targets (url, from_config, created_at) VALUES (?, ?, ?) RETURNING id",
    ),
    deleteTarget: db.query<never, [number]>("DELETE FROM notify_targets WHERE id = ?"),
    targetOk: db.query<never, [number, number]>(
      "UPDATE notify_targets SET failures = 0, last_ok_at = ?, last_error = NULL WHERE id = ?",
    ),
    targetFailed: db.query<never, [string, number]>(
      "UPDATE notify_targets SET failures = failures + 1, last_error = ? WHERE id = ?",
    ),
    enqueue: db.query<{ id: number }, [number, string, string, number]>(
      `INSERT INTO notify_deliveries (target_id, event, message, created_at, next_at)
       VALUES (?, ?, ?, ?4, ?4) RETURNING id`,
    ),
    due: db.query<DeliveryRow, [number, number]>(
      "SELECT * FROM notify_deliveries WHERE status = 'pending' AND next_at <= ? ORDER BY next_at LIMIT ?",
    ),
    claimDue: db.query<DeliveryRow, [number, number, string, number]>(
      `UPDATE notify_deliveries SET claimed_by = ?3, claimed_until = ?4
       WHERE id IN (SELECT id FROM notify_deliveries
         WHERE status = 'pending' AND next_at <= ?1
           AND (claimed_until IS NULL OR claimed_until <= ?1 OR claimed_by = ?3)
         ORDER BY next_at, id LIMIT ?2)
       RETURNING *`,
    ),
    nextDue: db.query<{ at: number | null }, []>(
      "SELECT min(next_at) AS at FROM notify_deliveries WHERE status = 'pending'",
    ),
    settle: db.query<never, [string, number, number, number | null, string | null, number]>(
      `UPDATE notify_deliveries SET status = ?, attempts = ?, next_at = ?, done_at = ?, last_error = ?,
         claimed_by = NULL, claimed_until = NULL
       WHERE id = ?`,
    ),
    trim: db.query<never, [number, number]>(
      `DELETE FROM notify_deliveries WHERE target_id = ?1 AND status != 'pending' AND id <= (
         SELECT id FROM notify_deliveries WHERE target_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)`,
    ),
    log: db.query<DeliveryRow, [number, number]>(
      "SELECT * FROM notify_deliveries WHERE target_id = ? ORDER BY id DESC LIMIT ?",
    ),
    subscriptions: db.query<PushSubscriptionRow, []>("SELECT * FROM push_subscriptions ORDER BY id"),
    subscribe: db.query<never, [string, string, string, number, number]>(
      `INSERT INTO push_subscriptions (endpoint, p256dh, auth, user_id, created_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth,
         user_id = excluded.user_id`,
    ),
    unsubscribe: db.query<never, [string]>("DELETE FROM push_subscriptions WHERE endpoint = ?"),
    key: db.query<{ value: string }, [string]>("SELECT value FROM app_keys WHERE name = ?"),
    setKey: db.query<never, [string, string]>("INSERT OR REPLACE INTO app_keys (name, value) VALUES (?, ?)"),
    addKey: db.query<never, [string, string]>(
      "INSERT INTO app_keys (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
    ),
  };
  return {
    targets: () => q.targets.all(),
    target: (id: number) => q.target.get(id),
    targetByUrl: (url: string) => q.targetByUrl.get(url),
    addTarget: (url: string, fromConfig: boolean) => q.insertTarget.get(url, fromConfig ? 1 : 0, Date.now())!.id,
    deleteTarget: (id: number) => void q.deleteTarget.run(id),
    targetOk: (id: number) => void q.targetOk.run(Date.now(), id),
    targetFailed: (id: number, error: string) => void q.targetFailed.run(error, id),
    enqueue: (targetId: number, event: string, message: string) =>
      q.enqueue.get(targetId, event, message, Date.now())!.id,
    due: (now: number, limit: number) => q.due.all(now, limit),
    /**
     * Claims the due deliveries no one else holds (its own again) for `holder` until `until`, oldest first: only the claimer sends
     * them (settle lets the claim go; a claim of an instance that died runs out and the delivery is due again).
     */
    claimDue: (now: number, limit: number, holder: string, until: number) =>
      q.claimDue.all(now, limit, holder, until).sort((a, b) => a.next_at - b.next_at || a.id - b.id),
    nextDue: () => q.nextDue.get()?.at ?? null,
    settle: (d: Pick<DeliveryRow, "id" | "status" | "attempts" | "next_at" | "done_at" | "last_error">) => {
      q.settle.run(d.status, d.attempts, d.next_at, d.done_at, d.last_error, d.id);
    },
    trimLog: (targetId: number) => void q.trim.run(targetId, LOG_ROWS),
    log: (targetId: number, limit = LOG_ROWS) => q.log.all(targetId, limit),
    subscriptions: () => q.subscriptions.all(),
    subscribe: (endpoint: string, p256dh: string, auth: string, userId: number) =>
      void q.subscribe.run(endpoint, p256dh, auth, userId, Date.now()),
    unsubscribe: (endpoint: string) => void q.unsubscribe.run(endpoint),
    key: (name: string) => q.key.get(name)?.value ?? null,
    setKey: (name: string, value: string) => void q.setKey.run(name, value),
    /** Stores the key unless one of that name is there already; gives the one kept (instances starting together). */
    keepKey: (name: string, value: string): string => {
      q.addKey.run(name, value);
      return q.key.get(name)!.value;
    },
  };
}
