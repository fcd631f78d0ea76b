// Owns requests between instances over Redis (redis_url): a named request to one instance, answered on the
// asker's own channel, or to every other instance with each one's answer gathered; both bounded by a timeout.
// Each instance listens on `lw:rpc:<its id>` (requests to it and answers to it) and on `lw:rpc` (requests to all).
// Held state: the requests this instance waits on, each with its timer. Nothing is queued while Redis is down.
import type { Logger } from "../log.ts";
import type { RedisLink } from "./redis.ts";

export const RPC_ALL_CHANNEL = "lw:rpc";
export const rpcChannel = (instance: string) => `lw:rpc:${instance}`;

/** Why a request got no answer: nobody listens on the target's channel (or Redis is down), or none came in time. */
export class RpcError extends Error {
  constructor(
    readonly reason: "unreachable" | "timeout" | "failed",
    message: string,
  ) {
    super(message);
  }
}

type Request = { t: "q"; id: string; from: string; m: string; a: unknown };
type Reply = { t: "r"; id: string; from: string; ok: boolean; v?: unknown; e?: string };
type Waiting = {
  all: boolean;
  expected: number;
  /** Answers that came back failed (of a request to all: counted as answered). */
  failed: number;
  replies: { from: string; value: unknown }[];
  done: (err?: RpcError) => void;
};

export function createRpc(deps: { redis: RedisLink; instance: string; log: Logger }) {
  const { redis, instance, log } = deps;
  const handlers = new Map<string, (args: unknown) => Promise<unknown>>();
  const waiting = new Map<string, Waiting>();
  let next = 0;
  let stopped = false;

  const publish = async (channel: string, message: object) =>
    Number(await redis.send("PUBLISH", [channel, JSON.stringify(message)]));

  async function answer(q: Request) {
    const fn = handlers.get(q.m);
    let reply: Reply;
    try {
      // A method this instance does not know (another version's): said at once, so the asker need not wait.
      if (!fn) throw new Error(`no method ${q.m} here`);
      reply = { t: "r", id: q.id, from: instance, ok: true, v: await fn(q.a) };
    } catch (err) {
      if (fn) log.error("a request from another instance failed", { method: q.m, from: q.from, error: err as Error });
      reply = { t: "r", id: q.id, from: instance, ok: false, e: (err as Error).message };
    }
    if (stopped) return;
    await publish(rpcChannel(q.from), reply).catch((err: Error) =>
      log.warn("answering another instance failed", { method: q.m, to: q.from, error: err.message }),
    );
  }

  function receive(message: string) {
    let msg: Request | Reply;
    try {
      msg = JSON.parse(message) as Request | Reply;
    } catch {
      return log.warn("rpc: unreadable message ignored");
    }
    if (stopped || msg.from === instance) return;
    if (msg.t === "q") return void answer(msg);
    const w = waiting.get(msg.id);
    if (!w) return; // answered after its timeout
    if (!msg.ok && !w.all) return w.done(new RpcError("failed", msg.e ?? "failed"));
    // Of a request to all, a failed answer is one answer fewer to wait for.
    if (msg.ok) w.replies.push({ from: msg.from, value: msg.v });
    else w.failed++;
    if (w.replies.length + w.failed >= w.expected) w.done();
  }
  redis.subscribe(rpcChannel(instance), receive);
  redis.subscribe(RPC_ALL_CHANNEL, receive);

  /**
   * Sends a request and waits for as many answers as there are listeners (found from PUBLISH's count) or the
   * timeout: to one instance, its answer or an RpcError; to all, whatever answers came.
   */
  function ask(channel: string, method: string, args: unknown, timeoutMs: number, all: boolean) {
    const id = `${instance}#${++next}`;
    return new Promise<{ from: string; value: unknown }[]>((resolve, reject) => {
      const w: Waiting = {
        all,
        expected: Number.POSITIVE_INFINITY,
        failed: 0,
        replies: [],
        done(err) {
          if (!waiting.delete(id)) return;
          clearTimeout(timer);
          if (err) reject(err);
          else resolve(w.replies);
        },
      };
      waiting.set(id, w);
      const timer = setTimeout(
        () => (all ? w.done() : w.done(new RpcError("timeout", `no answer within ${timeoutMs} ms`))),
        timeoutMs,
      );
      publish(channel, { t: "q", id, from: instance, m: method, a: args } satisfies Request).then(
        (listeners) => {
          // Everyone subscribed hears a request to all, this instance too; one to an instance, that one only.
          w.expected = all ? listeners - 1 : listeners;
          if (w.expected <= 0)
            return all ? w.done() : w.done(new RpcError("unreachable", "the instance does not listen"));
          if (w.replies.length + w.failed >= w.expected) w.done();
        },
        (err: Error) => w.done(new RpcError("unreachable", err.message)),
      );
    });
  }

  return {
    instance,
    /** Answers `method` for other instances; what `fn` returns must be JSON. */
    handle<A, R>(method: string, fn: (args: A) => Promise<R>) {
      handlers.set(method, fn as (args: unknown) => Promise<unknown>);
    },
    /** One instance's answer; rejects with an RpcError when it cannot be reached or does not answer in time. */
    async call<R>(target: string, method: string, args: unknown, timeoutMs: number): Promise<R> {
      const [reply] = await ask(rpcChannel(target), method, args, timeoutMs, false);
      return reply!.value as R;
    },
    /** Every other instance's answer that came within the timeout (none when Redis is down). */
    async gather<R>(method: string, args: unknown, timeoutMs: number): Promise<{ from: string; value: R }[]> {
      try {
        return (await ask(RPC_ALL_CHANNEL, method, args, timeoutMs, true)) as { from: string; value: R }[];
      } catch {
        return [];
      }
    },
    stop() {
      stopped = true;
      redis.unsubscribe(rpcChannel(instance));
      redis.unsubscribe(RPC_ALL_CHANNEL);
      for (const w of waiting.values()) w.done(new RpcError("unreachable", "stopping"));
    },
  };
}

export type Rpc = ReturnType<typeof createRpc>;
