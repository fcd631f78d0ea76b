// Owns the crossing of domain events between instances (redis_url): what happens here is published on Redis,
// what other instances publish is re-emitted on this bus marked remote (src/events.ts says who listens to
// remote events). Frames travel on a channel per printer, their bytes as base64 after a JSON header; the rest on
// one channel as JSON. Holds no state of its own: caches catch up from the database when Redis is back.
import type { DomainEvents, EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import type { RedisLink } from "./redis.ts";

/** Every event that crosses; deviceAction/deviceAnswer stay on the instance the camera Pi is connected to. */
export const RELAYED = [
  "reading",
  "status",
  "printerState",
  "printerHealth",
  "job",
  "printersChanged",
  "printerLimits",
  "intervals",
  "sessionsRevoked",
  "sessionEnded",
  "tokenRevoked",
] as const satisfies readonly (keyof DomainEvents)[];

export const EVENTS_CHANNEL = "lw:events";
export const frameChannel = (printerId: number) => `lw:frame:${printerId}`;

type Relayed = (typeof RELAYED)[number];
type Envelope = { o: string; e: Relayed; p: unknown };
type FrameHeader = Omit<DomainEvents["frame"], "bytes"> & { o: string };

export function createRelay(deps: {
  redis: RedisLink;
  events: EventBus;
  log: Logger;
  /** The printers whose frames this instance listens to (all of them: the overview shows every printer). */
  printerIds: () => number[];
  /** Run before a remote event is re-emitted, so listeners find the cache already up to date. */
  before?: { [K in Relayed]?: (payload: DomainEvents[K]) => Promise<void> };
  /** Reloads what is cached from the database, after an outage in which remote events were missed. */
  catchUp?: () => Promise<void>;
  /** This instance's id (the one its leases carry), so it skips what it published itself. */
  instance: string;
}) {
  const { redis, events, log } = deps;
  // A subscriber hears its own messages too: they carry this instance's id and are skipped.
  const self = deps.instance;
  let stopped = false;

  const publishers: [keyof DomainEvents, (payload: never) => void][] = [];
  for (const e of RELAYED) {
    const fn = (p: DomainEvents[typeof e]) => redis.publish(EVENTS_CHANNEL, JSON.stringify({ o: self, e, p }));
    events.on(e, fn);
    publishers.push([e, fn]);
  }
  // Base64, not latin1: Bun's client sends a string as UTF-8, so latin1 bytes above 127 take two bytes each. Measured
  // for a 200 KB frame through Redis 7: base64 267 KB on the wire, p50 0.34 ms, p99 1.7 ms from publish to
  // decoded; latin1 300 KB, p50 1.7 ms, p99 4.8 ms.
  const publishFrame = ({ bytes, ...meta }: DomainEvents["frame"]) => {
    const header = JSON.stringify({ ...meta, o: self } satisfies FrameHeader);
    redis.publish(
      frameChannel(meta.printer_id),
      `${header}\n${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")}`,
    );
  };
  events.on("frame", publishFrame);

  // Remote events with a `before` step wait for it; those after it keep their order behind it.
  let chain: Promise<void> = Promise.resolve();
  const emitRemote = <K extends keyof DomainEvents>(e: K, payload: DomainEvents[K]) => {
    if (stopped) return;
    try {
      events.emitRemote(e, payload);
    } catch (err) {
      log.error("relay: a listener failed on a remote event", { event: e, error: err as Error });
    }
  };
  const receive = (message: string) => {
    let env: Envelope;
    try {
      env = JSON.parse(message) as Envelope;
    } catch {
      log.warn("relay: unreadable message ignored", { channel: EVENTS_CHANNEL });
      return;
    }
    if (env.o === self || stopped) return;
    const prepare = deps.before?.[env.e] as ((p: unknown) => Promise<void>) | undefined;
    const emit = () => emitRemote(env.e, env.p as never);
    if (!prepare) {
      chain = chain.then(emit);
      return;
    }
    chain = chain
      .then(() => prepare(env.p))
      .catch((err) => log.warn("relay: catching up on a remote event failed", { event: env.e, error: err as Error }))
      .then(emit);
  };
  const receiveFrame = (message: string) => {
    const cut = message.indexOf("\n");
    if (cut < 0) return log.warn("relay: a frame message without its header ignored");
    let header: FrameHeader;
    try {
      header = JSON.parse(message.slice(0, cut)) as FrameHeader;
    } catch {
      log.warn("relay: unreadable frame header ignored");
      return;
    }
    if (header.o === self || stopped) return;
    const { o: _, ...meta } = header;
    const bytes = new Uint8Array(Buffer.from(message.slice(cut + 1), "base64"));
    chain = chain.then(() => emitRemote("frame", { ...meta, bytes }));
  };

  redis.subscribe(EVENTS_CHANNEL, receive);
  const framesOf = new Set<number>();
  const followFrames = () => {
    const want = new Set(deps.printerIds());
    for (const id of want) if (!framesOf.has(id)) redis.subscribe(frameChannel(id), receiveFrame);
    for (const id of framesOf) if (!want.has(id)) redis.unsubscribe(frameChannel(id));
    framesOf.clear();
    for (const id of want) framesOf.add(id);
  };
  followFrames();
  const onPrinters = () => followFrames();
  events.on("printersChanged", onPrinters, { remote: true });

  redis.onBack(() => {
    if (!deps.catchUp || stopped) return;
    chain = chain
      .then(deps.catchUp)
      .then(followFrames)
      .catch((err) => log.warn("relay: catching up after Redis was back failed", { error: err as Error }));
  });

  return {
    instance: self,
    stop() {
      stopped = true;
      for (const [e, fn] of publishers) events.off(e, fn as never);
      events.off("frame", publishFrame);
      events.off("printersChanged", onPrinters);
    },
  };
}

export type Relay = ReturnType<typeof createRelay>;
