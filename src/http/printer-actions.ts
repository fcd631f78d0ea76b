// Owns the admin buttons on printer and print pages (CSRF-checked): printer control through the same
// service as the API, its answer shown in place, and deleting a print's timelapse video.
import { Elysia } from "elysia";
import { Answer } from "../../views/forms.tsx";
import { ACTIONS, type Action } from "../services/printer-control.ts";
import { type HttpDeps, htmlResponse, type RequestTools } from "./context.ts";
import { settingsGuard } from "./settings.ts";

export function printerActionRoutes(deps: HttpDeps, tools: RequestTools) {
  const answer = (kind: "ok" | "error", text: string, status = 200) =>
    htmlResponse(Answer({ kind, text }) as string, status);
  return new Elysia({ name: "printer-action-routes" })
    .resolve(({ request, set }) => ({ session: tools.sessionFor(request, set) }))
    .onBeforeHandle(({ session, request, body }) => settingsGuard(deps, tools, session, request, body))
    .post("/timelapses/:id/delete", ({ session, params, body }) => {
      if (session!.user.role !== "admin") return answer("error", tools.t.forbidden, 403);
      const back = String((body as { back?: unknown } | null)?.back ?? "/history");
      deps.removeTimelapse(Number(params.id), session!.user.username);
      // Back to the page the button was on (a local path only).
      const to = /^\/jobs\/\d{1,15}$/.test(back) ? back : "/history";
      return new Response(null, { status: 303, headers: { location: to } });
    })
    .post("/printers/:id/actions", async ({ session, params, body, request }) => {
      if (session!.user.role !== "admin") return answer("error", tools.t.forbidden, 403);
      const id = Number(params.id);
      const { action, level } = (body ?? {}) as { action?: unknown; level?: unknown };
      if (!deps.printers.exists(id)) return answer("error", tools.t.noSuchPrinter, 404);
      if (typeof action !== "string" || !(ACTIONS as readonly string[]).includes(action))
        return answer("error", tools.t.badRequest, 400);
      const result = await deps.control.act(id, action as Action, session!.user.username, Number(level));
      // htmx shows the answer in place (200, so it swaps); a plain form goes back to the page.
      if (request.headers.get("hx-request") !== "true")
        return new Response(null, { status: 303, headers: { location: `/printers/${id}` } });
      if (result.status === 200) return answer("ok", tools.t.actionDone.replace("{action}", action));
      return answer("error", String(result.body.error ?? result.status));
    });
}
