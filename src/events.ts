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
  const listeners: { [K in keyof DomainEvents]?: Listener<K>[] } = {};
  return {
    on<K extends keyof DomainEvents>(event: K, fn: Listener<K>) {
      listeners[event] ??= [] as never;
      (listeners[event] as unknown as Listener<K>[]).push(fn);
    },
    off<K extends keyof DomainEvents>(event: K, fn: Listener<K>) {
      const list = listeners[event] as unknown as Listener<K>[] | undefined;
      const i = list?.indexOf(fn) ?? -1;
      if (i >= 0) list!.splice(i, 1);
    },
    emit<K extends keyof DomainEvents>(event: K, payload: DomainEvents[K]) {
      // A copy: a listener may remove itself (a one-shot wait) while this runs.
      for (const fn of [...(listeners[event] ?? [])]) fn(payload);
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
