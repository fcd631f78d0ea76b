// Owns this instance's Redis connections (redis_url): one for commands and publishing, one subscribed. Our own
// reconnect loop with backoff makes both afresh and subscribes every channel again on each (re)connect; it logs
// "Redis down" and "Redis back" once per outage and keeps the health flag /healthz reports. Holds no shared
// state: only the channels this instance listens to, made again on every connection.
import { RedisClient } from "bun";
import type { Logger } from "../log.ts";
import { redactUrl } from "../urls.ts";

/** Backoff between connection attempts while Redis is down: doubling from the first to the last. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5000;
/** A connection that looks up is asked this often, and counts as down when no answer comes within the timeout. */
const PING_EVERY_MS = 2000;
const PING_TIMEOUT_MS = 2000;
const CONNECT_TIMEOUT_MS = 3000;

/** Up or down (then reconnecting with backoff) since when, and the last reason it went down. */
export type RedisStatus = { up: boolean; since: number; error: string | null };

export type RedisLink = {
  /** True while both connections are up (the last ping answered). */
  healthy(): boolean;
  /** For Settings: up or reconnecting, since when. */
  status(): RedisStatus;
  /** Publishes; dropped while Redis is down (live events are not queued: the database keeps what matters). */
  publish(channel: string, message: string): void;
  /** Listens to a channel from now on, over every reconnection; one listener per channel. */
  subscribe(channel: string, fn: (message: string) => void): void;
  unsubscribe(channel: string): void;
  /** A command on the command connection; rejects while Redis is down. */
  send(command: string, args: string[]): Promise<unknown>;
  /** Resolves once both connections are up and subscribed, or after `ms` (Redis down: start without it). */
  ready(ms: number): Promise<boolean>;
  /** Runs after each reconnection that followed an outage (to catch up on what was missed). */
  onBack(fn: () => void): void;
  close(): Promise<void>;
};

export function connectRedis(url: string, log: Logger): RedisLink {
  const channels = new Map<string, (message: string) => void>();
  const backHooks: (() => void)[] = [];
  let cmd: RedisClient | null = null;
  let sub: RedisClient | null = null;
  let up = false;
  /** When `up` last changed (or the link was made), and why it last went down. */
  let since = Date.now();
  let lastError: string | null = null;
  /** Whether "Redis down" was logged for the outage under way (so it is said once, and "back" only after it). */
  let saidDown = false;
  let closed = false;
  let wake: (() => void) | null = null;
  let timer: Timer | undefined;
  let firstUp: () => void = () => {};
  const wasUp = new Promise<void>((resolve) => {
    firstUp = resolve;
  });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  const drop = () => {
    for (const c of [cmd, sub]) {
      if (!c) continue;
      c.onclose = null;
      c.close();
    }
    cmd = sub = null;
  };
  const down = (why: string) => {
    if (closed) return;
    const was = up;
    up = false;
    if (was) since = Date.now();
    lastError = why;
    drop();
    if (!saidDown) {
      saidDown = true;
      log.warn("Redis down", { url: redactUrl(url), error: why, was_up: was });
    }
    wake?.();
  };
  const open = async () => {
    const options = { autoReconnect: false, enableOfflineQueue: false, connectionTimeout: CONNECT_TIMEOUT_MS };
    const c = new RedisClient(url, options);
    const s = new RedisClient(url, options);
    cmd = c;
    sub = s;
    await Promise.all([c.connect(), s.connect()]);
    for (const client of [c, s])
      client.onclose = (err) => {
        if (client === cmd || client === sub) down(err?.message ?? "connection closed");
      };
    // A fresh connection has no subscriptions and no listeners: each channel once.
    for (const [channel, fn] of channels) await s.subscribe(channel, fn);
  };
  const ping = async () => {
    const c = cmd;
    if (!c) return false;
    let t: Timer | undefined;
    const timeout = new Promise<false>((resolve) => {
      t = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
    });
    const answer = c.send("PING", []).then(
      (r) => r === "PONG",
      () => false,
    );
    const ok = await Promise.race([answer, timeout]);
    clearTimeout(t);
    return ok;
  };

  const loop = (async () => {
    let retryMs = RETRY_FIRST_MS;
    while (!closed) {
      if (!up) {
        try {
          await open();
          if (closed) break;
          up = true;
          since = Date.now();
          firstUp();
          retryMs = RETRY_FIRST_MS;
          if (saidDown) {
            saidDown = false;
            log.info("Redis back", { url: redactUrl(url) });
            for (const fn of backHooks) fn();
          }
        } catch (err) {
          drop();
          if (!saidDown) down((err as Error).message);
          await sleep(retryMs);
          retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
          continue;
        }
      }
      await sleep(PING_EVERY_MS);
      if (up && !closed && !(await ping())) down("no answer to PING");
    }
  })();

  return {
    healthy: () => up,
    status: () => ({ up, since, error: lastError }),
    publish(channel, message) {
      if (!up || !cmd) return;
      cmd.publish(channel, message).catch(() => {});
    },
    subscribe(channel, fn) {
      const had = channels.has(channel);
      channels.set(channel, fn);
      if (!up || !sub) return;
      const s = sub;
      // Replacing a channel's listener: drop the old one first, or both would hear each message.
      (had ? s.unsubscribe(channel) : Promise.resolve())
        .then(() => s.subscribe(channel, fn))
        .catch((err: Error) => down(err.message));
    },
    unsubscribe(channel) {
      if (!channels.delete(channel) || !up || !sub) return;
      sub.unsubscribe(channel).catch((err: Error) => down(err.message));
    },
    send(command, args) {
      if (!up || !cmd) return Promise.reject(new Error("Redis is down"));
      return cmd.send(command, args);
    },
    async ready(ms) {
      let t: Timer | undefined;
      await Promise.race([wasUp, new Promise<void>((resolve) => (t = setTimeout(resolve, ms)))]);
      clearTimeout(t);
      return up;
    },
    onBack(fn) {
      backHooks.push(fn);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      wake?.();
      await loop;
      up = false;
      drop();
    },
  };
}
