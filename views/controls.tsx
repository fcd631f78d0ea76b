/** @jsxImportSource @kitajs/html */
// Owns the printer page's controls: what can be done now (from the state, the LAN link, Authorization Control
// and the camera Pi), and the admin's buttons showing it. The state panel carries the same view for live updates.
import type { Dictionary } from "../src/i18n.ts";
import { ACTIVE_STATES } from "../src/printer-state.ts";
import { AUTH_CONTROL_HMS } from "../src/services/printer-control.ts";
import type { HeldPrinter } from "../src/services/printers.ts";
import { roleAtLeast } from "../src/services/users.ts";
import type { ViewContext } from "./context.ts";
import { stateLabel } from "./printer.tsx";

export type ControlName = "pause" | "resume" | "stop" | "light" | "speed" | "timelapse";
export type NoteGroup = "print" | "light" | "speed" | "timelapse";
/** What the controls show and allow now; the live script applies it (static/dashboard.js, applyControls). */
export type ControlView = {
  /** Why every printer control is off (offline, Authorization Control), or "". */
  reason: string;
  /** Pause or Resume: only the one that fits the state is shown (both when the state is unknown). */
  show: { pause: boolean; resume: boolean };
  enabled: Record<ControlName, boolean>;
  /** Why one group is off while others work (e.g. the light needs the LAN link), or "". */
  notes: Record<NoteGroup, string>;
  light: "on" | "off" | null;
  speed: number | null;
  timelapse: boolean;
};

function offlineReason(p: HeldPrinter, t: Dictionary): string {
  if (!p.info.host) return t.controlsNoCameraPi;
  if (p.lan.state === "auth_failed") return t.controlsAccessCode;
  if (p.lan.state === "tls_mismatch") return t.controlsCertificate;
  if (p.lan.state === "refused") return t.controlsRefused;
  return t.controlsOffline;
}

export function controlView(p: HeldPrinter, device: boolean, t: Dictionary): ControlView {
  const s = p.state;
  const g = s.gcode_state;
  const lanUp = p.lan.state === "connected";
  // Under Authorization Control the printer drops every LAN command: its `fun` field says so, or else its HMS.
  const signed = lanUp && s.signing_required === true;
  const authControl = signed || (lanUp && s.hms.some((h) => h.code === AUTH_CONTROL_HMS));
  const lanOk = lanUp && !authControl;
  // Pause, resume and stop go over the LAN link, or through the camera Pi when there is no link.
  const printOk = lanOk || (!lanUp && device);
  const offline = !lanUp && !device;
  const reason = offline ? offlineReason(p, t) : signed ? t.controlsLockdown : authControl ? t.controlsAuthControl : "";
  const known = g !== null;
  const active = !known || ACTIVE_STATES.includes(g);
  const running = !known || g === "RUNNING" || g === "PREPARE";
  const state = stateLabel(t, s);
  return {
    reason,
    show: { pause: g !== "PAUSE", resume: !known || g === "PAUSE" },
    enabled: {
      pause: printOk && running,
      resume: printOk && (!known || g === "PAUSE"),
      stop: printOk && active,
      light: lanOk,
      speed: lanOk && active,
      timelapse: device,
    },
    notes: {
      print: reason || !printOk || active ? "" : t.controlsNothingPrinting.replace("{state}", state),
      light: reason || lanOk ? "" : t.controlsNeedLan,
      speed: reason ? "" : !lanOk ? t.controlsNeedLan : active ? "" : t.controlsSpeedWhilePrinting,
      timelapse: device || offline ? "" : t.controlsNeedCameraPi,
    },
    light: s.light,
    speed: s.speed_level,
    timelapse: s.timelapse === true,
  };
}

const SPEEDS = [1, 2, 3, 4] as const;

/** An on/off switch: its state in words beside the track ("–" while unknown); pressing turns it the other way. */
function Switch(props: {
  name: "light" | "timelapse";
  label: string;
  on: boolean | null;
  enabled: boolean;
  attrs: Record<string, string>;
  t: Dictionary;
}) {
  const { t, on } = props;
  return (
    <button
      type="button"
      class="switch"
      role="switch"
      data-control={props.name}
      aria-checked={on ? "true" : "false"}
      aria-label={props.label}
      aria-describedby={`control-reason control-note-${props.name}`}
      disabled={!props.enabled}
      data-on={t.switchOn}
      data-off={t.switchOff}
      {...props.attrs}
    >
      <span class="switch-track" aria-hidden="true"></span>
      <span class="switch-state">{on === null ? "–" : on ? t.switchOn : t.switchOff}</span>
    </button>
  );
}

/** Pause or resume, stop (confirmed with the print's name): operators; light and speed, the Pi's timelapse: admins. */
export function Controls(props: { printer: HeldPrinter; view: ControlView; ctx: ViewContext }) {
  const { printer, view, ctx } = props;
  const { t } = ctx;
  if (!roleAtLeast(ctx.user?.role, "operator")) return "";
  const admin = ctx.user?.role === "admin";
  const id = printer.info.id;
  const post = (action: string, extra: Record<string, unknown> = {}) => ({
    "hx-post": `/printers/${id}/actions`,
    "hx-vals": JSON.stringify({ action, ...extra }),
    "hx-target": "#control-result",
    "hx-swap": "innerHTML",
  });
  const file = printer.state.file ?? printer.info.name;
  const described = (group: NoteGroup) => `control-reason control-note-${group}`;
  const note = (group: NoteGroup) => (
    <p class="control-note" id={`control-note-${group}`} data-note={group} hidden={!view.notes[group]}>
      {view.notes[group]}
    </p>
  );
  return (
    <section class="tile controls" id="printer-controls" aria-labelledby="h-controls">
      <h2 id="h-controls">{t.controls}</h2>
      <p class="control-reason" id="control-reason" data-reason hidden={!view.reason}>
        {view.reason}
      </p>
      <div class="control-groups">
        <fieldset class="control-group">
          <legend>{t.controlPrint}</legend>
          <div class="control-row">
            <button
              type="button"
              data-control="pause"
              hidden={!view.show.pause}
              disabled={!view.enabled.pause}
              aria-describedby={described("print")}
              {...post("pause")}
            >
              {t.pause}
            </button>
            <button
              type="button"
              data-control="resume"
              hidden={!view.show.resume}
              disabled={!view.enabled.resume}
              aria-describedby={described("print")}
              {...post("resume")}
            >
              {t.resume}
            </button>
            <button
              type="button"
              class="danger"
              data-control="stop"
              disabled={!view.enabled.stop}
              aria-describedby={described("print")}
              hx-confirm={t.stopConfirm.replace("{file}", file)}
              {...post("stop")}
            >
              {t.stop}
            </button>
          </div>
          {note("print")}
        </fieldset>
        {/* Light and speed go over the LAN link only: a printer without one (a camera Pi alone) has neither. */}
        {admin && printer.info.host ? (
          <>
            <fieldset class="control-group">
              <legend>{t.chamberLight}</legend>
              <div class="control-row">
                <Switch
                  name="light"
                  label={t.chamberLight}
                  on={view.light === null ? null : view.light === "on"}
                  enabled={view.enabled.light}
                  attrs={post(view.light === "on" ? "light_off" : "light_on")}
                  t={t}
                />
              </div>
              {note("light")}
            </fieldset>
            <fieldset class="control-group">
              <legend>{t.speed}</legend>
              <div class="segmented control-row">
                {SPEEDS.map((level) => (
                  <button
                    type="button"
                    data-control="speed"
                    data-level={level}
                    aria-pressed={view.speed === level ? "true" : "false"}
                    aria-describedby={described("speed")}
                    disabled={!view.enabled.speed}
                    {...post("speed", { level })}
                  >
                    {t[`speed_${level}`]}
                  </button>
                ))}
              </div>
              {note("speed")}
            </fieldset>
          </>
        ) : (
          ""
        )}
        {admin ? (
          <fieldset class="control-group">
            <legend>{t.piTimelapse}</legend>
            <div class="control-row">
              <Switch
                name="timelapse"
                label={t.piTimelapse}
                on={view.timelapse}
                enabled={view.enabled.timelapse}
                attrs={post(view.timelapse ? "timelapse_stop" : "timelapse_start")}
                t={t}
              />
            </div>
            {note("timelapse")}
          </fieldset>
        ) : (
          ""
        )}
      </div>
      <p id="control-result" class="control-result" role="status" aria-live="polite"></p>
    </section>
  );
}
