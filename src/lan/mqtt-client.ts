// Owns the MQTT 3.1.1 client side, straight on a socket: CONNECT (user name and password optional, a last will),
// QoS 0 subscriptions, publishes at QoS 0 or 1 (retained or not), keepalive pings. A Bambu printer's link speaks
// it over TLS; the Home Assistant bridge over TLS or plain TCP. A report costs one header parse and a text
// decode, not a stream pipeline: fifty printers send a delta a second each.
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";

/** A message the broker publishes for us when the link ends without a DISCONNECT (a crash, a lost network). */
export type MqttWill = { topic: string; payload: string; retain?: boolean; qos?: 0 | 1 };
export type PublishOptions = { retain?: boolean; qos?: 0 | 1 };

export type MqttOptions = {
  /** Left out (or empty): an anonymous CONNECT. */
  username?: string;
  password?: string;
  clientId: string;
  will?: MqttWill;
  /**
   * Seconds between pings while nothing else is sent; no answer within as long closes the link. The
   * owner calls `keepalive()` every few seconds (one timer of its own rather than one per link).
   */
  keepaliveS: number;
  /** No CONNACK within this (ms) closes the link. */
  connectTimeoutMs: number;
};
export type MqttHandlers = {
  connect(): void;
  /** A publish on a subscribed topic, its payload as UTF-8 text (Bambu reports are JSON). */
  message(topic: string, payload: string): void;
  /** A refused CONNACK carries its return code (4 bad user name or password, 5 not authorised). */
  error(err: Error & { code?: number }): void;
  close(): void;
};

/** The largest packet accepted: a full X1/H2 report is some 16 kB. */
const MAX_PACKET_BYTES = 4 * 1024 * 1024;
const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const PINGRESP = 13;
/** The CONNECT's protocol name ("MQTT") and level (4: 3.1.1). */
const PROTOCOL_311 = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4];
const PINGREQ = Buffer.from([0xc0, 0]);
const DISCONNECT = Buffer.from([0xe0, 0]);

const utf8 = (s: string) => {
  const b = Buffer.from(s, "utf8");
  const out = Buffer.allocUnsafe(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
};

function packet(first: number, body: Buffer[]): Buffer {
  let len = 0;
  for (const b of body) len += b.length;
  const head = [first];
  let n = len;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    head.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from(head), ...body], head.length + len);
}

/**
 * Speaks MQTT on `socket` once its TLS handshake is done (and its certificate passed the pin check, which
 * runs first and destroys a refused socket before the access code is written).
 */
export function mqttOverTls(socket: TLSSocket, opts: MqttOptions, on: MqttHandlers) {
  return mqttOverSocket(socket, opts, on, "secureConnect");
}

/** Speaks MQTT on `socket` once it emits `startOn`: "connect" for plain TCP, "secureConnect" for TLS. */
export function mqttOverSocket(
  socket: Socket | TLSSocket,
  opts: MqttOptions,
  on: MqttHandlers,
  startOn: "connect" | "secureConnect",
) {
  let connected = false;
  let closed = false;
  let pending: Buffer | null = null;
  let pingSentAt = 0;
  let sentAt = Date.now();
  let nextPacketId = 1;
  /** QoS 1 publishes sent and not yet acknowledged, by packet id. */
  const unacked = new Set<number>();
  let ackWaiters: ((ok: boolean) => void)[] = [];
  const settleAcks = (ok: boolean) => {
    const waiters = ackWaiters;
    ackWaiters = [];
    for (const w of waiters) w(ok);
  };
  const packetId = () => {
    const id = nextPacketId;
    nextPacketId = (nextPacketId % 0xffff) + 1;
    return id;
  };
  const connectTimer = setTimeout(() => fail(new Error("connack timeout")), opts.connectTimeoutMs);
  function write(b: Buffer) {
    if (closed || socket.destroyed) return;
    sentAt = Date.now();
    socket.write(b);
  }
  function fail(err: Error & { code?: number }) {
    if (closed) return;
    on.error(err);
    socket.destroy();
  }

  socket.setNoDelay?.(true);
  socket.once(startOn, () => {
    if (socket.destroyed) return;
    const { username, password, will } = opts;
    let flags = 0x02; // clean session
    const payload = [utf8(opts.clientId)];
    if (will) {
      flags |= 0x04 | ((will.qos ?? 0) << 3) | (will.retain ? 0x20 : 0);
      payload.push(utf8(will.topic), utf8(will.payload));
    }
    // 3.1.1 allows a password only with a user name.
    if (username) {
      flags |= 0x80;
      payload.push(utf8(username));
      if (password !== undefined) {
        flags |= 0x40;
        payload.push(utf8(password));
      }
    }
    const keepalive = [opts.keepaliveS >> 8, opts.keepaliveS & 0xff];
    const variable = Buffer.from([...PROTOCOL_311, flags, ...keepalive]);
    write(packet(0x10, [variable, ...payload]));
  });
  socket.on("data", (chunk: Buffer) => {
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    pending = null;
    let off = 0;
    while (buf.length - off >= 2) {
      // The remaining length: 1 to 4 bytes of 7 bits each, low first.
      let len = 0;
      let i = off + 1;
      let complete = false;
      while (i < buf.length && i < off + 5) {
        const byte = buf[i]!;
        len += (byte & 0x7f) * 128 ** (i - off - 1);
        i++;
        if (!(byte & 0x80)) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i >= off + 5) return fail(new Error("malformed packet length"));
        break; // the length itself is not all here yet
      }
      if (len > MAX_PACKET_BYTES) return fail(new Error(`packet of ${len} bytes is too large`));
      if (buf.length < i + len) break;
      handle(buf[off]!, buf, i, i + len);
      if (closed || socket.destroyed) return;
      off = i + len;
    }
    if (off < buf.length) pending = buf.subarray(off);
  });
  socket.on("error", (err) => fail(err));
  socket.on("close", () => {
    if (closed) return;
    closed = true;
    connected = false;
    clearTimeout(connectTimer);
    unacked.clear();
    settleAcks(false);
    on.close();
  });

  /** One packet: its first byte, and its body as buf[start, end). */
  function handle(first: number, buf: Buffer, start: number, end: number) {
    const type = first >> 4;
    if (type === PUBLISH) {
      const topicEnd = start + 2 + buf.readUInt16BE(start);
      let at = topicEnd;
      if ((first >> 1) & 3) {
        // Acknowledge at-least-once deliveries (we subscribe at QoS 0, so a broker should send none).
        write(Buffer.from([0x40, 2, buf[at]!, buf[at + 1]!]));
        at += 2;
      }
      on.message(buf.toString("utf8", start + 2, topicEnd), buf.toString("utf8", at, end));
    } else if (type === CONNACK) {
      clearTimeout(connectTimer);
      const code = buf[start + 1] ?? 255;
      if (code !== 0) return fail(Object.assign(new Error(`Connection refused: code ${code}`), { code }));
      connected = true;
      on.connect();
    } else if (type === PUBACK) {
      unacked.delete(buf.readUInt16BE(start));
      if (!unacked.size) settleAcks(true);
    } else if (type === PINGRESP) pingSentAt = 0;
  }

  return {
    get connected() {
      return connected && !socket.destroyed;
    },
    /** Bytes written and not yet taken by the network (a slow broker): owners skip what can wait. */
    get unsentBytes(): number {
      return socket.writableLength ?? 0;
    },
    /**
     * Publishes (text as UTF-8, bytes as they are); false when the link is not up. At QoS 1 the broker's PUBACK
     * is awaited by `acked()`; nothing is resent: the owner publishes its state again on the next connect.
     */
    publish(topic: string, payload: string | Uint8Array, o: PublishOptions = {}): boolean {
      if (!connected || closed || socket.destroyed) return false;
      const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : Buffer.from(payload);
      const first = 0x30 | ((o.qos ?? 0) << 1) | (o.retain ? 1 : 0);
      if (o.qos === 1) {
        const id = packetId();
        unacked.add(id);
        write(packet(first, [utf8(topic), Buffer.from([id >> 8, id & 0xff]), body]));
      } else write(packet(first, [utf8(topic), body]));
      return true;
    },
    /** Resolves true once every QoS 1 publish sent so far is acknowledged, false if the link closes first. */
    acked(): Promise<boolean> {
      if (!unacked.size) return Promise.resolve(connected);
      return new Promise((resolve) => ackWaiters.push(resolve));
    },
    subscribe(topic: string) {
      const id = packetId();
      write(packet(0x82, [Buffer.from([id >> 8, id & 0xff]), utf8(topic), Buffer.from([0])]));
    },
    /** Pings when nothing was sent for keepaliveS; closes the link when the last ping went unanswered. */
    keepalive(now = Date.now()) {
      if (!connected) return;
      if (pingSentAt && now - pingSentAt >= opts.keepaliveS * 1000) return fail(new Error("Keepalive timeout"));
      if (!pingSentAt && now - sentAt >= opts.keepaliveS * 1000) {
        write(PINGREQ);
        pingSentAt = now;
      }
    },
    /** Closes the link at once (a DISCONNECT first when it is up). */
    end() {
      if (connected) write(DISCONNECT);
      connected = false;
      socket.destroy();
    },
  };
}

export type MqttLink = ReturnType<typeof mqttOverSocket>;
