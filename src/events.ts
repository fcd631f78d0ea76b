// Owns the domain event bus: services announce what was stored; the realtime hub listens.

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
  /** A printer was added, changed or removed. */
  printersChanged: { printerId: number; removed?: boolean };
  /** A user's sessions were ended (password change, deletion): their sockets must go too. */
  sessionsRevoked: { userId: number; exceptTokenHash?: string };
  /** One session ended (logout): its sockets must go at once. */
  sessionEnded: { tokenHash: string };
  /** A device token was revoked: its sockets must go at once. */
  tokenRevoked: { tokenId: number };
};

type Listener<K extends keyof DomainEvents> = (payload: DomainEvents[K]) => void;

type Listeners = { [K in keyof DomainEvents]?: Listener<K>[] };

export function createEventBus() {
  // Each event's listener lists are replaced, never changed in place: emit walks the lists it found without a
  // copy, and a listener that removes itself (a one-shot wait) while it runs does not disturb it.
  const first: Listeners = {};
  const rest: Listeners = {};
  const add = <K extends keyof DomainEvents>(to: Listeners, event: K, fn: Listener<K>) => {
    (to as Record<K, Listener<K>[]>)[event] = [...((to[event] as Listener<K>[] | undefined) ?? []), fn];
  };
  return {
    /** Hears every `event` from now on, after the listeners subscribed with `first`. */
    on<K extends keyof DomainEvents>(event: K, fn: Listener<K>) {
      add(rest, event, fn);
    },
    /**
     * Hears every `event` before any listener subscribed with `on`, whenever either subscribed. For a listener
     * that tells of an event (notifications) and must do so before another acts on it and announces what follows
     * (the job service closing a print), or the consequence would be told before its cause.
     */
    first<K extends keyof DomainEvents>(event: K, fn: Listener<K>) {
      add(first, event, fn);
    },
    off<K extends keyof DomainEvents>(event: K, fn: Listener<K>) {
      for (const from of [first, rest]) {
        const list = (from[event] as Listener<K>[] | undefined) ?? [];
        const i = list.indexOf(fn);
        if (i >= 0) (from as Record<K, Listener<K>[]>)[event] = [...list.slice(0, i), ...list.slice(i + 1)];
      }
    },
    emit<K extends keyof DomainEvents>(event: K, payload: DomainEvents[K]) {
      const before = first[event] as Listener<K>[] | undefined;
      const after = rest[event] as Listener<K>[] | undefined;
      if (before) for (const fn of before) fn(payload);
      if (after) for (const fn of after) fn(payload);
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
