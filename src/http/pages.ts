// Owns the logged-in pages: home, the printer dashboard (/3d), chart partials and frame images.
import { Elysia, t } from "elysia";
import { ChartPanel, DashboardPage } from "../../views/dashboard.tsx";
import { ErrorPage, HomePage } from "../../views/pages.tsx";
import { dayOf } from "../time.ts";
import { type HttpDeps, htmlResponse, loginRedirect, type RequestTools } from "./context.ts";

export function pageRoutes(deps: HttpDeps, tools: RequestTools) {
  const { telemetry, config } = deps;
  const today = () => dayOf(Date.now(), config.timezone);
  const badDay = (request: Request, session: Parameters<RequestTools["view"]>[0]) =>
    htmlResponse(ErrorPage({ ctx: tools.view(session), title: tools.t.badRequest, message: "day must be a date written YYYY-MM-DD" }) as string, 400);

  return new Elysia({ name: "page-routes" })
    .resolve(({ request }) => ({ session: tools.sessionOf(request) }))
    .onBeforeHandle(({ session, request }) => (session ? undefined : loginRedirect(request)))
    .get("/", ({ session }) => htmlResponse(HomePage({ ctx: tools.view(session) }) as string))
    .get("/3d", ({ session, query, request }) => {
      const day = query.day ?? today();
      const readings = telemetry.readingsOfDay(day);
      if (!readings) return badDay(request, session);
      return htmlResponse(DashboardPage({ ctx: tools.view(session), latest: telemetry.latest(), intervals: deps.intervals.get(), day, today: today(), readings }) as string);
    }, { query: t.Object({ day: t.Optional(t.String({ maxLength: 32 })) }) })
    .get("/partials/chart", ({ session, query, request }) => {
      const day = query.day || today();
      const readings = telemetry.readingsOfDay(day);
      if (!readings) return badDay(request, session);
      return htmlResponse(ChartPanel({ ctx: tools.view(session), day, today: today(), readings }) as string);
    }, { query: t.Object({ day: t.Optional(t.String({ maxLength: 32 })) }) })
    .get("/frames/:file", ({ params, request }) => {
      const m = /^(\d{1,15}|latest)(?:\.(?:jpg|jpeg|png))?$/.exec(params.file);
      const frame = m?.[1] === "latest" ? telemetry.latest().frame && telemetry.frame(telemetry.latest().frame!.id) : m ? telemetry.frame(Number(m[1])) : null;
      if (!frame) return new Response("frame not found", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
      // A frame never changes once stored, so its id is a strong validator.
      const etag = `"frame-${frame.id}"`;
      const headers = { etag, "cache-control": "private, max-age=31536000, immutable", "content-type": frame.mime };
      if (m?.[1] === "latest") headers["cache-control"] = "private, no-cache";
      if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
      return new Response(frame.bytes as Uint8Array<ArrayBuffer>, { headers });
    });
}
