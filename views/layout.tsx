/** @jsxImportSource @kitajs/html */
// Owns the page frame: head (base and page-area stylesheets), navigation, the strings client scripts read,
// and the scripts every page loads (no inline script).
import { jsonForHtml, type ViewContext } from "./context.ts";

/**
 * htmx settings: no injected <style> and no copied style attributes (the CSP refuses both), and
 * 400/422 answers swapped in, because that is how a form shows its validation messages.
 */
const HTMX_CONFIG = {
  includeIndicatorStyles: false,
  attributesToSettle: ["class", "width", "height"],
  responseHandling: [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "400|422", swap: true },
    { code: "[45]..", swap: false, error: true },
  ],
};

/** The few strings the browser script writes itself (connection, device state, ages). */
function clientStrings({ t }: ViewContext) {
  return {
    live: t.connLive,
    reconnecting: t.connReconnecting,
    offline: t.connOffline,
    deviceOnline: t.deviceOnline,
    deviceOffline: t.deviceOffline,
    deviceNeverSeen: t.deviceNeverSeen,
    lastHeard: t.lastHeard,
    units: [t.unitS, t.unitMin, t.unitH, t.unitD],
    temperature: t.temperature,
    humidity: t.humidity,
    dewPoint: t.dewPoint,
  };
}

/** Each page area's stylesheets after the base (app.css); the files are listed in src/http/assets.ts. */
const PAGE_STYLES: Record<string, string[]> = {
  login: ["login.css"],
  overview: ["printer-state.css", "overview.css"],
  dashboard: ["printer-state.css", "printer.css"],
  history: ["printer-state.css", "history.css"],
  job: ["printer-state.css", "history.css"],
  settings: ["settings.css"],
  library: ["library.css"],
  stats: ["stats.css"],
};
const stylesheets = (page = "") => ["app.css", ...(PAGE_STYLES[page] ?? [])];

export function Layout(props: {
  ctx: ViewContext;
  title: string;
  children?: JSX.Element | JSX.Element[];
  scripts?: string[];
  page?: string;
}) {
  const { ctx } = props;
  return (
    <>
      {"<!doctype html>"}
      <html lang={ctx.locale}>
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="light dark" />
          <title safe>{`${props.title} · ${ctx.t.appName}`}</title>
          {stylesheets(props.page).map((name) => (
            <link rel="stylesheet" href={`/static/${name}`} />
          ))}
          <link rel="icon" href="/static/favicon.svg" type="image/svg+xml" />
          <link rel="manifest" href="/manifest.webmanifest" />
          <link rel="apple-touch-icon" href="/static/icon-192.png" />
          <meta name="theme-color" content="#c2410c" />
          <meta name="htmx-config" content={JSON.stringify(HTMX_CONFIG)} />
          <script src="/static/htmx.min.js" defer></script>
          <script src="/static/push.js" defer></script>
          {(props.scripts ?? []).map((src) => (
            <script src={src} defer></script>
          ))}
        </head>
        <body
          data-page={props.page ?? ""}
          hx-headers={ctx.csrf ? JSON.stringify({ "X-CSRF-Token": ctx.csrf }) : undefined}
        >
          <a class="skip" href="#main">
            {ctx.t.skip}
          </a>
          <script type="application/json" id="i18n">
            {jsonForHtml(clientStrings(ctx))}
          </script>
          {ctx.user ? (
            <header class="topbar">
              <a class="brand" href="/">
                {ctx.t.appName}
              </a>
              <nav aria-label="Main">
                <a href="/">{ctx.t.overview}</a>
                <a href="/history">{ctx.t.history}</a>
                <a href="/library">{ctx.t.library}</a>
                <a href="/queue">{ctx.t.queue}</a>
                <a href="/stats">{ctx.t.statistics}</a>
                <a href="/settings">{ctx.t.settings}</a>
              </nav>
              <span id="conn" class="conn" role="status" aria-live="polite" data-state="offline"></span>
              <form method="post" action="/logout" class="logout">
                <input type="hidden" name="_csrf" value={ctx.csrf ?? ""} />
                <button type="submit" class="link">
                  {ctx.t.logout}
                </button>
              </form>
            </header>
          ) : null}
          <main id="main">{props.children}</main>
        </body>
      </html>
    </>
  );
}
