// Owns control of a printer: which actions fit its state, which source carries them (the LAN link, or the
// camera Pi's printerAction when there is no link), waiting for the state that confirms them, and the audit.
import type { EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import { ACTIVE_STATES, type PrinterState } from "../printer-state.ts";
import type { Store } from "../store/store.ts";
import type { PrinterService } from "./printers.ts";

export const ACTIONS = [
  "pause",
  "resume",
  "stop",
  "light_on",
  "light_off",
  "speed",
  "timelapse_start",
  "timelapse_stop",
] as const;
export type Action = (typeof ACTIONS)[number];
export type ActionResult = { status: number; body: Record<string, unknown> };

/** Raised by recent firmware when Authorization Control drops a command (Developer Mode is off). */
export const AUTH_CONTROL_HMS = "0500_0500_0001_0007";
export const CONFIRM_WITHIN_MS = 10_000;

const seq = { sequence_id: "0" };
const light = (mode: "on" | "off") => ({
  system: { ...seq, command: "ledctrl", led_node: "chamber_light", led_mode: mode, led_on_time: 500 },
});
/** The Bambu LAN command for an action (PRINTERS.md §4). */
function lanCommand(action: Action, level?: number): object | null {
  if (action === "pause" || action === "resume") return { print: { ...seq, command: action } };
  if (action === "stop") return { print: { ...seq, command: "stop", param: "" } };
  if (action === "speed") return { print: { ...seq, command: "print_speed", param: String(level) } };
  if (action === "light_on") return light("on");
  if (action === "light_off") return light("off");
  return null;
}

/** The state that shows an action took effect. */
function confirmed(action: Action, s: PrinterState, level?: number): boolean {
  if (action === "pause") return s.gcode_state === "PAUSE";
  if (action === "resume") return s.gcode_state === "RUNNING";
  if (action === "stop") return !ACTIVE_STATES.includes(s.gcode_state ?? "");
  if (action === "light_on") return s.light === "on";
  if (action === "light_off") return s.light === "off";
  if (action === "speed") return s.speed_level === level;
  return false;
}

/** Why an action does not fit the printer's state now, or null when it does (or the state is unknown). */
function misfit(action: Action, s: PrinterState): string | null {
  const g = s.gcode_state;
  if (!g) return null;
  if (action === "pause" && g !== "RUNNING" && g !== "PREPARE") return `nothing to pause: the printer is ${g}`;
  if (action === "resume" && g !== "PAUSE") return `nothing to resume: the printer is ${g}`;
  if (action === "stop" && !ACTIVE_STATES.includes(g)) return `nothing to stop: the printer is ${g}`;
  return null;
}

const authControlText =
  "the printer ignored the command: Authorization Control is on. On the printer, enable LAN-only mode and " +
  "Developer Mode (Settings → Network), then enter the new access code here; status keeps working without it.";

export function createPrinterControl(deps: {
  store: Store;
  events: EventBus;
  log: Logger;
  printers: PrinterService;
  /** The LAN link: publish a command (false when the link is down) and whether it is up. */
  lan: { send: (printerId: number, command: object) => boolean; connected: (printerId: number) => boolean };
  /** The camera Pi: ask it (printerAction) and get its answer, or null when none is there or it is silent. */
  devices: {
    count: (printerId: number) => number;
    ask: (printerId: number, action: Action) => Promise<boolean | null>;
  };
}) {
  const { printers, events } = deps;

  /** Resolves with the confirming state, "auth" when Authorization Control dropped it, or null on time-out. */
  function awaitState(printerId: number, action: Action, level?: number): Promise<PrinterState | "auth" | null> {
    return new Promise((resolve) => {
      const check = (s: PrinterState, fresh: boolean) => {
        if (confirmed(action, s, level)) return finish(s);
        if (fresh && s.hms.some((h) => h.code === AUTH_CONTROL_HMS)) return finish("auth");
      };
      const listener = ({ printerId: id, state }: { printerId: number; state: PrinterState }) => {
        if (id === printerId) check(state, true);
      };
      const timer = setTimeout(() => {
        const now = printers.get(printerId)?.state;
        finish(now?.hms.some((h) => h.code === AUTH_CONTROL_HMS) ? "auth" : null);
      }, CONFIRM_WITHIN_MS);
      let done = false;
      function finish(v: PrinterState | "auth" | null) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        events.off("printerState", listener);
        resolve(v);
      }
      events.on("printerState", listener);
    });
  }

  function audit(printerId: number, user: string, action: Action, via: string, r: ActionResult) {
    const result = r.status === 200 ? "ok" : String(r.status);
    const detail = typeof r.body.error === "string" ? r.body.error : "";
    deps.store.printerActions.record({
      printer_id: printerId,
      at: Date.now(),
      username: user,
      action,
      via,
      result,
      detail,
    });
    deps.log.info("printer action", { printer: printerId, user, action, via, result });
    return r;
  }

  return {
    async act(printerId: number, action: Action, user: string, level?: number): Promise<ActionResult> {
      const p = printers.get(printerId);
      if (!p) return { status: 404, body: { error: "no such printer" } };
      if (action === "speed" && !(Number.isInteger(level) && level! >= 1 && level! <= 4))
        return { status: 400, body: { error: "speed needs level 1 (silent) to 4 (ludicrous)" } };
      const wrong = misfit(action, p.state);
      if (wrong) return audit(printerId, user, action, "-", { status: 409, body: { error: wrong } });
      const command = lanCommand(action, level);
      if (command && deps.lan.connected(printerId)) {
        const waiting = awaitState(printerId, action, level);
        if (!deps.lan.send(printerId, command))
          return audit(printerId, user, action, "lan", { status: 503, body: { error: "the LAN link just dropped" } });
        const outcome = await waiting;
        if (outcome === "auth")
          return audit(printerId, user, action, "lan", {
            status: 403,
            body: { error: authControlText, hms: AUTH_CONTROL_HMS },
          });
        if (!outcome)
          return audit(printerId, user, action, "lan", {
            status: 504,
            body: { error: `the printer did not confirm ${action} within ${CONFIRM_WITHIN_MS / 1000} s` },
          });
        return audit(printerId, user, action, "lan", { status: 200, body: { ok: true, state: outcome } });
      }
      // Without a LAN link (or for the timelapse, which only the camera Pi runs): through the device.
      if (action.startsWith("light") || action === "speed")
        return audit(printerId, user, action, "-", {
          status: 503,
          body: { error: "this needs the printer's LAN connection, which is not up" },
        });
      if (!deps.devices.count(printerId))
        return audit(printerId, user, action, "-", {
          status: 503,
          body: { error: "no LAN connection and no camera Pi connected for this printer" },
        });
      const answer = await deps.devices.ask(printerId, action);
      if (answer === null)
        return audit(printerId, user, action, "device", {
          status: 504,
          body: { error: `the camera Pi did not answer within ${CONFIRM_WITHIN_MS / 1000} s` },
        });
      if (!answer)
        return audit(printerId, user, action, "device", {
          status: 502,
          body: { error: "the camera Pi answered that it could not do it" },
        });
      return audit(printerId, user, action, "device", {
        status: 200,
        body: { ok: true, state: printers.get(printerId)?.state },
      });
    },
    recent: (limit = 50) => deps.store.printerActions.recent(limit),
  };
}

export type PrinterControl = ReturnType<typeof createPrinterControl>;
