// Owns the admin buttons on printer and print pages (CSRF-checked): printer control through the same
// service as the API, its answer shown in place, and deleting a print's timelapse video.
import { Elysia } from "elysia";
import { Answer } from "../../views/forms.tsx";
import { ACTIONS, type Action } from "../services/printer-control.ts";
import { type HttpDeps, type RequestTools, redirectTo } from "./context.ts";
import { edge, IdParams, wholeNumber } from "./edge.ts";

/** Spread into each route: Elysia rewrites the hook object it is given, so none may be shared. */
const admin = { auth: "form", role: "admin" } as const;

/** Where the delete button sends the browser back to: the print's page it was on, else the history. */
const backTo = (back: unknown) =>
  typeof back === "string" && back.startsWith("/jobs/") && wholeNumber(back.slice("/jobs/".length)) !== null
    ? back
    : "/history";

export function printerActionRoutes(deps: HttpDeps, tools: RequestTools) {
  return new Elysia({ name: "printer-action-routes" })
    .use(edge(deps, tools))
    .post(
      "/timelapses/:id/delete",
      ({ session, params, body }) => {
        deps.removeTimelapse(params.id, session.user.username);
        return redirectTo(backTo((body as { back?: unknown } | null)?.back));
      },
      { ...admin, params: IdParams },
    )
    .post(
      "/printers/:id/actions",
      async ({ session, printer, body, request, set }) => {
        const id = printer.info.id;
        const { action, level } = (body ?? {}) as { action?: unknown; level?: unknown };
        if (typeof action !== "string" || !(ACTIONS as readonly string[]).includes(action)) {
          set.status = 400;
          return Answer({ kind: "error", text: tools.t.badRequest });
        }
        const result = await deps.control.act(id, action as Action, session.user.username, Number(level));
        // htmx shows the answer in place (200, so it swaps); a plain form goes back to the page.
        if (request.headers.get("hx-request") !== "true") return redirectTo(`/printers/${id}`);
        if (result.status === 200) return Answer({ kind: "ok", text: tools.t.actionDone.replace("{action}", action) });
        return Answer({ kind: "error", text: String(result.body.error ?? result.status) });
      },
      { ...admin, printer: true },
    );
}
