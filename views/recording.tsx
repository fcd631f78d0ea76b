/** @jsxImportSource @kitajs/html */
// Owns how a print's flight recorder reads: each event in words, the timeline on the print's page (scrubbed with
// the flip-book), and the export: one HTML file with the frames inline that opens offline, with no request made.
import { hmsWikiUrl } from "../src/printer-state.ts";
import type { RecordingEvent } from "../src/services/recorder.ts";
import type { JobRow } from "../src/store/store.ts";
import { formatStamp, jsonForHtml, type ViewContext } from "./context.ts";

/** `+h:mm:ss` from the print's start. */
export function offset(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, "0");
  return `+${Math.floor(s / 3600)}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}`;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const text = (v: unknown) => (typeof v === "string" ? v : "");

/** One event in words (plain text: the caller escapes it). */
export function describeEvent(e: RecordingEvent, ctx: ViewContext): string {
  const { t } = ctx;
  const dict = t as Record<string, string>;
  switch (e.kind) {
    case "frame":
      return num(e.layer) !== null ? `${t.layer} ${e.layer}` : "";
    case "reading":
      return `${num(e.temperature)} °C · ${num(e.humidity)} %`;
    case "state": {
      const parts: string[] = [];
      if (text(e.outcome)) parts.push(dict[`outcome_${e.outcome}`] ?? text(e.outcome));
      else if (text(e.gcode_state)) parts.push(dict[`state_${e.gcode_state}`] ?? text(e.gcode_state));
      if (num(e.layer) !== null) parts.push(`${t.layer} ${e.layer}${num(e.total_layers) ? `/${e.total_layers}` : ""}`);
      if (num(e.nozzle_temp) !== null)
        parts.push(`${t.nozzle.toLowerCase()} ${e.nozzle_temp}/${num(e.nozzle_target) ?? "–"} °C`);
      if (num(e.bed_temp) !== null) parts.push(`${t.bed.toLowerCase()} ${e.bed_temp}/${num(e.bed_target) ?? "–"} °C`);
      if (num(e.speed_level) !== null) parts.push(`${t.speedLevel} ${e.speed_level}`);
      return parts.join(" · ");
    }
    case "hms":
      return `${text(e.code)}${text(e.severity) ? ` (${e.severity})` : ""}`;
    case "error":
      return `${t.printError} ${text(e.code)}`;
    case "action":
      return `${text(e.username)}: ${text(e.action)} (${text(e.via)}) → ${text(e.result)}`;
    case "pause":
    case "resume":
      return num(e.layer) !== null ? `${t.layer} ${e.layer}` : "";
  }
}

const kindLabel = (e: RecordingEvent, ctx: ViewContext) => (ctx.t as Record<string, string>)[`ev_${e.kind}`] ?? e.kind;

/** The timeline on the print's page; frames carry their index in the flip-book. */
export function Timeline(props: { ctx: ViewContext; job: JobRow; events: RecordingEvent[]; exportUrl?: string }) {
  const { ctx, job, events } = props;
  const { t } = ctx;
  let frame = 0;
  return (
    <section class="tile timeline-tile" aria-labelledby="h-recorder">
      <h2 id="h-recorder">{t.flightRecorder}</h2>
      <p class="muted">{t.flightRecorderHelp}</p>
      {props.exportUrl ? (
        <p>
          <a href={props.exportUrl} download="">
            {t.exportRecording}
          </a>
        </p>
      ) : (
        ""
      )}
      {events.length ? (
        <ol
          class="timeline"
          id="timeline"
          tabindex="0"
          aria-label={t.flightRecorder}
          data-start={String(job.started_at)}
          data-end={String(job.ended_at ?? events.at(-1)!.at)}
        >
          {events.map((e) => (
            <li data-kind={e.kind} data-at={String(e.at)} data-frame={e.kind === "frame" ? String(frame++) : undefined}>
              <time datetime={new Date(e.at).toISOString()} title={formatStamp(e.at, ctx)}>
                {offset(e.at - job.started_at)}
              </time>{" "}
              <span class="ev-kind">{kindLabel(e, ctx)}</span>{" "}
              {e.kind === "hms" ? (
                <a href={hmsWikiUrl(text(e.code))} target="_blank" rel="noopener noreferrer" safe>
                  {describeEvent(e, ctx)}
                </a>
              ) : (
                <span safe>{describeEvent(e, ctx)}</span>
              )}
            </li>
          ))}
        </ol>
      ) : (
        <p class="muted">{t.noTimeline}</p>
      )}
    </section>
  );
}

const EXPORT_CSS = `
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1100px;padding:1rem;color:#14171c;background:#fff}
h1{margin:.2rem 0}.muted{color:#5b6472}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}
dt{font-weight:600}.book img{max-width:100%;display:block;background:#eee;border-radius:8px}
.book input{width:100%}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem;
border-bottom:1px solid #dde1e7;vertical-align:top}tr.past td{color:#5b6472}tr.now td{background:#fef3c7}
svg{width:100%;height:160px;background:#f6f7f9;border-radius:8px}
`;
// Scrubbing shows one frame and marks the timeline up to it; without scripts every frame shows in turn.
const EXPORT_JS = `(()=>{const f=[...document.querySelectorAll('.book figure')];const r=document.getElementById('scrub');
const rows=[...document.querySelectorAll('#events tr[data-at]')];if(!f.length||!r)return;
function show(i){f.forEach((x,k)=>{x.hidden=k!==i});const at=Number(f[i].dataset.at);let last=null;
rows.forEach(row=>{const p=Number(row.dataset.at)<=at;row.className=p?'past':'';if(p)last=row});
if(last)last.className='now';document.getElementById('pos').textContent=(i+1)+'/'+f.length}
r.max=String(f.length-1);r.value=r.max;r.hidden=false;r.addEventListener('input',()=>show(Number(r.value)));
show(f.length-1)})();`;

/** The export: a whole HTML document, every picture a data: URI, nothing fetched (its own CSP says so). */
export function ExportPage(props: {
  ctx: ViewContext;
  job: JobRow;
  printer: string;
  events: RecordingEvent[];
  frames: Map<number, string>;
}) {
  const { ctx, job, events } = props;
  const { t } = ctx;
  const frames = events.filter((e) => e.kind === "frame" && props.frames.has(e.id as number));
  const points = JSON.parse(job.weather_points) as [number, number, number][];
  const span = Math.max(1, (job.ended_at ?? Date.now()) - job.started_at);
  const line = (i: 1 | 2, lo: number, hi: number) =>
    points
      .map(
        (p) =>
          `${(((p[0] - job.started_at) / span) * 1000).toFixed(1)},${(150 - ((p[i] - lo) / (hi - lo)) * 140).toFixed(1)}`,
      )
      .join(" ");
  return (
    <>
      {"<!doctype html>"}
      <html lang={ctx.locale}>
        <head>
          <meta charset="utf-8" />
          <meta
            http-equiv="Content-Security-Policy"
            content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
          />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title safe>{`${job.name} · ${t.flightRecorder}`}</title>
          <style>{EXPORT_CSS}</style>
        </head>
        <body>
          <main>
            <h1 safe>{job.name}</h1>
            <p class="muted" safe>{`${props.printer} · ${t.flightRecorder}`}</p>
            <dl>
              <dt>{t.started}</dt>
              <dd>{formatStamp(job.started_at, ctx)}</dd>
              <dt>{t.ended}</dt>
              <dd>{job.ended_at ? formatStamp(job.ended_at, ctx) : "–"}</dd>
              <dt>{t.outcome}</dt>
              <dd>{(t as Record<string, string>)[`outcome_${job.outcome}`] ?? job.outcome}</dd>
            </dl>
            {frames.length ? (
              <section class="book" aria-label={t.frames}>
                <input type="range" id="scrub" min="0" value="0" hidden aria-label={t.frameOf} />
                <output id="pos"></output>
                {frames.map((f, i) => (
                  <figure data-at={String(f.at)}>
                    <img src={props.frames.get(f.id as number)!} alt={`${t.frameOf} ${i + 1}/${frames.length}`} />
                    <figcaption>{offset(f.at - job.started_at)}</figcaption>
                  </figure>
                ))}
              </section>
            ) : (
              ""
            )}
            {points.length > 1 ? (
              <section aria-label={t.weather}>
                <h2>{t.weather}</h2>
                <svg viewBox="0 0 1000 160" preserveAspectRatio="none" role="img" aria-label={t.weather}>
                  <polyline fill="none" stroke="#c2410c" stroke-width="2" points={line(1, 10, 40)} />
                  <polyline fill="none" stroke="#0369a1" stroke-width="2" points={line(2, 0, 100)} />
                </svg>
              </section>
            ) : (
              ""
            )}
            <h2>{t.flightRecorder}</h2>
            <table id="events">
              <thead>
                <tr>
                  <th scope="col">{t.timelineTime}</th>
                  <th scope="col">{t.ev_state}</th>
                  <th scope="col">{t.timelineWhat}</th>
                </tr>
              </thead>
              <tbody>
                {events.map((e) => (
                  <tr data-at={String(e.at)} data-kind={e.kind}>
                    <td>{offset(e.at - job.started_at)}</td>
                    <td>{kindLabel(e, ctx)}</td>
                    <td safe>{describeEvent(e, ctx)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </main>
          <script type="application/json" id="recording">
            {jsonForHtml({ job: { id: job.id, name: job.name, started_at: job.started_at }, events })}
          </script>
          <script>{EXPORT_JS}</script>
        </body>
      </html>
    </>
  );
}
