// Owns who may ask what over HTTP: the request's session, the auth, role and printer macros every route group
// uses (one CSRF check among them), and ids in paths read as numbers.
import { Elysia, t } from "elysia";
import { ErrorPage } from "../../views/pages.tsx";
import type { Session } from "../services/auth.ts";
import type { HeldPrinter } from "../services/printers.ts";
import { roleAtLeast } from "../services/users.ts";
import { apiTokenOf, type HttpDeps, htmlResponse, jsonResponse, loginRedirect, type RequestTools } from "./context.ts";

/**
 * How a route group answers a request it refuses. page: to the login page; api: 401 JSON, and writes
 * (POST, PUT, PATCH) only as JSON, which a cross-site form cannot send; form: a page whose POSTs carry the
 * session's CSRF token; media: a GET route serving the bytes of a URL the API hands out (a frame, a plate's
 * thumbnail, a video), which takes a personal API token too, as the API does (401 JSON when it is not valid),
 * and is a page for a browser.
 */
export type AuthKind = "page" | "api" | "form" | "media";
// A route's hook object is rewritten by Elysia as it applies these macros: spread shared ones ({ ...admin }).

/** A path naming a record by `:id` (`/jobs/:id`, `/settings/users/:id/delete`): the id as a number. */
export const IdParams = t.Object({ id: t.Numeric({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) });
/** The printer macro's: :id, and whatever else the route's path names (`/printers/:id/frames/:file`). */
const PrinterParams = t.Object({ id: IdParams.properties.id }, { additionalProperties: true });

export const isApi = (request: Request) => new URL(request.url).pathname.startsWith("/api/");
const isJson = (request: Request) => !!request.headers.get("content-type")?.startsWith("application/json");
const writesBody = (method: string) => method === "POST" || method === "PUT" || method === "PATCH";

/** Decimal digits only (at most 15, so the number is exact): the number, else null. */
export function wholeNumber(text: string | null | undefined, maxDigits = 15): number | null {
  if (!text || text.length > maxDigits) return null;
  for (const c of text) if (c < "0" || c > "9") return null;
  return Number(text);
}

/** `<id>.<ext>` as the last segment of a file path (`12.jpg`, `3.mp4`; `12` when "" is allowed): the id. */
export function idOfFile(file: string, exts: readonly string[]): number | null {
  const dot = file.indexOf(".");
  const [digits, ext] = dot < 0 ? [file, ""] : [file.slice(0, dot), file.slice(dot + 1)];
  return exts.includes(ext) ? wholeNumber(digits) : null;
}

/** A refusal or error: JSON under /api/, else the error page (with the user's header when there is a session). */
export function refusal(
  tools: RequestTools,
  request: Request,
  session: Session | null,
  status: number,
  text: string,
  title = String(status),
) {
  if (isApi(request)) return jsonResponse({ error: text }, status);
  return htmlResponse(ErrorPage({ ctx: tools.view(session), title, message: text }) as string, status);
}

/** The session an earlier macro resolved, for a later one (the context is not typed across macros). */
const sessionIn = (ctx: unknown) => (ctx as { session?: Session | null }).session ?? null;

/** The one CSRF check: null when a POST carries the session's token, else the refusal (logged as a warning). */
export function csrfCheck(deps: Pick<HttpDeps, "log">, tools: RequestTools) {
  return (session: Session, request: Request, body: unknown): Response | null => {
    if (request.method !== "POST" || tools.csrfValid(session, request, body)) return null;
    deps.log.warn("request refused: missing or wrong CSRF token", {
      path: new URL(request.url).pathname,
      user: session.user.username,
    });
    // htmx would drop a 403 silently: have it reload the page, which brings a fresh token.
    if (request.headers.get("hx-request") === "true")
      return new Response(null, { status: 403, headers: { "hx-refresh": "true" } });
    return refusal(tools, request, session, 403, tools.t.csrfExpired);
  };
}

export function edge(deps: Pick<HttpDeps, "log" | "printers">, tools: RequestTools) {
  const csrfRefusal = csrfCheck(deps, tools);
  return new Elysia().macro({
    /** The request's session, present in the handler; a remembered one gets its cookie renewed. */
    auth: (kind: AuthKind) => ({
      async resolve({ request, set, body, status }) {
        const media = kind === "media";
        const session = await tools.sessionFor(request, set, media);
        if (!session)
          return kind === "api"
            ? status(401, jsonResponse({ error: "unauthorized: log in first" }, 401))
            : media && apiTokenOf(request)
              ? status(401, jsonResponse({ error: "unauthorized: unknown or revoked API token" }, 401))
              : status(401, loginRedirect(request));
        if (kind === "api" && writesBody(request.method) && !isJson(request))
          return status(415, jsonResponse({ error: "send application/json" }, 415));
        const refused = kind === "form" ? csrfRefusal(session, request, body) : null;
        if (refused) return status(403, refused);
        return { session };
      },
    }),
    /** Only users of this role or a higher one (operator: operators and admins); after auth. */
    role: (role: Session["user"]["role"]) => ({
      resolve(ctx) {
        const session = sessionIn(ctx);
        if (roleAtLeast(session?.user.role, role)) return {};
        const text = isApi(ctx.request)
          ? role === "admin"
            ? "forbidden: admins only"
            : "forbidden: operators and admins only"
          : tools.t.forbidden;
        return ctx.status(403, refusal(tools, ctx.request, session, 403, text));
      },
    }),
    /** The printer the path's :id names; 404 when there is none. */
    printer: (on: true) => ({
      params: PrinterParams,
      resolve(ctx) {
        // The params schema above has made :id a number by now; the macro's context does not know it.
        const { id } = ctx.params as { id: number };
        const printer: HeldPrinter | undefined = on ? deps.printers.get(id) : undefined;
        if (printer) return { printer };
        const text = isApi(ctx.request) ? "no such printer" : tools.t.noSuchPrinter;
        return ctx.status(404, refusal(tools, ctx.request, sessionIn(ctx), 404, text));
      },
    }),
  });
}
