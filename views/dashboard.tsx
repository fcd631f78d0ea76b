/** @jsxImportSource @kitajs/html */
// Owns the printer dashboard: tiles (rendered alike for page loads and live updates) and the day chart.
import type { FrameMeta, Intervals, ReadingRow, StatusRow } from "../src/store/store.ts";
import { shiftDay } from "../src/time.ts";
import { formatStamp, jsonForHtml, type ViewContext } from "./context.ts";
import { Layout } from "./layout.tsx";

function Stamp(props: { at?: number; ctx: ViewContext }) {
  return props.at ? (
    <p class="stamp"><time datetime={new Date(props.at).toISOString()}>{formatStamp(props.at, props.ctx)}</time> <span class="age"></span></p>
  ) : (
    <p class="stamp"><span class="age"></span></p>
  );
}

export function ReadingTile(props: { kind: "temperature" | "humidity"; reading?: ReadingRow | null; ctx: ViewContext; interval: number }) {
  const { kind, reading, ctx } = props;
  const unit = kind === "temperature" ? "°C" : "%";
  return (
    <section class="tile reading" id={`tile-${kind}`} aria-labelledby={`h-${kind}`} data-recorded-at={reading?.recorded_at ?? ""} data-interval={props.interval}>
      <h2 id={`h-${kind}`}>{ctx.t[kind]}</h2>
      <p class="value">{reading ? `${reading[kind].toFixed(1)} ${unit}` : ctx.t.noData}</p>
      <Stamp at={reading?.recorded_at} ctx={ctx} />
    </section>
  );
}

export function StatusTile(props: { status?: StatusRow | null; ctx: ViewContext; interval: number }) {
  const { status, ctx } = props;
  return (
    <section class="tile status" id="tile-status" aria-labelledby="h-status" data-recorded-at={status?.last_seen_at ?? ""} data-interval={props.interval}>
      <h2 id="h-status">{ctx.t.status}</h2>
      <p class="value" safe>{status ? status.status : ctx.t.noData}</p>
      <Stamp at={status?.last_seen_at} ctx={ctx} />
    </section>
  );
}

export function ImageTile(props: { frame?: FrameMeta | null; ctx: ViewContext; interval: number }) {
  const { frame, ctx } = props;
  return (
    <section class="tile image" id="tile-image" aria-labelledby="h-image" data-recorded-at={frame?.recorded_at ?? ""} data-interval={props.interval}>
      <h2 id="h-image">{ctx.t.liveImage}</h2>
      <div class="frame">
        {frame ? <img id="live-image" src={`/frames/${frame.id}.jpg`} alt={ctx.t.liveImage} width="1280" height="720" />
               : <p class="placeholder">{ctx.t.noImage}</p>}
      </div>
      <Stamp at={frame?.recorded_at} ctx={ctx} />
    </section>
  );
}

type Stats = { min: number; avg: number; max: number };
function stats(values: number[]): Stats | null {
  if (!values.length) return null;
  let min = Infinity, max = -Infinity, sum = 0;
  for (const v of values) { if (v < min) min = v; if (v > max) max = v; sum += v; }
  return { min, avg: sum / values.length, max };
}

export function ChartPanel(props: { day: string; today: string; readings: ReadingRow[]; ctx: ViewContext }) {
  const { day, readings, ctx } = props;
  const { t } = ctx;
  const temp = stats(readings.map((r) => r.temperature));
  const hum = stats(readings.map((r) => r.humidity));
  const nav = (target: string) => ({ "hx-get": `/partials/chart?day=${target}`, "hx-target": "#chart-panel", "hx-swap": "outerHTML" });
  const row = (label: string, s: Stats | null, unit: string) =>
    s ? <tr><th scope="row">{label}</th><td>{s.min.toFixed(1)} {unit}</td><td class="avg">{s.avg.toFixed(1)} {unit}</td><td>{s.max.toFixed(1)} {unit}</td></tr> : "";
  return (
    <section class="tile chart" id="chart-panel" aria-labelledby="h-chart" data-day={day}>
      <header class="chart-head">
        <h2 id="h-chart">{t.chart}</h2>
        <div class="day-nav">
          <button type="button" {...nav(shiftDay(day, -1))} aria-label={t.previousDay}>‹</button>
          <input type="date" name="day" value={day} max={props.today} aria-label={t.chart}
                 hx-get="/partials/chart" hx-trigger="change" hx-target="#chart-panel" hx-swap="outerHTML" />
          <button type="button" {...nav(shiftDay(day, 1))} aria-label={t.nextDay} disabled={day >= props.today}>›</button>
        </div>
      </header>
      {readings.length === 0 ? (
        <p class="empty-day">{t.emptyDay}</p>
      ) : (
        <>
          <div class="chart-box"><canvas id="day-chart" role="img" aria-label={`${t.temperature} / ${t.humidity} ${day}`}></canvas></div>
          <script type="application/json" class="chart-data">
            {jsonForHtml({ t: readings.map((r) => r.recorded_at), temperature: readings.map((r) => r.temperature), humidity: readings.map((r) => r.humidity), labels: { temperature: t.temperature, humidity: t.humidity }, zone: ctx.zone })}
          </script>
          <table class="averages">
            <thead><tr><th></th><th>{t.minimum}</th><th>{t.average}</th><th>{t.maximum}</th></tr></thead>
            <tbody>{row(t.temperature, temp, "°C")}{row(t.humidity, hum, "%")}</tbody>
          </table>
          <p class="muted">{readings.length} {t.readings}</p>
        </>
      )}
    </section>
  );
}

export function DashboardPage(props: {
  ctx: ViewContext; latest: { reading?: ReadingRow | null; status?: StatusRow | null; frame?: FrameMeta | null };
  intervals: Intervals; day: string; today: string; readings: ReadingRow[];
}) {
  const { ctx, latest, intervals } = props;
  return (
    <Layout ctx={ctx} title={ctx.t.dashboard} page="dashboard" scripts={["/static/socket.io.min.js", "/static/chart.umd.min.js", "/static/dashboard.js"]}>
      <div class="dashboard">
        <ImageTile frame={latest.frame} ctx={ctx} interval={intervals.image_delay} />
        <div class="readings">
          <ReadingTile kind="temperature" reading={latest.reading} ctx={ctx} interval={intervals.temphum_delay} />
          <ReadingTile kind="humidity" reading={latest.reading} ctx={ctx} interval={intervals.temphum_delay} />
          <StatusTile status={latest.status} ctx={ctx} interval={intervals.status_delay} />
        </div>
        <ChartPanel day={props.day} today={props.today} readings={props.readings} ctx={ctx} />
      </div>
    </Layout>
  );
}
