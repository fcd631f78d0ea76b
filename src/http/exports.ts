// Owns the CSV download routes: a printer's readings over a range of days (optionally one device's), a print's
// readings, and the print history with its weather; each from the pages (session, page links) and the API.
import { Elysia, t } from "elysia";
import type { Session } from "../services/auth.ts";
import type { Exports } from "../services/exports.ts";
import { dayRange } from "../time.ts";
import type { HttpDeps, RequestTools } from "./context.ts";
import { edge, IdParams, refusal, wholeNumber } from "./edge.ts";

const RangeQuery = t.Object({
  from: t.Optional(t.String({ maxLength: 10 })),
  to: t.Optional(t.String({ maxLength: 10 })),
  device: t.Optional(t.String({ maxLength: 15 })),
  printer_id: t.Optional(t.String({ maxLength: 15 })),
});
type Range = typeof RangeQuery.static;

/** Calendar days `from`..`to` (YYYY-MM-DD, both inclusive, in the configured zone) as [start, end) ms; either may
 *  be left out (from the first row, to the last). */
function range(query: Range, zone: string): { from: number; to: number } | string {
  const from = query.from ? dayRange(query.from, zone) : { start: 0, end: 0 };
  const to = query.to ? dayRange(query.to, zone) : { start: 0, end: Number.MAX_SAFE_INTEGER };
  if (!from) return "from must be a date YYYY-MM-DD";
  if (!to) return "to must be a date YYYY-MM-DD";
  if (to.end <= from.start) return "to must not be before from";
  return { from: from.start, to: to.end };
}

const csv = (body: ReadableStream<Uint8Array>, filename: string) =>
  new Response(body, {
    headers: {
      "content-type": "text/csv; charset=utf-8; header=present",
      "content-disposition": `attachment; filename="${filename}"`,
      "cache-control": "no-store",
    },
  });

/** The days a file name carries: only what was asked, so it is always safe ASCII. */
const span = (q: Range) => `${q.from ?? "start"}_${q.to ?? "now"}`.replace(/[^0-9A-Za-z_-]/g, "");

export function exportRoutes(
  deps: Pick<HttpDeps, "config" | "log" | "printers" | "jobs"> & { exports: Exports },
  tools: RequestTools,
) {
  const zone = deps.config.timezone;
  const bad = (request: Request, session: Session | null, text: string) => refusal(tools, request, session, 400, text);

  async function readings(request: Request, session: Session, printerId: number, query: Range) {
    const r = range(query, zone);
    if (typeof r === "string") return bad(request, session, r);
    const deviceId = query.device === undefined ? 0 : wholeNumber(query.device);
    if (deviceId === null) return bad(request, session, "device must be a device id");
    const body = await deps.exports.readings({ printerId, deviceId, ...r });
    return csv(body, `printer-${printerId}-readings-${span(query)}.csv`);
  }

  async function jobReadings(request: Request, session: Session, id: number) {
    const job = await deps.jobs.get(id);
    if (!job) return refusal(tools, request, session, 404, "no such job");
    const to = (job.ended_at ?? Date.now()) + 1;
    const body = await deps.exports.readings({ printerId: job.printer_id, deviceId: 0, from: job.started_at, to });
    return csv(body, `job-${job.id}-readings.csv`);
  }

  async function history(request: Request, session: Session, printerId: number, query: Range) {
    const r = range(query, zone);
    if (typeof r === "string") return bad(request, session, r);
    const body = await deps.exports.jobs({ printerId, ...r });
    return csv(body, `${printerId ? `printer-${printerId}-` : ""}prints-${span(query)}.csv`);
  }

  const page = { auth: "page" } as const;
  const api = { auth: "api" } as const;
  return new Elysia({ name: "export-routes" })
    .use(edge(deps, tools))
    .get(
      "/printers/:id/readings.csv",
      ({ request, session, printer, query }) => readings(request, session, printer.info.id, query),
      { ...page, printer: true, query: RangeQuery },
    )
    .get(
      "/api/printers/:id/readings.csv",
      ({ request, session, printer, query }) => readings(request, session, printer.info.id, query),
      { ...api, printer: true, query: RangeQuery },
    )
    .get("/jobs/:id/readings.csv", ({ request, session, params }) => jobReadings(request, session, params.id), {
      ...page,
      params: IdParams,
    })
    .get("/api/jobs/:id/readings.csv", ({ request, session, params }) => jobReadings(request, session, params.id), {
      ...api,
      params: IdParams,
    })
    .get("/history.csv", ({ request, session, query }) => history(request, session, 0, query), {
      ...page,
      query: RangeQuery,
    })
    .get(
      "/printers/:id/history.csv",
      ({ request, session, printer, query }) => history(request, session, printer.info.id, query),
      { ...page, printer: true, query: RangeQuery },
    )
    .get(
      "/api/jobs.csv",
      ({ request, session, query }) => {
        const printerId = query.printer_id === undefined ? 0 : wholeNumber(query.printer_id);
        if (printerId === null || (printerId && !deps.printers.get(printerId)))
          return bad(request, session, "printer_id must be the id of a printer");
        return history(request, session, printerId, query);
      },
      { ...api, query: RangeQuery },
    );
}
