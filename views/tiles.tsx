/** @jsxImportSource @kitajs/html */
// Owns the live tiles of a printer page (one renderer for page loads and live updates) and its frames.
import type { FrameMeta, Intervals, ReadingRow, StatusRow } from "../src/store/store.ts";
import { formatStamp, type ViewContext } from "./context.ts";

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
        <a href={`/frames/${f.id}.jpg`} target="_blank" rel="noopener" data-frame-id={f.id} data-source={f.source}>
          <img src={`/frames/${f.id}.jpg`} alt={formatStamp(f.recorded_at, props.ctx)} loading="lazy" />
        </a>
      ))}
    </nav>
  );
}

/** Shown when both a camera Pi and the printer's own camera have sent frames: the viewer picks one. */
function CameraSwitch(props: { ctx: ViewContext }) {
  const { t } = props.ctx;
  const choices: [string, string][] = [
    ["", `${t.cameraDevice} + ${t.cameraPrinter}`],
    ["device", t.cameraDevice],
    ["printer", t.cameraPrinter],
  ];
  return (
    // biome-ignore lint/a11y/useSemanticElements: a toolbar of toggle buttons, not a form's fieldset.
    <div class="views camera-switch" role="group" aria-label={t.cameraSource}>
      {choices.map(([source, label]) => (
        <button type="button" class="tab" data-camera-source={source} aria-pressed={source ? "false" : "true"}>
          {label}
        </button>
      ))}
    </div>
  );
}

export type Latest = { reading?: ReadingRow | null; status?: StatusRow | null; frame?: FrameMeta | null };

/** Everything live on the dashboard; also what a reconnecting page re-fetches to catch up. */
export function LiveTiles(props: { ctx: ViewContext; latest: Latest; intervals: Intervals; frames: FrameMeta[] }) {
  const { ctx, latest, intervals } = props;
  return (
    <div class="live" id="live-tiles">
      <div class="camera">
        {props.frames.some((f) => f.source === "printer") && props.frames.some((f) => f.source === "device") ? (
          <CameraSwitch ctx={ctx} />
        ) : (
          ""
        )}
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
