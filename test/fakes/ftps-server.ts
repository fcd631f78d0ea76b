// A fake Bambu printer's FTPS server: real FTP (RFC 959 with RFC 4217's PBSZ/PROT) over implicit TLS 1.2, as the
// printers serve on port 990. Like their vsftpd it demands that each passive data connection resume the control
// connection's TLS session (522 otherwise), takes user bblp with the access code only (530), stores to the SD
// card's root, and answers 553 to STOR when there is no card. No npm FTP server library both serves implicit TLS
// and checks session reuse, hence this one: one TLS server is fed by the control and the data listeners, so its
// session cache is theirs in common (Bun's node:tls has no shareable secure context across servers).
import { createHash } from "node:crypto";
import { type Server as NetServer, createServer as netServer, type Socket } from "node:net";
import { createServer, type TLSSocket } from "node:tls";
import type { Cert } from "./certs.ts";

export type StoredFile = { size: number; sha256: string; bytes: Uint8Array | null; at: number };
export type FtpsStats = {
  /** PASS commands received (each carries the access code), right or wrong. */
  passes: number;
  logins: number;
  refusedLogins: number;
  /** Data connections refused because they did not resume the control connection's session. */
  notReused: number;
  stores: number;
  deletes: number;
};
export type FakeFtps = {
  port: number;
  files: Map<string, StoredFile>;
  stats: FtpsStats;
  /** Whether an SD card is in: without one STOR is answered 553. */
  sdCard: boolean;
  /** The password PASS must give (the printer's access code, which changes when LAN Only is toggled). */
  accessCode: string;
  /** New connections (control and data) get this certificate; open ones keep theirs. */
  setCert(cert: Cert): void;
  close(): Promise<void>;
};

const TLS12 = { minVersion: "TLSv1.2", maxVersion: "TLSv1.2" } as const;
/** Files larger than this are kept as size and hash only (the benchmark sends 50 MB). */
const KEEP_BYTES = 4 * 1024 * 1024;

export async function startFakeFtps(opts: {
  accessCode: string;
  cert: Cert;
  sdCard?: boolean;
  /** Another certificate on the data connections (a machine in the middle of them, taking them unresumed). */
  dataCert?: Cert;
}): Promise<FakeFtps> {
  const files = new Map<string, StoredFile>();
  const stats: FtpsStats = { passes: 0, logins: 0, refusedLogins: 0, notReused: 0, stores: 0, deletes: 0 };
  const open = new Set<Socket>();
  /** The data connection a PASV is waiting for, by control connection. */
  let awaitingData: ((socket: TLSSocket) => void) | null = null;
  let dataPort = 0;
  let controlPort = 0;

  const serve = (socket: TLSSocket) => {
    if (socket.localPort === dataPort) {
      const take = awaitingData;
      awaitingData = null;
      if (take) take(socket);
      else socket.destroy();
      return;
    }
    serveControl(socket);
  };
  const tls = createServer({ cert: opts.cert.cert, key: opts.cert.key, ...TLS12 }, serve);
  tls.on("tlsClientError", () => {});
  const dataTls = opts.dataCert
    ? createServer({ cert: opts.dataCert.cert, key: opts.dataCert.key, ...TLS12 }, serve)
    : tls;
  dataTls.on("tlsClientError", () => {});
  const listener = (server: NetServer) =>
    new Promise<number>((resolve) =>
      server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
    );
  const feed = (server: typeof tls) => (raw: Socket) => {
    open.add(raw);
    raw.on("close", () => open.delete(raw));
    server.emit("connection", raw);
  };
  const control = netServer(feed(tls));
  const data = netServer(feed(dataTls));
  controlPort = await listener(control);
  dataPort = await listener(data);

  const fake: FakeFtps = {
    port: controlPort,
    files,
    stats,
    sdCard: opts.sdCard ?? true,
    accessCode: opts.accessCode,
    setCert(cert) {
      // The versions must be repeated: without them Bun's new context accepts TLS 1.3 again.
      tls.setSecureContext({ cert: cert.cert, key: cert.key, ...TLS12 });
    },
    async close() {
      for (const s of open) s.destroy();
      await Promise.all([control, data].map((s) => new Promise((r) => s.close(r))));
    },
  };

  function serveControl(socket: TLSSocket) {
    let user = "";
    let authed = false;
    let dataSocket: Promise<TLSSocket | null> | null = null;
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply("220 Service ready for new user.");
    let buffer = "";
    let busy: Promise<unknown> = Promise.resolve();
    socket.setEncoding("utf8");
    socket.on("error", () => {});
    socket.on("data", (text: string) => {
      buffer += text;
      for (let at = buffer.indexOf("\r\n"); at >= 0; at = buffer.indexOf("\r\n")) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        busy = busy.then(() => command(line)).catch(() => socket.destroy());
      }
    });

    async function command(line: string) {
      const space = line.indexOf(" ");
      const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
      const arg = space < 0 ? "" : line.slice(space + 1);
      if (verb === "USER") {
        user = arg;
        return reply("331 User name okay, need password.");
      }
      if (verb === "PASS") {
        stats.passes++;
        if (user === "bblp" && arg === fake.accessCode) {
          authed = true;
          stats.logins++;
          return reply("230 User logged in, proceed.");
        }
        stats.refusedLogins++;
        return reply("530 Login incorrect.");
      }
      if (verb === "QUIT") {
        reply("221 Goodbye.");
        return socket.end();
      }
      if (!authed) return reply("530 Please login with USER and PASS.");
      if (verb === "PBSZ") return reply("200 PBSZ=0");
      if (verb === "PROT") return reply(arg === "P" ? "200 Protection level set to P" : "536 Only P is accepted");
      if (verb === "TYPE") return reply("200 Switching to Binary mode.");
      if (verb === "PASV") {
        dataSocket = new Promise<TLSSocket | null>((resolve) => {
          const timer = setTimeout(() => resolve(null), 10_000);
          awaitingData = (s) => {
            clearTimeout(timer);
            // vsftpd's require_ssl_reuse: a data connection that did not resume this session is refused (a
            // middle machine on the data connections, which cannot resume it, takes them as they come).
            if (!s.isSessionReused() && !opts.dataCert) {
              stats.notReused++;
              s.destroy();
              return resolve(null);
            }
            resolve(s);
          };
        });
        return reply(`227 Entering Passive Mode (127,0,0,1,${dataPort >> 8},${dataPort & 255}).`);
      }
      if (verb === "STOR") {
        const name = arg.replace(/^\/+/, "");
        const waiting = dataSocket;
        dataSocket = null;
        if (!fake.sdCard) {
          void waiting?.then((s) => s?.destroy());
          return reply("553 Could not create file.");
        }
        const ds = waiting ? await waiting : null;
        if (!ds) return reply("522 SSL connection failed: session reuse required");
        reply("150 Ok to send data.");
        const hash = createHash("sha256");
        const kept: Uint8Array[] = [];
        let size = 0;
        await new Promise<void>((resolve) => {
          ds.on("data", (chunk: Buffer) => {
            size += chunk.length;
            hash.update(chunk);
            if (size <= KEEP_BYTES) kept.push(new Uint8Array(chunk));
          });
          ds.on("end", () => resolve());
          ds.on("close", () => resolve());
          ds.on("error", () => resolve());
        });
        ds.destroy();
        stats.stores++;
        files.set(name, {
          size,
          sha256: hash.digest("hex"),
          bytes: size <= KEEP_BYTES ? Buffer.concat(kept) : null,
          at: Date.now(),
        });
        return reply("226 Transfer complete.");
      }
      if (verb === "DELE") {
        const name = arg.replace(/^\/+/, "");
        if (!files.delete(name)) return reply("550 Delete operation failed.");
        stats.deletes++;
        return reply("250 Delete operation successful.");
      }
      return reply("502 Command not implemented.");
    }
  }
  return fake;
}
