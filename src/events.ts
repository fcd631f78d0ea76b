// Owns the domain event bus: services announce what was stored; the realtime hub listens. With redis_url set,
// the relay (src/cluster/relay.ts) publishes this instance's events and re-emits other instances' here, marked
// remote.
//
// The rule for remote events: a listener hears them only when it subscribes with `{ remote: true }`, and only
// listeners that show or hold what happened do so; one that acts (writes, sends, decides) hears its own
// instance's events alone, so each thing is done once, where it happened.
//   hear remote events: the hub (every broadcast and disconnect), the telemetry service (each printer's newest
//     reading, status and frame), the printers service (held state, LAN health, a device's last word; setup rows
//     and limits are read again by the relay before printersChanged and printerLimits are re-emitted), the interval
//     service (the intervals it hands out), printer control (a state confirming a command sent here).
//   local only: the jobs service (opens, closes and archives jobs), the notify rules (raise notifications),
//     timelapses (deletes a removed printer's videos: the instance that removed it does), the LAN links (until
//     one instance owns each printer's link), deviceAction/deviceAnswer (not replicated: a printer's camera Pis
//     are asked on the instance they are connected to).

import type { LanHealth, PrinterState, StateChange } from "./printer-state.ts";
import type { FrameMeta, Intervals, JobRow, ReadingRow, StatusRow } from "./store/store.ts";

export type DomainEvents = {
  reading: ReadingRow;
  status: StatusRow;
  frame: FrameMeta & { bytes: Uint8Array };
  intervals: Intervals;
  /** A printer's held state changed (only `changed` is new); sources: the LAN or a device. */
  printerState: { printerId: number; state: PrinterState; changed: StateChange; source: "lan" | "device" };
  /** A printer's LAN connection changed state. */
  printerHealth: { printerId: number; lan: LanHealth };
  /** Ask a printer's camera Pis to do an action (printerAction); they answer with deviceAnswer. */
  deviceAction: { printerId: number; action: string };
  deviceAnswer: { printerId: number; action: string; result: boolean };
  /** A print started or ended (kind: started, finished, failed, cancelled); stored before it is announced. */
  job: { kind: "started" | "finished" | "failed" | "cancelled"; job: JobRow };
  /** A queued print ended: the printer's next item waits until a person confirms its plate is clear. */
  plateWaiting: { printerId: number; itemId: number };
  /** A printer's room limits changed (notifications; nothing to show): other instances read its row again. */
  printerLimits: { printerId: number };
  /** A printer was added, changed or removed. */
  printersChanged: { printerId: number; removed?: boolean };
  /** A user's sessions were ended (password change, deletion): their sockets must go too. */
  sessionsRevoked: { userId: number; exceptTokenHash?: string };
  /** One session ended (logout): its sockets must go at once. */
  sessionEnded: { tokenHash: string };
  /** A device token was revoked: its sockets must go at once. */
  tokenRevoked: { tokenId: number };
};

/** `remote`: the event happened on another instance (the relay re-emitted it here). */
type Listener<K extends keyof DomainEvents> = (payload: DomainEvents[K], remote: boolean) => void;

type Entry<K extends keyof DomainEvents> = { fn: Listener<K>; remote: boolean };
type Listeners = { [K in keyof DomainEvents]?: Entry<K>[] };

/** `remote: true`: also hear events that happened on other instances (see the rule above). */
export type ListenOptions = { remote?: boolean };

export function createEventBus() {
  // Each event's listener lists are replaced, never changed in place: emit walks the lists it found without a
  // copy, and a listener that removes itself (a one-shot wait) while it runs does not disturb it.
  const first: Listeners = {};
  const rest: Listeners = {};
  const add = <K extends keyof DomainEvents>(to: Listeners, event: K, fn: Listener<K>, opts?: ListenOptions) => {
    const entry = { fn, remote: !!opts?.remote };
    (to as Record<K, Entry<K>[]>)[event] = [...((to[event] as Entry<K>[] | undefined) ?? []), entry];
  };
  const run = <K extends keyof DomainEvents>(event: K, payload: DomainEvents[K], remote: boolean) => {
    const before = first[event] as Entry<K>[] | undefined;
    const after = rest[event] as Entry<K>[] | undefined;
    if (before) for (const l of before) if (!remote || l.remote) l.fn(payload, remote);
    if (after) for (const l of after) if (!remote || l.remote) l.fn(payload, remote);
  };
  return {
    /** Hears every `event` from now on, after the listeners subscribed with `first`. */
    on<K extends keyof DomainEvents>(event: K, fn: Listener<K>, opts?: ListenOptions) {
      add(rest, event, fn, opts);
    },
    /**
     * Hears every `event` before any listener subscribed with `on`, whenever either subscribed. For a listener
     * that tells of an event (notifications) and must do so before another acts on it and announces what follows
     * (the job service closing a print), or the consequence would be told before its cause.
     */
    first<K extends keyof DomainEvents>(event: K, fn: Listener<K>, opts?: ListenOptions) {
      add(first, event, fn, opts);
    },
    off<K extends keyof DomainEvents>(event: K, fn: Listener<K>) {
      for (const from of [first, rest]) {
        const list = (from[event] as Entry<K>[] | undefined) ?? [];
        const i = list.findIndex((l) => l.fn === fn);
        if (i >= 0) (from as Record<K, Entry<K>[]>)[event] = [...list.slice(0, i), ...list.slice(i + 1)];
      }
    },
    /** Announces what happened on this instance: every listener hears it. */
    emit<K extends keyof DomainEvents>(event: K, payload: DomainEvents[K]) {
      run(event, payload, false);
    },
    /** Announces what happened on another instance (the relay): only listeners subscribed with remote hear it. */
    emitRemote<K extends keyof DomainEvents>(event: K, payload: DomainEvents[K]) {
      run(event, payload, true);
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
