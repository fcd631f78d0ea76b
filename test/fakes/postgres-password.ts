// A fake PostgreSQL server that asks for a password and refuses every one (SQLSTATE 28P01), as a real server
// with password auth does; the test cluster trusts everyone, so this is how a wrong password is met for real.
import type { TCPSocketListener } from "bun";

/** Speaks the startup part of the PostgreSQL wire protocol (v3) on 127.0.0.1:<free port>. */
export function startPasswordRefuser(): { port: number; passwords: string[]; stop(): void } {
  const passwords: string[] = [];
  const message = (type: string, body: Buffer) => {
    const head = Buffer.alloc(5);
    head.write(type, 0, "latin1");
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  };
  const server: TCPSocketListener<{ started: boolean }> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { started: false };
      },
      data(socket, data) {
        const buf = Buffer.from(data);
        if (!socket.data.started) {
          const code = buf.readInt32BE(4);
          if (code === 80877103) {
            socket.write("N"); // SSLRequest: no TLS here
            return;
          }
          socket.data.started = true;
          const auth = Buffer.alloc(4);
          auth.writeInt32BE(3); // AuthenticationCleartextPassword
          socket.write(message("R", auth));
          return;
        }
        if (buf[0] === 0x70) passwords.push(buf.subarray(5, buf.length - 1).toString());
        const fields = ["SFATAL", "VFATAL", "C28P01", 'Mpassword authentication failed for user "farm"'];
        socket.write(message("E", Buffer.concat([...fields.map((f) => Buffer.from(`${f}\0`)), Buffer.from([0])])));
        socket.end();
      },
    },
  });
  return { port: server.port, passwords, stop: () => server.stop(true) };
}
