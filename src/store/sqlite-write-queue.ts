// Owns the engine-neutral write queue on SQLite: named store writes run through the group-commit queue as they are.
import { callNamed, type StoreWriteQueue } from "./async-store.ts";
import type { Store } from "./store.ts";
import { createWriteQueue, type WriteQueue } from "./write-queue.ts";

/** Queues `store[family][method](...args)` in write-queue.ts's batch: its transaction, its retry rule. */
export function sqliteStoreWriteQueue(store: Store, queue: WriteQueue = createWriteQueue(store.db)): StoreWriteQueue {
  return {
    run: (family, method, ...args) => queue.run(() => callNamed(store, family, method, args)) as Promise<never>,
    flush: async () => queue.flush(),
  };
}
