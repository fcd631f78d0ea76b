// Owns broadcasting: each stored event goes out once, encoded once, to the rooms that want it,
// with its tile already rendered by the same components as the page.
import type { Server, Socket } from "socket.io";
import type { EventBus } from "../events.ts";
import type { FrameMeta, Intervals, ReadingRow, StatusRow } from "../store/store.ts";

export const VIEWERS = "viewers";
export const DEVICES = "devices";

/** Renders tile HTML for a broadcast (no user-specific content, so once for every viewer). */
export type TileRenderer = {
  reading(r: ReadingRow): { temperature: string; humidity: string };
  status(s: StatusRow): string;
  frameStamp(f: FrameMeta): string;
};

/** A frame is skipped for a viewer still sending the last ones: it gets the next, not a queue. */
const BACKLOG_BYTES = 512 * 1024;

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

export function attachHub(io: AnyServer, events: EventBus, deps: { render: TileRenderer; intervals: () => Intervals }) {
  const { render } = deps;

  events.on("reading", (r) =>
    io.to(VIEWERS).emit("temphum2v", {
      id: r.id,
      temperature: r.temperature,
      humidity: r.humidity,
      recorded_at: r.recorded_at,
      html: render.reading(r),
    }),
  );
  // recorded_at is when the device last said it (freshness); since is when it became this status.
  events.on("status", (s) =>
    io.to(VIEWERS).emit("status2v", {
      id: s.id,
      status: s.status,
      recorded_at: s.last_seen_at,
      since: s.recorded_at,
      html: render.status(s),
    }),
  );
  // Binary, not base64: a third smaller on the wire and no decode in the browser.
  events.on("frame", (f) => {
    const slow: string[] = [];
    for (const id of io.sockets.adapter.rooms.get(VIEWERS) ?? []) {
      const socket = io.sockets.sockets.get(id);
      if (socket && isBacklogged(socket)) slow.push(id);
    }
    io.to(VIEWERS)
      .except(slow)
      .emit("image2v", {
        id: f.id,
        mime: f.mime,
        recorded_at: f.recorded_at,
        image: f.bytes,
        stamp: render.frameStamp(f),
      });
  });
  // Sent to every connection: a cookie device that has not spoken yet is still a device waiting for it.
  events.on("intervals", (i) => io.emit("timelapse_conf", i));
  events.on("tokenRevoked", ({ tokenId }) => {
    for (const socket of io.sockets.sockets.values()) if (socket.data.tokenId === tokenId) socket.disconnect(true);
  });
  events.on("sessionEnded", ({ tokenHash }) => {
    for (const socket of io.sockets.sockets.values()) if (socket.data.tokenHash === tokenHash) socket.disconnect(true);
  });
  events.on("sessionsRevoked", ({ userId, exceptTokenHash }) => {
    for (const socket of io.sockets.sockets.values())
      if (socket.data.userId === userId && socket.data.tokenHash !== exceptTokenHash) socket.disconnect(true);
  });

  return {
    /** A device that connects (or reveals itself) gets the current intervals, in case it missed a change. */
    welcomeDevice(socket: AnySocket) {
      socket.emit("timelapse_conf", deps.intervals());
    },
    deviceCount: () => io.sockets.adapter.rooms.get(DEVICES)?.size ?? 0,
  };
}

export type Hub = ReturnType<typeof attachHub>;
