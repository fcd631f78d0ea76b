// Owns the engine-neutral store interface (AsyncStore, derived from the SQLite store) and the SQLite store behind it.
import type { Store } from "./store.ts";

/** Every method of T (at any depth) with the same parameters, returning a Promise of the same result. */
export type Promisified<T> = T extends (...args: infer A) => infer R
  ? (...args: A) => Promise<Awaited<R>>
  : T extends object
    ? { [K in keyof T]: Promisified<T[K]> }
    : T;

/** What is engine-specific in the SQLite store and so not part of the shared interface. */
type EngineParts = "db" | "healthy" | "close";

/** The table families, exactly as the SQLite store has them (printers.delete is one transaction on either engine). */
export type StoreFamilies = Omit<Store, EngineParts>;

/**
 * The store services use, whatever the engine: every family and method of the SQLite store, each returning a
 * Promise of what the SQLite one returns (same row shapes, numbers, null for no row, Uint8Array for bytes).
 * The engine's handle is not in it: only the store module of an engine may hold one.
 */
export type AsyncStore = Promisified<StoreFamilies> & {
  engine: "sqlite" | "postgres";
  /** Whether the database still answers a query (for /healthz). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
};

/** The families' names, and the names of one family's methods: what a queued write names. */
export type Family = keyof StoreFamilies;
type Fn = (...args: never[]) => unknown;
export type MethodOf<F extends Family> = {
  [M in keyof StoreFamilies[F]]: StoreFamilies[F][M] extends Fn ? M : never;
}[keyof StoreFamilies[F]] &
  string;
export type ArgsOf<F extends Family, M extends MethodOf<F>> = StoreFamilies[F][M] extends (...args: infer A) => unknown
  ? A
  : never;
export type ResultOf<F extends Family, M extends MethodOf<F>> = StoreFamilies[F][M] extends (
  ...args: never[]
) => infer R
  ? R
  : never;

/**
 * Group commit, engine-neutral: a queued write names one store method and its arguments (never a closure, which
 * could read outside the batch or await in the middle of it). What is queued in one tick commits as one
 * transaction; when that transaction fails, each write of the batch is retried alone in its own transaction, so
 * one bad write rejects only its own promise (the SQLite queue's rule, write-queue.ts).
 */
export type StoreWriteQueue = {
  run<F extends Family, M extends MethodOf<F>>(family: F, method: M, ...args: ArgsOf<F, M>): Promise<ResultOf<F, M>>;
  /**
   * A write that may wait: it rides with the next batch, or commits within `withinMs` at the latest. A later call
   * with the same key replaces the one still waiting (whose promise then resolves). Resolves once it ran; a failure
   * rejects only its own promise.
   */
  later<F extends Family, M extends MethodOf<F>>(
    key: string,
    withinMs: number,
    family: F,
    method: M,
    ...args: ArgsOf<F, M>
  ): Promise<void>;
  /** Drops the waiting write of that key, if any (its promise resolves). */
  cancel(key: string): void;
  /** Commits whatever is queued now (used on shutdown); resolves once it has. */
  flush(): Promise<void>;
};

/** Calls `store[family][method](...args)` on a store of either shape (the one cast the naming needs). */
export function callNamed(families: object, family: string, method: string, args: readonly unknown[]): unknown {
  const f = (families as Record<string, Record<string, (...a: unknown[]) => unknown>>)[family];
  const fn = f?.[method];
  if (typeof fn !== "function") throw new TypeError(`the store has no method ${family}.${method}`);
  return fn.apply(f, args as unknown[]);
}

/** Wraps each function of `obj` (recursively) so it returns a Promise; an exception becomes a rejection. */
function promisify<T extends object>(obj: T): Promisified<T> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (typeof value === "function")
      out[key] = (...args: unknown[]) => {
        try {
          return Promise.resolve(value.apply(obj, args));
        } catch (err) {
          return Promise.reject(err);
        }
      };
    else if (value && typeof value === "object") out[key] = promisify(value);
    else out[key] = value;
  }
  return out as Promisified<T>;
}

/** The SQLite store behind the async interface: each call runs synchronously, as today, and resolves at once. */
export function asyncSqliteStore(store: Store): AsyncStore {
  const { db: _db, healthy, close, ...families } = store;
  return {
    ...promisify(families),
    engine: "sqlite",
    healthy: async () => healthy(),
    close: async () => close(),
  };
}
