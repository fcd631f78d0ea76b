// Owns login throttling: failed attempts per client address and per username, with a growing lockout. Counted in
// this process (createLoginLimiter), or shared through Redis by every instance (createRedisLoginLimiter, with
// redis_url), falling back to this process's count while Redis is down.
import type { RedisLink } from "../cluster/redis.ts";
import type { Logger } from "../log.ts";

export const LOGIN_ATTEMPTS_PER_WINDOW = 5;
export const LOGIN_WINDOW_MS = 60 * 1000;
const MAX_LOCKOUT_MS = 15 * 60 * 1000;
/** Forget idle keys so a flood of addresses cannot grow the table without bound. */
const MAX_KEYS = 10000;

type Entry = { failures: number[]; lockedUntil: number; lockouts: number };

export function createLoginLimiter(now: () => number = Date.now) {
  const entries = new Map<string, Entry>();

  function entry(key: string): Entry {
    let e = entries.get(key);
    if (!e) {
      if (entries.size >= MAX_KEYS)
        for (const [k, v] of entries)
          if (v.lockedUntil < now() && !v.failures.some((t) => t > now() - LOGIN_WINDOW_MS)) entries.delete(k);
      if (entries.size >= MAX_KEYS) entries.delete(entries.keys().next().value!);
      e = { failures: [], lockedUntil: 0, lockouts: 0 };
      entries.set(key, e);
    }
    return e;
  }

  return {
    /** Seconds to wait before another attempt for any of `keys`, or 0 when allowed. */
    retryAfter(keys: string[]): number {
      const t = now();
      let wait = 0;
      for (const key of keys) {
        const e = entries.get(key);
        if (e && e.lockedUntil > t) wait = Math.max(wait, Math.ceil((e.lockedUntil - t) / 1000));
      }
      return wait;
    },
    /** Records a failure; past the limit the key is locked, each lockout twice as long as the last. */
    fail(keys: string[]): void {
      const t = now();
      for (const key of keys) {
        const e = entry(key);
        e.failures = e.failures.filter((f) => f > t - LOGIN_WINDOW_MS);
        e.failures.push(t);
        if (e.failures.length >= LOGIN_ATTEMPTS_PER_WINDOW) {
          e.lockedUntil = t + Math.min(LOGIN_WINDOW_MS * 2 ** e.lockouts, MAX_LOCKOUT_MS);
          e.lockouts++;
          e.failures = [];
        }
      }
    },
    succeed(keys: string[]): void {
      for (const key of keys) entries.delete(key);
    },
  };
}

/** What the login route asks; the Redis form answers asynchronously. */
export type LoginLimiter = {
  retryAfter(keys: string[]): number | Promise<number>;
  fail(keys: string[]): void | Promise<void>;
  succeed(keys: string[]): void | Promise<void>;
};

/** Lockouts so far are remembered this long after the last one (in-process: until a success or a restart). */
const LOCKOUTS_KEPT_MS = 24 * 60 * 60 * 1000;

/**
 * One failure for a key, atomically: counted in a window that starts at the window's first failure (INCR with
 * an expiry); at the limit the key is locked, each lockout twice as long as the last (at most the maximum), and
 * the count starts again. KEYS: failures, lock, lockouts. ARGV: window, limit, first lockout, max lockout, kept.
 */
const FAIL_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n >= tonumber(ARGV[2]) then
  local k = tonumber(redis.call('GET', KEYS[3]) or '0')
  local ms = math.floor(math.min(tonumber(ARGV[3]) * 2 ^ k, tonumber(ARGV[4])))
  redis.call('SET', KEYS[2], '1', 'PX', ms)
  redis.call('SET', KEYS[3], k + 1, 'PX', ARGV[5])
  redis.call('DEL', KEYS[1])
end
return n`;

/** The same limits counted in Redis, so a failure on one instance counts on all of them. */
export function createRedisLoginLimiter(redis: RedisLink, log: Logger): LoginLimiter {
  const local = createLoginLimiter();
  const keysOf = (key: string) => [`lw:login:${key}:fails`, `lw:login:${key}:lock`, `lw:login:${key}:lockouts`];
  const fallback = (err: unknown) =>
    log.warn("login limiter: Redis did not answer, counting in this process", { error: err as Error });
  return {
    async retryAfter(keys) {
      // Down: the link has said so once; counting here meanwhile needs no warning per attempt.
      if (!redis.healthy()) return local.retryAfter(keys);
      try {
        let wait = 0;
        for (const key of keys) {
          const ms = Number(await redis.send("PTTL", [keysOf(key)[1]!]));
          if (ms > 0) wait = Math.max(wait, Math.ceil(ms / 1000));
        }
        return Math.max(wait, local.retryAfter(keys));
      } catch (err) {
        fallback(err);
        return local.retryAfter(keys);
      }
    },
    async fail(keys) {
      if (!redis.healthy()) return local.fail(keys);
      try {
        for (const key of keys) {
          const args = [LOGIN_WINDOW_MS, LOGIN_ATTEMPTS_PER_WINDOW, LOGIN_WINDOW_MS, MAX_LOCKOUT_MS, LOCKOUTS_KEPT_MS];
          await redis.send("EVAL", [FAIL_SCRIPT, "3", ...keysOf(key), ...args.map(String)]);
        }
      } catch (err) {
        fallback(err);
        local.fail(keys);
      }
    },
    async succeed(keys) {
      local.succeed(keys);
      if (!redis.healthy()) return;
      try {
        await redis.send("DEL", keys.flatMap(keysOf));
      } catch (err) {
        fallback(err);
      }
    },
  };
}
