// Owns broadcasting: each stored event goes out once, encoded once, to the rooms that want it.
import type { Server } from "socket.io";
import type { EventBus } from "../events.ts";

export const VIEWERS = "viewers";
export const DEVICES = "devices";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function attachHub(io: Server<any, any, any, any>, events: EventBus) {
  events.on("reading", (r) =>
    io.to(VIEWERS).emit("temphum2v", { id: r.id, temperature: r.temperature, humidity: r.humidity, recorded_at: r.recorded_at }));
  // recorded_at is when the device last said it (freshness); since is when it became this status.
  events.on("status", (s) => io.to(VIEWERS).emit("status2v", { id: s.id, status: s.status, recorded_at: s.last_seen_at, since: s.recorded_at }));
  // Binary, not base64: a third smaller on the wire and no decode in the browser.
  events.on("frame", (f) => io.to(VIEWERS).emit("image2v", { id: f.id, mime: f.mime, recorded_at: f.recorded_at, image: f.bytes }));
  // Sent to every connection: a cookie device that has not spoken yet is still a device waiting for it.
  events.on("intervals", (i) => io.emit("timelapse_conf", i));
  events.on("tokenRevoked", ({ tokenId }) => {
    for (const socket of io.sockets.sockets.values()) if (socket.data.tokenId === tokenId) socket.disconnect(true);
  });
  events.on("sessionsRevoked", ({ userId, exceptTokenHash }) => {
    for (const socket of io.sockets.sockets.values())
      if (socket.data.userId === userId && socket.data.tokenHash !== exceptTokenHash) socket.disconnect(true);
  });
}
