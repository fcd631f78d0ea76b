// A Socket.IO viewer spoken by hand over a raw TCP socket (WebSocket transport), so a test can stop reading at will
// and see which frames reached it: the backpressure tests, on one instance and across instances.
import { randomBytes } from "node:crypto";
import { connect, type Socket as TcpSocket } from "node:net";

/** A Socket.IO viewer spoken by hand over a raw TCP socket, so the test can stop reading at will. */
export async function rawViewer(
  port: number,
  cookie: string,
): Promise<{ tcp: TcpSocket; received: () => number[]; joined: Promise<void> }> {
  const tcp = connect(port, "127.0.0.1");
  await new Promise((r) => tcp.once("connect", r));
  tcp.write(
    [
      "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1",
      `Host: 127.0.0.1:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
      "Sec-WebSocket-Version: 13",
      `Cookie: ${cookie}`,
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
