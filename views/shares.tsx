/** @jsxImportSource @kitajs/html */
// Owns the share links operators and admins see: the list in Settings (state, opens, and for admins revoke) and
// the box on a print's page that makes a new link and shows it once, and a shared printer's read-only live view.
import type { HeldPrinter } from "../src/services/printers.ts";
import type { FrameMeta, ReadingRow, ShareListRow } from "../src/store/store.ts";
import { formatStamp, type ViewContext } from "./context.ts";
import { Csrf, type Flash, FlashMessage } from "./forms.tsx";
import { Layout } from "./layout.tsx";
import { Progress, stateKind, stateLabel } from "./printer.tsx";
import { Stamp } from "./tiles.tsx";

/** How often a shared printer view asks for its live part again. */
export const SHARED_LIVE_EVERY_S = 5;

/** The lifetimes the print page offers, in days. */
export const SHARE_DAYS = [1, 7, 30] as const;

export function shareState(s: ShareListRow, now = Date.now()): "live" | "expired" | "revoked" {
  if (s.revoked_at !== null) return "revoked";
  return s.expires_at <= now ? "expired" : "live";
}

export function SharesSection(props: { ctx: ViewContext; shares: ShareListRow[]; flash?: Flash }) {
  const { ctx, shares } = props;
  const { t } = ctx;
  return (
    <section id="shares" class="card" aria-labelledby="h-shares">
      <h2 id="h-shares">{t.shareLinks}</h2>
      <p class="muted">{t.shareLinksHelp}</p>
      <FlashMessage flash={props.flash} />
      {shares.length ? (
        <ul class="users">
          {shares.map((s) => {
            const state = shareState(s);
            const name = s.job_name ?? s.printer_name ?? `#${s.job_id ?? s.printer_id}`;
            return (
              <li data-share={String(s.id)} data-state={state}>
                {s.job_id !== null ? (
                  <a href={`/jobs/${s.job_id}`} class="name" safe>
                    {name}
                  </a>
                ) : (
                  <span class="name" safe>
                    {name}
                  </span>
                )}{" "}
                <span class="muted" safe>
                  {state === "live"
                    ? `${t.shareExpires} ${formatStamp(s.expires_at, ctx)}`
                    : state === "revoked"
                      ? t.shareRevokedState
                      : t.shareExpiredState}
                </span>{" "}
                <span class="muted">{t.shareOpened.replace("{n}", String(s.opened))}</span>
                {state === "live" && ctx.user?.role === "admin" ? (
                  <form
                    method="post"
                    action={`/settings/shares/${s.id}/revoke`}
                    hx-post={`/settings/shares/${s.id}/revoke`}
                    hx-target="#shares"
                    hx-swap="outerHTML"
                    class="inline"
                  >
                    <Csrf ctx={ctx} />
                    <button type="submit" class="danger" aria-label={`${t.revoke} ${name}`}>
                      {t.revoke}
                    </button>
                  </form>
                ) : (
                  ""
                )}
              </li>
            );
          })}
        </ul>
      ) : (
        <p class="muted">{t.noShares}</p>
      )}
    </section>
  );
}

/** On a print's page, for operators and admins: a lifetime and a button; once made, the link itself (shown only here). */
export function ShareBox(props: { ctx: ViewContext; jobId: number; created?: string; error?: string }) {
  const { ctx, jobId } = props;
  const { t } = ctx;
  return (
    <section id="share" class="tile" aria-labelledby="h-share">
      <h2 id="h-share">{t.sharePrint}</h2>
      {props.created ? (
        <div class="flash ok" role="status">
          <p>{t.shareCreated}</p>
          <code class="token" id="share-url" safe>
            {props.created}
          </code>
        </div>
      ) : (
        ""
      )}
      {props.error ? (
        <p class="flash error" role="alert" safe>
          {props.error}
        </p>
      ) : (
        ""
      )}
      <form
        method="post"
        action={`/jobs/${jobId}/share`}
        hx-post={`/jobs/${jobId}/share`}
        hx-target="#share"
        hx-swap="outerHTML"
      >
        <Csrf ctx={ctx} />
        <label for="share-days">{t.shareFor}</label>
        <select id="share-days" name="days">
          {SHARE_DAYS.map((d) => (
            <option value={String(d)} selected={d === 7}>
              {t.shareDays.replace("{n}", String(d))}
            </option>
          ))}
        </select>
        <button type="submit">{t.createShare}</button>
      </form>
    </section>
  );
}

/**
 * What a printer link shows: state, progress, newest frame and room reading, with nothing to click. htmx asks for
 * it again under the token every few seconds (no socket for someone without an account).
 */
export function SharedPrinterLive(props: {
  ctx: ViewContext;
  printer: HeldPrinter;
  frame: FrameMeta | null;
  reading: ReadingRow | null;
  base: string;
}) {
  const { ctx, printer, frame, reading, base } = props;
  const { t } = ctx;
  const s = printer.state;
  return (
    <div
      id="shared-live"
      class="live"
      hx-get={`${base}/live`}
      hx-trigger={`every ${SHARED_LIVE_EVERY_S}s`}
      hx-swap="outerHTML"
      data-updated-at={s.updated_at || ""}
    >
      <section class={`tile printer-panel state-${stateKind(s)}`} aria-labelledby="h-printer">
        <h2 id="h-printer">{t.printerState}</h2>
        <p class="state-badge" safe>
          {stateLabel(t, s)}
        </p>
        <Progress s={s} ctx={ctx} />
        {s.file ? (
          <p class="muted" safe>
            {s.file}
          </p>
        ) : (
          ""
        )}
      </section>
      <section class="tile image" aria-labelledby="h-image">
        <h2 id="h-image">{t.liveImage}</h2>
        <div class="frame">
          {frame ? (
            <img id="live-image" src={`${base}/frames/${frame.id}.jpg`} alt={t.liveImage} />
          ) : (
            <span class="placeholder">{t.noImage}</span>
          )}
        </div>
        <Stamp at={frame?.recorded_at} ctx={ctx} />
      </section>
      <section class="tile reading" aria-labelledby="h-room">
        <h2 id="h-room">{t.room}</h2>
        <p class="value">{reading ? `${reading.temperature.toFixed(1)} °C · ${reading.humidity.toFixed(1)} %` : "–"}</p>
        <Stamp at={reading?.recorded_at} ctx={ctx} />
      </section>
    </div>
  );
}

/** What the live part becomes once the link expires or is revoked: htmx stops asking (status 286). */
export function SharedGone(props: { ctx: ViewContext }) {
  return (
    <div id="shared-live" class="live">
      <p class="flash error" role="alert" safe>
        {props.ctx.t.shareRefused}
      </p>
    </div>
  );
}

export function SharedPrinterPage(props: Parameters<typeof SharedPrinterLive>[0]) {
  const { ctx, printer } = props;
  return (
    // The printer page's styles, without its script: the tiles look the same, nothing opens a socket.
    <Layout ctx={ctx} title={printer.info.name} page="dashboard">
      <h1 safe>{printer.info.name}</h1>
      <p class="muted">{ctx.t.sharedReadOnly}</p>
      <SharedPrinterLive {...props} />
    </Layout>
  );
}
