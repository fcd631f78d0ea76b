// Owns the PostgreSQL connection (Bun.SQL, no other driver) and the one place its integers become numbers.
import { SQL } from "bun";

/**
 * Opened with `bigint: true`: every int8 (our ids, ms instants, counts, `count(*)`) arrives as a BigInt, which
 * `numbers()` turns into a number. Without it Bun gives int8 as a string, which no code could tell from a text
 * column's value. numeric (`sum()` of a bigint, `avg()`) still arrives as a string: cast it in the SQL
 * (`::bigint`, `::float8`).
 */
export function openPostgres(url: string, options: { max?: number } = {}): SQL {
  return new SQL(url, { bigint: true, max: options.max ?? 10 });
}

/** Turns each BigInt field of each row into a number; a value past 2^53 is a bug (it would round), so it throws. */
export function numbers<T>(rows: readonly Record<string, unknown>[]): T[] {
  for (const row of rows)
    for (const key in row) {
      const v = row[key];
      if (typeof v !== "bigint") continue;
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
        throw new RangeError(`${key} = ${v} is beyond a safe integer`);
      row[key] = Number(v);
    }
  return rows as unknown as T[];
}
