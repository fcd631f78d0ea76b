// Owns broadcasting: each stored event goes out once, encoded once, to the rooms that want it (the
// printer's page viewers, the overview), with its tile already rendered by the same components as the page;
// and asking a printer's camera Pis to do an action (printerAction), waiting for their answer.
import type { Server, Socket } from "socket.io";
import type { EventBus } from "../events.ts";
import type { PrinterService } from "../services/printers.ts";
import type { FrameMeta, Intervals, ReadingRow, StatusRow } from "../store/store.ts";

/** Every viewer; a viewer is also in its printer's room or the overview room. */
export const VIEWERS = "viewers";
export const OVERVIEW = "overview";
export const DEVICES = "devices";
export const viewersOf = (printerId: number) => `printer:${printerId}`;
export const devicesOf = (printerId: number) => `devices:${printerId}`;

/** Renders tile HTML for a broadcast (no user-specific content, so once for every viewer). */
export type TileRenderer = {
  reading(r: ReadingRow): { temperature: string; humidity: string };
  status(s: StatusRow): string;
  frameStamp(f: FrameMeta): string;
  /** The printer page's state panel. */
  printerPanel(printerId: number): string;
  /** An overview card's text part (state, reading, freshness); the picture comes as frames. */
  printerCard(printerId: number): string;
};

/** A frame is skipped for a viewer still sending the last ones: it gets the next, not a queue. */
const BACKLOG_BYTES = 512 * 1024;
/** printer_state at most this often per printer: deltas can come many a second. */
const STATE_COALESCE_MS = 250;
/** Overview cards are small: a new picture per printer at most this often. */
const OVERVIEW_FRAME_EVERY_MS = 2000;
const CARD_COALESCE_MS = 500;

// biome-ignore lint/suspicious/noExplicitAny: the hub sends events of every shape; their types live in the emitters.
type AnySocket = Socket<any, any, any, any>;
// biome-ignore lint/suspicious/noExplicitAny: as above, for the server.
type AnyServer = Server<any, any, any, any>;

function isBacklogged(socket: AnySocket): boolean {
  const conn = socket.conn as unknown as {
    transport: { name: string; socket?: { getBufferedAmount?: () => number } };
    writeBuffer: unknown[];
  };
  if (conn.writeBuffer.length > 2) return true;
  return (conn.transport.socket?.getBufferedAmount?.() ?? 0) > BACKLOG_BYTES;
}

/** The engine connection behind a socket, as far as holding and flushing its writes goes. */
type Conn = {
  transport: { name: string; writable: boolean; socket?: { readyState: number; cork?: (fn: () => void) => void } };
  writeBuffer: unknown[];
  flush(): void;
};

/**
 * Runs `fn(keys)` with every key scheduled since the last run, at most every `ms` (trailing): one timer for
 * all printers, so the broadcasts of one window go out together.
 */
function coalescer(ms: number, fn: (keys: number[]) => void) {
  const keys = new Set<number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    schedule(key: number) {
      keys.add(key);
      timer ??= setTimeout(() => {
        timer = undefined;
        const due = [...keys];
        keys.clear();
        fn(due);
      }, ms);
    },
    stop() {
      clearTimeout(timer);
      timer = undefined;
      keys.clear();
    },
  };
}

export function attachHub(
  io: AnyServer,
  events: EventBus,
  deps: { render: TileRenderer; intervals: () => Intervals; printers: PrinterService },
) {
  const { render } = deps;
  // Viewers on this instance see what happened on every instance (the relay re-emits it marked remote).
  const on: EventBus["on"] = (event, fn) => events.on(event, fn, { remote: true });
  const watched = (room: string) => (io.sockets.adapter.rooms.get(room)?.size ?? 0) > 0;
  const slowIn = (room: string) => {
    const slow: string[] = [];
    for (const id of io.sockets.adapter.rooms.get(room) ?? []) {
      const socket = io.sockets.sockets.get(id);
      if (socket && isBacklogged(socket)) slow.push(id);
    }
    return slow;
  };

  /**
   * Runs `send` with every viewer's writes held, then writes each viewer's packets at once: one corked
   * WebSocket write (one system call) per viewer instead of one per packet.
   */
  function together(send: () => void) {
    const held: Conn[] = [];
    for (const id of io.sockets.adapter.rooms.get(VIEWERS) ?? []) {
      const conn = io.sockets.sockets.get(id)?.conn as unknown as Conn | undefined;
      if (conn?.transport.name !== "websocket" || !conn.transport.writable) continue;
      conn.transport.writable = false;
      held.push(conn);
    }
    try {
      send();
    } finally {
      for (const conn of held) {
        conn.transport.writable = true;
        const ws = conn.transport.socket;
        if (conn.writeBuffer.length > 1 && ws?.readyState === WebSocket.OPEN && ws.cork) ws.cork(() => conn.flush());
        else conn.flush();
      }
    }
  }

  const cards = coalescer(CARD_COALESCE_MS, (printerIds) => {
    if (!watched(OVERVIEW)) return;
    together(() => {
      for (const printerId of printerIds)
        if (deps.printers.exists(printerId))
          io.to(OVERVIEW).emit("printer_card", { printer_id: printerId, html: render.printerCard(printerId) });
    });
  });
  const scheduleCard = (printerId: number) => {
    if (watched(OVERVIEW)) cards.schedule(printerId);
  };
  const states = coalescer(STATE_COALESCE_MS, (printerIds) =>
    together(() => {
      for (const printerId of printerIds) {
        const p = deps.printers.get(printerId);
        const page = viewersOf(printerId);
        // The page gets its panel; the overview learns of it through its card (printer_card).
        if (p && watched(page))
          io.to(page).emit("printer_state", {
            printer_id: printerId,
            state: p.state,
            html: { panel: render.printerPanel(printerId) },
          });
      }
    }),
  );
  /** A printer page's news (readings, statuses) goes out at once. */
  const toPage = (printerId: number, event: string, payload: () => unknown) => {
    const page = viewersOf(printerId);
    if (watched(page)) io.to(page).emit(event, payload());
  };

  on("reading", (r) => {
    toPage(r.printer_id, "temphum2v", () => ({
      id: r.id,
      printer_id: r.printer_id,
      temperature: r.temperature,
      humidity: r.humidity,
      recorded_at: r.recorded_at,
      html: render.reading(r),
    }));
    scheduleCard(r.printer_id);
  });
  // recorded_at is when the device last said it (freshness); since is when it became this status.
  on("status", (s) => {
    toPage(s.printer_id, "status2v", () => ({
      id: s.id,
      printer_id: s.printer_id,
      status: s.status,
      recorded_at: s.last_seen_at,
      since: s.recorded_at,
      html: render.status(s),
    }));
    scheduleCard(s.printer_id);
  });
  // Binary, not base64: a third smaller on the wire and no decode in the browser.
  const overviewFrameAt = new Map<number, number>();
  on("frame", (f) => {
    const payload = {
      id: f.id,
      printer_id: f.printer_id,
      mime: f.mime,
      source: f.source,
      recorded_at: f.recorded_at,
      image: f.bytes,
      stamp: render.frameStamp(f),
    };
    const page = viewersOf(f.printer_id);
    if (watched(page)) io.to(page).except(slowIn(page)).emit("image2v", payload);
    const last = overviewFrameAt.get(f.printer_id) ?? 0;
    if (watched(OVERVIEW) && f.recorded_at - last >= OVERVIEW_FRAME_EVERY_MS) {
      overviewFrameAt.set(f.printer_id, f.recorded_at);
      io.to(OVERVIEW).except(slowIn(OVERVIEW)).emit("image2v", payload);
    }
  });
  // The state panel carries the controls, which also follow the LAN link's health.
  const printerChanged = ({ printerId }: { printerId: number }) => {
    if (watched(viewersOf(printerId))) states.schedule(printerId);
    scheduleCard(printerId);
  };
  on("printerState", printerChanged);
  on("printerHealth", printerChanged);
  on("printersChanged", ({ printerId, removed }) => {
    if (removed)
      for (const socket of io.sockets.sockets.values())
        if (socket.data.printerId === printerId) socket.disconnect(true);
    io.to(VIEWERS).emit("printers_changed", { printer_id: printerId, removed: !!removed });
  });
  events.on("deviceAction", ({ printerId, action }) => io.to(devicesOf(printerId)).emit("printerAction", { action }));
  // Sent to every connection: a cookie device that has not spoken yet is still a device waiting for it.
  on("intervals", (i) => io.emit("timelapse_conf", i));
  on("tokenRevoked", ({ tokenId }) => {
    for (const socket of io.sockets.sockets.values()) if (socket.data.tokenId === tokenId) socket.disconnect(true);
  });
  on("sessionEnded", ({ tokenHash }) => {
    for (const socket of io.sockets.sockets.values()) if (socket.data.tokenHash === tokenHash) socket.disconnect(true);
  });
  on("sessionsRevoked", ({ userId, exceptTokenHash }) => {
    for (const socket of io.sockets.sockets.values())
      if (socket.data.userId === userId && socket.data.tokenHash !== exceptTokenHash) socket.disconnect(true);
  });

  return {
    /** A device that connects (or reveals itself) gets the current intervals, in case it missed a change. */
    welcomeDevice(socket: AnySocket) {
      socket.emit("timelapse_conf", deps.intervals());
    },
    /**
     * A printer page's viewer that connects (or reconnects) gets the printer's state panel in the next window:
     * a change between the page's render and the socket's join would otherwise show only with the next one.
     */
    welcomeViewer(printerId: number) {
      states.schedule(printerId);
    },
    deviceCount: () => io.sockets.adapter.rooms.get(DEVICES)?.size ?? 0,
    /** Is anyone looking at this printer: its page, or the overview? */
    watched: (printerId: number) => watched(viewersOf(printerId)) || watched(OVERVIEW),
    /** Devices connected for one printer. */
    devicesOf: (printerId: number) => io.sockets.adapter.rooms.get(devicesOf(printerId))?.size ?? 0,
    /** Asks a printer's camera Pis to do an action; their first answer, or null when none came within `withinMs`. */
    askDevice(printerId: number, action: string, withinMs: number): Promise<boolean | null> {
      return new Promise((resolve) => {
        const listener = (a: { printerId: number; action: string; result: boolean }) => {
          if (a.printerId !== printerId || a.action !== action) return;
          done(a.result);
        };
        const timer = setTimeout(() => done(null), withinMs);
        function done(v: boolean | null) {
          clearTimeout(timer);
          events.off("deviceAnswer", listener);
          resolve(v);
        }
        events.on("deviceAnswer", listener);
        events.emit("deviceAction", { printerId, action });
      });
    },
    stop() {
      cards.stop();
      states.stop();
    },
  };
}

export type Hub = ReturnType<typeof attachHub>;
