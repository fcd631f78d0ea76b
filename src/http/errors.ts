// Owns how failures are answered: JSON under /api/, an error page elsewhere; bugs logged, never shown.
import { Elysia } from "elysia";
import type { Logger } from "../log.ts";
import { jsonResponse, loginRedirect, type RequestTools } from "./context.ts";
import { isApi, refusal } from "./edge.ts";

/** An error answer in the form the caller reads: JSON for the API, a page for a browser. */
export const errorAnswer = (tools: RequestTools, request: Request, status: number, message: string, title?: string) =>
  refusal(tools, request, null, status, message, title);

export function errorHandler(tools: RequestTools, log: Logger) {
  return new Elysia({ name: "error-handler" }).onError({ as: "global" }, async ({ code, error, request }) => {
    const notFound = () => errorAnswer(tools, request, 404, isApi(request) ? "not found" : tools.t.notFound, "404");
    if (code === "NOT_FOUND") return notFound();
    // An id in the path that is not a number names nothing; who is not logged in is asked to log in first.
    if (code === "VALIDATION" && (error as { type?: string }).type === "params") {
      if ((await tools.sessionOf(request)) || request.headers.get("authorization")) return notFound();
      return isApi(request) ? jsonResponse({ error: "unauthorized: log in first" }, 401) : loginRedirect(request);
    }
    if (code === "VALIDATION" || code === "PARSE" || code === "INVALID_COOKIE_SIGNATURE") {
      const detail = (error as { message: string }).message?.split("\n")[0]?.slice(0, 200);
      const message =
        code === "VALIDATION"
          ? `invalid ${(error as { type?: string }).type ?? "input"}: ${detail}`
          : "the request body could not be read";
      return errorAnswer(tools, request, 400, message, tools.t.badRequest);
    }
    // A share link's token is a secret: its path is logged without it.
    const path = new URL(request.url).pathname.replace(/^\/s\/[^/]+/, "/s/<token>");
    log.error("request failed", { path, error: error as Error });
    return errorAnswer(tools, request, 500, isApi(request) ? "internal error" : tools.t.serverError, "500");
  });
}
