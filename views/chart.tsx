/** @jsxImportSource @kitajs/html */
// Owns the history panel: day, week and month of readings, their chart data and min/avg/max.
import type { ReadingRow, SummaryRow } from "../src/store/store.ts";
import { shiftDay } from "../src/time.ts";
import { count, jsonForHtml, type ViewContext } from "./context.ts";

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

/**
 * `summaries` give the min/avg/max and the count (hourly for a day or week, daily for a month), so the
 * panel costs the same however many readings are stored; a day's line comes from `points`, already
 * thinned to at most MAX_CHART_POINTS.
 */
export function ChartPanel(props: {
  view: ChartView;
  day: string;
  today: string;
  points?: ReadingRow[];
  summaries: SummaryRow[];
  /** Where the panel's controls fetch the next panel from. */
  source: string;
  /** The printer's readings CSV (a link for the panel's days), when there is one. */
  csv?: string;
  ctx: ViewContext;
}) {
  const { view, day, ctx } = props;
  const { t } = ctx;
  const step = VIEW_DAYS[view];
  const link = (v: ChartView, d: string) => ({
    "hx-get": `${props.source}?view=${v}&day=${d}`,
    "hx-target": "#chart-panel",
    "hx-swap": "outerHTML",
  });
  const points = props.points ?? [];
  const summaries = props.summaries;
  const empty = summaries.length === 0;
  const rows: [string, Stats | null, string][] = [
    [t.temperature, summaryStats(summaries, "temp"), "°C"],
    [t.humidity, summaryStats(summaries, "hum"), "%"],
  ];
  // Dew point is not kept in summaries: a day's comes from its (thinned) line.
  if (view === "day") rows.push([t.dewPoint, stats(points.map((r) => dewPoint(r.temperature, r.humidity))), "°C"]);
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
            hx-get={`${props.source}?view=${view}`}
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
        {props.csv ? (
          <a class="csv-link" href={`${props.csv}?from=${shiftDay(day, 1 - step)}&to=${day}`} download="">
            {t.downloadCsv}
          </a>
        ) : (
          ""
        )}
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
            {count(
              ctx,
              "readingCount",
              summaries.reduce((n, s) => n + s.count, 0),
            )}
          </p>
        </>
      )}
    </section>
  );
}
