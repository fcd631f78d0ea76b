// Owns FTPS to a Bambu printer (PRINTERS.md §9): implicit TLS 1.2 on the control connection, user bblp with the
// access code, binary passive transfers whose data connection resumes the control connection's TLS session (the
// printer refuses a data connection that does not), a file stored to the SD card's root with progress, and delete.
// The certificate is judged before the access code is sent (the caller decides what it trusts), and the data
// connection must present the same one.
import { open } from "node:fs/promises";
import { connect, type TLSSocket } from "node:tls";
import { TLS12 } from "./tls-pin.ts";

export type FtpsTarget = {
  host: string;
  port: number;
  accessCode: string;
  timeoutMs?: number;
  /**
   * Judges the control connection's certificate (its SHA-256 fingerprint) before `PASS` is sent: a refusal's
   * message, or null to go on. Absent: no check (tls "insecure").
   */
  checkCertificate?: (fingerprint: string) => Promise<string | null>;
};
/** An FTP reply that ended the work: its code (553: the printer cannot store the file, e.g. no SD card). */
export class FtpsError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
  ) {
    super(message);
  }
}
/** The printer's certificate was refused: nothing of ours (no access code, no file) was sent to it. */
export class FtpsCertificateError extends FtpsError {
  constructor(message: string) {
    super(message, null);
  }
}
type Reply = { code: number; text: string };

/** One control connection: replies read line by line (multi-line ones joined), one command at a time. */
class Control {
  private buffer = "";
  private waiting: ((r: Reply | Error) => void) | null = null;
  private replies: Reply[] = [];
  private failure: Error | null = null;
  private lines: string[] = [];

  constructor(
    readonly socket: TLSSocket,
    private readonly timeoutMs: number,
    /** The certificate the data connections must present too (null: not checked). */
    readonly fingerprint: string | null,
  ) {
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => this.take(text));
    const fail = (err: Error) => {
      this.failure ??= err;
      this.waiting?.(err);
      this.waiting = null;
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new FtpsError("the printer closed the connection", null)));
  }

  private take(text: string) {
    this.buffer += text;
    if (this.buffer.length > 64 * 1024) return this.socket.destroy(new FtpsError("an overlong FTP reply", null));
    for (let at = this.buffer.indexOf("\n"); at >= 0; at = this.buffer.indexOf("\n")) {
      const line = this.buffer.slice(0, at).replace(/\r$/, "");
      this.buffer = this.buffer.slice(at + 1);
      this.lines.push(line);
      // A reply ends at "NNN " (a multi-line one starts with "NNN-" and ends with the same code and a space).
      const end = /^(\d{3})( |$)/.exec(line);
      if (!end) continue;
      const first = /^(\d{3})-/.exec(this.lines[0]!);
      if (first && first[1] !== end[1]) continue;
      const reply = { code: Number(end[1]), text: this.lines.join("\n") };
      this.lines = [];
      if (this.waiting) {
        this.waiting(reply);
        this.waiting = null;
      } else this.replies.push(reply);
    }
  }

  read(): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new FtpsError("the printer did not answer in time", null));
      }, this.timeoutMs);
      this.waiting = (r) => {
        clearTimeout(timer);
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
    });
  }

  /** Sends a command and reads its reply; a reply outside `ok` throws FtpsError. */
  async send(command: string, ok: number[], shown = command): Promise<Reply> {
    this.socket.write(`${command}\r\n`);
    const reply = await this.read();
    if (!ok.includes(reply.code)) throw new FtpsError(`${shown.split(" ")[0]}: ${reply.text}`, reply.code);
    return reply;
  }
}

function tls(host: string, port: number, session?: Buffer): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // The printer's certificate chains to Bambu's own CA, not to a public one: no chain check (see PRINTERS.md §9).
    const socket = connect({ host, port, rejectUnauthorized: false, ...TLS12, ...(session ? { session } : {}) });
    socket.once("secureConnect", () => resolve(socket));
    socket.once("error", reject);
  });
}

const fingerprintOf = (socket: TLSSocket) => socket.getPeerCertificate()?.fingerprint256 ?? "";

async function login(target: FtpsTarget): Promise<Control> {
  const timeoutMs = target.timeoutMs ?? 15_000;
  const socket = await withTimeout(tls(target.host, target.port), timeoutMs, "connecting to the printer's FTPS");
  const seen = fingerprintOf(socket);
  const c = new Control(socket, timeoutMs, target.checkCertificate ? seen : null);
  try {
    const refused = target.checkCertificate ? await target.checkCertificate(seen) : null;
    if (refused) throw new FtpsCertificateError(refused);
    await c.read().then((r) => {
      if (r.code !== 220) throw new FtpsError(`greeting: ${r.text}`, r.code);
    });
    await c.send("USER bblp", [331, 230]);
    const pass = await c.send(`PASS ${target.accessCode}`, [230, 530], "PASS");
    if (pass.code === 530) throw new FtpsError("the printer refused the access code (FTP 530)", 530);
    await c.send("PBSZ 0", [200]);
    await c.send("PROT P", [200]);
    await c.send("TYPE I", [200]);
    return c;
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new FtpsError(`${what} timed out`, null)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** The passive data connection, resuming the control connection's TLS session. */
async function openData(c: Control, host: string, timeoutMs: number): Promise<TLSSocket> {
  const pasv = await c.send("PASV", [227]);
  const m = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(pasv.text);
  if (!m) throw new FtpsError(`PASV: no address in ${pasv.text}`, pasv.code);
  const port = Number(m[5]) * 256 + Number(m[6]);
  // The control connection's host, not the address in the reply (which can be an inside one behind NAT).
  const data = await withTimeout(tls(host, port, c.socket.getSession()), timeoutMs, "the FTPS data connection");
  if (c.fingerprint !== null && fingerprintOf(data) !== c.fingerprint) {
    data.destroy();
    throw new FtpsCertificateError("the printer's data connection presented another certificate than its control one");
  }
  return data;
}

/**
 * Writes the file to the data socket through one reused buffer, each piece handed on once the last one was
 * written out: memory stays flat however large the file (chunks read afresh are freed only by a later GC).
 */
async function pour(data: TLSSocket, path: string, progress: (sent: number) => void): Promise<void> {
  const closed = new Promise<never>((_, reject) =>
    data.once("close", () => reject(new FtpsError("the printer closed the data connection", null))),
  );
  closed.catch(() => {});
  const file = await open(path, "r");
  const buffer = Buffer.alloc(256 * 1024);
  try {
    let sent = 0;
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, sent);
      if (!bytesRead) break;
      await Promise.race([
        new Promise<void>((resolve, reject) =>
          data.write(buffer.subarray(0, bytesRead), (err) => (err ? reject(err) : resolve())),
        ),
        closed,
      ]);
      sent += bytesRead;
      progress(sent);
    }
  } finally {
    await file.close();
  }
  await new Promise<void>((resolve) => data.end(resolve));
}

export const ftps = {
  /** Stores the file at `path` as `name` in the SD card's root; progress(sent bytes). Throws FtpsError on a refusal. */
  async upload(target: FtpsTarget, name: string, path: string, progress: (sent: number) => void): Promise<void> {
    const timeoutMs = target.timeoutMs ?? 15_000;
    const c = await login(target);
    try {
      const data = await openData(c, target.host, timeoutMs);
      try {
        c.socket.write(`STOR /${name}\r\n`);
        const start = await c.read();
        if (start.code !== 150 && start.code !== 125) throw new FtpsError(`STOR: ${start.text}`, start.code);
        await pour(data, path, progress);
      } finally {
        data.destroy();
      }
      const done = await c.read();
      if (done.code !== 226 && done.code !== 250) throw new FtpsError(`STOR: ${done.text}`, done.code);
      await c.send("QUIT", [221]).catch(() => {});
    } finally {
      c.socket.destroy();
    }
  },
  /** Deletes `name` from the SD card's root (a send that did not start leaves nothing behind). */
  async remove(target: FtpsTarget, name: string): Promise<void> {
    const c = await login(target);
    try {
      await c.send(`DELE /${name}`, [250]);
      await c.send("QUIT", [221]).catch(() => {});
    } finally {
      c.socket.destroy();
    }
  },
};
