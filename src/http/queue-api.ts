// Owns the queue's JSON API (PRINTERS.md §9): list, add (a printer or a rule), reorder, cancel, retry, delete,
// pause the whole queue, and a printer's plate confirmed clear. Writes need the operator role.
import { Elysia } from "elysia";
import { type HttpDeps, jsonResponse, type RequestTools } from "./context.ts";
import { edge, IdParams } from "./edge.ts";

export function queueApiRoutes(deps: HttpDeps, tools: RequestTools) {
  const { queue } = deps;
  const operator = { auth: "api", role: "operator" } as const;
  const body = (b: unknown) => (b && typeof b === "object" ? (b as Record<string, unknown>) : {});
  return new Elysia({ name: "queue-api" })
    .use(edge(deps, tools))
    .get("/api/queue", async () => jsonResponse({ paused: await queue.paused(), items: await queue.list() }), {
      auth: "api",
    })
    .post(
      "/api/queue",
      async ({ body: b, session }) => {
        const input = body(b);
        const r = await queue.add(
          {
            file_id: input.file_id,
            plate: input.plate,
            printer_id: input.printer_id,
            rule: input.rule,
            options: input.options,
          },
          session.user.username,
        );
        return r.ok ? jsonResponse(r.item, 201) : jsonResponse({ error: r.error }, r.status);
      },
      { ...operator },
    )
    .post(
      "/api/queue/pause",
      async ({ body: b, session }) => {
        const paused = body(b).paused;
        if (typeof paused !== "boolean") return jsonResponse({ error: "paused must be true or false" }, 400);
        await queue.pause(paused, session.user.username);
        return jsonResponse({ paused });
      },
      { ...operator },
    )
    .patch(
      "/api/queue/:id",
      async ({ params, body: b, session }) => {
        const r = await queue.change(params.id, body(b), session.user.username);
        return r.ok ? jsonResponse(r.item) : jsonResponse({ error: r.error }, r.status);
      },
      { ...operator, params: IdParams },
    )
    .delete(
      "/api/queue/:id",
      async ({ params, session }) => {
        const r = await queue.remove(params.id, session.user.username);
        return r.ok ? jsonResponse({ deleted: params.id }) : jsonResponse({ error: r.error }, r.status);
      },
      { ...operator, params: IdParams },
    )
    .post(
      "/api/printers/:id/plate-cleared",
      async ({ printer, session }) => {
        await queue.plateCleared(printer.info.id, session.user.username);
        return jsonResponse({ ok: true });
      },
      { ...operator, printer: true },
    );
}
