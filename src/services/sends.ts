// Owns sending a library file's plate to a printer and starting its print (PRINTERS.md §9): what is refused before
// any upload (busy, another model or nozzle, Authorization Control), the FTPS upload with its progress, the
// project_file command, the state that confirms the print started (else the file is deleted from the printer),
// reprinting a sent job, skipping objects of the running plate, and the audit of each. What it knows of the
// printer (model, nozzle, SD card, Authorization Control, skipped objects) is the printer's state.
import { effectiveModel } from "../bambu-models.ts";
import type { EventBus } from "../events.ts";
import { FtpsCertificateError, FtpsError, type FtpsTarget, ftps as realFtps } from "../lan/ftps-client.ts";
import { sameModel } from "../library/three-mf.ts";
import type { Logger } from "../log.ts";
import type { PrinterState } from "../printer-state.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { PrinterRow, SendRow, SendStatus } from "../store/store.ts";
import type { Library, LibraryPlate } from "./library.ts";
import { AUTH_CONTROL_HMS } from "./printer-control.ts";
import type { HeldPrinter, PrinterService } from "./printers.ts";

/** A send refused because FTPS presented a certificate other than the pinned one (said as the MQTT pin's is). */
export const FTPS_CERTIFICATE_CHANGED =
  "the printer's file-transfer certificate changed: re-pin it in Settings if you replaced the printer";

/** Never start while the printer is in one of these: an A1 mini cancels its running job when told to start. */
export const BUSY_STATES = ["PREPARE", "SLICING", "RUNNING", "PAUSE"];

export type PrintOptions = {
  use_ams: boolean;
  ams_mapping: number[];
  bed_leveling: boolean;
  flow_cali: boolean;
  vibration_cali: boolean;
  timelapse: boolean;
  layer_inspect: boolean;
};
export const DEFAULT_OPTIONS: PrintOptions = {
  use_ams: false,
  ams_mapping: [],
  bed_leveling: true,
  flow_cali: false,
  vibration_cali: true,
  timelapse: false,
  layer_inspect: false,
};

/** Why a send was refused or failed; the edge picks the HTTP status of a refusal before upload. */
export type SendReason =
  | "busy"
  | "model_mismatch"
  | "authorization_control"
  | "upload_refused"
  | "not_confirmed"
  | "no_file"
  | "no_plate"
  | "needs_lan"
  | "bad_options"
  /** Another instance holds the printer's link and did not answer. */
  | "instance_silent";
export type SendView = {
  id: number;
  printer_id: number;
  file_id: number | null;
  plate: number;
  status: SendStatus;
  progress: number;
  reason?: string;
  error?: string;
  job_id?: number;
  state?: string;
  created_at: number;
};
export type SendRefused = { ok: false; reason: SendReason; error: string };
export type SkipResult =
  | { ok: true; skipped: number[] }
  | {
      ok: false;
      reason:
        | "not_printing"
        | "bad_objects"
        | "needs_lan"
        | "authorization_control"
        | "unconfirmed"
        | "instance_silent";
      error: string;
    };

export type SendTimings = { startWithinMs: number; skipWithinMs: number; ftpsTimeoutMs: number };
/** A send whose row has not moved for this long was left by an instance that stopped (it saves about each second
 * while uploading, and waits at most startWithinMs for the start). */
const INTERRUPTED_MS = 120_000;
const DEFAULT_TIMINGS: SendTimings = { startWithinMs: 60_000, skipWithinMs: 10_000, ftpsTimeoutMs: 30_000 };

/** Checks the options a send asks for; a message naming the key, or the options. */
export function parseOptions(raw: Record<string, unknown>): PrintOptions | string {
  const out = { ...DEFAULT_OPTIONS };
  for (const key of ["use_ams", "bed_leveling", "flow_cali", "vibration_cali", "timelapse", "layer_inspect"] as const) {
    if (raw[key] === undefined) continue;
    if (typeof raw[key] !== "boolean") return `${key} must be true or false`;
    out[key] = raw[key];
  }
  if (raw.ams_mapping !== undefined) {
    const m = raw.ams_mapping;
    if (!Array.isArray(m) || m.length > 32 || !m.every((n) => Number.isInteger(n) && n >= -1 && n <= 254))
      return "ams_mapping must be a list of up to 32 tray numbers (-1 for none, 0..254)";
    out.ams_mapping = m;
    if (raw.use_ams === undefined) out.use_ams = m.length > 0;
  }
  return out;
}

/** The file's name on the SD card: letters, digits, dot, dash and underscore, ending .gcode.3mf. */
export function remoteName(name: string): string {
  const base =
    name
      .replace(/\.gcode\.3mf$|\.3mf$/i, "")
      .replace(/[^A-Za-z0-9._-]+/g, "_")
      .slice(0, 80) || "print";
  return `${base}.gcode.3mf`;
}
const subtaskOf = (name: string) => name.replace(/\.gcode\.3mf$|\.3mf$/i, "").slice(0, 100) || "print";

/** The filament types loaded (each AMS tray's and the external spools'), upper case, once each. */
export function loadedFilaments(state: PrinterState): string[] {
  const trays = [...(state.ams?.units ?? []).flatMap((u) => u.trays), ...(state.ams?.external ?? [])];
  return [...new Set(trays.flatMap((t) => (t.type ? [t.type.toUpperCase()] : [])))];
}

/** The model a printer is: its own answer, else its serial's, else the one configured. */
export const modelOf = (p: HeldPrinter) => effectiveModel(p.state.model, p.info.serial, p.info.model).model;

export function createSendService(deps: {
  store: AsyncStore;
  events: EventBus;
  log: Logger;
  printers: PrinterService;
  library: Library;
  lan: { send: (printerId: number, command: object) => boolean; connected: (printerId: number) => boolean };
  /** The job open on a printer now (jobs.ts), to link a started send to it. */
  currentJob: (printerId: number) => { id: number } | null;
  /** The job open on a printer, also when another instance holds it (from the store). */
  openJob: (printerId: number) => Promise<{ id: number } | null>;
  ftps?: typeof realFtps;
  timings?: Partial<SendTimings>;
}) {
  const { store, log, printers, events } = deps;
  const ftps = deps.ftps ?? realFtps;
  const timings = { ...DEFAULT_TIMINGS, ...deps.timings };
  /** Sends running on this instance: their progress, fresher than the store's. */
  const live = new Map<number, { progress: number; status: SendStatus }>();
  const running = new Set<Promise<unknown>>();
  /** Printers with a send under way here, from the moment its checks pass until it ends. */
  const sending = new Set<number>();
  let sequence = 0;
  /** Ends every wait at once (false) when the app stops. */
  const stops = new Set<() => void>();

  const authHms = (s: PrinterState) => s.hms.some((h) => h.code === AUTH_CONTROL_HMS);

  async function audit(printerId: number, user: string, action: string, result: string, detail: string) {
    await store.printerActions.record({
      printer_id: printerId,
      at: Date.now(),
      username: user,
      action,
      via: "lan",
      result,
      detail,
    });
    log.info("printer action", { printer: printerId, user, action, result });
  }

  function view(row: SendRow): SendView {
    const now = live.get(row.id);
    const state = printers.get(row.printer_id)?.state.gcode_state;
    return {
      id: row.id,
      printer_id: row.printer_id,
      file_id: row.file_id,
      plate: row.plate,
      status: now?.status ?? row.status,
      progress: Math.round((now?.progress ?? row.progress) * 1000) / 1000,
      ...(row.reason ? { reason: row.reason } : {}),
      ...(row.error ? { error: row.error } : {}),
      ...(row.job_id ? { job_id: row.job_id } : {}),
      ...(state ? { state } : {}),
      created_at: row.created_at,
    };
  }

  /** What refuses a send before anything is uploaded, or null. */
  function refusal(printerId: number, plate: LibraryPlate): SendRefused | null {
    const p = printers.get(printerId)!;
    if (!p.info.host) return { ok: false, reason: "needs_lan", error: "this printer has no LAN connection to send to" };
    if (!deps.lan.connected(printerId))
      return {
        ok: false,
        reason: "needs_lan",
        error: "the printer's LAN link is not connected here; try again shortly",
      };
    const g = p.state.gcode_state;
    if (!g) return { ok: false, reason: "busy", error: "the printer's state is not known yet; try again shortly" };
    if (BUSY_STATES.includes(g))
      return { ok: false, reason: "busy", error: `the printer is busy (${g}): starting now would cancel what it does` };
    const model = modelOf(p);
    if (plate.model && !sameModel(plate.model, model))
      return {
        ok: false,
        reason: "model_mismatch",
        error: `plate ${plate.index} was sliced for ${plate.model}, and this printer is ${model}`,
      };
    const nozzle = p.state.nozzle_diameter;
    if (plate.nozzle_mm && nozzle && Math.abs(plate.nozzle_mm - nozzle) > 0.001)
      return {
        ok: false,
        reason: "model_mismatch",
        error: `plate ${plate.index} was sliced for a ${plate.nozzle_mm} mm nozzle, and this printer has ${nozzle} mm`,
      };
    if (p.state.signing_required || authHms(p.state))
      return {
        ok: false,
        reason: "authorization_control",
        error:
          "the printer drops unsigned commands (Authorization Control): turn on LAN Only and Developer Mode on its " +
          "screen, then enter the new access code in Settings",
      };
    if (p.state.sd_card === false)
      return { ok: false, reason: "upload_refused", error: "the printer reports no SD card: insert one" };
    return null;
  }

  /** Whether the store holds a send to the printer not finished: this instance's, or another's still moving. */
  async function storedUnderWay(printerId: number): Promise<boolean> {
    return (await store.sends.unfinished()).some(
      (row) => row.printer_id === printerId && (live.has(row.id) || Date.now() - row.updated_at < INTERRUPTED_MS),
    );
  }
  const sendUnderWay: SendRefused = {
    ok: false,
    reason: "busy",
    error: "another send to this printer is under way: try again once it has started or failed",
  };

  /** Resolves true once `ok()` holds after a state change, false after `ms`. */
  function waitFor(printerId: number, ok: () => boolean, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (ok()) return resolve(true);
      const listener = ({ printerId: id }: { printerId: number }) => {
        if (id === printerId && ok()) finish(true);
      };
      const timer = setTimeout(() => finish(false), ms);
      const stop = () => finish(false);
      stops.add(stop);
      let done = false;
      function finish(v: boolean) {
        if (done) return;
        done = true;
        stops.delete(stop);
        clearTimeout(timer);
        events.off("printerState", listener);
        resolve(v);
      }
      events.on("printerState", listener, { remote: true });
    });
  }

  /**
   * FTPS under tls "pin" (PRINTERS.md §9): the MQTT pin's certificate, else the one learned on an earlier send,
   * else (nothing learned yet) the one seen now, which is learned. `conn` keeps it for this send's later connections.
   */
  async function judgeFtpsCertificate(conn: PrinterRow, seen: string): Promise<string | null> {
    if (!seen) return "the printer's file-transfer connection presented no certificate";
    if (seen === conn.tls_fingerprint) return null;
    if (conn.ftps_fingerprint) return seen === conn.ftps_fingerprint ? null : FTPS_CERTIFICATE_CHANGED;
    await printers.pinFtps(conn.id, seen);
    conn.ftps_fingerprint = seen;
    log.info("printer file-transfer certificate pinned", { printer: conn.id });
    return null;
  }

  async function run(row: SendRow, subtask: string, options: PrintOptions, user: string) {
    const id = row.id;
    const printerId = row.printer_id;
    const state = { progress: 0, status: "uploading" as SendStatus };
    live.set(id, state);
    const change = (
      c: Partial<{ status: SendStatus; progress: number; reason: string; error: string; job_id: number }>,
    ) => {
      Object.assign(state, c);
      return store.sends.update(id, {
        status: state.status,
        progress: state.progress,
        reason: c.reason ?? null,
        error: c.error ?? null,
        job_id: c.job_id ?? null,
      });
    };
    const fail = async (reason: SendReason, error: string) => {
      await change({ status: "failed", reason, error });
      await audit(printerId, user, "send", reason, row.remote_name);
      log.warn("send failed", { send: id, printer: printerId, reason, error });
    };
    const conn = await printers.connectionOf(printerId);
    const blob = row.file_id ? await deps.library.blob(row.file_id) : null;
    if (!conn || !blob) return fail("no_file", "the file or the printer is gone");
    const target: FtpsTarget = {
      host: conn.host,
      port: conn.ftps_port,
      accessCode: conn.access_code,
      timeoutMs: timings.ftpsTimeoutMs,
      ...(conn.tls === "pin" ? { checkCertificate: (seen: string) => judgeFtpsCertificate(conn, seen) } : {}),
    };
    let savedAt = 0;
    try {
      await ftps.upload(target, row.remote_name, blob.name!, (sent) => {
        state.progress = sent / Math.max(1, blob.size);
        // The store hears of progress about once a second: another instance answers GET /api/sends/:id from it.
        if (Date.now() - savedAt > 1000) {
          savedAt = Date.now();
          void store.sends
            .update(id, { status: "uploading", progress: state.progress, reason: null, error: null, job_id: null })
            .catch(() => {});
        }
      });
    } catch (err) {
      // Refused before the access code or any byte of the file went out: nothing to remove, no one to ask.
      if (err instanceof FtpsCertificateError) return fail("upload_refused", err.message);
      if (err instanceof FtpsError && err.code === 553)
        return fail(
          "upload_refused",
          "the printer refused the file (FTP 553): no SD card, or the card is full or read-only",
        );
      if (err instanceof FtpsError && err.code === 530)
        return fail("upload_refused", "the printer refused the access code over FTPS (530): check it in Settings");
      // A transfer cut half-way may have left part of the file on the card: remove it, as for a print that
      // did not start.
      await ftps.remove(target, row.remote_name).catch(() => {});
      return fail("upload_refused", `the upload failed: ${(err as Error).message}`);
    }
    await change({ status: "starting", progress: 1 });
    const held = printers.get(printerId);
    const model = held ? modelOf(held) : "";
    const command = {
      print: {
        sequence_id: String(++sequence),
        command: "project_file",
        param: `Metadata/plate_${row.plate}.gcode`,
        // H2 firmware wants three slashes (PRINTERS.md §9).
        url: /^H2/i.test(model) ? `ftp:///${row.remote_name}` : `ftp://${row.remote_name}`,
        md5: "",
        subtask_name: subtask,
        task_id: String(row.task_id),
        project_id: "0",
        profile_id: "0",
        subtask_id: "0",
        ...options,
      },
    };
    const startedHere = () => {
      const s = printers.get(printerId)?.state;
      return (
        !!s?.gcode_state &&
        ["PREPARE", "RUNNING"].includes(s.gcode_state) &&
        (s.file === subtask || s.file === row.remote_name)
      );
    };
    const started = deps.lan.send(printerId, command)
      ? await waitFor(printerId, () => startedHere() || authHms(printers.get(printerId)!.state), timings.startWithinMs)
      : false;
    if (started && startedHere()) {
      // The job opens from the same state change: give the jobs service the moment it needs.
      await waitFor(printerId, () => deps.currentJob(printerId) !== null, 5000);
      const job = deps.currentJob(printerId);
      await change({ status: "started", progress: 1, ...(job ? { job_id: job.id } : {}) });
      await audit(printerId, user, "send", "ok", row.remote_name);
      log.info("print started", { send: id, printer: printerId, file: row.remote_name, job: job?.id });
      return;
    }
    // Nothing half-sent stays: the file goes from the card.
    await ftps.remove(target, row.remote_name).catch((err) => {
      log.warn("removing an unstarted file from the printer failed", { send: id, error: err as Error });
    });
    if (printers.get(printerId) && authHms(printers.get(printerId)!.state))
      return fail("authorization_control", "Authorization Control dropped the print command (Developer Mode is off)");
    return fail(
      "not_confirmed",
      `the printer did not start the print within ${timings.startWithinMs / 1000} s; the file was removed from it`,
    );
  }

  async function begin(
    printerId: number,
    fileId: number,
    plateIndex: number,
    options: PrintOptions,
    user: string,
  ): Promise<{ ok: true; send_id: number } | SendRefused> {
    const file = await deps.library.get(fileId);
    if (!file) return { ok: false, reason: "no_file", error: "no such library file" };
    const plate = file.plates.find((p) => p.index === plateIndex);
    if (!plate) return { ok: false, reason: "no_plate", error: `the file has no sliced plate ${plateIndex}` };
    // Two sends at once would both upload and both start, and the second would take the first's print for its
    // own: the printer is claimed here before any await, then the store tells of sends on other instances.
    const refused = refusal(printerId, plate) ?? (sending.has(printerId) ? sendUnderWay : null);
    if (refused) {
      await audit(printerId, user, "send", refused.reason, file.name);
      return refused;
    }
    sending.add(printerId);
    let row: SendRow | null = null;
    try {
      if (!(await storedUnderWay(printerId))) {
        const inserted = await store.sends.insert({
          printer_id: printerId,
          file_id: fileId,
          plate: plateIndex,
          options_json: JSON.stringify(options),
          remote_name: remoteName(file.name),
          username: user,
          created_at: Date.now(),
        });
        row = (await store.sends.byId(inserted))!;
      }
    } finally {
      if (!row) sending.delete(printerId);
    }
    if (!row) {
      await audit(printerId, user, "send", sendUnderWay.reason, file.name);
      return sendUnderWay;
    }
    const id = row.id;
    const job = run(row, subtaskOf(file.name), options, user)
      .catch((err) => log.error("a send failed unexpectedly", { send: id, error: err as Error }))
      .finally(() => {
        live.delete(id);
        running.delete(job);
        sending.delete(printerId);
      });
    running.add(job);
    return { ok: true, send_id: id };
  }

  return {
    libraryFile: (id: number) => deps.library.get(id),
    /** Sends a file's plate to a printer: refused at once, or under way (follow it with `get`). */
    send: begin,
    /** The same file, plate and options as the send that started `jobId`. */
    async reprint(jobId: number, user: string) {
      const prior = await store.sends.ofJob(jobId);
      if (!prior || prior.file_id === null)
        return {
          ok: false as const,
          reason: "no_file" as const,
          error: "this print was not sent from the library, or its file is gone",
        };
      return begin(prior.printer_id, prior.file_id, prior.plate, JSON.parse(prior.options_json), user);
    },
    /** How long a skip waits for the printer to confirm it. */
    skipWithinMs: timings.skipWithinMs,
    /** The printer a job was sent to from the library, or null. */
    printerOfSentJob: async (jobId: number) => (await store.sends.ofJob(jobId))?.printer_id ?? null,
    /** Whether a job was started by a send whose file is still in the library. */
    canReprint: async (jobId: number) => !!(await store.sends.ofJob(jobId))?.file_id,
    async get(id: number): Promise<SendView | null> {
      const row = await store.sends.byId(id);
      return row ? view(row) : null;
    },
    /** The plate objects of the print running on a printer now, when it was sent from the library. */
    async objectsNow(printerId: number): Promise<{ objects: LibraryPlate["objects"]; skipped: number[] } | null> {
      const job = await deps.openJob(printerId);
      const send = job ? await store.sends.ofJob(job.id) : null;
      if (!send?.file_id) return null;
      const plate = (await deps.library.get(send.file_id))?.plates.find((p) => p.index === send.plate);
      const skipped = printers.get(printerId)?.state.skipped_objects ?? [];
      return plate ? { objects: plate.objects, skipped } : null;
    },
    /** Skips objects of the running print; done once the printer's skipped list (s_obj) holds them all. */
    async skip(printerId: number, objects: number[], user: string): Promise<SkipResult> {
      const p = printers.get(printerId)!;
      const g = p.state.gcode_state ?? "";
      if (!["RUNNING", "PAUSE"].includes(g)) return { ok: false, reason: "not_printing", error: "nothing is printing" };
      const known = await this.objectsNow(printerId);
      if (!objects.length || (known && !objects.every((o) => known.objects.some((k) => k.id === o))))
        return { ok: false, reason: "bad_objects", error: "name objects of the plate being printed" };
      if (!deps.lan.connected(printerId))
        return { ok: false, reason: "needs_lan", error: "the printer's LAN link is not connected here" };
      const skipped = () => printers.get(printerId)?.state.skipped_objects ?? [];
      const done = () => objects.every((o) => skipped().includes(o));
      const answered = () => done() || authHms(printers.get(printerId)!.state);
      const command = { print: { sequence_id: String(++sequence), command: "skip_objects", obj_list: objects } };
      const ok =
        deps.lan.send(printerId, command) && (await waitFor(printerId, answered, timings.skipWithinMs)) && done();
      const detail = objects.join(",");
      if (ok) {
        await audit(printerId, user, "skip", "ok", detail);
        return { ok: true, skipped: skipped() };
      }
      if (authHms(printers.get(printerId)!.state)) {
        await audit(printerId, user, "skip", "authorization_control", detail);
        return { ok: false, reason: "authorization_control", error: "Authorization Control dropped the command" };
      }
      await audit(printerId, user, "skip", "unconfirmed", detail);
      return { ok: false, reason: "unconfirmed", error: "the printer's state did not show the objects skipped" };
    },
    /** Whether a send to the printer is under way (uploading or starting), here or on another instance. */
    underWay: async (printerId: number) => sending.has(printerId) || (await storedUnderWay(printerId)),
    /** Sends left half-way by an instance that stopped (no progress for two minutes) are failed, saying why. */
    async settleInterrupted() {
      for (const row of await store.sends.unfinished()) {
        if (live.has(row.id) || Date.now() - row.updated_at < INTERRUPTED_MS) continue;
        await store.sends.update(row.id, {
          status: "failed",
          progress: row.progress,
          reason: "not_confirmed",
          error: "layerwatch stopped during this send",
          job_id: null,
        });
      }
    },
    /** Resolves once every send under way here has ended (tests). */
    settled: () => Promise.all([...running]),
    /** Stops waiting for confirmations (they end as not confirmed); an upload under way ends with the process. */
    stop() {
      for (const stop of [...stops]) stop();
    },
  };
}

export type SendService = ReturnType<typeof createSendService>;
