// Owns the domain event bus: services announce what was stored; the realtime hub listens.

import type { PrinterState } from "./services/printer-state.ts";
import type { LanHealth } from "./services/printers.ts";
import type { FrameMeta, Intervals, JobRow, ReadingRow, StatusRow } from "./store/store.ts";

export type DomainEvents = {
  reading: ReadingRow;
  status: StatusRow;
  frame: FrameMeta & { bytes: Uint8Array };
  intervals: Intervals;
  /** A printer's held state changed (only `changed` is new); sources: the LAN or a device. */
  printerState: { printerId: number; state: PrinterState; changed: Partial<PrinterState>; source: "lan" | "device" };
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
  const first: Listeners = {};
  const rest: Listeners = {};
  const add = <K extends keyof DomainEvents>(to: Listeners, event: K, fn: Listener<K>) => {
    to[event] ??= [] as never;
    (to[event] as unknown as Listener<K>[]).push(fn);
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
        const list = from[event] as unknown as Listener<K>[] | undefined;
        const i = list?.indexOf(fn) ?? -1;
        if (i >= 0) list!.splice(i, 1);
      }
    },
    emit<K extends keyof DomainEvents>(event: K, payload: DomainEvents[K]) {
      // A copy: a listener may remove itself (a one-shot wait) while this runs.
      for (const fn of [...(first[event] ?? []), ...(rest[event] ?? [])]) fn(payload);
    },
  };
}

export type EventBus = ReturnType<typeof createEventBus>;
