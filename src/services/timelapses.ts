// Owns timelapse videos (PRINTERS.md §8): resumable uploads (each PATCH streamed to a piece file, then copied
// into the upload's file in media_dir), the quota that prunes the oldest, the job a video belongs to, and deletion.
// Protocol framing (tus headers) is the edge's.
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { open, rename } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { TimelapseRow } from "../store/store.ts";

/** The Pi encodes the video after the print ends, so a job that ended this recently still claims it. */
const JOB_GRACE_MS = 60 * 60 * 1000;
/** An upload that got no byte for this long is abandoned; its reserved space is freed on the next upload. */
const ABANDONED_AFTER_MS = 24 * 60 * 60 * 1000;
const MAX_FILENAME = 200;
const DEFAULT_TYPE = "video/mp4";

/** What the creation's Upload-Metadata said, and the header itself (tus HEAD gives it back as sent). */
export type UploadMeta = { filename?: string; filetype?: string; jobId?: string; header?: string };
export type CreateResult =
  | { ok: true; row: TimelapseRow }
  | { ok: false; reason: "too_large" | "over_quota"; message: string };
export type AppendResult =
  | { ok: true; offset: number; complete: boolean }
  | { ok: false; reason: "gone" | "offset" | "too_long"; offset: number; message: string };

/** media_dir as configured; a relative one sits next to the database file. */
export function resolveMediaDir(mediaDir: string, databaseUri: string): string {
  return isAbsolute(mediaDir) ? mediaDir : join(dirname(resolve(databaseUri)), mediaDir);
}

/** A display name only: no folders, no control characters, bounded. It never becomes a path. */
export function displayName(raw: string | undefined, fallback: string): string {
  const base = (raw ?? "").split(/[/\\]/).pop() ?? "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point.
  const clean = base.replace(/[\u0000-\u001f\u007f"]/g, "").trim();
  return clean && clean !== "." && clean !== ".." ? clean.slice(0, MAX_FILENAME) : fallback;
}

const sizeOf = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/** Copy buffers, reused: one per copy under way. */
const COPY_BYTES = 256 * 1024;
const spareBuffers: Buffer[] = [];

/** Cuts `target` to `offset`, then copies the first `length` bytes of `piece` there; returns the bytes copied. */
async function copyInto(target: string, piece: string, offset: number, length: number): Promise<number> {
  const to = await open(target, "r+");
  const from = length > 0 ? await open(piece, "r") : null;
  const buffer = spareBuffers.pop() ?? Buffer.allocUnsafeSlow(COPY_BYTES);
  let copied = 0;
  try {
    // Bytes past what was recorded (a crash between write and update) are not trusted.
    await to.truncate(offset);
    while (from && copied < length) {
      const { bytesRead } = await from.read(buffer, 0, Math.min(COPY_BYTES, length - copied), copied);
      if (!bytesRead) break;
      await to.write(buffer, 0, bytesRead, offset + copied);
      copied += bytesRead;
    }
  } finally {
    spareBuffers.push(buffer);
    await from?.close();
    await to.close();
  }
  return copied;
}

export function createTimelapseService(deps: {
  store: AsyncStore;
  events: EventBus;
  log: Logger;
  mediaDir: string;
  quotaBytes: number;
  maxUploadBytes: number;
}) {
  const { store, log, mediaDir, quotaBytes, maxUploadBytes } = deps;
  const rows = store.timelapses;
  mkdirSync(mediaDir, { recursive: true });
  // Pieces of PATCHes under way when the server last stopped: what they held was never recorded.
  for (const name of readdirSync(mediaDir)) if (name.endsWith(".piece")) rmSync(join(mediaDir, name), { force: true });
  const fileOf = (row: Pick<TimelapseRow, "path">) => join(mediaDir, row.path);
  /** Appends under way, by upload id: a resume cancels a stalled one (its link died unnoticed) first. */
  const active = new Map<string, { cancel: () => void; done: Promise<unknown>; landed: () => number }>();
  let pieces = 0;

  async function removeRow(row: TimelapseRow) {
    await rows.deleteRow(row.id);
    rmSync(fileOf(row), { force: true });
  }

  async function dropAbandoned(now: number) {
    for (const row of await rows.pending()) {
      if (active.has(row.upload_id)) continue;
      let last = row.created_at;
      try {
        last = Math.max(last, statSync(fileOf(row)).mtimeMs);
      } catch {}
      if (now - last < ABANDONED_AFTER_MS) continue;
      await removeRow(row);
      log.info("abandoned timelapse upload removed", { printer: row.printer_id, received: row.received });
    }
  }

  /** Makes room for `length` more bytes by deleting the oldest finished videos; false when it cannot fit. */
  async function makeRoom(length: number): Promise<boolean> {
    if (quotaBytes === 0) return true;
    const { done, pending } = await rows.usage();
    if (pending + length > quotaBytes) return false;
    let used = done + pending;
    for (const old of await rows.oldestDone()) {
      if (used + length <= quotaBytes) break;
      await removeRow(old);
      used -= old.size;
      // A warning, so the admin sees in the log which video the quota took.
      log.warn("timelapse deleted to stay within media_quota_bytes", {
        id: old.id,
        printer: old.printer_id,
        filename: old.filename,
        size: old.size,
      });
    }
    return used + length <= quotaBytes;
  }

  async function linkJob(printerId: number, jobId: string | undefined, at: number): Promise<number | null> {
    const named = jobId && /^\d{1,15}$/.test(jobId.trim()) ? await rows.jobOfPrinter(Number(jobId), printerId) : null;
    return named ?? rows.jobAround(printerId, at, JOB_GRACE_MS);
  }

  async function finish(row: TimelapseRow) {
    if (!(await rows.byId(row.id))) return; // deleted while it arrived
    const path = `${row.id}.mp4`;
    await rename(fileOf(row), join(mediaDir, path));
    await rows.complete(row.id, Date.now(), path);
    log.info("timelapse received", { id: row.id, printer: row.printer_id, job: row.job_id, size: row.size });
  }

  /**
   * Streams `body` into a piece file of its own with Bun.write, natively: no chunk passes through JavaScript,
   * so memory stays flat however large the upload (chunks read in JS are freed only by a later GC, and a
   * 200 MiB upload left tens of MB behind). Then copies what landed into the upload's file at `offset`
   * through one reused buffer. A cut link keeps what landed; cancelling (a resume superseding a stalled
   * PATCH) keeps what had landed by then, and the stalled write goes on into its unlinked piece, harmless.
   */
  async function write(row: TimelapseRow, offset: number, body: ReadableStream<Uint8Array> | null) {
    const piece = join(mediaDir, `${row.upload_id}.${++pieces}.piece`);
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    // A link cut mid-body rejects with an AbortError, what arrived already in the piece; any other error is
    // the server's (a full disk) and fails the PATCH once what landed is recorded.
    let failure: unknown = null;
    const failed = (err: unknown) => {
      if ((err as Error | null)?.name !== "AbortError") failure = err;
      stop();
    };
    if (body) Bun.write(Bun.file(piece), new Response(body)).then(stop, failed);
    else stop();
    const room = row.size - offset;
    let received = offset;
    let overflow = false;
    const run = async () => {
      await stopped;
      if (!(await rows.byId(row.id))) return; // deleted while it arrived
      const landed = sizeOf(piece);
      overflow = landed > room;
      received = offset + (await copyInto(fileOf(row), piece, offset, Math.min(landed, room)));
      await rows.setReceived(row.id, received);
      if (failure) throw failure;
    };
    const done = run().finally(() => rmSync(piece, { force: true }));
    // Registered before the first await, so a second PATCH cannot slip past the offset check meanwhile.
    const entry = { cancel: stop, done: done.catch(() => {}), landed: () => offset + Math.min(sizeOf(piece), room) };
    active.set(row.upload_id, entry);
    try {
      await done;
    } finally {
      if (active.get(row.upload_id) === entry) active.delete(row.upload_id);
    }
    return { received, overflow };
  }

  async function remove(id: number, by: string): Promise<boolean> {
    const row = await rows.byId(id);
    if (!row) return false;
    active.get(row.upload_id)?.cancel();
    await removeRow(row);
    log.info("timelapse deleted", { id, printer: row.printer_id, filename: row.filename, by });
    return true;
  }

  // A deleted printer's videos go with it (their rows and their files).
  deps.events.on("printersChanged", ({ printerId, removed }) => {
    if (!removed) return;
    void (async () => {
      for (const video of await rows.ofPrinter(printerId)) await remove(video.id, "printer deleted");
    })().catch((err) => log.error("removing a deleted printer's timelapses failed", { error: err as Error }));
  });

  return {
    mediaDir,
    /** The largest upload this server accepts now. */
    maxSize: () => (quotaBytes > 0 ? Math.min(maxUploadBytes, quotaBytes) : maxUploadBytes),

    /** Starts an upload of `length` bytes for a printer: checks limits, makes room, reserves the file. */
    async create(printerId: number, length: number, meta: UploadMeta): Promise<CreateResult> {
      if (length > maxUploadBytes)
        return { ok: false, reason: "too_large", message: `uploads are limited to ${maxUploadBytes} bytes` };
      const now = Date.now();
      await dropAbandoned(now);
      if (!(await makeRoom(length)))
        return { ok: false, reason: "over_quota", message: `the video does not fit media_quota_bytes` };
      const uploadId = randomUUID();
      const filetype = /^video\/[\w.+-]{1,60}$/.test(meta.filetype ?? "") ? meta.filetype! : DEFAULT_TYPE;
      const path = `${uploadId}.part`;
      await Bun.write(join(mediaDir, path), "");
      const id = await rows.insert({
        printer_id: printerId,
        job_id: await linkJob(printerId, meta.jobId, now),
        upload_id: uploadId,
        filename: displayName(meta.filename, `timelapse-${now}.mp4`),
        filetype,
        size: length,
        path,
        created_at: now,
        metadata: meta.header || null,
      });
      const row = (await rows.byId(id))!;
      if (length === 0) await finish(row);
      log.info("timelapse upload started", { id, printer: printerId, size: length, job: row.job_id });
      return { ok: true, row: (await rows.byId(id))! };
    },

    /** An upload by its id, finished or not; one under way counts the bytes that have landed so far. */
    async upload(uploadId: string) {
      const row = (await rows.byUpload(uploadId)) ?? null;
      const writing = active.get(uploadId);
      return row && writing ? { ...row, received: Math.max(row.received, writing.landed()) } : row;
    },

    /** Appends the bytes of `body` at `offset`, which must be where the upload stands. */
    async append(
      uploadId: string,
      offset: number,
      body: ReadableStream<Uint8Array> | null,
      declared: number | null,
    ): Promise<AppendResult> {
      let row: TimelapseRow | null;
      // Until no append is under way once the row is read: from there to write()'s registering itself nothing
      // awaits, so a second PATCH cannot slip past the offset check meanwhile.
      do {
        for (let stalled = active.get(uploadId); stalled; stalled = active.get(uploadId)) {
          stalled.cancel();
          await stalled.done;
        }
        row = await rows.byUpload(uploadId);
      } while (active.has(uploadId));
      if (!row) return { ok: false, reason: "gone", offset: 0, message: "no such upload" };
      if (offset !== row.received || (row.completed_at && offset !== row.size))
        return { ok: false, reason: "offset", offset: row.received, message: `the upload is at ${row.received}` };
      if (declared !== null && offset + declared > row.size)
        return { ok: false, reason: "too_long", offset, message: `the upload is ${row.size} bytes long` };
      if (row.completed_at) return { ok: true, offset, complete: true };
      const { received, overflow } = await write(row, offset, body);
      if (received === row.size) await finish(row);
      if (overflow) return { ok: false, reason: "too_long", offset: received, message: "more bytes than declared" };
      return { ok: true, offset: received, complete: received === row.size };
    },

    /** Bytes held by finished videos (and reserved by uploads under way) against the quota (0 = none). */
    usage: async () => ({ ...(await rows.usage()), quota: quotaBytes }),
    /** A printer's finished videos, newest first. */
    list: (printerId: number) => rows.ofPrinter(printerId),
    /** A finished video and where its bytes are. */
    async video(id: number): Promise<(TimelapseRow & { file: string }) | null> {
      const row = await rows.byId(id);
      return row?.completed_at ? { ...row, file: fileOf(row) } : null;
    },

    remove,
  };
}

export type TimelapseService = ReturnType<typeof createTimelapseService>;
