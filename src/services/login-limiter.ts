// Owns login throttling: failed attempts per client address and per username, with a growing lockout.
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

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
