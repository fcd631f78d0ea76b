/** @jsxImportSource @kitajs/html */
// Owns the printer dashboard: tiles (one renderer for page loads and live updates), frames, and history.
import type { FrameMeta, Intervals, ReadingRow, StatusRow, SummaryRow } from "../src/store/store.ts";
import { shiftDay } from "../src/time.ts";
import { formatStamp, jsonForHtml, type ViewContext } from "./context.ts";
import { Layout } from "./layout.tsx";

export function Stamp(props: { at?: number; ctx: ViewContext }) {
  return props.at ? (
    <p class="stamp">
      <time datetime={new Date(props.at).toISOString()}>{formatStamp(props.at, props.ctx)}</time>{" "}
      <span class="age"></span>
    </p>
  ) : (
    <p class="stamp">
      <span class="age">{props.ctx.t.noData}</span>
    </p>
  );
}

export function ReadingTile(props: {
  kind: "temperature" | "humidity";
  reading?: ReadingRow | null;
  ctx: ViewContext;
  interval: number;
}) {
  const { kind, reading, ctx } = props;
  const unit = kind === "temperature" ? "°C" : "%";
  return (
    <section
      class="tile reading"
      id={`tile-${kind}`}
      aria-labelledby={`h-${kind}`}
      data-recorded-at={reading?.recorded_at ?? ""}
      data-interval={props.interval}
    >
      <h2 id={`h-${kind}`}>{ctx.t[kind]}</h2>
      <p class="value">{reading ? `${reading[kind].toFixed(1)} ${unit}` : "–"}</p>
      <Stamp at={reading?.recorded_at} ctx={ctx} />
    </section>
  );
}

export function StatusTile(props: { status?: StatusRow | null; ctx: ViewContext; interval: number }) {
  const { status, ctx } = props;
  return (
    <section
      class="tile status"
      id="tile-status"
      aria-labelledby="h-status"
      data-recorded-at={status?.last_seen_at ?? ""}
      data-interval={props.interval}
    >
      <h2 id="h-status">{ctx.t.status}</h2>
      <p class="value" safe>
        {status ? status.status : "–"}
      </p>
      <Stamp at={status?.last_seen_at} ctx={ctx} />
    </section>
  );
}

export function ImageTile(props: { frame?: FrameMeta | null; ctx: ViewContext; interval: number }) {
  const { frame, ctx } = props;
  return (
    <section
      class="tile image"
      id="tile-image"
      aria-labelledby="h-image"
      data-recorded-at={frame?.recorded_at ?? ""}
      data-interval={props.interval}
    >
      <h2 id="h-image">{ctx.t.liveImage}</h2>
      {frame ? (
        <a class="frame" href={`/frames/${frame.id}.jpg`} target="_blank" rel="noopener" title={ctx.t.openFullSize}>
          <img id="live-image" src={`/frames/${frame.id}.jpg`} alt={ctx.t.liveImage} />
        </a>
      ) : (
        // Not a link until there is something to open; the script makes it one on the first frame.
        // biome-ignore lint/a11y/useValidAnchor: an anchor without href is the placeholder the script fills in.
        <a class="frame" data-title={ctx.t.openFullSize} data-alt={ctx.t.liveImage}>
          <span class="placeholder">{ctx.t.noImage}</span>
        </a>
      )}
      <Stamp at={frame?.recorded_at} ctx={ctx} />
    </section>
  );
}

/** The kept frames, newest first; each opens full size. */
export function FramesStrip(props: { frames: FrameMeta[]; ctx: ViewContext }) {
  return (
    <nav class="frames" id="frames-strip" aria-label={props.ctx.t.recentFrames}>
      {props.frames.map((f) => (
        <a href={`/frames/${f.id}.jpg`} target="_blank" rel="noopener" data-frame-id={f.id}>
          <img src={`/frames/${f.id}.jpg`} alt={formatStamp(f.recorded_at, props.ctx)} loading="lazy" />
        </a>
      ))}
    </nav>
  );
}

export type Latest = { reading?: ReadingRow | null; status?: StatusRow | null; frame?: FrameMeta | null };

/** Everything live on the dashboard; also what a reconnecting page re-fetches to catch up. */
export function LiveTiles(props: { ctx: ViewContext; latest: Latest; intervals: Intervals; frames: FrameMeta[] }) {
  const { ctx, latest, intervals } = props;
  return (
    <div class="live" id="live-tiles">
      <div class="camera">
        <ImageTile frame={latest.frame} ctx={ctx} interval={intervals.image_delay} />
        <FramesStrip frames={props.frames} ctx={ctx} />
      </div>
      <div class="readings">
        <ReadingTile kind="temperature" reading={latest.reading} ctx={ctx} interval={intervals.temphum_delay} />
        <ReadingTile kind="humidity" reading={latest.reading} ctx={ctx} interval={intervals.temphum_delay} />
        <StatusTile status={latest.status} ctx={ctx} interval={intervals.status_delay} />
      </div>
    </div>
  );
}

// --- history ---

/** Dew point by the Magnus formula (°C); undefined when humidity is 0. */
export function dewPoint(temperature: number, humidity: number): number | undefined {
  if (humidity <= 0) return undefined;
  const b = 17.62,
    c = 243.12;
  const g = Math.log(humidity / 100) + (b * temperature) / (c + temperature);
  return (c * g) / (b - g);
}

type Stats = { min: number; avg: number; max: number };
function stats(values: (number | undefined)[]): Stats | null {
  let min = Infinity,
    max = -Infinity,
    sum = 0,
    n = 0;
  for (const v of values) {
    if (v === undefined) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    n++;
  }
  return n ? { min, avg: sum / n, max } : null;
}
function summaryStats(rows: SummaryRow[], kind: "temp" | "hum"): Stats | null {
  if (!rows.length) return null;
  let n = 0,
    sum = 0,
    min = Infinity,
    max = -Infinity;
  for (const r of rows) {
    n += r.count;
    sum += r[`${kind}_avg`] * r.count;
    min = Math.min(min, r[`${kind}_min`]);
    max = Math.max(max, r[`${kind}_max`]);
  }
  return { min, avg: sum / n, max };
}

/** A phone draws a day in at most this many points; denser days are averaged per time slice. */
export const MAX_CHART_POINTS = 1440;

export function chartPoints(readings: ReadingRow[], max = MAX_CHART_POINTS): ReadingRow[] {
  if (readings.length <= max) return readings;
  const first = readings[0]!.recorded_at;
  const span = readings[readings.length - 1]!.recorded_at - first + 1;
  const out: ReadingRow[] = [];
  let slice = -1,
    n = 0,
    t = 0,
    temp = 0,
    hum = 0;
  const flush = () => {
    if (n)
      out.push({
        id: 0,
        printer_id: 0,
        device_id: 0,
        recorded_at: Math.round(t / n),
        temperature: temp / n,
        humidity: hum / n,
      });
  };
  for (const r of readings) {
    const s = Math.floor(((r.recorded_at - first) / span) * max);
    if (s !== slice) {
      flush();
      slice = s;
      n = t = temp = hum = 0;
    }
    n++;
    t += r.recorded_at;
    temp += r.temperature;
    hum += r.humidity;
  }
  flush();
  return out;
}

export type ChartView = "day" | "week" | "month";
export const VIEW_DAYS: Record<ChartView, number> = { day: 1, week: 7, month: 30 };

export function ChartPanel(props: {
  view: ChartView;
  day: string;
  today: string;
  readings?: ReadingRow[];
  summaries?: SummaryRow[];
  ctx: ViewContext;
}) {
  const { view, day, ctx } = props;
  const { t } = ctx;
  const step = VIEW_DAYS[view];
  const link = (v: ChartView, d: string) => ({
    "hx-get": `/partials/chart?view=${v}&day=${d}`,
    "hx-target": "#chart-panel",
    "hx-swap": "outerHTML",
  });
  const readings = props.readings ?? [];
  const summaries = props.summaries ?? [];
  const empty = view === "day" ? readings.length === 0 : summaries.length === 0;
  const dew = readings.map((r) => dewPoint(r.temperature, r.humidity));
  const points = chartPoints(readings);
  const rows: [string, Stats | null, string][] =
    view === "day"
      ? [
          [t.temperature, stats(readings.map((r) => r.temperature)), "°C"],
          [t.humidity, stats(readings.map((r) => r.humidity)), "%"],
          [t.dewPoint, stats(dew), "°C"],
        ]
      : [
          [t.temperature, summaryStats(summaries, "temp"), "°C"],
          [t.humidity, summaryStats(summaries, "hum"), "%"],
        ];
  const round = (v: number | undefined) => (v === undefined ? null : Math.round(v * 10) / 10);
  const data =
    view === "day"
      ? {
          view,
          zone: ctx.zone,
          t: points.map((r) => r.recorded_at),
          temperature: points.map((r) => round(r.temperature)),
          humidity: points.map((r) => round(r.humidity)),
          dewPoint: points.map((r) => round(dewPoint(r.temperature, r.humidity))),
        }
      : {
          view,
          zone: ctx.zone,
          t: summaries.map((s) => s.start_at),
          temperature: summaries.map((s) => round(s.temp_avg)),
          humidity: summaries.map((s) => round(s.hum_avg)),
          temperatureMin: summaries.map((s) => s.temp_min),
          temperatureMax: summaries.map((s) => s.temp_max),
        };
  const range = view === "day" ? day : `${shiftDay(day, 1 - step)} – ${day}`;
  return (
    <section class="tile chart" id="chart-panel" aria-labelledby="h-chart" data-day={day} data-view={view}>
      <header class="chart-head">
        <h2 id="h-chart">
          {t.chart} <span class="muted range">{range}</span>
        </h2>
        {/* biome-ignore lint/a11y/useSemanticElements: a toolbar of toggle buttons, not a form's fieldset. */}
        <div class="views" role="group" aria-label={t.chart}>
          {(["day", "week", "month"] as const).map((v) => (
            <button
              type="button"
              class={v === view ? "tab active" : "tab"}
              aria-pressed={v === view ? "true" : "false"}
              {...link(v, day)}
            >
              {t[`view_${v}`]}
            </button>
          ))}
        </div>
        <div class="day-nav">
          <button type="button" {...link(view, shiftDay(day, -step))} aria-label={t.previousDay}>
            ‹
          </button>
          <input
            type="date"
            name="day"
            value={day}
            max={props.today}
            aria-label={t.pickDay}
            hx-get={`/partials/chart?view=${view}`}
            hx-trigger="change"
            hx-target="#chart-panel"
            hx-swap="outerHTML"
          />
          <button
            type="button"
            {...link(view, shiftDay(day, step))}
            aria-label={t.nextDay}
            disabled={day >= props.today}
          >
            ›
          </button>
        </div>
      </header>
      {empty ? (
        <p class="empty-day">{view === "day" ? t.emptyDay : t.emptyRange}</p>
      ) : (
        <>
          <div class="chart-box">
            <canvas id="day-chart" role="img" aria-label={`${t.temperature}, ${t.humidity}: ${range}`}></canvas>
          </div>
          <script type="application/json" class="chart-data">
            {jsonForHtml(data)}
          </script>
          <table class="averages">
            <thead>
              <tr>
                <th scope="col"></th>
                <th scope="col">{t.minimum}</th>
                <th scope="col">{t.average}</th>
                <th scope="col">{t.maximum}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([label, s, unit]) =>
                s ? (
                  <tr>
                    <th scope="row">{label}</th>
                    <td>
                      {s.min.toFixed(1)} {unit}
                    </td>
                    <td class="avg">
                      {s.avg.toFixed(1)} {unit}
                    </td>
                    <td>
                      {s.max.toFixed(1)} {unit}
                    </td>
                  </tr>
                ) : (
                  ""
                ),
              )}
            </tbody>
          </table>
          <p class="muted count">
            {view === "day" ? readings.length : summaries.reduce((n, s) => n + s.count, 0)} {t.readings}
          </p>
        </>
      )}
    </section>
  );
}

export function DashboardPage(props: {
  ctx: ViewContext;
  latest: Latest;
  intervals: Intervals;
  frames: FrameMeta[];
  chart: JSX.Element;
}) {
  const { ctx } = props;
  return (
    <Layout
      ctx={ctx}
      title={ctx.t.dashboard}
      page="dashboard"
      scripts={["/static/socket.io.min.js", "/static/chart.umd.min.js", "/static/dashboard.js"]}
    >
      <div class="dash-head">
        <h1>{ctx.t.dashboard}</h1>
        <p id="device-state" class="device-state" role="status" aria-live="polite"></p>
      </div>
      <div class="dashboard">
        <LiveTiles ctx={ctx} latest={props.latest} intervals={props.intervals} frames={props.frames} />
        {props.chart}
      </div>
    </Layout>
  );
}
