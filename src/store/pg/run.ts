// Owns how the PostgreSQL store's modules talk to Bun.SQL: one query's rows as numbers, a transaction when needed.
import type { SQL } from "bun";
import { numbers } from "../pg.ts";

/**
 * Where a module's statements run: the pool, or a transaction already open (the write queue's batch, or
 * printers.delete). Bun.SQL sends a query only once it is awaited, in the order awaited: a method that issues
 * several statements hands them to Promise.all in order, so on a transaction they go out pipelined.
 */
export type Pg = { sql: SQL; inTx: boolean };

/** A query's rows with int8 as numbers and bytea as a plain Uint8Array (what bun:sqlite returns). */
export async function rows<T>(query: PromiseLike<unknown>): Promise<T[]> {
  const result = numbers<T>((await query) as Record<string, unknown>[]);
  for (const row of result as Record<string, unknown>[])
    for (const key in row) {
      const v = row[key];
      if (v instanceof Uint8Array && v.constructor !== Uint8Array)
        row[key] = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    }
  // A plain array: Bun's result carries count/command, which a deep comparison with SQLite's rows would see.
  return Array.from(result);
}

/** The first row, or null when there is none (bun:sqlite's `get()`). */
export async function one<T>(query: PromiseLike<unknown>): Promise<T | null> {
  return (await rows<T>(query))[0] ?? null;
}

/** How many rows a statement changed. */
export async function changes(query: PromiseLike<unknown>): Promise<number> {
  return ((await query) as { count: number }).count;
}

/** Runs `fn` in a transaction: the one already open, or a new one from the pool. */
export function atomic<T>(pg: Pg, fn: (tx: Pg) => Promise<T>): Promise<T> {
  if (pg.inTx) return fn(pg);
  return pg.sql.begin((tx) => fn({ sql: tx, inTx: true })) as Promise<T>;
}

/** Awaits statements issued together (pipelined on a transaction), for their side effects. */
export async function all(...queries: PromiseLike<unknown>[]): Promise<void> {
  await Promise.all(queries);
}
