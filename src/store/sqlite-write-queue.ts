// Owns the engine-neutral write queue on SQLite: named store writes run through the group-commit queue as they are.
import { callNamed, type StoreWriteQueue } from "./async-store.ts";
import type { Store } from "./store.ts";
import { createWriteQueue, type WriteQueue } from "./write-queue.ts";

/** Queues `store[family][method](...args)` in write-queue.ts's batch: its transaction, its retry rule. */
export function sqliteStoreWriteQueue(store: Store, queue: WriteQueue = createWriteQueue(store.db)): StoreWriteQueue {
  /** The promise of each waiting write, settled when it runs or when another of its key replaces it. */
  const waiting = new Map<string, () => void>();
  const settle = (key: string) => {
    waiting.get(key)?.();
    waiting.delete(key);
  };
  return {
    run: (family, method, ...args) => queue.run(() => callNamed(store, family, method, args)) as Promise<never>,
    later: (key, withinMs, family, method, ...args) =>
      new Promise<void>((resolve, reject) => {
        settle(key);
        const done = () => resolve();
        waiting.set(key, done);
        queue.later(
          key,
          () => {
            if (waiting.get(key) === done) waiting.delete(key);
            try {
              callNamed(store, family, method, args);
              resolve();
            } catch (err) {
              reject(err);
            }
          },
          withinMs,
        );
      }),
    cancel(key) {
      queue.cancel(key);
      settle(key);
    },
    flush: async () => queue.flush(),
  };
}
