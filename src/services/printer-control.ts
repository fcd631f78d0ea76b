// Owns control of a printer: which actions fit its state, which source carries them (the LAN link, or the
// camera Pi's printerAction when there is no link), waiting for the state that confirms them, and the audit.
import type { EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import { ACTIVE_STATES, type PrinterState } from "../printer-state.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { Role } from "../store/users.ts";
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
/** What an operator may do to a running print; the light, speed and the Pi's timelapse stay with admins. */
export const OPERATOR_ACTIONS: readonly Action[] = ["pause", "resume", "stop"];
/** The least role that may ask for an action. */
export const roleFor = (action: Action): Role => (OPERATOR_ACTIONS.includes(action) ? "operator" : "admin");

/** Why an action was not done; the edge words it for the user and picks the HTTP status. */
export type ActionRefusal =
  | "no_printer"
  | "bad_level"
  /** pause or stop while nothing prints */
  | "not_printing"
  /** resume while not paused */
  | "not_paused"
  /** the LAN link dropped as the command went out */
  | "link_dropped"
  /** Authorization Control dropped the command (Developer Mode is off) */
  | "authorization_control"
  /** no state confirmed the command within CONFIRM_WITHIN_MS */
  | "unconfirmed"
  /** light and speed need the LAN link, which is down */
  | "needs_lan"
  /** no LAN link and no camera Pi */
  | "offline"
  /** the camera Pi did not answer within CONFIRM_WITHIN_MS */
  | "device_silent"
  /** the camera Pi answered that it could not do it */
  | "device_refused"
  /** the instance that holds the printer's link or camera Pi did not answer in time (several instances) */
  | "instance_silent";

/** How an action ended: done (with the state that shows it), or refused with a reason. */
export type ActionResult =
  | { ok: true; via: "lan" | "device"; state: PrinterState | undefined }
  | { ok: false; reason: ActionRefusal; via: "lan" | "device" | "-"; gcodeState?: string; hms?: string };
export type ActionRefused = Extract<ActionResult, { ok: false }>;

/** Raised by recent firmware when Authorization Control drops a command (Developer Mode is off). */
export const AUTH_CONTROL_HMS = "0500_0500_0001_0007";
export const CONFIRM_WITHIN_MS = 10_000;

const seq = { sequence_id: "0" };
const light = (mode: "on" | "off") => ({
  system: { ...seq, command: "ledctrl", led_node: "chamber_light", led_mode: mode, led_on_time: 500 },
});
/** The Bambu LAN command for an action (PRINTERS.md §4). */
export function lanCommand(action: Action, level?: number): object | null {
  if (action === "pause" || action === "resume") return { print: { ...seq, command: action } };
  if (action === "stop") return { print: { ...seq, command: "stop", param: "" } };
  if (action === "speed") return { print: { ...seq, command: "print_speed", param: String(level) } };
  if (action === "light_on") return light("on");
  if (action === "light_off") return light("off");
  return null;
}

/** The state that shows an action took effect. */
export function confirmed(action: Action, s: PrinterState, level?: number): boolean {
  if (action === "pause") return s.gcode_state === "PAUSE";
  if (action === "resume") return s.gcode_state === "RUNNING";
  if (action === "stop") return s.gcode_state !== null && !ACTIVE_STATES.includes(s.gcode_state);
  if (action === "light_on") return s.light === "on";
  if (action === "light_off") return s.light === "off";
  if (action === "speed") return s.speed_level === level;
  return false;
}

/** Why an action does not fit the printer's state now, or null when it does (or the state is unknown). */
export function misfit(action: Action, s: PrinterState): "not_printing" | "not_paused" | null {
  const g = s.gcode_state;
  if (!g) return null;
  if (action === "pause" && g !== "RUNNING" && g !== "PREPARE") return "not_printing";
  if (action === "resume" && g !== "PAUSE") return "not_paused";
  if (action === "stop" && !ACTIVE_STATES.includes(g)) return "not_printing";
  return null;
}

export function createPrinterControl(deps: {
  store: AsyncStore;
  events: EventBus;
  log: Logger;
  printers: PrinterService;
  /** The LAN link: publish a command (false when the link is down) and whether it is up. */
  lan: { send: (printerId: number, command: object) => boolean; connected: (printerId: number) => boolean };
  /** The camera Pi: ask it (printerAction) and get its answer, or null when none is there or it is silent. */
  devices: {
    count: (printerId: number) => number;
    ask: (printerId: number, action: Action, withinMs: number) => Promise<boolean | null>;
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
      // Remote too: the printer's state may reach this instance through another one.
      events.on("printerState", listener, { remote: true });
    });
  }

  /**
   * Records the attempt: result "ok" or the reason code; detail the printer state or HMS code behind it. Stamped
   * when it was asked for, so a print's timeline shows the action before the state change it caused.
   */
  async function audit(
    printerId: number,
    user: string,
    action: Action,
    r: ActionResult,
    asked: number,
  ): Promise<ActionResult> {
    const result = r.ok ? "ok" : r.reason;
    const detail = r.ok ? "" : (r.hms ?? r.gcodeState ?? "");
    await deps.store.printerActions.record({
      printer_id: printerId,
      at: asked,
      username: user,
      action,
      via: r.via,
      result,
      detail,
    });
    deps.log.info("printer action", { printer: printerId, user, action, via: r.via, result });
    return r;
  }
  const refuse = (reason: ActionRefusal, via: ActionRefused["via"] = "-"): ActionRefused => ({
    ok: false,
    reason,
    via,
  });

  return {
    async act(printerId: number, action: Action, user: string, level?: number): Promise<ActionResult> {
      const asked = Date.now();
      const done = (r: ActionResult) => audit(printerId, user, action, r, asked);
      const p = printers.get(printerId);
      if (!p) return refuse("no_printer");
      if (action === "speed" && !(Number.isInteger(level) && level! >= 1 && level! <= 4)) return refuse("bad_level");
      const wrong = misfit(action, p.state);
      if (wrong) return done({ ...refuse(wrong), gcodeState: p.state.gcode_state ?? "" });
      const command = lanCommand(action, level);
      // The printer says it obeys only signed commands (`fun` bit 0x20000000): sending would be dropped silently.
      if (command && deps.lan.connected(printerId) && p.state.signing_required === true)
        return done(refuse("authorization_control", "lan"));
      if (command && deps.lan.connected(printerId)) {
        const waiting = awaitState(printerId, action, level);
        if (!deps.lan.send(printerId, command)) return done(refuse("link_dropped", "lan"));
        const outcome = await waiting;
        if (outcome === "auth") return done({ ...refuse("authorization_control", "lan"), hms: AUTH_CONTROL_HMS });
        if (!outcome) return done(refuse("unconfirmed", "lan"));
        return done({ ok: true, via: "lan", state: outcome });
      }
      // Without a LAN link (or for the timelapse, which only the camera Pi runs): through the device.
      if (action.startsWith("light") || action === "speed") return done(refuse("needs_lan"));
      if (!deps.devices.count(printerId)) return done(refuse("offline"));
      const answer = await deps.devices.ask(printerId, action, CONFIRM_WITHIN_MS);
      if (answer === null) return done(refuse("device_silent", "device"));
      if (!answer) return done(refuse("device_refused", "device"));
      return done({ ok: true, via: "device", state: printers.get(printerId)?.state });
    },
    recent: (limit = 50) => deps.store.printerActions.recent(limit),
    /** Audits and returns a refusal decided outside this service (another instance did not answer). */
    refuse: (printerId: number, user: string, action: Action, reason: ActionRefusal) =>
      audit(printerId, user, action, refuse(reason), Date.now()),
  };
}

export type PrinterControl = ReturnType<typeof createPrinterControl>;
