// Owns Web Push for browsers that opted in: this server's VAPID keys (made once, kept in the database), the
// subscriptions, and a notification fanned out to all of them (a gone subscription is dropped).
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { Message, SendResult } from "./senders.ts";
import { generateVapidKeys, sendPush } from "./webpush.ts";

type VapidKeys = { publicKey: string; privateKey: string };

export async function createPushService(deps: { store: AsyncStore; log: Logger; subject: string; timeoutMs?: number }) {
  const { store, log } = deps;
  let keys = await (async () => {
    const saved = await store.notify.key("vapid");
    if (saved) return JSON.parse(saved) as VapidKeys;
    // Insert if absent: of two instances starting at once, both keep the pair that was stored first.
    const made = JSON.stringify(generateVapidKeys());
    const kept = await store.notify.keepKey("vapid", made);
    if (kept === made) log.info("made this server's Web Push (VAPID) keys");
    return JSON.parse(kept) as VapidKeys;
  })();

  return {
    publicKey: () => keys.publicKey,
    subscribe: (endpoint: string, p256dh: string, auth: string, userId: number) =>
      store.notify.subscribe(endpoint, p256dh, auth, userId),
    unsubscribe: (endpoint: string) => store.notify.unsubscribe(endpoint),
    subscriptions: async () => (await store.notify.subscriptions()).length,
    /** Sends to every subscribed browser; ok when at least one took it (or there are none). */
    async send(m: Message): Promise<SendResult> {
      const subs = await store.notify.subscriptions();
      if (!subs.length) return { ok: true, retry: false };
      const payload = JSON.stringify({ title: m.title, body: m.body, url: m.link, tag: `${m.event}-${m.printer.id}` });
      const vapid = { ...keys, subject: deps.subject };
      const results = await Promise.all(
        subs.map(async (s) => {
          const sub = { endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } };
          const r = await sendPush(sub, payload, vapid, { ttl: 3600, timeoutMs: deps.timeoutMs ?? 10_000 });
          if (r.gone) await store.notify.unsubscribe(s.endpoint);
          return r;
        }),
      );
      if (results.some((r) => r.status >= 200 && r.status < 300)) return { ok: true, retry: false };
      const worst = results.find((r) => !r.gone) ?? results[0]!;
      const retry = worst.status === 0 || worst.status >= 500 || worst.status === 429;
      return { ok: false, status: worst.status, error: worst.error ?? `push service answered ${worst.status}`, retry };
    },
    /** For tests and key rotation: use these keys from now on. */
    async setKeys(next: VapidKeys) {
      keys = next;
      await store.notify.setKey("vapid", JSON.stringify(next));
    },
  };
}

export type PushService = Awaited<ReturnType<typeof createPushService>>;
