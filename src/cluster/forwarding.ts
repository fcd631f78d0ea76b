// Owns where a printer action runs when there are several instances (redis_url): a LAN command goes to the
// instance holding the printer's link, an action for the camera Pi to the instance it is connected to; that
// instance runs it through its own control service (its checks, its wait for the confirming state, its audit)
// and its answer is this one's. An action no other instance can carry runs here, and is refused here as ever.
// Sends, reprints, skips and plate confirmations go to the link's holder the same way (its send and queue
// services). Holds no state: the holder comes from the leases, a device's instance from asking them all.
import type { Logger } from "../log.ts";
import {
  type Action,
  type ActionResult,
  CONFIRM_WITHIN_MS,
  lanCommand,
  type PrinterControl,
} from "../services/printer-control.ts";
import type { QueueService } from "../services/queue.ts";
import type { PrintOptions, SendRefused, SendService, SkipResult } from "../services/sends.ts";
import { type Rpc, RpcError } from "./rpc.ts";

/** Beyond the holder's own wait for the confirming state: the round trips through Redis and the audit. */
const FORWARD_MARGIN_MS = 5_000;
/** How long to wait for the other instances to say how many of a printer's camera Pis they hold. */
const FIND_DEVICE_MS = 1_000;

type ActArgs = { printerId: number; action: Action; user: string; level?: number };

export function createForwarding(deps: {
  rpc: Rpc;
  control: PrinterControl;
  log: Logger;
  /** The instance holding the printer's LAN link, or null (none, or the printer has no LAN address). */
  holderOf: (printerId: number) => string | null;
  /** Whether the printer has a LAN address (its LAN commands go to its holder). */
  onLan: (printerId: number) => boolean;
  /** The printer's camera Pis connected to this instance. */
  localDevices: (printerId: number) => number;
}): PrinterControl {
  const { rpc, control, log } = deps;
  const self = rpc.instance;

  // What other instances ask of this one: run it here (never forwarded again), and how many camera Pis are here.
  rpc.handle<ActArgs, ActionResult>("printer.act", (a) => control.act(a.printerId, a.action, a.user, a.level));
  rpc.handle<{ printerId: number }, number>("printer.devices", async (a) => deps.localDevices(a.printerId));

  /** The instance that should run the action, or null for this one. */
  async function carrierOf(printerId: number, action: Action): Promise<string | null> {
    if (lanCommand(action) && deps.onLan(printerId)) {
      const holder = deps.holderOf(printerId);
      return holder && holder !== self ? holder : null;
    }
    if (deps.localDevices(printerId) > 0) return null;
    const counts = await rpc.gather<number>("printer.devices", { printerId }, FIND_DEVICE_MS);
    return counts.find((c) => c.value > 0)?.from ?? null;
  }

  return {
    async act(printerId, action, user, level) {
      const target = await carrierOf(printerId, action);
      if (!target) return control.act(printerId, action, user, level);
      try {
        return await rpc.call<ActionResult>(
          target,
          "printer.act",
          { printerId, action, user, level } satisfies ActArgs,
          CONFIRM_WITHIN_MS + FORWARD_MARGIN_MS,
        );
      } catch (err) {
        const why = err instanceof RpcError ? err.reason : "failed";
        log.warn("a printer action for another instance got no answer", {
          printer: printerId,
          action,
          to: target,
          reason: why,
        });
        // Not done as far as anyone here knows: said so, and kept in the audit like any refusal.
        return control.refuse(printerId, user, action, "instance_silent");
      }
    },
    recent: control.recent,
    refuse: control.refuse,
  };
}

type SendArgs = { printerId: number; fileId: number; plate: number; options: PrintOptions; user: string };
type SendResult = { ok: true; send_id: number } | SendRefused;
/** A send's answer comes once it is under way (the upload and its confirmation follow on the holder). */
const SEND_ANSWER_MS = 15_000;

/**
 * The send and queue services as an instance not holding a printer's link uses them: sending, reprinting,
 * skipping and confirming a clear plate run on the holder; the rest (reading sends, the queue) is the store's
 * and runs here.
 */
export function forwardFarm(deps: {
  rpc: Rpc;
  sends: SendService;
  queue: QueueService;
  log: Logger;
  holderOf: (printerId: number) => string | null;
  onLan: (printerId: number) => boolean;
}): { sends: SendService; queue: QueueService } {
  const { rpc, sends, queue, log } = deps;
  const self = rpc.instance;

  rpc.handle<SendArgs, SendResult>("sends.send", (a) => sends.send(a.printerId, a.fileId, a.plate, a.options, a.user));
  rpc.handle<{ jobId: number; user: string }, SendResult>("sends.reprint", (a) => sends.reprint(a.jobId, a.user));
  rpc.handle<{ printerId: number; objects: number[]; user: string }, SkipResult>("sends.skip", (a) =>
    sends.skip(a.printerId, a.objects, a.user),
  );
  rpc.handle<{ printerId: number; user: string }, true>("queue.plateCleared", async (a) => {
    await queue.plateCleared(a.printerId, a.user);
    return true;
  });

  /** The other instance holding the printer's link, or null to run here. */
  const holderElsewhere = (printerId: number) => {
    if (!deps.onLan(printerId)) return null;
    const holder = deps.holderOf(printerId);
    return holder && holder !== self ? holder : null;
  };
  /** The holder's answer, or null when it gave none (logged). */
  async function ask<T>(to: string, method: string, args: object, ms: number, printerId: number): Promise<T | null> {
    try {
      return await rpc.call<T>(to, method, args, ms);
    } catch (err) {
      const reason = err instanceof RpcError ? err.reason : "failed";
      log.warn("a farm request for another instance got no answer", { printer: printerId, method, to, reason });
      return null;
    }
  }
  const silentSend: SendRefused = {
    ok: false,
    reason: "instance_silent",
    error:
      "the instance holding the printer's link did not answer, so whether the send began is not known: " +
      "see the printer's page before sending again",
  };

  return {
    sends: {
      ...sends,
      async send(printerId, fileId, plate, options, user) {
        const to = holderElsewhere(printerId);
        if (!to) return sends.send(printerId, fileId, plate, options, user);
        const args: SendArgs = { printerId, fileId, plate, options, user };
        return (await ask<SendResult>(to, "sends.send", args, SEND_ANSWER_MS, printerId)) ?? silentSend;
      },
      async reprint(jobId, user) {
        const printerId = await sends.printerOfSentJob(jobId);
        const to = printerId === null ? null : holderElsewhere(printerId);
        // Not sent from the library (or its printer held here): the send service answers why, or runs it.
        if (printerId === null || !to) return sends.reprint(jobId, user);
        return (await ask<SendResult>(to, "sends.reprint", { jobId, user }, SEND_ANSWER_MS, printerId)) ?? silentSend;
      },
      async skip(printerId, objects, user) {
        const to = holderElsewhere(printerId);
        if (!to) return sends.skip(printerId, objects, user);
        const answer = await ask<SkipResult>(
          to,
          "sends.skip",
          { printerId, objects, user },
          sends.skipWithinMs + FORWARD_MARGIN_MS,
          printerId,
        );
        return (
          answer ?? {
            ok: false,
            reason: "instance_silent",
            error: "the instance holding the printer's link did not answer: the objects may not be skipped",
          }
        );
      },
    },
    queue: {
      ...queue,
      async plateCleared(printerId, user) {
        const to = holderElsewhere(printerId);
        // The plate's state is in the store: should the holder not answer, it is cleared here, and the holder's
        // next round of the queue starts what follows.
        if (!to || !(await ask<true>(to, "queue.plateCleared", { printerId, user }, 10_000, printerId)))
          await queue.plateCleared(printerId, user);
      },
    },
  };
}
