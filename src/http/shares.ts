// Owns share links over HTTP (PRINTERS.md §9): making and listing them (operators), revoking them (admins), and
// what a link opens without an account: `/s/<token>` is that print's page, read-only, with its frames and video
// under the same token, or a printer's live view (its live part polled under the token), and nothing else (no
// other print, printer, API or socket is reachable from it).
import { Elysia, t } from "elysia";
import { JobPage } from "../../views/job.tsx";
import { ErrorPage } from "../../views/pages.tsx";
import {
  ShareBox,
  SharedGone,
  SharedPrinterLive,
  SharedPrinterPage,
  SharesSection,
  shareState,
} from "../../views/shares.tsx";
import type { Session } from "../services/auth.ts";
import { SHARE_DEFAULT_S, SHARE_MAX_S, SHARE_MIN_S, type ShareLookup } from "../services/shares.ts";
import type { JobRow, ShareListRow } from "../store/store.ts";
import { isoInZone } from "../time.ts";
import { type HttpDeps, htmlResponse, jsonFor, jsonResponse, type RequestTools } from "./context.ts";
import { edge, IdParams, idOfFile } from "./edge.ts";
import { filamentsByJob, jobFacts } from "./jobs-api.ts";
import { settingsPage } from "./settings.ts";
import { videoResponse } from "./timelapse-files.ts";
import type { TimelapseDeps } from "./tus.ts";

const Csrf = { _csrf: t.Optional(t.String({ maxLength: 128 })) };
const TokenParams = t.Object({ token: t.String({ maxLength: 100 }) });
/** What a shared page answers with besides the usual: not indexed, not cached, the token never sent onwards. */
const SHARED_HEADERS = { "x-robots-tag": "noindex", "cache-control": "no-store", "referrer-policy": "no-referrer" };

export function shareRoutes(deps: HttpDeps & Pick<TimelapseDeps, "timelapses">, tools: RequestTools) {
  const { shares, jobs, printers, config, telemetry } = deps;
  const iso = (ms: number | null) => (ms === null ? null : isoInZone(ms, config.timezone));
  const origin = (request: Request) =>
    config.public_url ? config.public_url.replace(/\/+$/, "") : new URL(request.url).origin;
  const listed = (s: ShareListRow) => ({
    id: s.id,
    job_id: s.job_id,
    job_name: s.job_name,
    printer_id: s.printer_id,
    printer_name: s.printer_name,
    created_by: s.created_by,
    created_at: iso(s.created_at),
    expires_at: iso(s.expires_at),
    revoked_at: iso(s.revoked_at),
    state: shareState(s),
    opened: s.opened,
    last_opened_at: iso(s.last_opened_at),
  });

  async function jobPage(session: Session | null, job: JobRow, extra: Partial<Parameters<typeof JobPage>[0]>) {
    return JobPage({
      ctx: tools.view(session),
      job,
      printer: printers.get(job.printer_id)?.info.name ?? "",
      facts: jobFacts(job),
      frames: await jobs.frames(job.id),
      timelapseId: await jobs.timelapseOf(job.id),
      filaments: filamentsByJob(await jobs.filaments([job.id])).get(job.id) ?? [],
      ...extra,
    });
  }

  /** The refusal a bad token gets: 429 while the address waits, 410 for a link that was, 404 otherwise. */
  function refused(lookup: Exclude<ShareLookup, { ok: true }>): Response {
    const status = lookup.reason === "rate_limited" ? 429 : lookup.reason === "unknown" ? 404 : 410;
    const message =
      lookup.reason === "rate_limited"
        ? tools.t.shareTooMany.replace("{s}", String(lookup.retryAfter ?? 60))
        : tools.t.shareRefused;
    const headers: Record<string, string> = { ...SHARED_HEADERS };
    if (lookup.retryAfter) headers["retry-after"] = String(lookup.retryAfter);
    return htmlResponse(
      ErrorPage({ ctx: tools.view(null), title: String(status), message }) as string,
      status,
      headers,
    );
  }

  type Server = Parameters<RequestTools["clientAddress"]>[1];
  /** The live link a token names, or why not. */
  async function lookUp(token: string, request: Request, server: Server) {
    const address = tools.clientAddress(request, server);
    return { address, lookup: await shares.resolve(token, address) };
  }

  /** The print a token opens, or the refusal. */
  async function sharedJob(
    token: string,
    request: Request,
    server: Server,
  ): Promise<{ job: JobRow; lookup: Extract<ShareLookup, { ok: true }>; address: string } | Response> {
    const { address, lookup } = await lookUp(token, request, server);
    if (!lookup.ok) return refused(lookup);
    const job = lookup.share.job_id === null ? null : await jobs.get(lookup.share.job_id);
    if (!job) return refused({ ok: false, reason: "unknown" });
    return { job, lookup, address };
  }

  /** A printer link's live part: its state, newest frame and room reading. */
  function printerView(printerId: number, token: string) {
    const printer = printers.get(printerId);
    if (!printer) return null;
    const latest = telemetry.latest(printerId);
    return {
      ctx: tools.view(null),
      printer,
      frame: latest.frame ?? null,
      reading: latest.reading ?? null,
      base: `/s/${token}`,
    };
  }

  function makeLink(request: Request, made: { id: number; token: string; expires_at: number }) {
    return jsonResponse(
      { id: made.id, url: `${origin(request)}/s/${made.token}`, expires_at: iso(made.expires_at) },
      201,
    );
  }
  const lifetimeOf = (body: { expires_in_s?: number } | null | undefined) => {
    const seconds = body?.expires_in_s ?? SHARE_DEFAULT_S;
    return Number.isInteger(seconds) && seconds >= SHARE_MIN_S && seconds <= SHARE_MAX_S ? seconds : null;
  };
  const badLifetime = () =>
    jsonResponse(
      { error: `expires_in_s must be a whole number of seconds from ${SHARE_MIN_S} to ${SHARE_MAX_S}` },
      400,
    );
  const LifetimeBody = t.Optional(t.Nullable(t.Object({ expires_in_s: t.Optional(t.Number()) })));

  const admin = { auth: "form", role: "admin" } as const;
  const operator = { auth: "form", role: "operator" } as const;
  return (
    new Elysia({ name: "share-routes" })
      .use(edge(deps, tools))
      .post(
        "/api/jobs/:id/share",
        async ({ params, body, request, session }) => {
          const seconds = lifetimeOf(body);
          if (seconds === null) return badLifetime();
          const job = await jobs.get(params.id);
          if (!job) return jsonResponse({ error: "no such job" }, 404);
          return makeLink(request, await shares.create(job.id, seconds, session.user.username));
        },
        { auth: "api", role: "operator", params: IdParams, body: LifetimeBody },
      )
      .post(
        "/api/printers/:id/share",
        async ({ params, body, request, session }) => {
          const seconds = lifetimeOf(body);
          if (seconds === null) return badLifetime();
          if (!printers.get(params.id)) return jsonResponse({ error: "no such printer" }, 404);
          return makeLink(request, await shares.createForPrinter(params.id, seconds, session.user.username));
        },
        { auth: "api", role: "operator", params: IdParams, body: LifetimeBody },
      )
      .get("/api/shares", async ({ request }) => jsonFor(request, (await shares.list()).map(listed)), {
        auth: "api",
        role: "operator",
      })
      .delete(
        "/api/shares/:id",
        async ({ params, request, session }) => {
          // JSON only, like the other API writes: a cross-site form cannot send it.
          if (!request.headers.get("content-type")?.startsWith("application/json"))
            return jsonResponse({ error: "send application/json" }, 415);
          if (!(await shares.revoke(params.id, session.user.username)))
            return jsonResponse({ error: "no such live share link" }, 404);
          return jsonResponse({ revoked: params.id });
        },
        { auth: "api", role: "admin", params: IdParams, parse: "none" },
      )
      // The print page's box: htmx gets the box with the new link, a plain form post the whole page.
      .post(
        "/jobs/:id/share",
        async ({ params, body, request, session, set }) => {
          const job = await jobs.get(params.id);
          if (!job) {
            set.status = 404;
            return ErrorPage({ ctx: tools.view(session), title: "404", message: tools.t.noSuchJob });
          }
          const days = Number(body.days);
          const ctx = tools.view(session);
          if (!Number.isInteger(days) || days * 86400 < SHARE_MIN_S || days * 86400 > SHARE_MAX_S) {
            set.status = 400;
            return ShareBox({ ctx, jobId: job.id, error: tools.t.shareRefused });
          }
          const made = await shares.create(job.id, days * 86400, session.user.username);
          const url = `${origin(request)}/s/${made.token}`;
          if (request.headers.get("hx-request") === "true") return ShareBox({ ctx, jobId: job.id, created: url });
          const recording = (await deps.recorder.recording(job.id))?.events ?? [];
          return jobPage(session, job, { shareCreated: url, recording });
        },
        { ...operator, params: IdParams, body: t.Object({ ...Csrf, days: t.String({ maxLength: 4 }) }) },
      )
      .post(
        "/settings/shares/:id/revoke",
        async ({ params, request, session, set }) => {
          const done = await shares.revoke(params.id, session.user.username);
          const flash = done
            ? ({ kind: "ok", text: tools.t.shareRevoked } as const)
            : ({ kind: "error", text: tools.t.noSuchShare } as const);
          set.status = done ? 200 : 400;
          if (request.headers.get("hx-request") === "true")
            return SharesSection({ ctx: tools.view(session), shares: await shares.list(), flash });
          return settingsPage(deps, tools, session, { flash });
        },
        { ...admin, params: IdParams, body: t.Optional(t.Object(Csrf)) },
      )
      .get(
        "/s/:token",
        async ({ params, request, server }) => {
          const { address, lookup } = await lookUp(params.token, request, server);
          if (!lookup.ok) return refused(lookup);
          if (lookup.share.printer_id !== null) {
            const view = printerView(lookup.share.printer_id, params.token);
            if (!view) return refused({ ok: false, reason: "unknown" });
            await shares.opened(lookup.share, address);
            return htmlResponse(SharedPrinterPage(view) as string, 200, SHARED_HEADERS);
          }
          const found = await sharedJob(params.token, request, server);
          if (found instanceof Response) return found;
          await shares.opened(found.lookup.share, found.address);
          // Who did what on the printer stays with the operators: the shared timeline leaves actions out.
          const events = (await deps.recorder.recording(found.job.id))?.events.filter((e) => e.kind !== "action");
          const page = await jobPage(null, found.job, { shared: { base: `/s/${params.token}` }, recording: events });
          return htmlResponse(page as string, 200, SHARED_HEADERS);
        },
        { params: TokenParams },
      )
      // A printer link's live part, polled by its page. Once the link is gone the part says so and answers 286,
      // which tells htmx to stop polling; a waiting address gets the 429 (htmx keeps what it shows, asks again).
      .get(
        "/s/:token/live",
        async ({ params, request, server }) => {
          const { lookup } = await lookUp(params.token, request, server);
          const view =
            lookup.ok && lookup.share.printer_id !== null ? printerView(lookup.share.printer_id, params.token) : null;
          if (view) return htmlResponse(SharedPrinterLive(view) as string, 200, SHARED_HEADERS);
          if (lookup.ok && lookup.share.printer_id === null) return new Response("not found", { status: 404 });
          if (!lookup.ok && lookup.reason === "rate_limited") return refused(lookup);
          return htmlResponse(SharedGone({ ctx: tools.view(null) }) as string, 286, SHARED_HEADERS);
        },
        { params: TokenParams },
      )
      .get(
        "/s/:token/frames/:file",
        async ({ params, request, server }) => {
          const { lookup } = await lookUp(params.token, request, server);
          if (!lookup.ok) return refused(lookup);
          const printerId = lookup.share.printer_id;
          if (printerId !== null) {
            // Only that printer's frames, and none once the printer is gone: the newest (what the live view shows)
            // and those recorded since the link was made, never older ones (from before it, of other prints).
            const frameId = printers.get(printerId) ? idOfFile(params.file, ["jpg"]) : null;
            const frame = frameId === null ? null : await telemetry.frame(frameId);
            const shown =
              frame?.printer_id === printerId &&
              (frame.recorded_at >= lookup.share.created_at || frame.id === telemetry.latest(printerId).frame?.id);
            if (!frame || !shown) return new Response("frame not found", { status: 404 });
            return new Response(frame.bytes as Uint8Array<ArrayBuffer>, {
              headers: { "content-type": frame.mime, ...SHARED_HEADERS },
            });
          }
          const found = await sharedJob(params.token, request, server);
          if (found instanceof Response) return found;
          const frameId = idOfFile(params.file, ["jpg"]);
          const frame = frameId === null ? null : await jobs.frame(frameId);
          if (!frame || frame.job_id !== found.job.id) return new Response("frame not found", { status: 404 });
          return new Response(frame.bytes as Uint8Array<ArrayBuffer>, {
            headers: { "content-type": frame.mime, ...SHARED_HEADERS },
          });
        },
        { params: t.Object({ token: TokenParams.properties.token, file: t.String({ maxLength: 40 }) }) },
      )
      .get(
        "/s/:token/timelapse.mp4",
        async ({ params, request, server, query }) => {
          const found = await sharedJob(params.token, request, server);
          if (found instanceof Response) return found;
          const id = await jobs.timelapseOf(found.job.id);
          const answer = videoResponse(request, id === null ? null : await deps.timelapses.video(id), !!query.download);
          answer.headers.set("referrer-policy", "no-referrer");
          return answer;
        },
        { params: TokenParams },
      )
  );
}
