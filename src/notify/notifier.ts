// Owns delivery: an event becomes one persisted delivery per target that wants it; a worker sends them with
// a timeout, retries with backoff for a bounded time, records every result (the per-target log) and flags a
// target that keeps failing. Raising an event only writes a row: sending never blocks ingest or pages. Each
// delivery is claimed in the database before it is sent (FOR UPDATE SKIP LOCKED on PostgreSQL), so with several
// instances each is sent by one; a claim outlives a send's timeout, and one of a dead instance runs out.
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { DeliveryRow } from "../store/store.ts";
import { type Image, type Message, type SendResult, send } from "./senders.ts";
import { type NotifyEvent, parseTarget, redactTarget, type Target, wants } from "./targets.ts";

export type NotifyTimings = { retryMs: number[]; timeoutMs: number; tickMs: number };
export const DEFAULT_NOTIFY_TIMINGS: NotifyTimings = {
  // Five tries over about a quarter of an hour, then the delivery is recorded as failed.
  retryMs: [5_000, 30_000, 120_000, 600_000],
  timeoutMs: 10_000,
  tickMs: 1_000,
};
/** A target failing this many deliveries in a row is flagged to the admin. */
export const FLAG_AFTER = 3;
const WEBPUSH_URL = "webpush://";

export function createNotifier(deps: {
  store: AsyncStore;
  log: Logger;
  telegramApiRoot: string;
  image: (frameId: number) => Promise<Image | null>;
  webpush: (m: Message) => Promise<SendResult>;
  hasPushSubscribers: () => Promise<boolean>;
  /** This instance's name: the claimer of what it sends. */
  instance?: string;
  timings?: Partial<NotifyTimings>;
}) {
  const instance = deps.instance ?? "local";
  const { store, log } = deps;
  const timings = { ...DEFAULT_NOTIFY_TIMINGS, ...deps.timings };
  const parsed = new Map<number, Target>();
  let stopped = false;

  async function targetOf(id: number): Promise<Target | null> {
    const hit = parsed.get(id);
    if (hit) return hit;
    const row = await store.notify.target(id);
    const p = row ? parseTarget(row.url) : null;
    if (!p?.ok) return null;
    parsed.set(id, p.target);
    return p.target;
  }

  async function addTarget(
    url: string,
    fromConfig = false,
  ): Promise<{ ok: true; id: number } | { ok: false; error: string }> {
    const p = parseTarget(url);
    if (!p.ok) return p;
    const existing = await store.notify.targetByUrl(url.trim());
    if (existing) return { ok: true, id: existing.id };
    let id: number;
    try {
      id = await store.notify.addTarget(url.trim(), fromConfig);
    } catch (err) {
      // Another instance starting at the same moment added it first: one row, which this one uses.
      const raced = await store.notify.targetByUrl(url.trim());
      if (!raced) throw err;
      return { ok: true, id: raced.id };
    }
    log.info("notification target added", { target: redactTarget(url) });
    return { ok: true, id };
  }

  /** How long a claim holds: several sends' timeouts, so it outlives the sends queued behind it for one target. */
  const claimMs = () => Math.max(60_000, 6 * timings.timeoutMs);

  async function deliver(d: DeliveryRow) {
    // A claim that may run out before this send could time out: left for the next look, which claims it again.
    if (d.claimed_until !== null && Date.now() + timings.timeoutMs >= d.claimed_until) return;
    const target = await targetOf(d.target_id);
    const message = JSON.parse(d.message) as Message;
    const attempts = d.attempts + 1;
    let result: SendResult;
    if (!target) result = { ok: false, error: "the target's address is no longer valid", retry: false };
    else {
      const image = message.frameId !== null ? await deps.image(message.frameId) : null;
      const ctx = { deliveryId: d.id, telegramApiRoot: deps.telegramApiRoot, timeoutMs: timings.timeoutMs };
      result = await send(target, message, image, { ...ctx, webpush: deps.webpush });
    }
    if (stopped) return; // the database may be closing
    const now = Date.now();
    const delay = timings.retryMs[attempts - 1];
    const again = !result.ok && result.retry && delay !== undefined;
    await store.notify.settle({
      id: d.id,
      status: result.ok ? "sent" : again ? "pending" : "failed",
      attempts,
      next_at: again ? now + delay : d.next_at,
      done_at: again ? null : now,
      last_error: result.ok ? null : (result.error ?? "failed"),
    });
    if (result.ok) await store.notify.targetOk(d.target_id);
    else if (!again) {
      await store.notify.targetFailed(d.target_id, result.error ?? "failed");
      const row = await store.notify.target(d.target_id);
      if (row?.failures === FLAG_AFTER)
        log.warn("a notification target keeps failing", { target: redactTarget(row.url), error: result.error });
    }
    if (!again) await store.notify.trimLog(d.target_id);
  }

  /** Each target is worked on its own, in order: one that hangs (up to the timeout) holds up only itself. */
  const busy = new Set<number>();
  let looking = false;
  /** A call that came while a look was under way: it looks again once that one is done (a raise must not wait). */
  let lookAgain = false;
  async function work() {
    // One look for due deliveries at a time: two would both find (and send) the same rows.
    if (stopped) return;
    if (looking) {
      lookAgain = true;
      return;
    }
    looking = true;
    lookAgain = false;
    let due: DeliveryRow[];
    try {
      const now = Date.now();
      due = await store.notify.claimDue(now, 500, instance, now + claimMs());
    } catch (err) {
      log.error("reading due notifications failed", { error: err as Error });
      return;
    } finally {
      looking = false;
      if (lookAgain) queueMicrotask(() => void work());
    }
    if (stopped) return;
    const byTarget = new Map<number, DeliveryRow[]>();
    for (const d of due)
      if (!busy.has(d.target_id)) byTarget.set(d.target_id, [...(byTarget.get(d.target_id) ?? []), d]);
    for (const [targetId, list] of byTarget) {
      busy.add(targetId);
      void (async () => {
        try {
          for (const d of list) {
            if (stopped) return;
            await deliver(d).catch((err) => log.error("delivery failed", { error: err as Error }));
          }
        } finally {
          busy.delete(targetId);
          if (!stopped && list.length > 1) queueMicrotask(() => void work());
        }
      })();
    }
  }
  const timer = setInterval(() => void work(), timings.tickMs);
  /** Raised messages are queued one after another, in the order they were raised. */
  let raising: Promise<void> = Promise.resolve();
  timer.unref?.();

  return {
    /** Config targets are created at start; ones dropped from the config go. */
    async syncConfig(urls: string[]) {
      for (const url of urls) {
        const made = await addTarget(url, true);
        if (!made.ok) log.warn("notification target ignored", { target: redactTarget(url), error: made.error });
      }
      for (const row of await store.notify.targets())
        if (row.from_config && !urls.map((u) => u.trim()).includes(row.url)) await store.notify.deleteTarget(row.id);
      await addTarget(WEBPUSH_URL);
    },
    addTarget,
    async removeTarget(id: number) {
      parsed.delete(id);
      await store.notify.deleteTarget(id);
    },
    /** Queues the message for every target that wants it (Web Push only with a browser subscribed); the worker
     *  sends it soon. */
    raise(message: Message): Promise<void> {
      raising = raising.then(async () => {
        try {
          for (const row of await store.notify.targets()) {
            const target = await targetOf(row.id);
            if (!target || !wants(target, message.event)) continue;
            if (target.kind === "webpush" && !(await deps.hasPushSubscribers())) continue;
            await store.notify.enqueue(row.id, message.event, JSON.stringify(message));
          }
        } catch (err) {
          log.error("queueing a notification failed", { event: message.event, error: err as Error });
        }
        queueMicrotask(() => void work());
      });
      return raising;
    },
    /** Sends straight away to a URL not saved yet (Settings' "send test"); nothing is stored. */
    async test(url: string, message: Message): Promise<SendResult> {
      const p = parseTarget(url);
      if (!p.ok) return { ok: false, error: p.error, retry: false };
      const image = message.frameId !== null ? await deps.image(message.frameId) : null;
      const ctx = { deliveryId: 0, telegramApiRoot: deps.telegramApiRoot, timeoutMs: timings.timeoutMs };
      return send(p.target, message, image, { ...ctx, webpush: deps.webpush });
    },
    targets: async () =>
      Promise.all(
        (await store.notify.targets()).map(async (t) => ({
          ...t,
          url: redactTarget(t.url),
          flagged: t.failures >= FLAG_AFTER,
          log: await store.notify.log(t.id, 200),
        })),
      ),
    events: async (id: number): Promise<NotifyEvent[] | null> => (await targetOf(id))?.events ?? null,
    work,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
