// Owns group commit: device writes queued in one tick are committed in one fsync'd transaction, and
// housekeeping writes (a job's progress and weather) ride along with the next one instead of their own.
// With synchronous=FULL each commit survives a power cut; batching keeps that affordable.
import type { Database } from "bun:sqlite";

type Job = { run: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void };

export function createWriteQueue(db: Database) {
  let pending: Job[] = [];
  let scheduled = false;
  /** Writes that may wait: by key, the latest wins; each goes out with the next batch or by its deadline. */
  const later = new Map<string, () => unknown>();
  let laterTimer: ReturnType<typeof setTimeout> | undefined;
  let laterDue = Number.POSITIVE_INFINITY;

  function takeLater() {
    const fns = [...later.values()];
    later.clear();
    clearTimeout(laterTimer);
    laterTimer = undefined;
    laterDue = Number.POSITIVE_INFINITY;
    return fns;
  }
  /** Waiting writes catch their own errors (see `later`): one cannot sink a batch. */
  const runAll = (fns: (() => unknown)[]) => {
    for (const fn of fns) fn();
  };

  function flush(): void {
    scheduled = false;
    const batch = pending;
    pending = [];
    const waiting = takeLater();
    if (!batch.length) {
      if (waiting.length) db.transaction(runAll)(waiting);
      return;
    }
    const results: unknown[] = [];
    try {
      db.transaction(() => {
        for (const job of batch) results.push(job.run());
        runAll(waiting);
      })();
    } catch {
      if (waiting.length) db.transaction(runAll)(waiting);
      // One bad write must not sink its neighbours: redo them one by one, each in its own transaction.
      for (const job of batch) {
        try {
          job.resolve(db.transaction(job.run)());
        } catch (err) {
          job.reject(err);
        }
      }
      return;
    }
    for (const [i, job] of batch.entries()) job.resolve(results[i]);
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  }

  return {
    /** Runs `fn` inside the next batch's transaction; resolves once that transaction has committed. */
    run<T>(fn: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        pending.push({ run: fn, resolve: resolve as (v: unknown) => void, reject });
        schedule();
      });
    },
    /**
     * Runs `fn` in the next batch's transaction, whenever that comes, but within `withinMs` at the latest.
     * A later call with the same key replaces the one still waiting. `fn` must catch its own errors.
     */
    later(key: string, fn: () => unknown, withinMs: number) {
      later.set(key, fn);
      const due = Date.now() + withinMs;
      if (due >= laterDue) return;
      laterDue = due;
      clearTimeout(laterTimer);
      laterTimer = setTimeout(schedule, withinMs);
      laterTimer.unref?.();
    },
    /** Drops the waiting write of that key, if any. */
    cancel(key: string) {
      later.delete(key);
    },
    /** Commits whatever is queued now, waiting writes included (used on shutdown). */
    flush,
  };
}

export type WriteQueue = ReturnType<typeof createWriteQueue>;
