// Owns the notification tables on PostgreSQL: the same methods and results as ../notify.ts.
import type { Promisified } from "../async-store.ts";
import type { DeliveryRow, notifyStatements, PushSubscriptionRow, TargetRow } from "../notify.ts";
import { one, type Pg, rows } from "./run.ts";

/** Deliveries kept per target, as ../notify.ts. */
const LOG_ROWS = 200;

export function pgNotifyStatements({ sql }: Pg): Promisified<ReturnType<typeof notifyStatements>> {
  return {
    targets: () => rows<TargetRow>(sql`SELECT * FROM notify_targets ORDER BY id`),
    target: (id: number) => one<TargetRow>(sql`SELECT * FROM notify_targets WHERE id = ${id}`),
    targetByUrl: (url: string) => one<TargetRow>(sql`SELECT * FROM notify_targets WHERE url = ${url}`),
    addTarget: async (url: string, fromConfig: boolean) =>
      (await one<{ id: number }>(sql`INSERT INTO notify_targets (url, from_config, created_at)
        VALUES (${url}, ${fromConfig ? 1 : 0}, ${Date.now()}) RETURNING id`))!.id,
    deleteTarget: async (id: number) => {
      await sql`DELETE FROM notify_targets WHERE id = ${id}`;
    },
    targetOk: async (id: number) => {
      await sql`UPDATE notify_targets SET failures = 0, last_ok_at = ${Date.now()}, last_error = NULL
        WHERE id = ${id}`;
    },
    targetFailed: async (id: number, error: string) => {
      await sql`UPDATE notify_targets SET failures = failures + 1, last_error = ${error} WHERE id = ${id}`;
    },
    enqueue: async (targetId: number, event: string, message: string) => {
      const now = Date.now();
      return (await one<{
        id: number;
      }>(sql`INSERT INTO notify_deliveries (target_id, event, message, created_at, next_at)
        VALUES (${targetId}, ${event}, ${message}, ${now}, ${now}) RETURNING id`))!.id;
    },
    due: (now: number, limit: number) =>
      rows<DeliveryRow>(sql`SELECT * FROM notify_deliveries WHERE status = 'pending' AND next_at <= ${now}
        ORDER BY next_at, id LIMIT ${limit}`),
    // SKIP LOCKED: rows another instance is claiming this moment are left to it, not waited for.
    claimDue: async (now: number, limit: number, holder: string, until: number) =>
      (
        await rows<DeliveryRow>(sql`UPDATE notify_deliveries SET claimed_by = ${holder}, claimed_until = ${until}
          WHERE id IN (SELECT id FROM notify_deliveries
            WHERE status = 'pending' AND next_at <= ${now}
              AND (claimed_until IS NULL OR claimed_until <= ${now} OR claimed_by = ${holder})
            ORDER BY next_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
          RETURNING *`)
      ).sort((a, b) => a.next_at - b.next_at || a.id - b.id),
    nextDue: async () =>
      (await one<{ at: number | null }>(sql`SELECT min(next_at) AS at FROM notify_deliveries WHERE status = 'pending'`))
        ?.at ?? null,
    settle: async (d: Pick<DeliveryRow, "id" | "status" | "attempts" | "next_at" | "done_at" | "last_error">) => {
      await sql`UPDATE notify_deliveries SET status = ${d.status}, attempts = ${d.attempts}, next_at = ${d.next_at},
        done_at = ${d.done_at}::int8, last_error = ${d.last_error}::text, claimed_by = NULL, claimed_until = NULL
        WHERE id = ${d.id}`;
    },
    trimLog: async (targetId: number) => {
      await sql`DELETE FROM notify_deliveries WHERE target_id = ${targetId} AND status != 'pending' AND id <= (
        SELECT id FROM notify_deliveries WHERE target_id = ${targetId} ORDER BY id DESC LIMIT 1 OFFSET ${LOG_ROWS})`;
    },
    log: (targetId: number, limit = LOG_ROWS) =>
      rows<DeliveryRow>(sql`SELECT * FROM notify_deliveries WHERE target_id = ${targetId}
        ORDER BY id DESC LIMIT ${limit}`),
    subscriptions: () => rows<PushSubscriptionRow>(sql`SELECT * FROM push_subscriptions ORDER BY id`),
    subscribe: async (endpoint: string, p256dh: string, auth: string, userId: number) => {
      await sql`INSERT INTO push_subscriptions (endpoint, p256dh, auth, user_id, created_at)
        VALUES (${endpoint}, ${p256dh}, ${auth}, ${userId}, ${Date.now()})
        ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth,
          user_id = excluded.user_id`;
    },
    unsubscribe: async (endpoint: string) => {
      await sql`DELETE FROM push_subscriptions WHERE endpoint = ${endpoint}`;
    },
    key: async (name: string) =>
      (await one<{ value: string }>(sql`SELECT value FROM app_keys WHERE name = ${name}`))?.value ?? null,
    /** SQLite's INSERT OR REPLACE. */
    setKey: async (name: string, value: string) => {
      await sql`INSERT INTO app_keys (name, value) VALUES (${name}, ${value})
        ON CONFLICT (name) DO UPDATE SET value = excluded.value`;
    },
    /** Stores the key unless one of that name is there already; gives the one kept (instances starting together). */
    keepKey: async (name: string, value: string): Promise<string> => {
      await sql`INSERT INTO app_keys (name, value) VALUES (${name}, ${value}) ON CONFLICT DO NOTHING`;
      return (await one<{ value: string }>(sql`SELECT value FROM app_keys WHERE name = ${name}`))!.value;
    },
  };
}
