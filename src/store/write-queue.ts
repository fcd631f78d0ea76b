// Owns group commit: device writes queued in one tick are committed in one fsync'd transaction.
// With synchronous=FULL each commit survives a power cut; batching keeps that affordable.
import type { Database } from "bun:sqlite";

type Job = { run: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void };

export function createWriteQueue(db: Database) {
  let pending: Job[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const batch = pending;
    pending = [];
    if (!batch.length) return;
    const results: unknown[] = [];
    try {
      db.transaction(() => {
        for (const job of batch) results.push(job.run());
      })();
    } catch {
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

  return {
    /** Runs `fn` inside the next batch's transaction; resolves once that transaction has committed. */
    run<T>(fn: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        pending.push({ run: fn, resolve: resolve as (v: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    /** Commits whatever is queued now (used on shutdown). */
    flush,
  };
}

export type WriteQueue = ReturnType<typeof createWriteQueue>;
