/** @jsxImportSource @kitajs/html */
// Owns how a printer's state reads: the state panel of its page and the card on the overview. The same
// components render the page and the live updates (printer_state, printer_card); the controls are in controls.tsx.
import { effectiveModel } from "../src/bambu-models.ts";
import type { Dictionary } from "../src/i18n.ts";
import { CANCELLED_ERROR, hmsWikiUrl, type PrinterState, printErrorCode } from "../src/printer-state.ts";
import type { HeldPrinter } from "../src/services/printers.ts";
import type { FrameMeta, ReadingRow, StatusRow } from "../src/store/store.ts";
import { AmsPanel, AmsStrip } from "./ams.tsx";
import { CameraNotice } from "./camera.tsx";
import type { ViewContext } from "./context.ts";
import { cardPlateId } from "./overview.tsx";
import { Stamp } from "./tiles.tsx";

export type PrinterLatest = { reading?: ReadingRow | null; status?: StatusRow | null; frame?: FrameMeta | null };
type Kind = "idle" | "printing" | "paused" | "finished" | "failed" | "cancelled" | "unknown";

const KINDS: Record<string, Kind> = {
  IDLE: "idle",
  PREPARE: "printing",
  RUNNING: "printing",
  SLICING: "printing",
  PAUSE: "paused",
  FINISH: "finished",
  FAILED: "failed",
};

export function stateKind(s: PrinterState): Kind {
  if (s.gcode_state === "FAILED" && s.error?.code === CANCELLED_ERROR) return "cancelled";
  return (s.gcode_state && KINDS[s.gcode_state]) || "unknown";
}

export function stateLabel(t: Dictionary, s: PrinterState, status?: StatusRow | null): string {
  if (s.gcode_state === "FAILED" && s.error?.code === CANCELLED_ERROR) return t.state_CANCELLED;
  if (s.gcode_state) return (t as Record<string, string>)[`state_${s.gcode_state}`] ?? s.gcode_state;
  return status?.status ?? t.noPrinterState;
}

export function duration(min: number, t: Dictionary): string {
  const m = Math.max(0, Math.round(min));
  return m >= 60 ? `${Math.floor(m / 60)} ${t.unitH} ${m % 60} ${t.unitMin}` : `${m} ${t.unitMin}`;
}

const clocks = new Map<string, Intl.DateTimeFormat>();
function clock(ms: number, ctx: ViewContext): string {
  const key = `${ctx.locale}|${ctx.zone}`;
  let f = clocks.get(key);
  if (!f) {
    const locale = ctx.locale === "fi" ? "fi-FI" : "en-GB";
    f = new Intl.DateTimeFormat(locale, { timeZone: ctx.zone, hour: "2-digit", minute: "2-digit" });
    clocks.set(key, f);
  }
  return f.format(ms);
}

const temp = (v: number | null, target: number | null) =>
  v === null ? "–" : `${Math.round(v)}${target ? ` / ${Math.round(target)}` : ""} °C`;

/** Progress bar, percent and layers: the heart of both the panel and the card. */
export function Progress(props: { s: PrinterState; ctx: ViewContext }) {
  const { s, ctx } = props;
  const { t } = ctx;
  const kind = stateKind(s);
  if (kind !== "printing" && kind !== "paused") return "";
  const percent = s.percent ?? 0;
  return (
    <div class="progress-row">
      <progress max="100" value={String(percent)} aria-label={t.progress}></progress>
      <span class="percent">{Math.round(percent)} %</span>
      {s.layer !== null && s.total_layers ? (
        <span class="layers">
          {t.layer} {s.layer}/{s.total_layers}
        </span>
      ) : (
        ""
      )}
      {s.remaining_min ? (
        <span class="remaining">
          {duration(s.remaining_min, t)}
          {s.eta && kind === "printing" ? ` · ${t.finishesAt.replace("{time}", clock(s.eta, ctx))}` : ""}
        </span>
      ) : (
        ""
      )}
    </div>
  );
}

function ErrorLine(props: { s: PrinterState; ctx: ViewContext; model: string }) {
  const { s, ctx } = props;
  if (!s.error && !s.hms.length) return "";
  return (
    <div class="printer-errors" role="alert">
      {s.error ? (
        <p class="printer-error" safe>
          {`${ctx.t.printError} ${printErrorCode(s.error.code)}: ${
            s.error.code === CANCELLED_ERROR ? ctx.t.printErrorCancelled : ctx.t.printErrorSeeScreen
          }`}
        </p>
      ) : (
        ""
      )}
      {s.hms.length ? (
        <ul class="hms">
          {s.hms.map((h) => (
            <li class={`hms-${h.severity}`}>
              <a href={hmsWikiUrl(h.code, props.model)} rel="noopener noreferrer" target="_blank">
                HMS {h.code}
              </a>{" "}
              <span class="muted">({h.severity})</span>
            </li>
          ))}
        </ul>
      ) : (
        ""
      )}
    </div>
  );
}

const dict = (t: Dictionary) => t as Record<string, string>;

/** The stage in words (stg_cur), while a print is under way; null when there is none to tell. */
export function stageText(t: Dictionary, s: PrinterState): string | null {
  if (s.stage === null || !["printing", "paused"].includes(stateKind(s))) return null;
  return dict(t)[`stage_${s.stage}`] ?? t.stageOther.replace("{n}", String(s.stage));
}

const nozzleKind = (t: Dictionary, type: string | null, diameter: number | null) =>
  [diameter ? `${diameter} mm` : "", type ? (dict(t)[`nozzle_${type}`] ?? type.replaceAll("_", " ")) : ""]
    .filter(Boolean)
    .join(" ") || null;

function fansText(t: Dictionary, f: PrinterState["fans"]): string | null {
  if (!f) return null;
  const parts = (["part", "aux", "chamber", "heatbreak"] as const)
    .filter((k) => f[k] !== null)
    .map((k) => `${dict(t)[`fan_${k}`]} ${f[k]} %`);
  return parts.length ? parts.join(" · ") : null;
}

/** Dual-nozzle printers (H2D): each nozzle with its temperature and kind; the active one marked. */
function Extruders(props: { s: PrinterState; ctx: ViewContext }) {
  const { t } = props.ctx;
  if (props.s.extruders.length < 2) return "";
  return (
    <ul class="extruders" aria-label={t.nozzle}>
      {props.s.extruders.map((e) => (
        <li class={e.active ? "active" : ""} data-extruder={e.id}>
          <span class="extruder-name">
            {e.id === 0 ? t.extruderRight : t.extruderLeft}
            {e.active ? ` (${t.extruderActive})` : ""}
          </span>
          : {temp(e.temp, e.target)}
          {(() => {
            const kind = nozzleKind(t, e.nozzle_type, e.nozzle_diameter);
            return kind ? <span class="muted" safe>{` · ${kind}`}</span> : "";
          })()}
        </li>
      ))}
    </ul>
  );
}

/** The printer page's state panel; it carries what the controls allow now (data-controls) to the live script. */
export function StatePanel(props: {
  printer: HeldPrinter;
  status?: StatusRow | null;
  ctx: ViewContext;
  controls: unknown;
}) {
  const { ctx, status } = props;
  const { t } = ctx;
  const s = props.printer.state;
  const speed = s.speed_level ? (t as Record<string, string>)[`speed_${s.speed_level}`] : null;
  const info = props.printer.info;
  const model = effectiveModel(s.model, info.serial, info.model);
  const firmware = s.firmware.find((f) => f.module === "ota") ?? s.firmware[0];
  const dual = s.extruders.length > 1;
  const facts: [string, string | null][] = [
    [t.stage, stageText(t, s)],
    [t.nozzle, s.nozzle_temp === null || dual ? null : temp(s.nozzle_temp, s.nozzle_target)],
    [t.nozzleKind, dual ? null : nozzleKind(t, s.nozzle_type, s.nozzle_diameter)],
    [t.bed, s.bed_temp === null ? null : temp(s.bed_temp, s.bed_target)],
    [t.chamber, s.chamber_temp === null ? null : temp(s.chamber_temp, null)],
    [t.speed, speed ?? null],
    [t.fans, fansText(t, s.fans)],
    [t.file, s.file],
    [t.model, `${model.model} (${dict(t)[`modelFrom_${model.source}`]})`],
    [t.firmware, firmware?.version ?? null],
    [t.wifi, s.wifi_dbm === null ? null : `${s.wifi_dbm} dBm`],
    [t.sdCard, s.sd_card === null ? null : s.sd_card ? t.sdCardIn : t.sdCardOut],
  ];
  return (
    <section
      class={`tile printer-panel state-${stateKind(s)}`}
      id="printer-panel"
      aria-labelledby="h-printer"
      data-updated-at={s.updated_at || ""}
      data-controls={JSON.stringify(props.controls)}
    >
      <h2 id="h-printer">{t.printerState}</h2>
      <p class="state-badge" safe>
        {stateLabel(t, s, status)}
      </p>
      {s.signing_required ? (
        <p class="badge lockdown" title={t.lockdownOn}>
          {t.lockdown}
        </p>
      ) : (
        ""
      )}
      <Progress s={s} ctx={ctx} />
      <Extruders s={s} ctx={ctx} />
      <dl class="facts">
        {facts.map(([label, value]) =>
          value === null ? (
            ""
          ) : (
            <div>
              <dt>{label}</dt>
              <dd safe>{value}</dd>
            </div>
          ),
        )}
      </dl>
      {s.timelapse ? <p class="muted">{t.timelapseOn}</p> : ""}
      <ErrorLine s={s} ctx={ctx} model={model.model} />
      <AmsPanel ams={s.ams} ctx={ctx} />
      <CameraNotice printer={props.printer} ctx={ctx} />
    </section>
  );
}

/** The text part of an overview card: what a printer_card update replaces. */
export function CardInfo(props: { printer: HeldPrinter; latest: PrinterLatest; ctx: ViewContext; interval: number }) {
  const { printer, latest, ctx } = props;
  const { t } = ctx;
  const s = printer.state;
  const id = printer.info.id;
  const seen = Math.max(latest.reading?.recorded_at ?? 0, latest.status?.last_seen_at ?? 0, s.updated_at);
  return (
    <div class="card-info" id={`card-${id}-info`} data-recorded-at={seen || ""} data-interval={props.interval}>
      <h2>
        <a href={`/printers/${id}`} safe>
          {printer.info.name}
        </a>
      </h2>
      <p class={`state-badge state-${stateKind(s)}`} safe>
        {stateLabel(t, s, latest.status)}
      </p>
      {s.signing_required ? (
        <p class="badge lockdown" title={t.lockdownOn}>
          {t.lockdown}
        </p>
      ) : (
        ""
      )}
      <Progress s={s} ctx={ctx} />
      <ErrorLine s={s} ctx={ctx} model={effectiveModel(s.model, printer.info.serial, printer.info.model).model} />
      <AmsStrip ams={s.ams} ctx={ctx} />
      <p class="card-room">
        {latest.reading
          ? `${latest.reading.temperature.toFixed(1)} °C · ${latest.reading.humidity.toFixed(0)} %`
          : `${t.room}: –`}
      </p>
      <Stamp at={seen || undefined} ctx={ctx} />
    </div>
  );
}

export function PrinterCard(props: {
  printer: HeldPrinter;
  latest: PrinterLatest;
  ctx: ViewContext;
  interval: number;
}) {
  const { printer, latest, ctx } = props;
  const id = printer.info.id;
  const frame = latest.frame;
  return (
    <article class={`printer-card state-${stateKind(printer.state)}`} id={`card-${id}`} data-printer-id={id}>
      <a
        class="card-img"
        href={`/printers/${id}`}
        aria-label={`${ctx.t.openPrinter.replace("{name}", printer.info.name)}${frame ? "" : `: ${ctx.t.noImage}`}`}
        data-frame-id={frame?.id ?? ""}
      >
        {frame ? (
          <img src={`/frames/${frame.id}.jpg`} alt="" loading="lazy" />
        ) : (
          <span class="placeholder">{ctx.t.noImage}</span>
        )}
      </a>
      <CardInfo printer={printer} latest={latest} ctx={ctx} interval={props.interval} />
      <div class="card-plate" id={cardPlateId(id)}></div>
    </article>
  );
}
