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

export function createEventBus() {
  // Each event's listeners are replaced, never changed in place: emit walks the list it found without a
  // copy, and a listener that removes itself (a one-shot wait) while it runs does not disturb it.
  const listeners: { [K in keyof DomainEvents]?: Listener<K>[] } = {};
  return {
    on<K extends keyof DomainEvents>(event: K, fn: Listener<K>) {
      (listeners as Record<K, Listener<K>[]>)[event] = [...((listeners[event] as Listener<K>[]) ?? []), fn];
    },
    off<K extends keyof DomainEvents>(event: K, fn: Listener<K>) {
      const list = (listeners[event] as Listener<K>[] | undefined) ?? [];
      const i = list.indexOf(fn);
      if (i >= 0) (listeners as Record<K, Listener<K>[]>)[event] = [...list.slice(0, i), ...list.slice(i + 1)];
    },
    emit<K extends keyof DomainEvents>(event: K, payload: DomainEvents[K]) {
      const list = listeners[event] as Listener<K>[] | undefined;
      if (list) for (const fn of list) fn(payload);
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
