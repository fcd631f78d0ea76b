// Owns ageing data: raw readings older than raw_retention_days are pruned in small batches;
// hourly and daily summaries are kept forever. With several instances only the holder of the housekeeping lease
// prunes (`mine`); the others skip each turn.
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";

const BATCH = 500;
/** Pause between batches so live ingest and page loads never wait long behind a prune. */
const PAUSE_MS = 25;
const EVERY_MS = 60 * 60 * 1000;

export function createRetention(deps: {
  store: AsyncStore;
  log: Logger;
  rawRetentionDays: number;
  /** Is housekeeping this instance's to do now? Always, on one instance. */
  mine?: () => boolean;
}) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;

  /** Deletes every raw reading older than the retention window; resolves with how many. */
  async function pruneOnce(now = Date.now()): Promise<number> {
    if (deps.rawRetentionDays <= 0) return 0;
    const cutoff = now - deps.rawRetentionDays * 86400000;
    let total = 0;
    for (;;) {
      if (stopped) break;
      const n = await deps.store.readings.pruneBatch(cutoff, BATCH);
      total += n;
      if (n < BATCH) break;
      await Bun.sleep(PAUSE_MS);
    }
    if (total) deps.log.info("pruned raw readings past retention", { count: total, days: deps.rawRetentionDays });
    return total;
  }

  const run = () => {
    running = (deps.mine?.() === false ? Promise.resolve(0) : pruneOnce()).catch((err) => {
      deps.log.error("pruning raw readings failed", { error: err as Error });
      return 0;
    });
    void running.then(() => {
      if (!stopped) timer = setTimeout(run, EVERY_MS);
    });
  };

  return {
    pruneOnce,
    start(firstDelayMs = 30000) {
      timer = setTimeout(run, firstDelayMs);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
