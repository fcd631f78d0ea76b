// Owns Web Push for browsers that opted in: this server's VAPID keys (made once, kept in the database), the
// subscriptions, and a notification fanned out to all of them (a gone subscription is dropped).
import type { Logger } from "../log.ts";
import type { Store } from "../store/store.ts";
import type { Message, SendResult } from "./senders.ts";
import { generateVapidKeys, sendPush } from "./webpush.ts";

export function createPushService(deps: { store: Store; log: Logger; subject: string; timeoutMs?: number }) {
  const { store, log } = deps;
  let keys = (() => {
    const saved = store.notify.key("vapid");
    if (saved) return JSON.parse(saved) as { publicKey: string; privateKey: string };
    const made = generateVapidKeys();
    store.notify.setKey("vapid", JSON.stringify(made));
    log.info("made this server's Web Push (VAPID) keys");
    return made;
  })();

  return {
    publicKey: () => keys.publicKey,
    subscribe: (endpoint: string, p256dh: string, auth: string, userId: number) =>
      store.notify.subscribe(endpoint, p256dh, auth, userId),
    unsubscribe: (endpoint: string) => store.notify.unsubscribe(endpoint),
    subscriptions: () => store.notify.subscriptions().length,
    /** Sends to every subscribed browser; ok when at least one took it (or there are none). */
    async send(m: Message): Promise<SendResult> {
      const subs = store.notify.subscriptions();
      if (!subs.length) return { ok: true, retry: false };
      const payload = JSON.stringify({ title: m.title, body: m.body, url: m.link, tag: `${m.event}-${m.printer.id}` });
      const vapid = { ...keys, subject: deps.subject };
      const results = await Promise.all(
        subs.map(async (s) => {
          const sub = { endpoint: s.endpoint, keys: { p256dh: s.p256dh, auth: s.auth } };
          const r = await sendPush(sub, payload, vapid, { ttl: 3600, timeoutMs: deps.timeoutMs ?? 10_000 });
          if (r.gone) store.notify.unsubscribe(s.endpoint);
          return r;
        }),
      );
      if (results.some((r) => r.status >= 200 && r.status < 300)) return { ok: true, retry: false };
      const worst = results.find((r) => !r.gone) ?? results[0]!;
      const retry = worst.status === 0 || worst.status >= 500 || worst.status === 429;
      return { ok: false, status: worst.status, error: worst.error ?? `push service answered ${worst.status}`, retry };
    },
    /** For tests and key rotation: use these keys from now on. */
    setKeys(next: { publicKey: string; privateKey: string }) {
      keys = next;
      store.notify.setKey("vapid", JSON.stringify(next));
    },
  };
}

export type PushService = ReturnType<typeof createPushService>;
