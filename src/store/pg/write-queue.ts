// Owns group commit on PostgreSQL: the named store writes queued together go out pipelined in ONE transaction.
import type { SQL } from "bun";
import { callNamed, type StoreWriteQueue } from "../async-store.ts";
import { pgFamilies } from "./store.ts";

type Job = {
  family: string;
  method: string;
  args: unknown[];
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
};

/**
 * Each batch opens one transaction and calls every queued method on it at once: Bun.SQL sends their statements
 * back to back on the transaction's connection (pipelined), and COMMIT after the last. One batch is in flight at a
 * time, so batches commit in the order they were queued (as on SQLite); what is queued meanwhile, however many
 * ticks it spans, goes out as the next batch. A batch of one write runs as the store runs it outside the queue
 * (one statement, or its own transaction): the same effect without BEGIN and COMMIT round trips. As on SQLite
 * (../write-queue.ts), a batch that fails is redone write by write, each in its own transaction, so one bad write
 * rejects only its own promise and its neighbours still commit.
 */
export function createPgWriteQueue(sql: SQL, opts: { zone: string }): StoreWriteQueue {
  const outside = pgFamilies({ sql, inTx: false }, opts);
  let pending: Job[] = [];
  let scheduled = false;
  let draining: Promise<void> | null = null;
  /** Writes that may wait (`later`), by key: each rides with the next batch, or goes out by its deadline. */
  const waiting = new Map<string, Job>();
  let waitTimer: ReturnType<typeof setTimeout> | undefined;
  let waitDue = Number.POSITIVE_INFINITY;
  const takeWaiting = (): Job[] => {
    const jobs = [...waiting.values()];
    waiting.clear();
    clearTimeout(waitTimer);
    waitTimer = undefined;
    waitDue = Number.POSITIVE_INFINITY;
    return jobs;
  };

  const runBatch = async (batch: Job[]): Promise<unknown[]> => {
    if (batch.length === 1) {
      const job = batch[0]!;
      return [await callNamed(outside, job.family, job.method, job.args)];
    }
    return sql.begin((tx) => {
      const f = pgFamilies({ sql: tx, inTx: true }, opts);
      return Promise.all(batch.map((j) => callNamed(f, j.family, j.method, j.args)));
    }) as Promise<unknown[]>;
  };

  async function commit(batch: Job[]): Promise<void> {
    let results: unknown[];
    try {
      results = await runBatch(batch);
    } catch (batchError) {
      if (batch.length === 1) return batch[0]!.reject(batchError);
      for (const job of batch) {
        try {
          job.resolve((await runBatch([job]))[0]);
        } catch (err) {
          job.reject(err);
        }
      }
      return;
    }
    for (const [i, job] of batch.entries()) job.resolve(results[i]);
  }

  async function drain(): Promise<void> {
    for (;;) {
      const batch = pending.concat(takeWaiting());
      pending = [];
      if (!batch.length) break;
      await commit(batch);
    }
    draining = null;
  }

  function flush(): Promise<void> {
    scheduled = false;
    draining ??= drain();
    return draining;
  }

  return {
    run: (family, method, ...args) =>
      new Promise((resolve, reject) => {
        pending.push({ family, method, args, resolve: resolve as (v: unknown) => void, reject });
        // While a batch is in flight the drain loop takes this write next; otherwise the tick ends the batch.
        if (!scheduled && !draining) {
          scheduled = true;
          setImmediate(flush);
        }
      }),
    later: (key, withinMs, family, method, ...args) =>
      new Promise<void>((resolve, reject) => {
        waiting.get(key)?.resolve(undefined);
        waiting.set(key, { family, method, args, resolve: () => resolve(), reject });
        const due = Date.now() + withinMs;
        if (due >= waitDue) return;
        waitDue = due;
        clearTimeout(waitTimer);
        waitTimer = setTimeout(() => {
          if (!scheduled && !draining) {
            scheduled = true;
            setImmediate(flush);
          }
        }, withinMs);
        waitTimer.unref?.();
      }),
    cancel(key) {
      waiting.get(key)?.resolve(undefined);
      waiting.delete(key);
    },
    flush,
  };
}
