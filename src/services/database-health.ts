// Owns what this instance knows of its database's health: a probe (a trivial query, given up on after a timeout
// so a hung server counts as down), run every few seconds on PostgreSQL and whenever someone asks; "database down"
// and "database back" are logged once per outage. Held state: up or down, and since when.
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";

export type DatabaseHealth = { engine: AsyncStore["engine"]; up: boolean; since: number };

const PROBE_EVERY_MS = 5_000;
const PROBE_TIMEOUT_MS = 2_000;

export function createDatabaseHealth(deps: { store: AsyncStore; log: Logger; everyMs?: number; timeoutMs?: number }) {
  const { store, log } = deps;
  const timeoutMs = deps.timeoutMs ?? PROBE_TIMEOUT_MS;
  let up = true;
  let since = Date.now();

  async function probe(): Promise<DatabaseHealth> {
    let timer: Timer | undefined;
    const ok = await Promise.race([
      store.healthy().catch(() => false),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (ok !== up) {
      up = ok;
      since = Date.now();
      if (ok) log.info("database back", { engine: store.engine });
      else log.warn("database down", { engine: store.engine, timeout_ms: timeoutMs });
    }
    return { engine: store.engine, up, since };
  }

  // A file beside the process does not go away by itself: SQLite is probed when asked only.
  const timer = store.engine === "postgres" ? setInterval(() => void probe(), deps.everyMs ?? PROBE_EVERY_MS) : null;
  timer?.unref?.();

  return {
    probe,
    stop() {
      if (timer) clearInterval(timer);
    },
  };
}

export type DatabaseHealthWatch = ReturnType<typeof createDatabaseHealth>;
