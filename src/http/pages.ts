// Owns the logged-in pages: the overview, each printer's page (/printers/:id, /3d = printer 1), their
// partials, and frame images.
import { Elysia, t } from "elysia";
import {
  ChartPanel,
  type ChartView,
  chartPoints,
  DashboardPage,
  LiveTiles,
  VIEW_DAYS,
} from "../../views/dashboard.tsx";
import { OverviewPage } from "../../views/overview.tsx";
import { ErrorPage } from "../../views/pages.tsx";
import { PrinterCard } from "../../views/printer.tsx";
import { cardInterval } from "../../views/render.ts";
import type { Session } from "../services/auth.ts";
import type { HeldPrinter } from "../services/printers.ts";
import { describeWarning, ROOM_NOW_MS } from "../services/stats.ts";
import { DEFAULT_PRINTER_ID } from "../store/migrations.ts";
import type { ReadingRow } from "../store/store.ts";
import { dayOf, parseDay, shiftDay } from "../time.ts";
import type { HttpDeps, RequestTools } from "./context.ts";
import { edge, idOfFile } from "./edge.ts";

const ChartQuery = t.Object({
  day: t.Optional(t.String({ maxLength: 32 })),
  view: t.Optional(t.String({ maxLength: 8 })),
});
/** A day's thinned chart line, kept while the day's reading count (from its summary) is unchanged. */
const DAY_CACHE_SIZE = 64;
/** A frame's file name: `<id>` or `latest`, with one of these extensions or none. */
const FRAME_EXTS = ["jpg", "jpeg", "png", ""] as const;

export function pageRoutes(deps: HttpDeps, tools: RequestTools) {
  const { telemetry, config, printers } = deps;
  const today = () => dayOf(Date.now(), config.timezone);
  type Status = { status?: number | string };
  const badRequest = (session: Session, set: Status) => {
    set.status = 400;
    return ErrorPage({ ctx: tools.view(session), title: tools.t.badRequest, message: tools.t.badDayOrView });
  };

  const dayLines = new Map<string, { count: number; points: ReadingRow[] }>();
  const panels = new Map<string, string>();
  /** The page never reads a day's raw readings twice: the line is cached by the day's summary count. */
  async function dayLine(id: number, day: string, count: number): Promise<ReadingRow[]> {
    const key = `${id}|${day}`;
    const hit = dayLines.get(key);
    if (hit && hit.count === count) return hit.points;
    const points = count ? chartPoints((await telemetry.readingsOfDay(id, day)) ?? []) : [];
    dayLines.delete(key);
    dayLines.set(key, { count, points });
    if (dayLines.size > DAY_CACHE_SIZE) dayLines.delete(dayLines.keys().next().value!);
    return points;
  }

  /** The history panel for a view ending on `day`; null when the query is malformed. */
  async function chart(id: number, query: { day?: string; view?: string }): Promise<string | null> {
    const view = (query.view ?? "day") as ChartView;
    const day = query.day || today();
    if (!(view in VIEW_DAYS) || !parseDay(day)) return null;
    const source = id === DEFAULT_PRINTER_ID ? "/partials/chart" : `/printers/${id}/partials/chart`;
    const bucket = view === "month" ? "day" : "hour";
    const now = today();
    const summaries = (await telemetry.summaries(id, bucket, shiftDay(day, 1 - VIEW_DAYS[view]), day))!;
    const count = summaries.reduce((n, s) => n + s.count, 0);
    // The panel has nothing user-specific: rendered once per period and reading count, then reused.
    const key = `${id}|${view}|${day}|${now}|${count}`;
    const hit = panels.get(key);
    if (hit) return hit;
    const points = view === "day" ? await dayLine(id, day, count) : undefined;
    const html = ChartPanel({
      ctx: tools.view(null),
      view,
      day,
      today: now,
      summaries,
      points,
      source,
      csv: `/printers/${id}/readings.csv`,
    }) as string;
    panels.set(key, html);
    if (panels.size > DAY_CACHE_SIZE) panels.delete(panels.keys().next().value!);
    return html;
  }

  const live = async (id: number, session: Session, set: { headers: Record<string, unknown> }) => {
    set.headers["cache-control"] = "no-store";
    return LiveTiles({
      ctx: tools.view(session),
      latest: telemetry.latest(id),
      intervals: deps.intervals.get(),
      frames: await telemetry.frames(id, deps.config.image_retention),
    });
  };

  async function printerPage(id: number, session: Session, set: Status, query: { day?: string; view?: string }) {
    const panel = await chart(id, query);
    if (!panel) return badRequest(session, set);
    const printer = printers.get(id)!;
    const latest = telemetry.latest(id);
    const room = latest.reading && Date.now() - latest.reading.recorded_at < ROOM_NOW_MS ? latest.reading : null;
    // From the bands read when a print last ended: the printer page stays free of statistics queries.
    const warning = deps.stats.roomWarningNow(id, room);
    return DashboardPage({
      ctx: tools.view(session),
      printer,
      deviceOnline: printers.deviceSource(printer) === "online",
      latest,
      intervals: deps.intervals.get(),
      frames: await telemetry.frames(id, deps.config.image_retention),
      chart: panel,
      roomWarning: warning ? describeWarning(warning, tools.t.roomWarningText) : null,
      spoolman: !!deps.config.spoolman_url,
    });
  }

  /** The chart panel alone, for htmx to swap in. */
  async function chartPartial(id: number, session: Session, set: Status, query: { day?: string; view?: string }) {
    return (await chart(id, query)) ?? badRequest(session, set);
  }

  const cards = new Map<number, { key: string; html: string }>();
  /** A card changes only with its printer's state, newest data or the day (stamps name the day). */
  function card(printer: HeldPrinter, interval: number, day: string): string {
    const id = printer.info.id;
    const latest = telemetry.latest(id);
    const key = [
      printer.state.updated_at,
      printer.info.name,
      printer.info.created_at,
      latest.reading?.id,
      latest.status?.id,
      latest.status?.last_seen_at,
      latest.frame?.id,
      interval,
      day,
    ].join("|");
    const hit = cards.get(id);
    if (hit?.key === key) return hit.html;
    const html = PrinterCard({ printer, latest, ctx: tools.view(null), interval }) as string;
    cards.set(id, { key, html });
    return html;
  }

  async function frameResponse(request: Request, file: string, latestOf: number) {
    const latest = FRAME_EXTS.some((ext) => file === (ext ? `latest.${ext}` : "latest"));
    const id = latest ? telemetry.latest(latestOf).frame?.id : (idOfFile(file, FRAME_EXTS) ?? undefined);
    const frame = id === undefined ? null : await telemetry.frame(id);
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
  }

  const page = { auth: "page" } as const;
  const media = { auth: "media" } as const;
  const printerPart = { auth: "page", printer: true, query: ChartQuery } as const;
  return (
    new Elysia({ name: "page-routes" })
      .use(edge(deps, tools))
      .get(
        "/",
        ({ session }) => {
          const interval = cardInterval(deps.intervals.get());
          const day = today();
          const cards = printers.list().map((printer) => card(printer, interval, day));
          return OverviewPage({ ctx: tools.view(session), cards });
        },
        { ...page },
      )
      .get("/3d", ({ session, query, set }) => printerPage(DEFAULT_PRINTER_ID, session, set, query), {
        ...page,
        query: ChartQuery,
      })
      .get("/printers/:id", ({ session, query, printer, set }) => printerPage(printer.info.id, session, set, query), {
        ...printerPart,
      })
      .get("/partials/chart", ({ session, query, set }) => chartPartial(DEFAULT_PRINTER_ID, session, set, query), {
        ...page,
        query: ChartQuery,
      })
      .get(
        "/printers/:id/partials/chart",
        ({ session, query, printer, set }) => chartPartial(printer.info.id, session, set, query),
        { ...printerPart },
      )
      // A page whose socket reconnects fetches this to catch up on what it missed.
      .get("/partials/tiles", ({ session, set }) => live(DEFAULT_PRINTER_ID, session, set), { ...page })
      .get("/printers/:id/partials/tiles", ({ session, printer, set }) => live(printer.info.id, session, set), {
        ...page,
        printer: true,
      })
      .get("/frames/:file", ({ params, request }) => frameResponse(request, params.file, DEFAULT_PRINTER_ID), {
        ...media,
      })
      .get(
        "/printers/:id/frames/:file",
        ({ params, request, printer }) => frameResponse(request, params.file, printer.info.id),
        { ...media, printer: true },
      )
  );
}
