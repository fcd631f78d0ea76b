// Owns this instance's leases: what exactly one instance does (a printer's LAN link and camera, housekeeping) is
// done by the holder of a named lease in the database, taken and renewed every `renewMs` for `ttlMs` on the
// database's clock. Held state: which leases this instance holds (owned under those leases, given up the moment a
// renewal fails or finds another holder) and who holds each live lease (rebuilt from the database every renewal).
// On SQLite there is one instance: every lease is held from the start and the database is never asked.
import { hostname } from "node:os";
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { Fence } from "../store/jobs.ts";

export type LeaseTimings = { renewMs: number; ttlMs: number };
/** Renewed every 2 s, lost 10 s after the last renewal: another instance takes over within about 12 s. */
export const DEFAULT_LEASE_TIMINGS: LeaseTimings = { renewMs: 2_000, ttlMs: 10_000 };

/**
 * What a lease's holder starts on gaining it and stops on losing it. `lost` is called at once; `gained` is not
 * waited for, so it must check the lease is still held before it starts anything.
 */
export type LeaseHooks = { gained?: () => Promise<void> | void; lost?: () => void };

/** This process's name among instances: the configured name or the host name, the pid, and a random tail. */
export function instanceId(name?: string): string {
  const tail = crypto.getRandomValues(new Uint8Array(3));
  return `${name || hostname()}:${process.pid}:${Buffer.from(tail).toString("hex")}`;
}

type Wanted = LeaseHooks & { epoch: number | null; until: number };

export function createLeases(deps: {
  store: AsyncStore;
  log: Logger;
  instance: string;
  timings?: Partial<LeaseTimings>;
}) {
  const { store, log, instance } = deps;
  const { renewMs, ttlMs } = { ...DEFAULT_LEASE_TIMINGS, ...deps.timings };
  const single = store.engine === "sqlite";
  const wanted = new Map<string, Wanted>();
  /** Live leases and their holders, as the database said at the last renewal. */
  let holders = new Map<string, string>();
  let stopped = false;

  function lose(name: string, w: Wanted, why: string) {
    if (w.epoch === null) return;
    w.epoch = null;
    (why === "no longer wanted" ? log.info : log.warn)("lease let go", { lease: name, reason: why });
    try {
      w.lost?.();
    } catch (err) {
      log.error("stopping what a lease held failed", { lease: name, error: err as Error });
    }
  }

  /** A claim that takes longer than a renewal period counts as failed (a database that hangs is a lost one). */
  function claim(name: string): Promise<Awaited<ReturnType<AsyncStore["leases"]["claim"]>>> {
    return Promise.race([
      store.leases.claim(name, instance, ttlMs),
      Bun.sleep(renewMs).then(() => {
        throw new Error(`no answer within ${renewMs} ms`);
      }),
    ]);
  }

  /** Lets a lease go in the database; a database that fails or hangs past a renewal period is given up on (the
   *  lease then runs out by itself), so a stop never waits on it. */
  async function release(name: string) {
    const released = store.leases.release(name, instance).catch(() => {});
    await Promise.race([released, Bun.sleep(renewMs)]);
  }

  async function renew(name: string, w: Wanted) {
    const sentAt = performance.now();
    // Frozen past the lease's end (a paused process, a stalled machine): it is another's by now.
    if (w.epoch !== null && sentAt > w.until) lose(name, w, "not renewed in time");
    let row: Awaited<ReturnType<typeof claim>>;
    try {
      row = await claim(name);
    } catch (err) {
      lose(name, w, `renewal failed: ${(err as Error).message}`);
      return;
    }
    if (stopped || wanted.get(name) !== w) {
      if (row.holder === instance) await release(name);
      return;
    }
    if (row.holder !== instance) {
      lose(name, w, `held by ${row.holder}`);
      return;
    }
    // The same holder with another epoch: someone held it in between; what was started before is stale.
    if (w.epoch !== null && w.epoch !== row.epoch) lose(name, w, "taken over in between");
    w.until = sentAt + ttlMs;
    if (w.epoch === null) {
      w.epoch = row.epoch;
      log.info("lease gained", { lease: name, epoch: row.epoch });
      // Not waited for: starting what the lease holds must not hold up the renewals (the hook checks it still holds
      // the lease before it starts anything).
      void (async () => w.gained?.())().catch((err) =>
        log.error("starting what a lease holds failed", { lease: name, error: err as Error }),
      );
    }
  }

  let ticking = false;
  async function tick() {
    if (ticking || stopped) return;
    ticking = true;
    try {
      await Promise.all([...wanted].map(([name, w]) => renew(name, w)));
      const live = await store.leases.live("");
      holders = new Map(live.map((l) => [l.name, l.holder]));
    } catch (err) {
      log.warn("reading lease holders failed", { error: err as Error });
    } finally {
      ticking = false;
    }
  }
  const timer = single ? undefined : setInterval(() => void tick(), renewMs);
  timer?.unref?.();

  return {
    instance,
    /** Wants the lease: holds it when it can, and keeps it renewed (on SQLite: held at once). */
    hold(name: string, hooks: LeaseHooks = {}) {
      if (wanted.has(name) || stopped) return;
      const w: Wanted = { ...hooks, epoch: single ? 1 : null, until: Number.POSITIVE_INFINITY };
      wanted.set(name, w);
      if (!single) void renew(name, w);
    },
    /** Stops wanting the lease: what it held stops, and the database lets it go at once. */
    async drop(name: string) {
      const w = wanted.get(name);
      if (!w) return;
      wanted.delete(name);
      // One instance: nothing to hand over, and nothing another could take up.
      if (single) return;
      const held = w.epoch !== null;
      lose(name, w, "no longer wanted");
      if (held) await release(name);
    },
    /**
     * Held, and renewed within its time to live as this process's monotonic clock tells: a process frozen (SIGSTOP,
     * a stalled machine) past its lease stops acting on it the moment it wakes, before the next renewal says so.
     */
    holds: (name: string) => {
      const w = wanted.get(name);
      return w?.epoch != null && performance.now() <= w.until;
    },
    /**
     * The fencing token a write under the lease carries (PostgreSQL refuses it once another holds the lease); one
     * that cannot pass when the lease is not held now; null on SQLite (one instance).
     */
    fence: (name: string): Fence => {
      if (single) return null;
      const w = wanted.get(name);
      const held = w?.epoch != null && performance.now() <= w.until;
      return { lease: name, holder: instance, epoch: held ? w.epoch! : -1 };
    },
    /** The instance holding a live lease (this one's own answer on SQLite), or null. */
    holder: (name: string): string | null =>
      single
        ? wanted.get(name)
          ? instance
          : null
        : wanted.get(name)?.epoch != null
          ? instance
          : (holders.get(name) ?? null),
    /** Renews now (tests). */
    tick,
    /**
     * A clean stop, once the app has stopped what the leases held (no `lost` is called): each is let go in the
     * database, so another instance takes it over at once.
     */
    async stop() {
      stopped = true;
      clearInterval(timer);
      const held = [...wanted].filter(([, w]) => w.epoch !== null);
      wanted.clear();
      if (!single) await Promise.all(held.map(([name]) => release(name)));
    },
  };
}

export type Leases = ReturnType<typeof createLeases>;
