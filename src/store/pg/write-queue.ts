// Owns group commit on PostgreSQL: the named store writes queued in one tick go out pipelined in ONE transaction.
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
 * Each flush opens one transaction and calls every queued method on it at once: Bun.SQL sends their statements
 * back to back on the transaction's connection (pipelined), and COMMIT after the last. As on SQLite
 * (../write-queue.ts), a batch that fails is redone write by write, each in its own transaction, so one bad write
 * rejects only its own promise and its neighbours still commit.
 */
export function createPgWriteQueue(sql: SQL, opts: { zone: string }): StoreWriteQueue {
  let pending: Job[] = [];
  let scheduled = false;
  let flushing: Promise<void> = Promise.resolve();

  const runBatch = (batch: Job[]) =>
    sql.begin((tx) => {
      const f = pgFamilies({ sql: tx, inTx: true }, opts);
      return Promise.all(batch.map((j) => callNamed(f, j.family, j.method, j.args)));
    });

  async function commit(batch: Job[]): Promise<void> {
    try {
      const results = (await runBatch(batch)) as unknown[];
      for (const [i, job] of batch.entries()) job.resolve(results[i]);
    } catch {
      for (const job of batch) {
        try {
          job.resolve((await runBatch([job]))[0]);
        } catch (err) {
          job.reject(err);
        }
      }
    }
  }

  function flush(): Promise<void> {
    scheduled = false;
    const batch = pending;
    pending = [];
    if (batch.length) flushing = flushing.then(() => commit(batch));
    return flushing;
  }

  return {
    run: (family, method, ...args) =>
      new Promise((resolve, reject) => {
        pending.push({ family, method, args, resolve: resolve as (v: unknown) => void, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      }),
    flush,
  };
}
