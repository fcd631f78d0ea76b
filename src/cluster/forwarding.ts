// Owns where a printer action runs when there are several instances (redis_url): a LAN command goes to the
// instance holding the printer's link, an action for the camera Pi to the instance it is connected to; that
// instance runs it through its own control service (its checks, its wait for the confirming state, its audit)
// and its answer is this one's. An action no other instance can carry runs here, and is refused here as ever.
// Holds no state: the holder comes from the leases, a device's instance from asking them all.
import type { Logger } from "../log.ts";
import {
  type Action,
  type ActionResult,
  CONFIRM_WITHIN_MS,
  lanCommand,
  type PrinterControl,
} from "../services/printer-control.ts";
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
