/** @jsxImportSource @kitajs/html */
// Owns a print's page: what it was and how it ended, its frames as a flip-book, the room's weather while it
// ran, the errors it met, and its timelapse video when the camera Pi uploaded one.
import { hmsWikiUrl } from "../src/printer-state.ts";
import type { RecordingEvent } from "../src/services/recorder.ts";
import { roleAtLeast } from "../src/services/users.ts";
import type { JobFrameMeta, JobRow } from "../src/store/store.ts";
import { JobFilaments } from "./ams.tsx";
import { formatStamp, jsonForHtml, type ViewContext } from "./context.ts";
import { Csrf } from "./forms.tsx";
import { OutcomeBadge } from "./history.tsx";
import { Layout } from "./layout.tsx";
import { duration } from "./printer.tsx";
import { Timeline } from "./recording.tsx";
import { ShareBox } from "./shares.tsx";

type Facts = {
  duration_s: number;
  paused_s: number;
  weather: Record<string, number | null> | null;
  errors: { code: string; kind: string; severity?: string }[];
};

function FlipBook(props: { base: string; frames: JobFrameMeta[]; ctx: ViewContext }) {
  const { base, frames, ctx } = props;
  const { t } = ctx;
  if (!frames.length) return <p class="muted">{t.noFrames}</p>;
  const urls = frames.map((f) => ({ url: `${base}/frames/${f.id}.jpg`, at: f.recorded_at, layer: f.layer }));
  const last = urls[urls.length - 1]!;
  return (
    <section class="flipbook" id="flipbook" tabindex="0" aria-label={t.frames}>
      <img id="flip-image" src={last.url} alt={`${t.frameOf} ${urls.length}/${urls.length}`} />
      <div class="flip-controls">
        <button type="button" id="flip-play" data-play={t.play} data-pause={t.pauseFlipbook}>
          {t.play}
        </button>
        <label for="flip-speed">{t.playbackSpeed}</label>
        <select id="flip-speed">
          {[1, 2, 4, 8].map((x) => (
            <option value={String(x * 4)} selected={x === 2}>{`${x}×`}</option>
          ))}
        </select>
        <input
          type="range"
          id="flip-scrub"
          min="0"
          max={String(urls.length - 1)}
          value={String(urls.length - 1)}
          aria-label={t.frameOf}
        />
        <output id="flip-position">{`${urls.length}/${urls.length}`}</output>
      </div>
      <script type="application/json" id="flip-frames">
        {jsonForHtml(urls.map((u) => u.url))}
      </script>
    </section>
  );
}

export function JobPage(props: {
  ctx: ViewContext;
  job: JobRow;
  printer: string;
  /** The printer's model: its HMS codes link to that model family's wiki pages. */
  model?: string | null;
  facts: Facts;
  frames: JobFrameMeta[];
  timelapseId: number | null;
  filaments: { type: string; color: string | null }[];
  /** Sent from the library and ended: operators may print it again (same file, plate and options). */
  reprintable?: boolean;
  /** Seen through a share link: its path (`/s/<token>`) serves the frames and video; nothing else is linked. */
  shared?: { base: string };
  /** A share link just made on this page (its full URL, shown once). */
  shareCreated?: string;
  /** The flight recorder's timeline (a share leaves the operators' actions out). */
  recording?: RecordingEvent[];
}) {
  const { ctx, job, facts, shared } = props;
  const base = shared?.base ?? `/jobs/${job.id}`;
  const video = shared ? `${base}/timelapse.mp4` : `/timelapses/${props.timelapseId}.mp4`;
  const { t } = ctx;
  const w = facts.weather;
  const points = JSON.parse(job.weather_points) as [number, number, number][];
  return (
    <Layout ctx={ctx} title={job.name} page="job" scripts={["/static/chart.umd.min.js", "/static/job.js"]}>
      <div class="dash-head">
        <h1 safe>{job.name}</h1>
        <OutcomeBadge outcome={job.outcome} ctx={ctx} />
        {props.reprintable && roleAtLeast(ctx.user?.role, "operator") ? (
          <form method="post" action={`/jobs/${job.id}/reprint`} class="inline">
            <Csrf ctx={ctx} />
            <button type="submit">{t.reprint}</button>
          </form>
        ) : (
          ""
        )}
      </div>
      {shared ? (
        <p class="muted" safe>
          {`${props.printer} · ${ctx.t.sharedReadOnly}`}
        </p>
      ) : (
        <p>
          <a href={`/printers/${job.printer_id}/history`} safe>{`← ${props.printer}`}</a>
          {" · "}
          <a class="csv-link" href={`/jobs/${job.id}/readings.csv`} download="">
            {t.readingsCsv}
          </a>
        </p>
      )}
      <div class="job-page">
        <div class="tile">
          <FlipBook base={base} frames={props.frames} ctx={ctx} />
        </div>
        <section class="tile job-facts" aria-label={t.printHistory}>
          <dl class="facts">
            <div>
              <dt>{t.started}</dt>
              <dd>{formatStamp(job.started_at, ctx)}</dd>
            </div>
            <div>
              <dt>{t.ended}</dt>
              <dd>{job.ended_at ? formatStamp(job.ended_at, ctx) : "–"}</dd>
            </div>
            <div>
              <dt>{t.duration}</dt>
              <dd>{duration(facts.duration_s / 60, t)}</dd>
            </div>
            <div>
              <dt>{t.pausedFor}</dt>
              <dd>{duration(facts.paused_s / 60, t)}</dd>
            </div>
            <div>
              <dt>{t.layer}</dt>
              <dd>{job.total_layers ? `${job.layer ?? 0}/${job.total_layers}` : "–"}</dd>
            </div>
            <div>
              <dt>{t.file}</dt>
              <dd safe>{job.file || "–"}</dd>
            </div>
            {props.filaments.length ? (
              <div>
                <dt>{t.amsTrays}</dt>
                <dd>
                  <JobFilaments filaments={props.filaments} ctx={ctx} />
                </dd>
              </div>
            ) : (
              ""
            )}
          </dl>
          {facts.errors.length ? (
            <div class="printer-errors">
              <h2>{t.errorsSeen}</h2>
              <ul class="hms">
                {facts.errors.map((e) =>
                  e.kind === "hms" ? (
                    <li>
                      <a
                        href={hmsWikiUrl(e.code, props.model)}
                        target="_blank"
                        rel="noopener noreferrer"
                      >{`HMS ${e.code}`}</a>{" "}
                      <span class="muted">({e.severity})</span>
                    </li>
                  ) : (
                    <li safe>{`${t.printError} ${e.code}`}</li>
                  ),
                )}
              </ul>
            </div>
          ) : (
            ""
          )}
        </section>
        <section class="tile job-weather" aria-labelledby="h-weather">
          <h2 id="h-weather">{t.weather}</h2>
          {w ? (
            <p>
              {`${t.temperature}: ${w.temp_min}–${w.temp_max} °C (${t.average.toLowerCase()} ${w.temp_avg}) · `}
              {`${t.humidity}: ${w.hum_min}–${w.hum_max} % (${t.average.toLowerCase()} ${w.hum_avg})`}
            </p>
          ) : (
            <p class="muted">{job.ended_at ? t.noRoomReadingsInPrint : t.noRoomReadingsYetInPrint}</p>
          )}
          {points.length > 1 ? (
            <>
              <div class="chart-box small">
                <canvas id="weather-chart" role="img" aria-label={t.weather}></canvas>
              </div>
              <script type="application/json" id="weather-data">
                {jsonForHtml({ zone: ctx.zone, points })}
              </script>
            </>
          ) : (
            ""
          )}
        </section>
        {props.timelapseId ? (
          <section class="tile" aria-labelledby="h-video">
            <h2 id="h-video">{t.timelapse}</h2>
            <video id="timelapse" controls muted src={video}></video>
            <p>
              <a href={`${video}?download=1`}>{t.download}</a>
            </p>
            {!shared && ctx.user?.role === "admin" ? (
              <form method="post" action={`/timelapses/${props.timelapseId}/delete`} class="inline">
                <Csrf ctx={ctx} />
                <input type="hidden" name="back" value={`/jobs/${job.id}`} />
                <button type="submit" class="danger">
                  {t.deleteVideo}
                </button>
              </form>
            ) : (
              ""
            )}
          </section>
        ) : (
          ""
        )}
        {props.recording ? (
          <Timeline
            ctx={ctx}
            job={job}
            events={props.recording}
            exportUrl={shared ? undefined : `/jobs/${job.id}/export`}
          />
        ) : (
          ""
        )}
        {!shared && roleAtLeast(ctx.user?.role, "operator") ? (
          <ShareBox ctx={ctx} jobId={job.id} created={props.shareCreated} />
        ) : (
          ""
        )}
      </div>
    </Layout>
  );
}
