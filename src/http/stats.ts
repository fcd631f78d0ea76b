// Owns the statistics over HTTP (PRINTERS.md §9 Insight API): the page, its JSON and the same as CSV, and the room
// analysis. Anyone logged in may read them.
import { Elysia, t } from "elysia";
import { StatsPage } from "../../views/stats.tsx";
import type { RoomMeasure } from "../print-stats.ts";
import type { Session } from "../services/auth.ts";
import type { RoomBand } from "../services/stats.ts";
import { type HttpDeps, jsonFor, jsonResponse, type RequestTools } from "./context.ts";
import { edge, refusal, wholeNumber } from "./edge.ts";

const Query = t.Object({
  from: t.Optional(t.String({ maxLength: 10 })),
  to: t.Optional(t.String({ maxLength: 10 })),
  printer_id: t.Optional(t.String({ maxLength: 15 })),
  /** The page's room tables: one filament type ("" = every filament). */
  filament: t.Optional(t.String({ maxLength: 40 })),
  /** The CSV's table: "months" (the default) or "filament". */
  table: t.Optional(t.String({ maxLength: 12 })),
});
const RoomQuery = t.Object({
  printer_id: t.Optional(t.String({ maxLength: 15 })),
  filament: t.Optional(t.String({ maxLength: 40 })),
  by: t.Optional(t.String({ maxLength: 12 })),
});

/** One CSV field: quoted when it must be, and never read as a formula by a spreadsheet. */
export function csvField(value: unknown): string {
  let text = value === null || value === undefined ? "" : String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === "string") text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A band as the contract names it: humidity_min/max or temp_min/max. */
const bandOut = (b: RoomBand, measure: RoomMeasure) => {
  const { min, max, ...rest } = b;
  return measure === "humidity"
    ? { humidity_min: min, humidity_max: max, ...rest }
    : { temp_min: min, temp_max: max, ...rest };
};

export function statsRoutes(deps: HttpDeps, tools: RequestTools) {
  const { stats, printers } = deps;

  /** The filter asked for, or why not: bad months, or a printer that is not there. */
  function filter(query: typeof Query.static): { from: string; to: string; printerId: number } | string {
    const range = stats.range(query.from || undefined, query.to || undefined);
    if (!range) return "from and to are months (YYYY-MM) or days (YYYY-MM-DD)";
    if (range.from > range.to) return "from is after to";
    const printerId = query.printer_id ? wholeNumber(query.printer_id) : 0;
    if (printerId === null || (printerId && !printers.get(printerId))) return "no such printer";
    return { ...range, printerId };
  }
  function roomFilter(query: typeof RoomQuery.static) {
    const measure = query.by ?? "humidity";
    if (measure !== "humidity" && measure !== "temperature") return "by is humidity or temperature";
    const printerId = query.printer_id ? wholeNumber(query.printer_id) : 0;
    if (printerId === null || (printerId && !printers.get(printerId))) return "no such printer";
    return { measure: measure as RoomMeasure, printerId, filament: query.filament ?? "" };
  }

  async function page(session: Session, query: typeof Query.static, request: Request) {
    const f = filter(query);
    if (typeof f === "string") return refusal(tools, request, session, 400, f, "400");
    const [summary, humidity, temperature] = await Promise.all([
      stats.summary(f, f.printerId),
      stats.room("humidity", f.printerId, query.filament ?? ""),
      stats.room("temperature", f.printerId, query.filament ?? ""),
    ]);
    return StatsPage({
      ctx: tools.view(session),
      summary,
      room: { humidity, temperature },
      printerId: f.printerId,
      filament: query.filament ?? "",
      printers: printers.list().map((p) => ({ id: p.info.id, name: p.info.name })),
    });
  }

  return new Elysia({ name: "stats-routes" })
    .use(edge(deps, tools))
    .get("/stats", ({ session, query, request }) => page(session, query, request), { auth: "page", query: Query })
    .get(
      "/api/stats",
      async ({ query, request }) => {
        const f = filter(query);
        if (typeof f === "string") return jsonResponse({ error: f }, 400);
        return jsonFor(request, await stats.summary(f, f.printerId));
      },
      { auth: "api", query: Query },
    )
    .get(
      "/api/stats.csv",
      async ({ query }) => {
        const f = filter(query);
        if (typeof f === "string") return jsonResponse({ error: f }, 400);
        const summary = await stats.summary(f, f.printerId);
        if (query.table === "filament") {
          // Filament per type and colour; grams empty when none of its prints knew them.
          const rows = [["type", "color", "prints", "grams", "grams_prints"].join(",")];
          for (const x of summary.filament)
            rows.push([x.type, x.color, x.prints, x.grams, x.grams_prints].map(csvField).join(","));
          return new Response(`${rows.join("\r\n")}\r\n`, {
            headers: {
              "content-type": "text/csv; charset=utf-8",
              "content-disposition": `attachment; filename="layerwatch-filament-${f.from}-${f.to}.csv"`,
            },
          });
        }
        if (query.table && query.table !== "months") return jsonResponse({ error: "table is months or filament" }, 400);
        const head = ["month", "printer_id", "printer", "prints", "finished", "failed", "cancelled", "print_hours"];
        const lines = [[...head, "success_rate"].join(",")];
        for (const m of summary.months)
          lines.push(
            [
              m.month,
              m.printer_id,
              printers.get(m.printer_id)?.info.name ?? "",
              m.prints,
              m.finished,
              m.failed,
              m.cancelled,
              m.print_hours,
              m.success_rate,
            ]
              .map(csvField)
              .join(","),
          );
        return new Response(`${lines.join("\r\n")}\r\n`, {
          headers: {
            "content-type": "text/csv; charset=utf-8",
            "content-disposition": `attachment; filename="layerwatch-stats-${f.from}-${f.to}.csv"`,
          },
        });
      },
      { auth: "api", query: Query },
    )
    .get(
      "/api/stats/room",
      async ({ query, request }) => {
        const f = roomFilter(query);
        if (typeof f === "string") return jsonResponse({ error: f }, 400);
        const room = await stats.room(f.measure, f.printerId, f.filament);
        return jsonFor(request, { ...room, bands: room.bands.map((b) => bandOut(b, f.measure)) });
      },
      { auth: "api", query: RoomQuery },
    );
}
