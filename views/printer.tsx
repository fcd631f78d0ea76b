/** @jsxImportSource @kitajs/html */
// Owns how a printer's state reads: the state panel of its page and the card on the overview. The same
// components render the page and the live updates (printer_state, printer_card); the controls are in controls.tsx.
import type { Dictionary } from "../src/i18n.ts";
import { CANCELLED_ERROR, hmsWikiUrl, type PrinterState, printErrorCode } from "../src/printer-state.ts";
import type { HeldPrinter } from "../src/services/printers.ts";
import type { FrameMeta, ReadingRow, StatusRow } from "../src/store/store.ts";
import { CameraNotice } from "./camera.tsx";
import type { ViewContext } from "./context.ts";
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
function Progress(props: { s: PrinterState; ctx: ViewContext }) {
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

function ErrorLine(props: { s: PrinterState; ctx: ViewContext }) {
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
              <a href={hmsWikiUrl(h.code)} rel="noopener noreferrer" target="_blank">
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
  const facts: [string, string | null][] = [
    [t.nozzle, s.nozzle_temp === null ? null : temp(s.nozzle_temp, s.nozzle_target)],
    [t.bed, s.bed_temp === null ? null : temp(s.bed_temp, s.bed_target)],
    [t.speed, speed ?? null],
    [t.file, s.file],
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
      <Progress s={s} ctx={ctx} />
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
      <ErrorLine s={s} ctx={ctx} />
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
      <Progress s={s} ctx={ctx} />
      <ErrorLine s={s} ctx={ctx} />
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
    </article>
  );
}
