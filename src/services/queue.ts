// Owns the print queue (PRINTERS.md §9): items naming a library plate and a printer or a rule ("an A1 with a
// 0.4 mm nozzle and PLA loaded"), started in order on idle printers; after a queued print ends its printer waits
// until a person confirms the plate is cleared; reorder, pause, cancel, retry; everything audited. The store holds
// it all, so it survives restarts; each printer's items are started only by the instance holding that printer
// (its lease), and an item is claimed in the store first, so with several instances each starts once.
import type { EventBus } from "../events.ts";
import { sameModel } from "../library/three-mf.ts";
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { QueueItemRow, QueueStatus } from "../store/store.ts";
import type { PrinterService } from "./printers.ts";
import { loadedFilaments, modelOf, type PrintOptions, parseOptions, type SendService } from "./sends.ts";

export type QueueRule = { model?: string; nozzle_mm?: number; filament?: string };
export type QueueItemView = {
  id: number;
  position: number;
  status: QueueStatus | "waiting_plate";
  file_id: number;
  plate: number;
  printer_id: number | null;
  rule: QueueRule | null;
  options: PrintOptions;
  assigned_printer: number | null;
  send_id: number | null;
  error: string | null;
  created_at: number;
};
export type QueueError = { ok: false; status: number; error: string };
/** The app key that pauses the whole queue. */
const PAUSED_KEY = "queue_paused";
const IDLE_STATES = ["IDLE", "FINISH", "FAILED"];

export function parseRule(raw: unknown): QueueRule | string {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return "rule must be an object";
  const r = raw as Record<string, unknown>;
  const rule: QueueRule = {};
  if (r.model !== undefined) {
    if (typeof r.model !== "string" || !r.model.trim() || r.model.length > 32) return "rule.model must be a model name";
    rule.model = r.model.trim();
  }
  if (r.nozzle_mm !== undefined) {
    if (typeof r.nozzle_mm !== "number" || !(r.nozzle_mm > 0 && r.nozzle_mm < 2))
      return "rule.nozzle_mm must be a size in mm";
    rule.nozzle_mm = r.nozzle_mm;
  }
  if (r.filament !== undefined) {
    if (typeof r.filament !== "string" || !/^[A-Za-z0-9+-]{1,16}$/.test(r.filament))
      return "rule.filament must be a filament type such as PLA";
    rule.filament = r.filament.toUpperCase();
  }
  return rule;
}

export function createQueueService(deps: {
  store: AsyncStore;
  events: EventBus;
  log: Logger;
  printers: PrinterService;
  sends: SendService;
  /** Does this instance hold the printer (its lease)? Only its holder starts that printer's items. */
  owns: (printerId: number) => boolean;
  tickMs?: number;
}) {
  const { store, log, printers, sends } = deps;
  let stepping = false;
  let again = false;
  /** When sends left half-way by a stopped instance were last looked for (their items would wait forever). */
  let settledAt = 0;

  async function audit(printerId: number, user: string, action: string, detail: string, result = "ok") {
    await store.printerActions.record({
      printer_id: printerId,
      at: Date.now(),
      username: user,
      action,
      via: "queue",
      result,
      detail,
    });
  }

  function matches(item: QueueItemRow, printerId: number): boolean {
    if (item.printer_id !== null) return item.printer_id === printerId;
    const rule = JSON.parse(item.rule_json ?? "{}") as QueueRule;
    const p = printers.get(printerId);
    if (!p?.info.host) return false;
    if (rule.model && !sameModel(rule.model, modelOf(p))) return false;
    const nozzle = p.state.nozzle_diameter;
    if (rule.nozzle_mm && (!nozzle || Math.abs(nozzle - rule.nozzle_mm) > 0.001)) return false;
    if (rule.filament && !loadedFilaments(p.state).includes(rule.filament)) return false;
    return true;
  }

  /** Moves items along: sends that ended, prints that ended (their plate then waits), idle printers' next item. */
  async function step() {
    if (stepping) {
      again = true;
      return;
    }
    stepping = true;
    try {
      do {
        again = false;
        await stepOnce();
      } while (again);
    } catch (err) {
      log.error("the queue could not move on", { error: err as Error });
    } finally {
      stepping = false;
    }
  }

  async function stepOnce() {
    if (Date.now() - settledAt > 30_000) {
      settledAt = Date.now();
      await sends.settleInterrupted();
    }
    const items = await store.queue.list();
    const dirty = new Set((await store.queue.dirtyPlates()).map((d) => d.printer_id));
    const busy = new Set<number>();
    for (const item of items) {
      const at = item.assigned_printer;
      if (at === null || !deps.owns(at) || (item.status !== "sending" && item.status !== "printing")) continue;
      busy.add(at);
      const send = item.send_id ? await sends.get(item.send_id) : null;
      if (item.status === "sending" && send?.status === "failed") {
        await store.queue.setStatus(item.id, "failed", send.error ?? "the send failed");
        await audit(at, item.username, "queue_failed", `item ${item.id}`, send.reason ?? "failed");
        busy.delete(at);
      } else if (item.status === "sending" && send?.status === "started") {
        await store.queue.setStatus(item.id, "printing");
      } else if (item.status === "printing") {
        const job = send?.job_id ? await store.jobs.byId(send.job_id) : null;
        if (job && job.outcome !== "running") {
          await store.queue.setStatus(
            item.id,
            job.outcome === "finished" ? "done" : "failed",
            job.outcome === "finished" ? null : `the print ${job.outcome}`,
          );
          // The next print must wait for a person to clear the plate.
          await store.queue.plateDirty(at, Date.now());
          dirty.add(at);
          if (items.some((i) => i.status === "queued"))
            deps.events.emit("plateWaiting", { printerId: at, itemId: item.id });
          busy.delete(at);
          log.info("queued print ended; its printer waits for the plate to be cleared", { item: item.id, printer: at });
        }
      }
    }
    if ((await store.notify.key(PAUSED_KEY)) === "1") return;
    for (const p of printers.list()) {
      const id = p.info.id;
      if (!deps.owns(id) || busy.has(id) || dirty.has(id)) continue;
      const g = p.state.gcode_state;
      if (!g || !IDLE_STATES.includes(g)) continue;
      // A send not started from the queue (a person's, or one still starting) keeps the printer busy until it ends.
      if (await sends.underWay(id)) continue;
      const next = items.find((i) => i.status === "queued" && matches(i, id));
      if (!next || !(await store.queue.claim(next.id, id))) continue;
      busy.add(id);
      const options = parseOptions(JSON.parse(next.options_json));
      const r = await sends.send(
        id,
        next.file_id,
        next.plate,
        typeof options === "string" ? ({} as PrintOptions) : options,
        next.username,
      );
      if (!r.ok) {
        await store.queue.setStatus(next.id, "failed", r.error);
        await audit(id, next.username, "queue_failed", `item ${next.id}`, r.reason);
        continue;
      }
      await store.queue.setSend(next.id, r.send_id);
      await audit(id, next.username, "queue_start", `item ${next.id}`);
      log.info("queue item sent", { item: next.id, printer: id, send: r.send_id });
    }
  }

  async function view(items: QueueItemRow[]): Promise<QueueItemView[]> {
    const dirty = new Set((await store.queue.dirtyPlates()).map((d) => d.printer_id));
    const waitingFor = new Set<number>();
    return items.map((i) => {
      // The next item for a printer whose plate waits shows as waiting_plate.
      let status: QueueItemView["status"] = i.status;
      if (i.status === "queued" && i.printer_id !== null && dirty.has(i.printer_id) && !waitingFor.has(i.printer_id)) {
        waitingFor.add(i.printer_id);
        status = "waiting_plate";
      }
      return {
        id: i.id,
        position: i.position,
        status,
        file_id: i.file_id,
        plate: i.plate,
        printer_id: i.printer_id,
        rule: i.rule_json ? JSON.parse(i.rule_json) : null,
        options: JSON.parse(i.options_json),
        assigned_printer: i.assigned_printer,
        send_id: i.send_id,
        error: i.error,
        created_at: i.created_at,
      };
    });
  }

  const timer = setInterval(() => void step(), deps.tickMs ?? 2000);
  timer.unref?.();
  // A printer's state change may free it or end a print: look at once rather than at the next tick.
  deps.events.on("printerState", ({ printerId, changed }) => {
    if ("gcode_state" in changed && deps.owns(printerId)) void step();
  });

  return {
    step,
    async list(): Promise<QueueItemView[]> {
      return view(await store.queue.list());
    },
    paused: async () => (await store.notify.key(PAUSED_KEY)) === "1",
    /** The printers whose plate waits to be cleared. */
    dirtyPrinters: async () => (await store.queue.dirtyPlates()).map((d) => d.printer_id),
    async add(
      input: { file_id: unknown; plate: unknown; printer_id?: unknown; rule?: unknown; options?: unknown },
      user: string,
    ): Promise<{ ok: true; item: QueueItemView } | QueueError> {
      if (!Number.isSafeInteger(input.file_id))
        return { ok: false, status: 400, error: "file_id must be a library file's id" };
      const plate = input.plate ?? 1;
      if (!Number.isSafeInteger(plate)) return { ok: false, status: 400, error: "plate must be a whole number" };
      const file = await deps.sends.libraryFile(input.file_id as number);
      if (!file) return { ok: false, status: 404, error: "no such library file" };
      if (!file.plates.some((p) => p.index === plate))
        return { ok: false, status: 400, error: `the file has no sliced plate ${plate}` };
      const byPrinter = input.printer_id !== undefined && input.printer_id !== null;
      if (byPrinter === (input.rule !== undefined && input.rule !== null))
        return { ok: false, status: 400, error: "name either printer_id or rule" };
      if (byPrinter && (!Number.isSafeInteger(input.printer_id) || !printers.get(input.printer_id as number)))
        return { ok: false, status: 404, error: "no such printer" };
      const rule = byPrinter ? null : parseRule(input.rule);
      if (typeof rule === "string") return { ok: false, status: 400, error: rule };
      const options = parseOptions((input.options ?? {}) as Record<string, unknown>);
      if (typeof options === "string") return { ok: false, status: 400, error: options };
      const id = await store.queue.insert({
        file_id: file.id,
        plate: plate as number,
        printer_id: byPrinter ? (input.printer_id as number) : null,
        rule_json: rule ? JSON.stringify(rule) : null,
        options_json: JSON.stringify(options),
        username: user,
        created_at: Date.now(),
      });
      await audit(
        byPrinter ? (input.printer_id as number) : 0,
        user,
        "queue_add",
        `item ${id}: ${file.name} plate ${plate}`,
      );
      void step();
      const item = (await this.list()).find((i) => i.id === id)!;
      return { ok: true, item };
    },
    /** Reorders (position: 1 = first), cancels (status cancelled), or retries a failed one (status queued). */
    async change(
      id: number,
      input: { position?: unknown; status?: unknown },
      user: string,
    ): Promise<{ ok: true; item: QueueItemView } | QueueError> {
      const item = await store.queue.byId(id);
      if (!item) return { ok: false, status: 404, error: "no such queue item" };
      const printerId = item.assigned_printer ?? item.printer_id ?? 0;
      if (input.position !== undefined) {
        if (!Number.isSafeInteger(input.position) || (input.position as number) < 1)
          return { ok: false, status: 400, error: "position must be 1 or more" };
        await store.queue.move(id, (input.position as number) - 1);
        await audit(printerId, user, "queue_move", `item ${id} to ${input.position}`);
      }
      if (input.status !== undefined) {
        if (input.status === "cancelled") {
          if (item.status !== "queued" && item.status !== "failed")
            return {
              ok: false,
              status: 409,
              error: `a ${item.status} item cannot be cancelled: stop the print instead`,
            };
          await store.queue.setStatus(id, "cancelled");
          await audit(printerId, user, "queue_cancel", `item ${id}`);
        } else if (input.status === "queued") {
          if (item.status !== "failed" && item.status !== "cancelled")
            return { ok: false, status: 409, error: "only a failed or cancelled item can be queued again" };
          await store.queue.setStatus(id, "queued");
          await audit(printerId, user, "queue_retry", `item ${id}`);
          void step();
        } else return { ok: false, status: 400, error: "status must be cancelled or queued" };
      }
      return { ok: true, item: (await this.list()).find((i) => i.id === id)! };
    },
    async remove(id: number, user: string): Promise<QueueError | { ok: true }> {
      const item = await store.queue.byId(id);
      if (!item) return { ok: false, status: 404, error: "no such queue item" };
      if (item.status === "sending" || item.status === "printing")
        return { ok: false, status: 409, error: "the item is under way: stop the print first" };
      await store.queue.delete(id);
      await audit(item.assigned_printer ?? item.printer_id ?? 0, user, "queue_delete", `item ${id}`);
      return { ok: true };
    },
    async pause(paused: boolean, user: string) {
      await store.notify.setKey(PAUSED_KEY, paused ? "1" : "0");
      await audit(0, user, paused ? "queue_pause" : "queue_resume", "");
      if (!paused) void step();
    },
    /** A person confirmed the printer's plate is clear: its next item may start. */
    async plateCleared(printerId: number, user: string) {
      await store.queue.plateCleared(printerId);
      await audit(printerId, user, "plate_cleared", "");
      log.info("plate confirmed clear", { printer: printerId, user });
      void step();
    },
    stop: () => clearInterval(timer),
  };
}

export type QueueService = ReturnType<typeof createQueueService>;
