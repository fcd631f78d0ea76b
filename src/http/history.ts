// Owns the history pages: all prints (/history), one printer's (/printers/:id/history), one print
// (/jobs/:id) with its archived frames and thumbnail.
import { Elysia, t } from "elysia";
import { HistoryPage, OUTCOMES } from "../../views/history.tsx";
import { JobPage } from "../../views/job.tsx";
import { ErrorPage } from "../../views/pages.tsx";
import type { Session } from "../services/auth.ts";
import { type HttpDeps, htmlResponse, loginRedirect, type RequestTools } from "./context.ts";
import { jobFacts } from "./jobs-api.ts";

const PAGE = 50;
const Query = t.Object({
  outcome: t.Optional(t.String({ maxLength: 12 })),
  before: t.Optional(t.String({ maxLength: 15 })),
});

export function historyRoutes(deps: HttpDeps, tools: RequestTools) {
  const { jobs, printers } = deps;
  const notFound = (session: Session | null, message: string) =>
    htmlResponse(ErrorPage({ ctx: tools.view(session), title: "404", message }) as string, 404);

  function history(session: Session | null, query: typeof Query.static, printerId?: number) {
    const outcome = (OUTCOMES as readonly string[]).includes(query.outcome ?? "") ? query.outcome! : "";
    const before = query.before && /^\d{1,15}$/.test(query.before) ? Number(query.before) : undefined;
    const rows = jobs.list({ printerId, outcome, before, limit: PAGE });
    const base = printerId ? `/printers/${printerId}/history` : "/history";
    const last = rows.at(-1);
    const next =
      rows.length === PAGE && last ? `${base}?${new URLSearchParams({ outcome, before: String(last.id) })}` : undefined;
    const name = printerId ? printers.get(printerId)!.info.name : "";
    return htmlResponse(
      HistoryPage({
        ctx: tools.view(session),
        title: printerId ? tools.t.historyOf.replace("{name}", name) : tools.t.printHistory,
        base,
        outcome,
        showPrinter: !printerId,
        next,
        jobs: rows.map((j) => ({ ...j, printer: printers.get(j.printer_id)?.info.name ?? "", facts: jobFacts(j) })),
      }) as string,
    );
  }

  function image(request: Request, frame: { id: number; mime: string; bytes: Uint8Array } | null | undefined) {
    if (!frame) return new Response("frame not found", { status: 404 });
    // An archived frame never changes: its id is a strong validator.
    const etag = `"job-frame-${frame.id}"`;
    const headers = { etag, "content-type": frame.mime, "cache-control": "private, max-age=31536000, immutable" };
    if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
    return new Response(frame.bytes as Uint8Array<ArrayBuffer>, { headers });
  }

  return (
    new Elysia({ name: "history-routes" })
      .resolve(({ request, set }) => ({ session: tools.sessionFor(request, set) }))
      .onBeforeHandle(({ session, request }) => (session ? undefined : loginRedirect(request)))
      .get("/history", ({ session, query }) => history(session, query), { query: Query })
      .get(
        "/printers/:id/history",
        ({ session, query, params }) => {
          const id = Number(params.id);
          return printers.exists(id) ? history(session, query, id) : notFound(session, tools.t.noSuchPrinter);
        },
        { query: Query },
      )
      .get("/jobs/:id", ({ session, params }) => {
        const job = /^\d{1,15}$/.test(params.id) ? jobs.get(Number(params.id)) : null;
        if (!job) return notFound(session, tools.t.noSuchJob);
        return htmlResponse(
          JobPage({
            ctx: tools.view(session),
            job,
            printer: printers.get(job.printer_id)?.info.name ?? "",
            facts: jobFacts(job),
            frames: jobs.frames(job.id),
            timelapseId: jobs.timelapseOf(job.id),
          }) as string,
        );
      })
      .get("/jobs/:id/frames/:file", ({ params, request }) => {
        const m = /^(\d{1,15})\.jpg$/.exec(params.file);
        const frame = m ? jobs.frame(Number(m[1])) : null;
        return image(request, frame && String(frame.job_id) === params.id ? frame : null);
      })
      // The job's last archived frame: its thumbnail in lists and for its video.
      .get("/jobs/:id/thumbnail.jpg", ({ params, request }) => {
        const frames = /^\d{1,15}$/.test(params.id) ? jobs.frames(Number(params.id)) : [];
        const last = frames.at(-1);
        return image(request, last ? jobs.frame(last.id) : null);
      })
  );
}
