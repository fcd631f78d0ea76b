// The LAN links' MQTT framing on its own, over a stand-in socket: what is written, and reports cut at any
// byte or sent several to a chunk arrive whole. test/lan.test.ts drives it against a real broker.
import { describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { type MqttHandlers, type MqttOptions, mqttOverSocket, mqttOverTls } from "../../src/lan/mqtt-client.ts";

class StandInSocket extends EventEmitter {
  written: Buffer[] = [];
  destroyed = false;
  write(b: Buffer) {
    this.written.push(Buffer.from(b));
    return true;
  }
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => this.emit("close"));
  }
}

const lengthBytes = (n: number) => {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const publish = (topic: string, text: string) => {
  const t = Buffer.from(topic);
  const body = Buffer.concat([Buffer.from([t.length >> 8, t.length & 0xff]), t, Buffer.from(text)]);
  return Buffer.concat([Buffer.from([0x30, ...lengthBytes(body.length)]), body]);
};
const CONNACK_OK = Buffer.from([0x20, 2, 0, 0]);

function open(extra: Partial<MqttOptions> = {}, startOn?: "connect") {
  const socket = new StandInSocket();
  const seen = { messages: [] as string[], errors: [] as (Error & { code?: number })[], connects: 0, closes: 0 };
  const handlers: MqttHandlers = {
    connect: () => seen.connects++,
    message: (_topic, text) => seen.messages.push(text),
    error: (err) => seen.errors.push(err),
    close: () => seen.closes++,
  };
  const options = { username: "bblp", password: "12345678", clientId: "layerwatch-t", keepaliveS: 30 };
  const all = { ...options, connectTimeoutMs: 60_000, ...extra };
  const link = startOn
    ? mqttOverSocket(socket as unknown as Socket, all, handlers, startOn)
    : mqttOverTls(socket as unknown as TLSSocket, all, handlers);
  return { socket, seen, link };
}

describe("the LAN links' MQTT client", () => {
  test("CONNECT goes out only after the TLS handshake, with the access code and keepalive", () => {
    const { socket, link } = open();
    expect(socket.written).toEqual([]);
    socket.emit("secureConnect");
    const connect = socket.written[0]!;
    expect(connect[0]).toBe(0x10);
    expect(connect.includes(Buffer.from("MQTT"))).toBe(true);
    expect(connect.includes(Buffer.from("12345678"))).toBe(true);
    expect(connect.subarray(2 + 8, 2 + 10)).toEqual(Buffer.from([0, 30]));
    link.end();
  });

  test("a refused CONNACK is an error with its code, and the link closes", async () => {
    const { socket, seen } = open();
    socket.emit("secureConnect");
    socket.emit("data", Buffer.from([0x20, 2, 0, 5]));
    await Promise.resolve();
    expect(seen.errors.map((e) => e.code)).toEqual([5]);
    expect(seen.connects).toBe(0);
    expect(seen.closes).toBe(1);
  });

  test("reports cut at every byte, several to a chunk, and one with a two-byte length arrive whole", () => {
    const { socket, seen, link } = open();
    socket.emit("secureConnect");
    const big = JSON.stringify({ print: { pad: "x".repeat(20_000) } });
    const stream = Buffer.concat([
      CONNACK_OK,
      publish("device/S/report", '{"print":{"layer_num":1}}'),
      publish("device/S/report", '{"print":{"layer_num":2}}'),
      publish("device/S/report", big),
      publish("device/S/report", '{"print":{"mc_percent":"ä"}}'),
    ]);
    for (let i = 0; i < 40; i++) socket.emit("data", stream.subarray(i, i + 1));
    socket.emit("data", stream.subarray(40));
    expect(seen.connects).toBe(1);
    expect(link.connected).toBe(true);
    expect(seen.messages).toEqual([
      '{"print":{"layer_num":1}}',
      '{"print":{"layer_num":2}}',
      big,
      '{"print":{"mc_percent":"ä"}}',
    ]);
    link.end();
  });

  test("subscribe and publish frame as MQTT 3.1.1 at QoS 0", () => {
    const { socket, link } = open();
    socket.emit("secureConnect");
    socket.emit("data", CONNACK_OK);
    link.subscribe("device/S/report");
    link.publish("device/S/request", "{}");
    const [subscribe, pub] = socket.written.slice(1);
    expect([...subscribe!]).toEqual([0x82, 2 + 2 + 15 + 1, 0, 1, 0, 15, ...Buffer.from("device/S/report"), 0]);
    expect([...pub!]).toEqual([0x30, 2 + 16 + 2, 0, 16, ...Buffer.from("device/S/request"), ...Buffer.from("{}")]);
    link.end();
  });

  test("keepalive pings after keepaliveS of silence and gives up on an unanswered ping", async () => {
    const { socket, seen, link } = open();
    socket.emit("secureConnect");
    socket.emit("data", CONNACK_OK);
    const t = Date.now();
    link.keepalive(t + 10_000);
    expect(socket.written.length).toBe(1);
    link.keepalive(t + 31_000);
    expect([...socket.written[1]!]).toEqual([0xc0, 0]);
    socket.emit("data", Buffer.from([0xd0, 0]));
    link.keepalive(t + 62_000);
    expect([...socket.written[2]!]).toEqual([0xc0, 0]);
    link.keepalive(t + 93_000);
    await Promise.resolve();
    expect(seen.errors.map((e) => e.message)).toEqual(["Keepalive timeout"]);
    expect(seen.closes).toBe(1);
  });

  test("on plain TCP, CONNECT goes out on connect; no user name means no credentials at all", () => {
    const { socket, link } = open({ username: undefined, password: undefined }, "connect");
    socket.emit("secureConnect");
    expect(socket.written).toEqual([]);
    socket.emit("connect");
    const connect = socket.written[0]!;
    // Fixed header, then 2+4 "MQTT", level 4, then the flags: clean session only.
    expect(connect[2 + 7]).toBe(0x02);
    expect(connect.includes(Buffer.from("12345678"))).toBe(false);
    link.end();
  });

  test("a last will is in CONNECT, retained at QoS 1, before the user name and password", () => {
    const will = { topic: "lw/status", payload: "offline", retain: true, qos: 1 as const };
    const { socket, link } = open({ will }, "connect");
    socket.emit("connect");
    const connect = socket.written[0]!;
    expect(connect[2 + 7]).toBe(0x80 | 0x40 | 0x20 | 0x08 | 0x04 | 0x02);
    const at = (s: string) => connect.indexOf(Buffer.from(s));
    expect(at("lw/status")).toBeGreaterThan(at("layerwatch-t"));
    expect(at("offline")).toBeGreaterThan(at("lw/status"));
    expect(at("bblp")).toBeGreaterThan(at("offline"));
    link.end();
  });

  test("a retained QoS 1 publish carries a packet id, and acked() waits for its PUBACK", async () => {
    const { socket, link } = open({}, "connect");
    expect(link.publish("a/b", "x")).toBe(false); // not connected yet: nothing written
    socket.emit("connect");
    socket.emit("data", CONNACK_OK);
    expect(link.publish("a/b", new Uint8Array([0xff, 0xd8]), { retain: true, qos: 1 })).toBe(true);
    const pub = socket.written[1]!;
    expect([...pub]).toEqual([0x33, 2 + 3 + 2 + 2, 0, 3, ...Buffer.from("a/b"), 0, 1, 0xff, 0xd8]);
    let acked = null as boolean | null;
    void link.acked().then((ok) => {
      acked = ok;
    });
    await Promise.resolve();
    expect(acked).toBeNull();
    socket.emit("data", Buffer.from([0x40, 2, 0, 1]));
    await Promise.resolve();
    expect(acked).toBe(true);
    link.end();
  });

  test("acked() answers false when the link closes before the PUBACK", async () => {
    const { socket, link } = open({}, "connect");
    socket.emit("connect");
    socket.emit("data", CONNACK_OK);
    link.publish("a/b", "x", { qos: 1 });
    const acked = link.acked();
    socket.destroy();
    expect(await acked).toBe(false);
  });
});
