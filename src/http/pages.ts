// Owns the logged-in pages: home, the printer dashboard (/3d), its partials, and frame images.
import { Elysia, t } from "elysia";
import { ChartPanel, type ChartView, DashboardPage, LiveTiles, VIEW_DAYS } from "../../views/dashboard.tsx";
import { ErrorPage, HomePage } from "../../views/pages.tsx";
import type { Session } from "../services/auth.ts";
import { DEFAULT_PRINTER_ID } from "../store/migrations.ts";
import { dayOf, parseDay, shiftDay } from "../time.ts";
import { type HttpDeps, htmlResponse, loginRedirect, type RequestTools } from "./context.ts";

const ChartQuery = t.Object({
  day: t.Optional(t.String({ maxLength: 32 })),
  view: t.Optional(t.String({ maxLength: 8 })),
});

export function pageRoutes(deps: HttpDeps, tools: RequestTools) {
  const { telemetry, config } = deps;
  const today = () => dayOf(Date.now(), config.timezone);
  const badRequest = (session: Session | null, message: string) =>
    htmlResponse(ErrorPage({ ctx: tools.view(session), title: tools.t.badRequest, message }) as string, 400);

  /** The history panel for a view ending on `day`; null when the query is malformed. */
  function chart(session: Session | null, query: { day?: string; view?: string }) {
    const view = (query.view ?? "day") as ChartView;
    const day = query.day || today();
    if (!(view in VIEW_DAYS) || !parseDay(day)) return null;
    const ctx = tools.view(session);
    if (view === "day")
      return ChartPanel({
        ctx,
        view,
        day,
        today: today(),
        readings: telemetry.readingsOfDay(DEFAULT_PRINTER_ID, day)!,
      });
    const summaries = telemetry.summaries(
      DEFAULT_PRINTER_ID,
      view === "week" ? "hour" : "day",
      shiftDay(day, 1 - VIEW_DAYS[view]),
      day,
    )!;
    return ChartPanel({ ctx, view, day, today: today(), summaries });
  }

  const live = (session: Session | null) =>
    LiveTiles({
      ctx: tools.view(session),
      latest: telemetry.latest(DEFAULT_PRINTER_ID),
      intervals: deps.intervals.get(),
      frames: telemetry.frames(DEFAULT_PRINTER_ID),
    });

  return (
    new Elysia({ name: "page-routes" })
      .resolve(({ request, set }) => ({ session: tools.sessionFor(request, set) }))
      .onBeforeHandle(({ session, request }) => (session ? undefined : loginRedirect(request)))
      .get("/", ({ session }) => htmlResponse(HomePage({ ctx: tools.view(session) }) as string))
      .get(
        "/3d",
        ({ session, query }) => {
          const panel = chart(session, query);
          if (!panel) return badRequest(session, tools.t.badDayOrView);
          return htmlResponse(
            DashboardPage({
              ctx: tools.view(session),
              latest: telemetry.latest(DEFAULT_PRINTER_ID),
              intervals: deps.intervals.get(),
              frames: telemetry.frames(DEFAULT_PRINTER_ID),
              chart: panel,
            }) as string,
          );
        },
        { query: ChartQuery },
      )
      .get(
        "/partials/chart",
        ({ session, query }) => {
          const panel = chart(session, query);
          return panel ? htmlResponse(panel as string) : badRequest(session, tools.t.badDayOrView);
        },
        { query: ChartQuery },
      )
      // A page whose socket reconnects fetches this to catch up on what it missed.
      .get("/partials/tiles", ({ session }) =>
        htmlResponse(live(session) as string, 200, { "cache-control": "no-store" }),
      )
      .get("/frames/:file", ({ params, request }) => {
        const m = /^(\d{1,15}|latest)(?:\.(?:jpg|jpeg|png))?$/.exec(params.file);
        const latest = m?.[1] === "latest";
        const id = latest ? telemetry.latest(DEFAULT_PRINTER_ID).frame?.id : m ? Number(m[1]) : undefined;
        const frame = id === undefined ? null : telemetry.frame(id);
        if (!frame)
          return new Response("frame not found", {
            status: 404,
            headers: { "content-type": "text/plain; charset=utf-8" },
          });
        // A frame never changes once stored, so its id is a strong validator.
        const etag = `"frame-${frame.id}"`;
        const headers = {
          etag,
          "content-type": frame.mime,
          "cache-control": latest ? "private, no-cache" : "private, max-age=31536000, immutable",
        };
        if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
        return new Response(frame.bytes as Uint8Array<ArrayBuffer>, { headers });
      })
  );
}
