// Owns prints (jobs): opened and closed by the printer's state (LAN or device alike, PRINTERS.md §5), with
// layers, paused time, errors and HMS seen, the room's weather while it ran, and an archive of frames
// that outlives the rolling frame retention. Jobs open and close only on what it hears; others just read them.
// Stores, then announces; the open jobs are held in memory and rebuilt from the store at start. A LAN printer's
// job is opened and closed only by the instance holding its link (`owns`: its state arrives only there); on
// gaining the link an instance reads the printer's open job again (`adopt`), so a print stays one job.
// A job also records the AMS trays it drew from (the tray printing now, whenever it changes during the print).
import { activeTray } from "../bambu-ams.ts";
// Each print also gets its timeline (the flight recorder's): state changes, each layer with the temperatures and
// speed, errors and HMS codes when first seen, pauses and resumes.
import type { DomainEvents, EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import {
  ACTIVE_STATES,
  CANCELLED_ERROR,
  type PrinterState,
  printErrorCode,
  type StateChange,
} from "../printer-state.ts";
import type { AsyncStore, StoreWriteQueue } from "../store/async-store.ts";
import { type Fence, FencedOut } from "../store/jobs.ts";
import type { JobRow, Outcome, ReadingRow } from "../store/store.ts";
import type { PrinterService } from "./printers.ts";

/** Archived print frames may use this much of the database before the oldest print's go. */
export const ARCHIVE_QUOTA_BYTES = 2 * 1024 ** 3;
/** At most this many archived frames per job; past it the archive is thinned evenly. */
export const MAX_JOB_FRAMES = 300;
/** Without layer numbers, one archived frame per this interval. */
const ARCHIVE_EVERY_MS = 60_000;
const MAX_WEATHER_POINTS = 240;
const SAVE_PROGRESS_MS = 5_000;
/** A print's timeline entries reach the store within this (the flight recorder of a running print lags by it). */
const NOTE_WITHIN_MS = 2_000;
type JobError = { code: string; kind: "print_error" | "hms"; severity?: string };
/** What a print's timeline records (job_events.kind); the flight recorder adds frames, readings and actions. */
export type TimelineKind = "state" | "hms" | "error" | "pause" | "resume";

type FrameEvent = DomainEvents["frame"];

const printing = (g: string | null) => g === "PREPARE" || g === "RUNNING";
/**
 * When the report behind `s` arrived: the timeline is stamped with it, so it sorts right against readings that came
 * while the report waited its turn. A state older than a minute (read back at start) is stamped now.
 */
const arrived = (s: PrinterState, now: number) => (s.updated_at && now - s.updated_at < 60_000 ? s.updated_at : now);

export async function createJobService(deps: {
  store: AsyncStore;
  writes: StoreWriteQueue;
  events: EventBus;
  log: Logger;
  printers: PrinterService;
  /** Does this instance open and close the printer's jobs (it holds its link)? Always, on one instance. */
  owns?: (printerId: number) => boolean;
  /**
   * The printer's lease as this instance holds it, carried by every write of its jobs: on PostgreSQL such a write
   * is done only while the lease is still this instance's (a holder frozen past its lease writes nothing). null
   * for a printer no lease guards.
   */
  fence?: (printerId: number) => Fence;
}) {
  const { store, events, writes, log } = deps;
  const owns = deps.owns ?? (() => true);
  const fenceOf = deps.fence ?? (() => null);
  const open = new Map<number, JobRow>();
  for (const job of await store.jobs.open()) open.set(job.printer_id, job);
  // The gcode state each printer was last seen in: a job opens on entering a print, not on every report.
  const lastState = new Map<number, string | null>();
  for (const p of deps.printers.list()) lastState.set(p.info.id, p.state.gcode_state);
  const lastArchive = new Map<number, { at: number; layer: number | null }>();
  /** The trays each open job is known to have used (by job id), so each is written once. */
  const traysUsed = new Map<number, Set<number>>();
  let archiveBytes = await store.jobs.archiveBytes();

  const logFailure = (err: unknown) => {
    if (err instanceof FencedOut) log.warn("a print's write was not done: the printer is another instance's now");
    else log.error("saving a job failed", { error: err as Error });
    return undefined;
  };
  /**
   * Saves an open job's progress or weather with the next group commit (the write reads the job as it is then);
   * closing the job drops what still waits (`finish` queues the final copy behind any batch under way).
   */
  const saveSoon = (key: string, job: JobRow, method: "update" | "saveWeather") =>
    void writes.later(key, SAVE_PROGRESS_MS, "jobs", method, job, fenceOf(job.printer_id)).catch(logFailure);

  /**
   * A timeline entry, riding with the next group commit or written within NOTE_WITHIN_MS (never waited for: the
   * report goes on). Not a commit of its own: a LAN printer reports a new layer every few seconds, and with fifty
   * of them a commit per entry (each an fsync) kept the event loop waiting most of the time.
   */
  let notes = 0;
  const note = (job: JobRow, at: number, kind: TimelineKind, detail: Record<string, unknown>) =>
    void writes
      .later(`note:${++notes}`, NOTE_WITHIN_MS, "jobEvents", "add", job.id, at, kind, JSON.stringify(detail))
      .catch(logFailure);

  // The store is async: a printer's events are handled one after another (each waits for the one before), so a
  // job is opened before the next report looks for it. Printers do not wait for each other.
  // With nothing of the printer's under way, an event is handled at once, and one handled synchronously (a
  // reading, a frame: the busy path) costs no promise at all.
  const tails = new Map<number, Promise<void>>();
  const failed = (printerId: number) => (err: unknown) =>
    log.error("handling a print's event failed", { printer: printerId, error: err as Error });
  function inOrder(printerId: number, handle: () => Promise<void> | void) {
    const tail = tails.get(printerId);
    let next: Promise<void>;
    if (tail) next = tail.then(handle).catch(failed(printerId));
    else {
      let running: Promise<void> | void;
      try {
        running = handle();
      } catch (err) {
        return failed(printerId)(err);
      }
      if (!running) return;
      next = running.catch(failed(printerId));
    }
    tails.set(printerId, next);
    void next.then(() => {
      if (tails.get(printerId) === next) tails.delete(printerId);
    });
  }

  // Opening and closing are written at once (rare, and the next report must already see them).
  async function start(printerId: number, s: PrinterState) {
    const now = Date.now();
    const name = s.file ?? "print";
    let job: JobRow;
    try {
      job = (await store.jobs.byId(await store.jobs.insert(printerId, name, s.file ?? "", now, fenceOf(printerId))))!;
    } catch (err) {
      if (err instanceof FencedOut) log.warn("a print was not opened: the printer is another instance's now");
      else log.error("saving a new job failed", { printer: printerId, error: err as Error });
      return;
    }
    const id = job.id;
    open.set(printerId, job);
    lastArchive.delete(printerId);
    note(job, arrived(s, now), "state", {
      gcode_state: s.gcode_state,
      file: s.file,
      layer: s.layer,
      total_layers: s.total_layers,
    });
    log.info("print started", { printer: printerId, job: id });
    events.emit("job", { kind: "started", job });
  }

  async function finish(printerId: number, outcome: Exclude<Outcome, "running">) {
    const job = open.get(printerId);
    if (!job) return;
    open.delete(printerId);
    traysUsed.delete(job.id);
    writes.cancel(`job:${job.id}`);
    writes.cancel(`weather:${job.id}`);
    const now = Date.now();
    if (job.paused_since) {
      job.paused_ms += now - job.paused_since;
      job.paused_since = null;
      note(job, now, "resume", {});
    }
    note(job, now, "state", { outcome, gcode_state: lastState.get(printerId) ?? null });
    void archiveLatest(job).catch(logFailure);
    try {
      // The final progress and weather go through the write queue, not around it: a group commit already under
      // way may carry an older copy of them (its statements made before this report), and batches commit in
      // order, so only a write queued behind it is sure to land after it. The close then counts what they say.
      const fence = fenceOf(printerId);
      await Promise.all([
        writes.run("jobs", "update", job, fence),
        job.readings ? writes.run("jobs", "saveWeather", job, fence) : undefined,
      ]);
      await store.jobs.close(job.id, now, outcome, fence);
    } catch (err) {
      log.error("closing a job failed", { job: job.id, error: err as Error });
    }
    const closed = (await store.jobs.byId(job.id)) ?? job;
    log.info("print ended", { printer: printerId, job: job.id, outcome });
    events.emit("job", { kind: outcome, job: closed });
  }

  /** The job's last frame: the printer's newest, whichever camera took it. */
  async function archiveLatest(job: JobRow) {
    const meta = await store.frames.latest(job.printer_id);
    const last = lastArchive.get(job.printer_id);
    if (!meta || (last && meta.recorded_at <= last.at)) return;
    const frame = await store.frames.byId(meta.id);
    if (frame) await archive(job, frame.recorded_at, job.layer, frame.mime, frame.bytes);
  }

  async function archive(job: JobRow, at: number, layer: number | null, mime: string, bytes: Uint8Array) {
    lastArchive.set(job.printer_id, { at, layer });
    const added = await writes
      .run("jobs", "addFrame", job.id, at, layer, mime, bytes, fenceOf(job.printer_id))
      .catch(logFailure);
    if (added === undefined) return;
    archiveBytes += bytes.length;
    const frames = await store.jobs.frames(job.id);
    // Thin evenly: drop every second frame between the first and the newest (queued together: one commit).
    if (frames.length > MAX_JOB_FRAMES) {
      const drops: Promise<unknown>[] = [];
      for (let i = 1; i < frames.length - 1; i += 2) drops.push(writes.run("jobs", "deleteFrame", frames[i]!.id));
      await Promise.all(drops).catch(logFailure);
    }
    while (archiveBytes > ARCHIVE_QUOTA_BYTES) {
      const freed = (await writes.run("jobs", "pruneOldestArchive").catch(logFailure)) ?? 0;
      if (!freed) break;
      archiveBytes -= freed;
      log.warn("print archive over its budget: the oldest print's frames were removed", {
        budget: ARCHIVE_QUOTA_BYTES,
      });
    }
  }

  function noteErrors(job: JobRow, s: PrinterState, at: number): boolean {
    if (!s.error && !s.hms.length) return false;
    const seen = JSON.parse(job.errors) as JobError[];
    const before = seen.length;
    const add = (e: JobError) => {
      if (seen.some((x) => x.code === e.code && x.kind === e.kind)) return;
      seen.push(e);
      note(
        job,
        at,
        e.kind === "hms" ? "hms" : "error",
        e.kind === "hms" ? { code: e.code, severity: e.severity } : { code: e.code },
      );
    };
    if (s.error && s.error.code !== CANCELLED_ERROR) add({ code: printErrorCode(s.error.code), kind: "print_error" });
    for (const h of s.hms) add({ code: h.code, kind: "hms", severity: h.severity });
    job.errors = JSON.stringify(seen);
    return seen.length > before;
  }

  events.on("printerState", ({ printerId, state, changed }) => {
    if (owns(printerId)) inOrder(printerId, () => onState(printerId, state, changed));
  });
  async function onState(printerId: number, s: PrinterState, changed: StateChange) {
    const before = lastState.get(printerId) ?? null;
    const g = s.gcode_state;
    // Not known (yet): nothing opens, closes or pauses on it, and the state before stays the last one known.
    if (g === null) return;
    lastState.set(printerId, g);
    const job = open.get(printerId);
    const entered = printing(g) && !ACTIVE_STATES.includes(before ?? "");
    const newFile =
      job && changed.file !== undefined && s.file && s.file !== job.file && ACTIVE_STATES.includes(g ?? "");
    if (job && (entered || newFile)) {
      // A different print began (or one ended while we were away): close the old one first.
      await finish(printerId, "cancelled");
      await start(printerId, s);
      return noteTray(printerId, s);
    }
    if (!job) {
      // A print under way that no job covers (first sight of the printer): it starts now.
      if (printing(g) || (g === "PAUSE" && before === null)) await start(printerId, s);
      return noteTray(printerId, s);
    }
    if (changed.ams !== undefined) await noteTray(printerId, s);
    const now = Date.now();
    const at = arrived(s, now);
    let dirty = noteErrors(job, s, at);
    // One timeline entry per report that changed what it shows: the state, a new layer (with the temperatures and
    // speed then), or the speed.
    const shown: Record<string, unknown> = {};
    if (changed.gcode_state !== undefined) shown.gcode_state = g;
    if (s.layer !== null && s.layer !== job.layer)
      Object.assign(shown, {
        layer: s.layer,
        total_layers: s.total_layers,
        nozzle_temp: s.nozzle_temp,
        nozzle_target: s.nozzle_target,
        bed_temp: s.bed_temp,
        bed_target: s.bed_target,
      });
    if (changed.speed_level !== undefined || "layer" in shown) shown.speed_level = s.speed_level;
    if (Object.keys(shown).length && g !== "FINISH" && g !== "FAILED") note(job, at, "state", shown);
    if (s.layer !== null && s.layer !== job.layer) {
      job.layer = s.layer;
      dirty = true;
    }
    if (s.total_layers && s.total_layers !== job.total_layers) {
      job.total_layers = s.total_layers;
      dirty = true;
    }
    if (g === "FINISH") return finish(printerId, "finished");
    if (g === "FAILED") return finish(printerId, s.error?.code === CANCELLED_ERROR ? "cancelled" : "failed");
    if (g === "IDLE" && ACTIVE_STATES.includes(before ?? "")) return finish(printerId, "cancelled");
    if (g === "PAUSE" && !job.paused_since) {
      job.paused_since = now;
      note(job, at, "pause", { layer: job.layer });
      dirty = true;
    }
    if (g !== "PAUSE" && job.paused_since) {
      job.paused_ms += now - job.paused_since;
      job.paused_since = null;
      note(job, at, "resume", { layer: job.layer });
      dirty = true;
    }
    // Progress is kept in memory and rides with the next group commit, within a few seconds (and always at
    // the end): no commit of its own.
    if (dirty) saveSoon(`job:${job.id}`, job, "update");
  }

  /** Records the tray printing now as one the open job used (written at once: a few per print). */
  async function noteTray(printerId: number, s: PrinterState) {
    const job = open.get(printerId);
    const tray = activeTray(s.ams);
    if (!job || !tray?.type || !ACTIVE_STATES.includes(s.gcode_state ?? "")) return;
    const used = traysUsed.get(job.id) ?? new Set<number>();
    traysUsed.set(job.id, used);
    if (used.has(tray.id)) return;
    used.add(tray.id);
    const row = { job_id: job.id, tray: tray.id, type: tray.type, color: tray.color, brand: tray.brand };
    try {
      await store.jobs.addFilament({ ...row, first_used_at: Date.now() });
    } catch (err) {
      used.delete(tray.id);
      log.error("saving a print's filament failed", { job: job.id, error: err as Error });
    }
  }

  events.on("reading", (r) => {
    if (owns(r.printer_id)) inOrder(r.printer_id, () => onReading(r));
  });
  function onReading(r: ReadingRow) {
    const job = open.get(r.printer_id);
    if (!job) return;
    job.temp_min = Math.min(job.temp_min ?? r.temperature, r.temperature);
    job.temp_max = Math.max(job.temp_max ?? r.temperature, r.temperature);
    job.hum_min = Math.min(job.hum_min ?? r.humidity, r.humidity);
    job.hum_max = Math.max(job.hum_max ?? r.humidity, r.humidity);
    job.temp_sum += r.temperature;
    job.hum_sum += r.humidity;
    job.readings++;
    let points = JSON.parse(job.weather_points) as [number, number, number][];
    points.push([r.recorded_at, r.temperature, r.humidity]);
    if (points.length > MAX_WEATHER_POINTS) points = points.filter((_, i) => i % 2 === 0 || i === points.length - 1);
    job.weather_points = JSON.stringify(points);
    saveSoon(`weather:${job.id}`, job, "saveWeather");
  }

  // The archive write itself is not waited for: a frame's bytes must not hold up the printer's next report.
  events.on("frame", (f) => {
    if (owns(f.printer_id)) inOrder(f.printer_id, () => onFrame(f));
  });
  function onFrame(f: FrameEvent) {
    const job = open.get(f.printer_id);
    if (!job) return;
    const last = lastArchive.get(f.printer_id);
    const layer = job.layer;
    const due = !last || (layer !== null ? layer !== last.layer : f.recorded_at - last.at >= ARCHIVE_EVERY_MS);
    if (due) void archive(job, f.recorded_at, layer, f.mime, f.bytes).catch(logFailure);
  }

  /** Resolves once every printer's events heard so far are handled (reads, tests, and shutdown). */
  const settled = async () => {
    await Promise.all([...tails.values()]);
  };

  /**
   * Takes the printer's jobs over (this instance has just gained its link): its open job as the store has it now
   * (another instance may have opened or closed one meanwhile), and the state it was in, so the print under way
   * continues as the same job and one that ended while no one watched is closed by the next report.
   */
  function adopt(printerId: number): Promise<void> {
    return new Promise((resolve) =>
      inOrder(printerId, async () => {
        try {
          const job = (await store.jobs.open()).find((j) => j.printer_id === printerId);
          if (job) open.set(printerId, job);
          else open.delete(printerId);
          lastArchive.delete(printerId);
          const state = deps.printers.get(printerId)?.state.gcode_state ?? null;
          lastState.set(printerId, job ? (job.paused_since ? "PAUSE" : "RUNNING") : state);
        } finally {
          resolve();
        }
      }),
    );
  }

  /** Lets the printer's jobs go (its link is another instance's now): nothing of them is saved from here. */
  function release(printerId: number) {
    const job = open.get(printerId);
    if (job) {
      writes.cancel(`job:${job.id}`);
      writes.cancel(`weather:${job.id}`);
    }
    open.delete(printerId);
  }

  return {
    adopt,
    release,
    current: (printerId: number) => (owns(printerId) ? (open.get(printerId) ?? null) : null),
    /**
     * The printers' open jobs: held here for those whose link this instance holds, else as the store has them
     * (another instance opens and closes them); one read of the store at most.
     */
    openOf: async (printerIds: number[]): Promise<Map<number, JobRow>> => {
      const out = new Map<number, JobRow>();
      const elsewhere = printerIds.filter((id) => !owns(id));
      if (elsewhere.length)
        for (const j of await store.jobs.open()) if (elsewhere.includes(j.printer_id)) out.set(j.printer_id, j);
      for (const id of printerIds) {
        const job = owns(id) ? open.get(id) : undefined;
        if (job) out.set(id, job);
      }
      return out;
    },
    settled,
    // Reads wait for the events heard so far: once a device's status is acknowledged, the print it closed
    // shows closed (on SQLite nothing is ever pending; on PostgreSQL the handlers await their writes).
    get: async (id: number) => {
      await settled();
      return store.jobs.byId(id);
    },
    list: async (...args: Parameters<typeof store.jobs.list>) => {
      await settled();
      return store.jobs.list(...args);
    },
    frames: store.jobs.frames,
    /** The filaments (trays) these jobs used, each job's in the order first used. */
    filaments: async (jobIds: number[]) => {
      await settled();
      return store.jobs.filaments(jobIds);
    },
    frame: store.jobs.frame,
    timelapseOf: store.jobs.timelapseOf,
    /** Bytes the print archive holds, against its budget. */
    archiveUsage: () => ({ bytes: archiveBytes, quota: ARCHIVE_QUOTA_BYTES }),
  };
}

export type JobService = Awaited<ReturnType<typeof createJobService>>;
