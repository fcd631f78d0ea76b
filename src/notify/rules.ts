// Owns when to notify: once per real change. Jobs starting and ending, a pause, each HMS code once per print,
// a printer's LAN link lost past a grace period (then back), a camera Pi gone quiet (then back), and room
// readings crossing the printer's limits, with hysteresis so a value hovering at the limit stays quiet; a tray
// running out during a print (once per tray per print), and Authorization Control switched on or off.
import { activeTray } from "../bambu-ams.ts";
import type { EventBus } from "../events.ts";
import { ACTIVE_STATES } from "../printer-state.ts";
import type { JobRow } from "../store/store.ts";
import type { Message } from "./senders.ts";
import type { NotifyEvent } from "./targets.ts";

export type Limits = {
  temp_high: number | null;
  temp_low: number | null;
  hum_high: number | null;
  hum_low: number | null;
};
/** A printer as the rules see it: its name, whether it has a LAN address, and that link's health. */
export type RulePrinter = {
  info: { id: number; name: string; host: string };
  lan: { state: string; last_error: string | null };
};
/** What the rules ask of the printers (the printer service answers it). */
export type RulePrinters<P extends RulePrinter> = {
  get(printerId: number): P | undefined;
  list(): P[];
  /** Whether the printer's camera Pis are sending: never have, are, or have gone quiet. */
  deviceSource(p: P, now: number): "never" | "online" | "stale";
};
export type RuleTimings = { offlineGraceMs: number; checkMs: number };
export const DEFAULT_RULE_TIMINGS: RuleTimings = { offlineGraceMs: 120_000, checkMs: 5_000 };
/** How far back inside a limit a reading must come before the limit can fire again. */
const HYSTERESIS = { temp: 1, hum: 3 };

const TEXT: Record<NotifyEvent, { title: string; priority: number; tags: string[] }> = {
  print_started: { title: "print started", priority: 2, tags: ["printer"] },
  print_finished: { title: "print finished", priority: 4, tags: ["white_check_mark"] },
  print_failed: { title: "print failed", priority: 5, tags: ["x"] },
  print_cancelled: { title: "print cancelled", priority: 3, tags: ["no_entry_sign"] },
  print_paused: { title: "print paused", priority: 4, tags: ["pause_button"] },
  hms_error: { title: "printer message", priority: 4, tags: ["warning"] },
  printer_offline: { title: "printer offline", priority: 4, tags: ["electric_plug"] },
  printer_online: { title: "printer back online", priority: 2, tags: ["electric_plug"] },
  camera_stale: { title: "camera Pi silent", priority: 4, tags: ["camera"] },
  camera_ok: { title: "camera Pi back", priority: 2, tags: ["camera"] },
  reading_high: { title: "room reading too high", priority: 4, tags: ["thermometer"] },
  reading_low: { title: "room reading too low", priority: 4, tags: ["thermometer"] },
  filament_runout: { title: "filament ran out", priority: 5, tags: ["warning"] },
  authorization_control: { title: "Authorization Control changed", priority: 4, tags: ["lock"] },
  plate_waiting: { title: "clear the plate for the next queued print", priority: 4, tags: ["broom"] },
};
/** stg_cur while the printer waits for filament it ran out of. */
const STAGE_RUNOUT = 6;

export function createNotifyRules<P extends RulePrinter>(deps: {
  events: EventBus;
  printers: RulePrinters<P>;
  raise: (m: Message) => void;
  latestFrame: (printerId: number) => number | null;
  currentJob: (printerId: number) => JobRow | null;
  limits: (printerId: number) => Limits;
  /** The room is in a band where this printer's prints failed markedly more often: that, in words (else null). */
  roomWarning?: (printerId: number) => string | null;
  publicUrl: string;
  timings?: Partial<RuleTimings>;
}) {
  const { events, printers } = deps;
  const timings = { ...DEFAULT_RULE_TIMINGS, ...deps.timings };
  const hmsSeen = new Map<number, Set<string>>();
  const lanDownSince = new Map<number, number>();
  const lanAnnounced = new Set<number>();
  const cameraAnnounced = new Set<number>();
  const beyond = new Map<string, boolean>();
  /** Trays already announced as run out during each printer's current print. */
  const ranOut = new Map<number, Set<number | "stage">>();
  /** Each printer's Authorization Control as last seen (undefined: not yet reported). */
  const signing = new Map<number, boolean>();

  function raise(
    event: NotifyEvent,
    printerId: number,
    body: string,
    job?: JobRow | null,
    picture = true,
    where?: string,
  ) {
    const p = printers.get(printerId);
    if (!p) return;
    const j = job ?? deps.currentJob(printerId);
    const path = where ?? (j ? `/jobs/${j.id}` : `/printers/${printerId}`);
    const text = TEXT[event];
    deps.raise({
      event,
      title: `${p.info.name}: ${text.title}`,
      body,
      priority: text.priority,
      tags: text.tags,
      printer: { id: printerId, name: p.info.name },
      job: j ? { id: j.id, name: j.name, outcome: j.outcome } : null,
      link: deps.publicUrl ? `${deps.publicUrl.replace(/\/$/, "")}${path}` : path,
      frameId: picture ? deps.latestFrame(printerId) : null,
      at: Date.now(),
    });
  }

  events.on("job", ({ kind, job }) => {
    if (kind === "started") {
      hmsSeen.set(job.printer_id, new Set());
      ranOut.delete(job.printer_id);
    }
    const event = `print_${kind}` as NotifyEvent;
    const layers = job.total_layers ? ` (layer ${job.layer ?? 0}/${job.total_layers})` : "";
    const warning = kind === "started" ? deps.roomWarning?.(job.printer_id) : null;
    raise(event, job.printer_id, `${job.name}${layers}${warning ? `\n${warning}` : ""}`, job);
  });

  // First: a report that fails a print with an HMS code tells of the code before the job service, hearing the
  // same report, closes the job and announces the failure; the code's message still links to the open job.
  events.first("printerState", ({ printerId, state, changed }) => {
    if (changed.gcode_state === "PAUSE") raise("print_paused", printerId, state.file ?? "");
    if (!changed.hms) return;
    const seen = hmsSeen.get(printerId) ?? new Set<string>();
    hmsSeen.set(printerId, seen);
    for (const h of state.hms) {
      if (seen.has(h.code)) continue;
      seen.add(h.code);
      raise("hms_error", printerId, `HMS ${h.code} (${h.severity})`);
    }
  });

  // A tray running out while a print is under way: the tray printing now reaching 0 %, or the printer pausing for
  // filament (stage 6, also for spools without RFID, whose remain is unknown). Once per tray per print.
  events.on("printerState", ({ printerId, state, changed, source }) => {
    if (changed.signing_required !== undefined && changed.signing_required !== null && source === "lan") {
      const before = signing.get(printerId);
      signing.set(printerId, changed.signing_required);
      // The first report only tells the state as it is; a change after that is news.
      if (before !== undefined)
        raise(
          "authorization_control",
          printerId,
          changed.signing_required
            ? "Authorization Control is on: the printer ignores layerwatch's commands until Developer Mode is on"
            : "Developer Mode is on: layerwatch's commands work again",
          null,
          false,
        );
    }
    if (!ACTIVE_STATES.includes(state.gcode_state ?? "")) return;
    const tray = activeTray(state.ams);
    const seen = ranOut.get(printerId) ?? new Set<number | "stage">();
    ranOut.set(printerId, seen);
    const what = tray?.type ? `${tray.type}${tray.color ? ` #${tray.color}` : ""} (tray ${tray.id})` : "";
    if (changed.ams !== undefined && tray && tray.remain === 0 && !seen.has(tray.id)) {
      seen.add(tray.id);
      seen.add("stage");
      raise("filament_runout", printerId, `${what} is empty`);
    } else if (changed.stage === STAGE_RUNOUT && !seen.has("stage")) {
      seen.add("stage");
      raise("filament_runout", printerId, what ? `${what}: the printer paused for filament` : "paused for filament");
    }
  });

  events.on("reading", (r) => {
    const limits = deps.limits(r.printer_id);
    const check = (kind: "temp" | "hum", value: number, unit: string) => {
      for (const side of ["high", "low"] as const) {
        const limit = limits[`${kind}_${side}`];
        const key = `${r.printer_id}|${kind}|${side}`;
        if (limit === null) {
          beyond.delete(key);
          continue;
        }
        const out = side === "high" ? value > limit : value < limit;
        const back = side === "high" ? value <= limit - HYSTERESIS[kind] : value >= limit + HYSTERESIS[kind];
        if (out && !beyond.get(key)) {
          beyond.set(key, true);
          raise(`reading_${side}`, r.printer_id, `${value} ${unit} (limit ${limit} ${unit})`);
        } else if (back) beyond.set(key, false);
      }
    };
    check("temp", r.temperature, "°C");
    check("hum", r.humidity, "%");
  });

  // The queue page has the button that lets the printer's next item start.
  events.on("plateWaiting", ({ printerId }) =>
    raise(
      "plate_waiting",
      printerId,
      "the next queued print starts once the plate is confirmed clear",
      null,
      true,
      "/queue",
    ),
  );

  // Links and cameras are looked at on a timer: a flapping link inside the grace period says nothing.
  const timer = setInterval(() => {
    const now = Date.now();
    for (const p of printers.list()) {
      const id = p.info.id;
      if (p.info.host) {
        if (p.lan.state === "connected") {
          lanDownSince.delete(id);
          if (lanAnnounced.delete(id)) raise("printer_online", id, "the LAN connection is back", null, false);
        } else if (p.lan.state !== "off") {
          const since = lanDownSince.get(id) ?? now;
          lanDownSince.set(id, since);
          if (!lanAnnounced.has(id) && now - since >= timings.offlineGraceMs) {
            lanAnnounced.add(id);
            raise("printer_offline", id, p.lan.last_error ?? p.lan.state, null, false);
          }
        }
      }
      const device = printers.deviceSource(p, now);
      if (device === "stale" && !cameraAnnounced.has(id)) {
        cameraAnnounced.add(id);
        raise("camera_stale", id, "nothing from the camera Pi for a while", null, true);
      } else if (device === "online" && cameraAnnounced.delete(id))
        raise("camera_ok", id, "the camera Pi is sending again", null, true);
    }
  }, timings.checkMs);
  timer.unref?.();

  return { stop: () => clearInterval(timer) };
}
