// What the PostgreSQL/Redis path stands on, proved against real servers: Bun.SQL (transactions, pipelining, the
// types it returns) and Bun's built-in Redis client (pub/sub, locks with a TTL, reconnecting after a restart).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RedisClient, type SQL } from "bun";
import { numbers, openPostgres } from "../src/store/pg.ts";
import { pgMigrate } from "../src/store/pg-migrate.ts";
import { until } from "./helpers.ts";
import { type PostgresServer, type RedisServer, startPostgres, startRedis } from "./servers.ts";

let pg: PostgresServer;
let redis: RedisServer;
let sql: SQL;
const redisClients: RedisClient[] = [];
beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  console.log(`started PostgreSQL in ${pg.startedMs.toFixed(0)} ms, Redis in ${redis.startedMs.toFixed(0)} ms`);
  sql = openPostgres(await pg.createDatabase(), { max: 4 });
  await pgMigrate(sql, { zone: "UTC" });
});
afterAll(async () => {
  for (const c of redisClients) c.close();
  await sql?.close();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

async function redisClient(options: ConstructorParameters<typeof RedisClient>[1] = {}): Promise<RedisClient> {
  const client = new RedisClient(redis.url, { connectionTimeout: 5000, ...options });
  redisClients.push(client);
  await client.connect();
  return client;
}

const reading = (at: number, t = 21.5) =>
  sql`INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (1, ${at}, ${t}, 40.25) RETURNING id`;

describe("Bun.SQL on PostgreSQL", () => {
  test("int8 columns and count(*) come back as BigInt, and numbers() makes them numbers", async () => {
    const at = Date.UTC(2026, 5, 1);
    const raw = await sql`SELECT count(*) AS n, ${at}::int8 AS at, 1::int4 AS small, 0.5::float8 AS real`;
    expect(raw[0]).toEqual({ n: 1n, at: BigInt(at), small: 1, real: 0.5 });
    const [row] = numbers<{ n: number; at: number; small: number; real: number }>(raw);
    expect(row).toEqual({ n: 1, at, small: 1, real: 0.5 });
    expect(typeof row!.n).toBe("number");
  });

  test("numeric (a sum of bigints) stays a string: such a query casts in its SQL", async () => {
    const [row] = await sql`SELECT sum(x) AS plain, sum(x)::int8 AS cast FROM (VALUES (1::int8), (2::int8)) v(x)`;
    expect(row).toEqual({ plain: "3", cast: 3n });
  });

  test("an id past 2^53 is refused by numbers() rather than rounded", () => {
    expect(() => numbers([{ id: 2n ** 53n + 1n }])).toThrow(/beyond a safe integer/);
  });

  test("bytea round-trips bytes, double precision and text keep their values", async () => {
    const bytes = new Uint8Array([0xff, 0xd8, 0, 1, 2, 0xff]);
    const [row] = numbers<{ id: number; bytes: Uint8Array; mime: string }>(
      await sql`INSERT INTO frames (device_id, recorded_at, mime, bytes) VALUES (1, ${Date.now()}, 'image/jpeg',
        ${bytes}) RETURNING id, bytes, mime`,
    );
    expect(typeof row!.id).toBe("number");
    expect(new Uint8Array(row!.bytes)).toEqual(bytes);
    expect(row!.mime).toBe("image/jpeg");
  });

  test("a transaction commits all of its statements, and a failing one rolls all back", async () => {
    const at = Date.UTC(2026, 5, 2);
    await sql.begin(async (tx) => {
      await tx`INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (1, ${at}, 20, 40)`;
      await tx`INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (1, ${at}, 21, 41)`;
    });
    const failed = sql.begin(async (tx) => {
      await tx`INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (1, ${at}, 22, 42)`;
      await tx`INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (999, ${at}, 23, 43)`;
    });
    expect(failed).rejects.toThrow(/foreign key/);
    await failed.catch(() => {});
    expect(numbers(await sql`SELECT count(*) AS n FROM readings WHERE recorded_at = ${at}`)).toEqual([{ n: 2 }]);
  });

  test("a batch returned from begin() is pipelined in one transaction and answers in order", async () => {
    const at = Date.UTC(2026, 5, 3);
    const results = await sql.begin((tx) =>
      Array.from(
        { length: 50 },
        (_, i) =>
          tx`INSERT INTO readings (device_id, recorded_at, temperature, humidity) VALUES (1, ${at + i}, ${i}, 40)
          RETURNING recorded_at`,
      ),
    );
    expect(results.map((r) => Number(r[0].recorded_at))).toEqual(Array.from({ length: 50 }, (_, i) => at + i));
    const [row] = numbers<{ n: number; first: number }>(
      await sql`SELECT count(*) AS n, min(recorded_at) AS first FROM readings WHERE recorded_at >= ${at}`,
    );
    expect(row).toEqual({ n: 50, first: at });
  });

  test("a generated id is a number after numbers(), and ids keep increasing", async () => {
    const [a] = numbers<{ id: number }>(await reading(Date.UTC(2026, 5, 4)));
    const [b] = numbers<{ id: number }>(await reading(Date.UTC(2026, 5, 4)));
    expect(typeof a!.id).toBe("number");
    expect(b!.id).toBe(a!.id + 1);
  });

  test("after a PostgreSQL restart the pool reconnects by itself and committed rows are there", async () => {
    const at = Date.UTC(2026, 5, 5);
    await reading(at);
    await pg.restart(200);
    expect(numbers(await sql`SELECT count(*) AS n FROM readings WHERE recorded_at = ${at}`)).toEqual([{ n: 1 }]);
  });
});

describe("Bun's Redis client", () => {
  test("a second connection subscribes while the first publishes; it hears each message once", async () => {
    const publisher = await redisClient();
    const subscriber = await publisher.duplicate();
    redisClients.push(subscriber);
    const heard: string[] = [];
    expect(await subscriber.subscribe("lw:printer:1:frame", (m, ch) => heard.push(`${ch} ${m}`))).toBe(1);
    // A subscribed connection takes no other commands (Bun throws at the call): hence a second connection.
    expect(() => subscriber.get("anything")).toThrow(/subscriber mode/);
    expect(await publisher.publish("lw:printer:1:frame", "one")).toBe(1);
    expect(await publisher.publish("lw:printer:1:frame", "two")).toBe(1);
    await until(
      async () => heard.length,
      (n) => n >= 2,
      5000,
    );
    expect(heard).toEqual(["lw:printer:1:frame one", "lw:printer:1:frame two"]);
  });

  test("a 200 KB frame crosses pub/sub as latin1 text: publish and subscribers take only strings", async () => {
    const publisher = await redisClient();
    const subscriber = await publisher.duplicate();
    redisClients.push(subscriber);
    const frame = Buffer.from(new Uint8Array(200_000).map((_, i) => (i * 7) & 255));
    expect(() => publisher.publish("lw:frames", frame as unknown as string)).toThrow(/string/);
    let heard: string | undefined;
    await subscriber.subscribe("lw:frames", (m) => {
      heard = m;
    });
    await publisher.publish("lw:frames", frame.toString("latin1"));
    await until(
      async () => heard,
      (m) => m !== undefined,
      5000,
    );
    expect(Buffer.from(heard!, "latin1").equals(frame)).toBe(true);
  });

  test("SET NX PX takes a lock once; the holder's compare-and-delete frees it, another's does not", async () => {
    const client = await redisClient();
    const key = "lw:lease:printer:1";
    expect(await client.set(key, "instance-a", "NX", "PX", "5000")).toBe("OK");
    expect(await client.set(key, "instance-b", "NX", "PX", "5000")).toBeNull();
    const ttl = await client.pttl(key);
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
    const release = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";
    expect(await client.send("EVAL", [release, "1", key, "instance-b"])).toBe(0);
    expect(await client.get(key)).toBe("instance-a");
    expect(await client.send("EVAL", [release, "1", key, "instance-a"])).toBe(1);
    expect(await client.get(key)).toBeNull();
  });

  test("a lock with a TTL expires by itself (its holder died)", async () => {
    const client = await redisClient();
    expect(await client.set("lw:lease:short", "dead-instance", "NX", "PX", "100")).toBe("OK");
    await until(
      () => client.get("lw:lease:short"),
      (v) => v === null,
      5000,
    );
    expect(await client.set("lw:lease:short", "next-instance", "NX", "PX", "5000")).toBe("OK");
  });

  test("after a Redis restart commands work again, but a subscription must be made again on reconnect", async () => {
    const publisher = await redisClient();
    const subscriber = await publisher.duplicate();
    redisClients.push(subscriber);
    const heard: string[] = [];
    const listener = (m: string) => heard.push(m);
    await subscriber.subscribe("lw:events", listener);
    const forgetful = await publisher.duplicate();
    redisClients.push(forgetful);
    const forgotten: string[] = [];
    await forgetful.subscribe("lw:events", (m) => forgotten.push(m));
    let reconnects = 0;
    // Bun reconnects on its own but forgets the server-side subscription; subscribe() again would add the
    // listener a second time (each message heard twice), so drop the channel and subscribe afresh.
    subscriber.onconnect = async () => {
      await subscriber.unsubscribe("lw:events");
      await subscriber.subscribe("lw:events", listener);
      reconnects++;
    };
    await redis.restart();
    await until(
      () => publisher.set("lw:after-restart", "1"),
      (v) => v === "OK",
      10000,
    );
    await until(
      async () => reconnects,
      (n) => n >= 1,
      10000,
    );
    await until(
      async () => forgetful.connected,
      (c) => c,
      10000,
    );
    // One receiver, not two: the connection that did not subscribe again is back but hears nothing.
    expect(await publisher.publish("lw:events", "after")).toBe(1);
    await until(
      async () => heard.length,
      (n) => n >= 1,
      5000,
    );
    expect(heard).toEqual(["after"]);
    expect(forgotten).toEqual([]);
  });

  test("after more failed retries than maxRetries the client stays closed until connect() is called", async () => {
    const client = await redisClient({ maxRetries: 2 });
    await redis.restart(1500);
    expect(client.connected).toBe(false);
    const failed = client.get("x");
    expect(failed).rejects.toMatchObject({ code: "ERR_REDIS_CONNECTION_CLOSED" });
    await failed.catch(() => {});
    await client.connect();
    expect(await client.set("x", "1")).toBe("OK");
  });
});
