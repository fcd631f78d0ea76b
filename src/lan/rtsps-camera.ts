// Owns one printer's RTSPS camera (X1, P2S, H2, X2D): the system's ffmpeg reads
// rtsps://bblp:<access code>@<host>:<rtsp_port>/streaming/live/1 (H.264) and writes JPEG frames to its stdout,
// at most FPS a second and MAX_WIDTH wide. ffmpeg cannot pin a certificate, so a TLS handshake of our own
// checks the printer's pinned one on the same port before ffmpeg is started (and before it sends the code).
// The URL (with the access code) reaches ffmpeg on its stdin, as a one-entry concat list, never on its command
// line (which every local user can read in `ps`). What ffmpeg says on stderr carries the URL, hence the code: it is
// scrubbed before anyone sees it.
import type { Subprocess } from "bun";
import { jpegFrames } from "./jpeg-frames.ts";
import { type PinCheck, pinnedTls } from "./tls-pin.ts";

/** A refused connection and a refused login look alike from here: both mean this. */
export const LIVEVIEW_OFF = "LAN Only Liveview must be on in the printer's settings (or the access code is wrong)";
export const ffmpegMissing = (path: string) =>
  `ffmpeg was not found (ffmpeg_path "${path}"): install it with "apt install ffmpeg", ` +
  "or set ffmpeg_path to where it is";
export const CERTIFICATE_CHANGED = "the camera's certificate is not the printer's pinned one: not connecting";

/** Frames a second ffmpeg writes: the page keeps one every 2 s at most, the printer sends 30. */
const FPS = 1;
/** Wider pictures are scaled down (an X1 sends 1920×1080), as large as the A1/P1 camera's. */
const MAX_WIDTH = 1280;
/** The handshake before ffmpeg. */
const ANSWER_MS = 10_000;
/**
 * A running ffmpeg that writes no frame for this long is stopped (and started again by the caller's backoff): a
 * stalled stream, or a camera that accepted the connection and never answered.
 */
const STALL_MS = 30_000;
/** How much of ffmpeg's stderr is kept to explain its end. */
const STDERR_TAIL = 4096;

export function rtspsUrl(host: string, port: number, accessCode: string): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `rtsps://bblp:${encodeURIComponent(accessCode)}@${h}:${port}/streaming/live/1`;
}

/**
 * ffmpeg's command line: the input is a concat list read from stdin (`inputList`), so the URL is not in it. Over
 * rtsps ffmpeg takes RTP interleaved on the TLS connection (TCP), the only way the printers offer.
 */
export function ffmpegArgs(): string[] {
  return [
    ...["-hide_banner", "-nostdin", "-loglevel", "error"],
    ...["-f", "concat", "-safe", "0", "-protocol_whitelist", "pipe,rtsp,rtsps,tls,tcp,udp,rtp", "-i", "pipe:0"],
    ...["-an", "-sn", "-dn", "-vf", `fps=${FPS},scale='min(${MAX_WIDTH},iw)':-2`],
    ...["-c:v", "mjpeg", "-q:v", "6", "-f", "image2pipe", "pipe:1"],
  ];
}

/** The one-entry concat list ffmpeg reads on stdin (ffconcat quoting: ' becomes '\''). */
export function inputList(url: string): string {
  return `ffconcat version 1.0\nfile '${url.replaceAll("'", "'\\''")}'\n`;
}

/** Takes the access code out of ffmpeg's words: the URL's credentials, and the code wherever else it appears. */
export function scrub(text: string, accessCode: string): string {
  let out = text.replace(/(rtsps?:\/\/)[^@\s/]*@/gi, "$1***@");
  if (accessCode) {
    out = out.split(accessCode).join("***");
    const encoded = encodeURIComponent(accessCode);
    if (encoded !== accessCode) out = out.split(encoded).join("***");
  }
  return out;
}

/** Why ffmpeg ended, from its stderr (already scrubbed), in the user's terms where it can be told. */
export function explain(stderr: string, exitCode: number | null, gotFrames: boolean): string {
  if (/\b(401|403)\b|Unauthorized|Forbidden|Connection refused/i.test(stderr)) return LIVEVIEW_OFF;
  const last = stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .pop();
  if (last) return `ffmpeg: ${last.slice(0, 300)}`;
  return gotFrames ? "the camera stream ended" : `ffmpeg exited with code ${exitCode ?? "?"} before any frame`;
}

/** Reads a stream to its end, chunk by chunk. */
async function each(stream: ReadableStream<Uint8Array>, fn: (chunk: Uint8Array) => void) {
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    fn(value);
  }
}

export type RtspsStream = { stop(): void };

export function startRtspsStream(opts: {
  host: string;
  port: number;
  accessCode: string;
  pin: PinCheck;
  /** The ffmpeg program: a path, or a name looked up on PATH. */
  ffmpegPath: string;
  onFrame: (jpeg: Buffer) => void;
  /** It ended (not after stop): `reason` is what the user is told. */
  onEnd: (info: { gotFrames: boolean; reason: string }) => void;
}): RtspsStream {
  let stopped = false;
  let gotFrames = false;
  let ended = false;
  let proc: Subprocess<"pipe", "pipe", "pipe"> | null = null;
  let watchdog: ReturnType<typeof setInterval> | undefined;
  const end = (reason: string) => {
    clearInterval(watchdog);
    if (stopped || ended) return;
    ended = true;
    opts.onEnd({ gotFrames, reason });
  };

  const ffmpeg = Bun.which(opts.ffmpegPath);
  if (!ffmpeg) {
    // Said after start returns, as every other end is: the caller holds the stream by then.
    queueMicrotask(() => end(ffmpegMissing(opts.ffmpegPath)));
    return {
      stop() {
        stopped = true;
      },
    };
  }

  let mismatch = false;
  const given = opts.pin;
  const pin: PinCheck =
    given.mode === "pinned"
      ? {
          ...given,
          onMismatch: (seen) => {
            mismatch = true;
            given.onMismatch(seen);
          },
        }
      : given;
  // Not held to TLS 1.2 as MQTT is: ffmpeg takes whatever the camera offers, so this check must too.
  const check = pinnedTls(opts.host, opts.port, pin, { minVersion: "TLSv1.2" });
  check.setTimeout(ANSWER_MS, () => check.destroy(new Error("timed out")));
  check.once("secureConnect", () => {
    if (check.destroyed) return;
    check.end();
    check.destroy();
    if (!stopped) spawn(ffmpeg);
  });
  check.on("error", (err: NodeJS.ErrnoException) => {
    if (mismatch) return end(CERTIFICATE_CHANGED);
    if (err.code === "ECONNREFUSED") return end(LIVEVIEW_OFF);
    end(`the camera did not answer on port ${opts.port} (${err.code ?? err.message})`);
  });

  function spawn(bin: string) {
    try {
      proc = Bun.spawn([bin, ...ffmpegArgs()], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
      proc.stdin.write(inputList(rtspsUrl(opts.host, opts.port, opts.accessCode)));
      void proc.stdin.end();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return end(
        e.code === "ENOENT"
          ? ffmpegMissing(opts.ffmpegPath)
          : `ffmpeg could not start: ${scrub(e.message, opts.accessCode)}`,
      );
    }
    const child = proc;
    let lastFrameAt = Date.now();
    const frames = jpegFrames((jpeg) => {
      gotFrames = true;
      lastFrameAt = Date.now();
      if (!stopped) opts.onFrame(jpeg);
    });
    const stdout = each(child.stdout, (chunk) =>
      frames.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
    );
    let tail = "";
    const decoder = new TextDecoder();
    const stderr = each(child.stderr, (chunk) => {
      tail = (tail + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL);
    });
    let stalled = false;
    watchdog = setInterval(() => {
      if (Date.now() - lastFrameAt < STALL_MS) return;
      stalled = true;
      child.kill("SIGKILL");
    }, 5000);
    watchdog.unref?.();
    void child.exited.then(async (code) => {
      await Promise.allSettled([stdout, stderr]);
      if (stalled) return end(`no frame from the camera for ${STALL_MS / 1000} s`);
      end(explain(scrub(tail, opts.accessCode), code, gotFrames));
    });
  }

  return {
    stop() {
      stopped = true;
      clearInterval(watchdog);
      check.destroy();
      const child = proc;
      if (!child || child.exitCode !== null) return;
      child.kill("SIGTERM");
      // ffmpeg finishes its frame and exits on SIGTERM; one stuck in a network read is killed.
      const force = setTimeout(() => child.kill("SIGKILL"), 3000);
      force.unref?.();
      void child.exited.then(() => clearTimeout(force));
    },
  };
}
