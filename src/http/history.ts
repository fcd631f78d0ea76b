// Owns the history pages: all prints (/history), one printer's (/printers/:id/history), one print
// (/jobs/:id) with its archived frames and thumbnail.
import { Elysia, t } from "elysia";
import { HistoryPage, OUTCOMES } from "../../views/history.tsx";
import { JobPage } from "../../views/job.tsx";
import { ErrorPage } from "../../views/pages.tsx";
import { ExportPage } from "../../views/recording.tsx";
import { effectiveModel } from "../bambu-models.ts";
import type { Session } from "../services/auth.ts";
import type { HttpDeps, RequestTools } from "./context.ts";
import { edge, IdParams, idOfFile, wholeNumber } from "./edge.ts";
import { filamentsByJob, jobFacts } from "./jobs-api.ts";

const PAGE = 50;
const Query = t.Object({
  outcome: t.Optional(t.String({ maxLength: 12 })),
  before: t.Optional(t.String({ maxLength: 15 })),
});

export function historyRoutes(deps: HttpDeps, tools: RequestTools) {
  const { jobs, printers } = deps;
  async function history(session: Session, query: typeof Query.static, printerId?: number) {
    const outcome = (OUTCOMES as readonly string[]).includes(query.outcome ?? "") ? query.outcome! : "";
    const before = wholeNumber(query.before) ?? undefined;
    const rows = await jobs.list({ printerId, outcome, before, limit: PAGE });
    const base = printerId ? `/printers/${printerId}/history` : "/history";
    const last = rows.at(-1);
    const next =
      rows.length === PAGE && last ? `${base}?${new URLSearchParams({ outcome, before: String(last.id) })}` : undefined;
    const name = printerId ? printers.get(printerId)!.info.name : "";
    const filaments = filamentsByJob(await jobs.filaments(rows.map((j) => j.id)));
    return HistoryPage({
      ctx: tools.view(session),
      title: printerId ? tools.t.historyOf.replace("{name}", name) : tools.t.printHistory,
      base,
      outcome,
      showPrinter: !printerId,
      next,
      jobs: rows.map((j) => ({
        ...j,
        printer: printers.get(j.printer_id)?.info.name ?? "",
        facts: jobFacts(j),
        filaments: filaments.get(j.id) ?? [],
      })),
    });
  }

  function image(request: Request, frame: { id: number; mime: string; bytes: Uint8Array } | null | undefined) {
    if (!frame) return new Response("frame not found", { status: 404 });
    // An archived frame never changes: its id is a strong validator.
    const etag = `"job-frame-${frame.id}"`;
    const headers = { etag, "content-type": frame.mime, "cache-control": "private, max-age=31536000, immutable" };
    if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
    return new Response(frame.bytes as Uint8Array<ArrayBuffer>, { headers });
  }

  const page = { auth: "page" } as const;
  const media = { auth: "media" } as const;
  return (
    new Elysia({ name: "history-routes" })
      .use(edge(deps, tools))
      .get("/history", ({ session, query }) => history(session, query), { ...page, query: Query })
      .get("/printers/:id/history", ({ session, query, printer }) => history(session, query, printer.info.id), {
        ...page,
        printer: true,
        query: Query,
      })
      .get(
        "/jobs/:id",
        async ({ session, params, set }) => {
          const job = await jobs.get(params.id);
          if (!job) {
            set.status = 404;
            return ErrorPage({ ctx: tools.view(session), title: "404", message: tools.t.noSuchJob });
          }
          return JobPage({
            ctx: tools.view(session),
            job,
            printer: printers.get(job.printer_id)?.info.name ?? "",
            model: (() => {
              const p = printers.get(job.printer_id);
              return p ? effectiveModel(p.state.model, p.info.serial, p.info.model).model : null;
            })(),
            facts: jobFacts(job),
            frames: await jobs.frames(job.id),
            timelapseId: await jobs.timelapseOf(job.id),
            filaments: filamentsByJob(await jobs.filaments([job.id])).get(job.id) ?? [],
            reprintable: job.outcome !== "running" && (await deps.sends.canReprint(job.id)),
            recording: (await deps.recorder.recording(job.id))?.events ?? [],
          });
        },
        { ...page, params: IdParams },
      )
      .get(
        "/jobs/:id/frames/:file",
        async ({ params, request }) => {
          const frameId = idOfFile(params.file, ["jpg"]);
          const frame = frameId === null ? null : await jobs.frame(frameId);
          return image(request, frame && frame.job_id === params.id ? frame : null);
        },
        { ...media, params: t.Object({ id: IdParams.properties.id, file: t.String() }) },
      )
      // The flight recorder as one HTML file: frames inline as data: URIs, so it opens offline and asks for nothing.
      .get(
        "/jobs/:id/export",
        async ({ session, params, set }) => {
          const rec = await deps.recorder.recording(params.id);
          if (!rec) {
            set.status = 404;
            return ErrorPage({ ctx: tools.view(session), title: "404", message: tools.t.noSuchJob });
          }
          const frames = new Map<number, string>();
          for (const e of rec.events) {
            if (e.kind !== "frame") continue;
            const f = await jobs.frame(e.id as number);
            if (f) frames.set(f.id, `data:${f.mime};base64,${Buffer.from(f.bytes).toString("base64")}`);
          }
          const html = ExportPage({
            ctx: tools.view(session),
            job: rec.job,
            printer: printers.get(rec.job.printer_id)?.info.name ?? "",
            events: rec.events,
            frames,
          }) as string;
          const name = `layerwatch-print-${rec.job.id}.html`;
          return new Response(html, {
            headers: {
              "content-type": "text/html; charset=utf-8",
              "content-disposition": `attachment; filename="${name}"`,
              "cache-control": "private, no-store",
            },
          });
        },
        { ...page, params: IdParams },
      )
      // The job's last archived frame: its thumbnail in lists and for its video.
      .get(
        "/jobs/:id/thumbnail.jpg",
        async ({ params, request }) => {
          const last = (await jobs.frames(params.id)).at(-1);
          return image(request, last ? await jobs.frame(last.id) : null);
        },
        { ...media, params: IdParams },
      )
  );
}
