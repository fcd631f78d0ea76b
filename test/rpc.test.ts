// Requests between instances over a real Redis (src/cluster/rpc.ts): one instance's answer, every other's
// answers gathered, and the ways a request gets none (nobody listens, no answer in time, it failed), told apart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connectRedis, type RedisLink } from "../src/cluster/redis.ts";
import { createRpc, type Rpc, RpcError } from "../src/cluster/rpc.ts";
import { createLogger } from "../src/log.ts";
import { type RedisServer, startRedis } from "./servers.ts";

let redis: RedisServer;
const links: RedisLink[] = [];
const rpcs: Rpc[] = [];
const log = createLogger({ quiet: true });

/** An instance's side: its own Redis link and request handling, answering `methods`. */
async function instance(id: string, methods: Record<string, (a: { n: number }) => Promise<unknown>> = {}) {
  const link = connectRedis(redis.url, log);
  links.push(link);
  const rpc = createRpc({ redis: link, instance: id, log });
  rpcs.push(rpc);
  for (const [m, fn] of Object.entries(methods)) rpc.handle(m, fn);
  expect(await link.ready(5000)).toBe(true);
  return rpc;
}

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  for (const r of rpcs) r.stop();
  for (const l of links) await l.close();
  await redis?.stop();
});

describe("requests between instances", () => {
  test("a request to one instance gets that instance's answer; its failure comes back as a failure", async () => {
    const asker = await instance("asker");
    await instance("doubler", {
      double: async ({ n }) => n * 2,
      broken: async () => {
        throw new Error("no can do");
      },
    });
    expect(await asker.call<number>("doubler", "double", { n: 21 }, 2000)).toBe(42);
    const failed = await asker.call("doubler", "broken", { n: 1 }, 2000).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(RpcError);
    expect((failed as RpcError).reason).toBe("failed");
  });

  test("an instance nobody runs is unreachable at once, without waiting for the timeout", async () => {
    const asker = await instance("asker-2");
    // A minute's timeout, past the test's own: only an answer at once lets the test pass.
    const err = await asker.call("gone:123:abc", "double", { n: 1 }, 60_000).catch((e: unknown) => e);
    expect((err as RpcError).reason).toBe("unreachable");
  });

  test("an instance that does not answer in time is a timeout", async () => {
    const asker = await instance("asker-3");
    await instance("slow", { double: () => Bun.sleep(2_000).then(() => 0) });
    const err = await asker.call("slow", "double", { n: 1 }, 300).catch((e: unknown) => e);
    expect((err as RpcError).reason).toBe("timeout");
  });

  test("a request to all gathers every other instance's answer, as soon as the last has come", async () => {
    const asker = await instance("gatherer", { count: async () => -1 });
    await instance("one", { count: async () => 1 });
    await instance("two", { count: async () => 2 });
    // The instances of the tests above do not know `count`: they say so at once, and are left out. A minute's
    // timeout, past the test's own: the gather ends when the last answer is in.
    const answers = await asker.gather<number>("count", { n: 0 }, 60_000);
    expect(answers.map((a) => [a.from, a.value]).sort()).toEqual([
      ["one", 1],
      ["two", 2],
    ]);
  });
});
