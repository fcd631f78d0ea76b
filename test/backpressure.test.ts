// A viewer that stops reading must not build a backlog on the server: it is skipped and gets newer frames.
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { connect, type Socket as TcpSocket } from "node:net";
import { useApp } from "./app-fixture.ts";
import { collect, emitWithAck, fakeJpeg, settled, until } from "./helpers.ts";

const fx = useApp({ config: { device_rate_limit: 0, image_retention: 5 } });

/** A Socket.IO viewer spoken by hand over a raw TCP socket, so the test can stop reading at will. */
async function rawViewer(): Promise<{ tcp: TcpSocket; received: () => number[]; joined: Promise<void> }> {
  const tcp = connect(fx.app.port, "127.0.0.1");
  await new Promise((r) => tcp.once("connect", r));
  tcp.write(
    [
      "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1",
      `Host: 127.0.0.1:${fx.app.port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
      "Sec-WebSocket-Version: 13",
      `Cookie: ${fx.cookie}`,
      "",
      "",
    ].join("\r\n"),
  );
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  const frameIds: number[] = [];
  let expectBinaryFor: number | null = null;
  let markJoined = () => {};
  const joined = new Promise<void>((r) => {
    markJoined = r;
  });
  const send = (text: string) => {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
    tcp.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, masked]));
  };
  tcp.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!upgraded) {
      const end = buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      upgraded = true;
      buffer = buffer.subarray(end + 4);
    }
    for (;;) {
      if (buffer.length < 2) return;
      let len = buffer[1]! & 0x7f,
        offset = 2;
      if (len === 126) {
        if (buffer.length < 4) return;
        len = buffer.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (buffer.length < 10) return;
        len = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + len) return;
      const opcode = buffer[0]! & 0x0f;
      const payload = buffer.subarray(offset, offset + len);
      buffer = buffer.subarray(offset + len);
      if (opcode === 1) {
        const text = payload.toString();
        if (text === "2")
          send("3"); // Engine.IO ping → pong
        else if (text.startsWith("0"))
          send("40"); // open → join the namespace
        else if (text.startsWith("40")) markJoined(); // joined: the server has put it among the viewers
        const m = /^451-\["image2v",\{"id":(\d+)/.exec(text);
        if (m) expectBinaryFor = Number(m[1]);
      } else if (opcode === 2 && expectBinaryFor !== null) {
        frameIds.push(expectBinaryFor);
        expectBinaryFor = null;
      }
    }
  });
  return { tcp, received: () => frameIds, joined };
}

test("a viewer that stops reading is skipped, not queued, and gets the newest frame once it reads again", async () => {
  const slow = await rawViewer();
  fx.track({ disconnect: () => slow.tcp.destroy() });
  await slow.joined;
  const device = await fx.client();
  const fast = await fx.client();
  const fastFrames = collect<{ id: number }>(fast, "image2v");
  slow.tcp.pause(); // stop reading: the kernel buffers fill, then the server's

  const sent: number[] = [];
  for (let i = 0; i < 80; i++)
    sent.push((await emitWithAck<{ id: number }>(device, "image", { image: Buffer.from(fakeJpeg(200 * 1024, i)) })).id);
  await until(
    () => fastFrames.length,
    (n) => n >= 80,
  );
  expect(fastFrames.length).toBe(80);

  slow.tcp.resume();
  // Bounded: it has read all it will get once nothing more comes for 300 ms (what was skipped never comes).
  const beforeLast = await settled(() => slow.received().length, 300);
  // Far fewer than 80 reached the stalled viewer: the rest were skipped, not queued in memory.
  expect(beforeLast).toBeLessThan(60);
  expect(beforeLast).toBeGreaterThan(0);

  const last = (await emitWithAck<{ id: number }>(device, "image", { image: Buffer.from(fakeJpeg(200 * 1024, 99)) }))
    .id;
  await until(slow.received, (r) => r.includes(last), 1000);
  expect(slow.received().at(-1)).toBe(last);
  console.log(`stalled viewer got ${beforeLast} of 80 frames while not reading, then the newest at once`);
}, 60000);
