// Exists for the binary test only (hidden command `layerwatch probe-engines <postgres-url> <redis-url>`): proves
// that Bun.SQL, our PostgreSQL migrations and Bun's Redis client work inside a compiled binary, on both arches.
import { RedisClient } from "bun";
import { SCHEMA_VERSION } from "./store/migrations.ts";
import { numbers, openPostgres } from "./store/pg.ts";
import { pgMigrate, pgSchemaVersion } from "./store/pg-migrate.ts";

/** Runs each check and says what it saw; `ok` is true when every check saw what it should. */
export async function probeEngines(postgresUrl: string, redisUrl: string): Promise<Record<string, unknown>> {
  const sql = openPostgres(postgresUrl, { max: 2 });
  const redis = new RedisClient(redisUrl, { connectionTimeout: 5000 });
  try {
    await pgMigrate(sql, { zone: "UTC" });
    const version = await pgSchemaVersion(sql);
    const now = Date.now();
    // One pipelined transaction: both inserts go out before either answer comes back.
    const batch = await sql.begin((tx) => [
      tx`INSERT INTO event_log (at, level, message, details) VALUES (${now}, 'info', 'probe 1', '{}') RETURNING id`,
      tx`INSERT INTO event_log (at, level, message, details) VALUES (${now}, 'info', 'probe 2', '{}') RETURNING id`,
    ]);
    const [count] = numbers<{ n: unknown }>(await sql`SELECT count(*) AS n FROM event_log WHERE at = ${now}`);

    await redis.connect();
    const key = `layerwatch:probe:${now}`;
    const first = await redis.set(key, "a", "NX", "PX", "5000");
    const second = await redis.send("SET", [key, "b", "NX", "PX", "5000"]);
    const compareAndDelete =
      "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";
    const deleted = await redis.send("EVAL", [compareAndDelete, "1", key, "a"]);
    const subscriber = await redis.duplicate();
    const heard = new Promise<string>((resolve) => {
      void subscriber.subscribe(key, (message) => resolve(message));
    });
    await Bun.sleep(50);
    await redis.publish(key, "hello");
    const message = await Promise.race([heard, Bun.sleep(5000).then(() => "(nothing)")]);
    subscriber.close();

    const result = {
      postgres: { version, batch: batch.length, count: count?.n, count_type: typeof count?.n },
      redis: { set_nx: first, set_nx_again: second, compare_and_delete: deleted, pubsub: message },
    };
    const ok =
      version === SCHEMA_VERSION &&
      batch.length === 2 &&
      count?.n === 2 &&
      first === "OK" &&
      second === null &&
      deleted === 1 &&
      message === "hello";
    return { ok, ...result };
  } finally {
    redis.close();
    await sql.close();
  }
}
