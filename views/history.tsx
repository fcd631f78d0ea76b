/** @jsxImportSource @kitajs/html */
// Owns the print history: every job newest first (one printer's or all), filterable by outcome, each row
// with its thumbnail, name, outcome, duration, layers and weather.
import type { JobListRow } from "../src/store/store.ts";
import { formatStamp, type ViewContext } from "./context.ts";
import { Layout } from "./layout.tsx";
import { duration } from "./printer.tsx";

export const OUTCOMES = ["running", "finished", "failed", "cancelled"] as const;
export type JobSummary = JobListRow & { printer: string; facts: { duration_s: number; weather: Weather | null } };
type Weather = { temp_min: number | null; temp_avg: number; temp_max: number | null; hum_avg: number };

/** "22.8 °C (21.5–24) · 44 %": the room during a print, in one line. */
function weatherLine(w: Weather | null): string {
  if (!w) return "";
  return `${w.temp_avg.toFixed(1)} °C (${w.temp_min}–${w.temp_max}) · ${w.hum_avg.toFixed(0)} %`;
}

export function OutcomeBadge(props: { outcome: string; ctx: ViewContext }) {
  const label = (props.ctx.t as Record<string, string>)[`outcome_${props.outcome}`] ?? props.outcome;
  return <span class={`outcome outcome-${props.outcome}`}>{label}</span>;
}

export function HistoryPage(props: {
  ctx: ViewContext;
  title: string;
  base: string;
  outcome: string;
  jobs: JobSummary[];
  showPrinter: boolean;
  next?: string;
}) {
  const { ctx, jobs } = props;
  const { t } = ctx;
  return (
    <Layout ctx={ctx} title={props.title} page="history">
      <div class="dash-head">
        <h1 safe>{props.title}</h1>
        <a class="csv-link" href={`${props.base}.csv`} download="">
          {t.downloadCsv}
        </a>
      </div>
      <nav class="views history-filter" aria-label={t.filterOutcome}>
        {["", ...OUTCOMES].map((o) => (
          <a class={o === props.outcome ? "tab active" : "tab"} href={o ? `${props.base}?outcome=${o}` : props.base}>
            {o ? (t as Record<string, string>)[`outcome_${o}`] : t.allOutcomes}
          </a>
        ))}
      </nav>
      {jobs.length === 0 ? (
        <p class="card muted">{t.noJobs}</p>
      ) : (
        <ul class="job-list">
          {jobs.map((j) => (
            <li class="job-row">
              <span class="job-thumb">
                {j.thumb ? <img src={`/jobs/${j.id}/frames/${j.thumb}.jpg`} alt="" loading="lazy" /> : ""}
              </span>
              <div class="job-main">
                <a href={`/jobs/${j.id}`} class="job-name" safe>
                  {j.name}
                </a>
                <p class="muted" safe>
                  {`${props.showPrinter ? `${j.printer} · ` : ""}${formatStamp(j.started_at, ctx)}`}
                </p>
              </div>
              <OutcomeBadge outcome={j.outcome} ctx={ctx} />
              <span class="job-fact">{duration(j.facts.duration_s / 60, t)}</span>
              <span class="job-fact">{j.total_layers ? `${t.layer} ${j.layer ?? 0}/${j.total_layers}` : ""}</span>
              <span class="job-fact">{weatherLine(j.facts.weather)}</span>
            </li>
          ))}
        </ul>
      )}
      {props.next ? (
        <p>
          <a href={props.next}>{t.olderJobs}</a>
        </p>
      ) : (
        ""
      )}
    </Layout>
  );
}
