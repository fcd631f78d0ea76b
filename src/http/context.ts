// Owns per-request helpers shared by the route groups: session lookup, CSRF tokens, cookies, JSON, view context.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { ViewContext } from "../../views/context.ts";
import type { RedisStatus } from "../cluster/redis.ts";
import type { Config } from "../config.ts";
import { dictionary } from "../i18n.ts";
import type { Logger } from "../log.ts";
import type { Notifier } from "../notify/notifier.ts";
import type { PushService } from "../notify/push.ts";
import { API_TOKEN_PREFIX, type ApiTokenService } from "../services/api-tokens.ts";
import { type AuthService, REMEMBER_TTL_MS, type Session } from "../services/auth.ts";
import type { DatabaseHealth } from "../services/database-health.ts";
import type { DeviceTokenService } from "../services/device-tokens.ts";
import type { EventLog } from "../services/event-log.ts";
import type { IntervalService } from "../services/intervals.ts";
import type { JobService } from "../services/jobs.ts";
import type { Library } from "../services/library.ts";
import type { LoginLimiter } from "../services/login-limiter.ts";
import type { PrinterControl } from "../services/printer-control.ts";
import type { PrinterService } from "../services/printers.ts";
import type { QueueService } from "../services/queue.ts";
import type { FlightRecorder } from "../services/recorder.ts";
import type { SendService } from "../services/sends.ts";
import type { ShareService } from "../services/shares.ts";
import type { StatsService } from "../services/stats.ts";
import type { TelemetryService } from "../services/telemetry.ts";
import type { UserService } from "../services/users.ts";
import { readSessionToken, SESSION_COOKIE } from "../session-cookie.ts";

export type HttpDeps = {
  /** What the print archive and the timelapse videos use, against their budgets (0 = no limit). */
  storage: () => Promise<{ archive: number; archiveQuota: number; media: number; mediaQuota: number }>;
  removeTimelapse: (id: number, by: string) => Promise<boolean>;
  config: Config;
  log: Logger;
  auth: AuthService;
  users: UserService;
  telemetry: TelemetryService;
  intervals: IntervalService;
  deviceTokens: DeviceTokenService;
  apiTokens: ApiTokenService;
  eventLog: EventLog;
  loginLimiter: LoginLimiter;
  printers: PrinterService;
  control: PrinterControl;
  jobs: JobService;
  library: Library;
  sends: SendService;
  queue: QueueService;
  shares: ShareService;
  stats: StatsService;
  recorder: FlightRecorder;
  notifier: Notifier;
  push: PushService;
  lan: { repin: (printerId: number) => Promise<void> };
  /** The instance holding the printer's LAN link (its lease), or null when none does. */
  holderOf: (printerId: number) => string | null;
  /** This instance among several: its id, its database's health (probed now) and Redis's (null without it). */
  cluster: { instance: string; database: () => Promise<DatabaseHealth>; redis: (() => RedisStatus) | null };
  devices: { connected: () => number; ofPrinter: (printerId: number) => number };
  startedAt: number;
  version: string;
  dbHealthy: () => Promise<boolean>;
};

export function createRequestTools(deps: HttpDeps) {
  const { config } = deps;
  const t = dictionary(config.locale);

  const csrfFor = (session: Session) =>
    createHmac("sha256", config.secret_key).update(`csrf:${session.tokenHash}`).digest("base64url");

  return {
    t,
    sessionOf: (request: Request): Promise<Session | null> =>
      deps.auth.resolveSession(readSessionToken(request.headers.get("cookie"))),

    /** The request's session; a remembered one that was just renewed gets its cookie's 30 days renewed too. */
    async sessionFor(
      request: Request,
      set: { headers: Record<string, unknown> },
      media = false,
    ): Promise<Session | null> {
      const bearer = apiTokenOf(request);
      // An unknown or revoked token is no session, even beside a valid cookie.
      if (bearer && takesApiToken(request, media)) {
        const found = await deps.apiTokens.resolve(bearer);
        if (!found) return null;
        return {
          user: found.user,
          tokenHash: found.tokenHash,
          persistent: false,
          expiresAt: 0,
          renewed: false,
          bearer: true,
        };
      }
      const token = readSessionToken(request.headers.get("cookie"));
      const session = await deps.auth.resolveSession(token);
      if (session?.persistent && session.renewed && token)
        set.headers["set-cookie"] = this.sessionCookie(request, token, REMEMBER_TTL_MS / 1000);
      return session;
    },

    csrfFor,
    /** Synchronizer token bound to the session: a form field or the X-CSRF-Token header (htmx). */
    csrfValid(session: Session, request: Request, body: unknown): boolean {
      // A browser never sends an Authorization header by itself, so a bearer request cannot be forged cross-site.
      if (session.bearer) return true;
      const sent =
        (body && typeof body === "object" && "_csrf" in body ? String((body as { _csrf: unknown })._csrf) : "") ||
        request.headers.get("x-csrf-token") ||
        "";
      const expected = Buffer.from(csrfFor(session));
      const given = Buffer.from(sent);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },

    /** The client's address: from Cloudflare's or the proxy's headers only when trust_proxy is on. */
    clientAddress(
      request: Request,
      server: { requestIP(r: Request): { address: string } | null } | null | undefined,
    ): string {
      if (config.trust_proxy) {
        const cf = request.headers.get("cf-connecting-ip")?.trim();
        if (cf) return cf;
        const xff = request.headers.get("x-forwarded-for")?.split(",")[0]?.trim();
        if (xff) return xff;
      }
      return server?.requestIP(request)?.address ?? "unknown";
    },

    /** HTTPS as the browser saw it: directly, or through a proxy we were told to trust. */
    isHttps(request: Request): boolean {
      if (new URL(request.url).protocol === "https:") return true;
      return config.trust_proxy && request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim() === "https";
    },

    sessionCookie(request: Request, token: string, maxAgeSeconds?: number): string {
      const secure = this.isHttps(request) ? "; Secure" : "";
      const age = maxAgeSeconds === undefined ? "" : `; Max-Age=${maxAgeSeconds}`;
      return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Lax${secure}${age}`;
    },

    clearedCookie: () => `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`,

    view(session: Session | null): ViewContext {
      return {
        t,
        locale: config.locale,
        zone: config.timezone,
        user: session?.user,
        csrf: session ? csrfFor(session) : undefined,
      };
    },
  };
}

export type RequestTools = ReturnType<typeof createRequestTools>;

/** The personal API token (`lwu_`) the request presents as `Authorization: Bearer`, if any. */
export function apiTokenOf(request: Request): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  return bearer?.startsWith(API_TOKEN_PREFIX) ? bearer : undefined;
}

/**
 * Where a personal API token stands for its user: the JSON API, and reading (GET, HEAD) the media its answers
 * link to (routes with the edge's `auth: "media"`). Every page and form elsewhere takes only the session.
 */
export const takesApiToken = (request: Request, media: boolean) =>
  new URL(request.url).pathname.startsWith("/api/") ||
  (media && (request.method === "GET" || request.method === "HEAD"));

/** A local path to go to after login; anything else (other hosts, //evil, \\evil) becomes "/". */
export function safeNext(next: unknown): string {
  if (
    typeof next !== "string" ||
    !next.startsWith("/") ||
    next.startsWith("//") ||
    next.startsWith("/\\") ||
    /[\r\n]/.test(next)
  )
    return "/";
  return next;
}

/** Where a logged-out page request goes: the login page, then back. htmx is told to navigate. */
export function loginRedirect(request: Request): Response {
  const url = new URL(request.url);
  const location = `/login?next=${encodeURIComponent(url.pathname + url.search)}`;
  if (request.headers.get("hx-request"))
    return new Response(null, { status: 401, headers: { "hx-redirect": location } });
  return redirectTo(location);
}

/** Bodies smaller than this are not worth compressing. */
const GZIP_MIN_BYTES = 1024;

export const acceptsGzip = (request: Request) => /\bgzip\b/.test(request.headers.get("accept-encoding") ?? "");

/** JSON, gzipped when the client accepts it and it is large enough to matter. */
export function jsonFor(
  request: Request,
  value: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  const body = new TextEncoder().encode(JSON.stringify(value));
  return encodedJson(request, body, undefined, status, headers);
}

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", vary: "accept-encoding" };

/** Sends JSON bytes the way the client accepts: gzipped when it can and the body is large enough. */
export function encodedJson(
  request: Request,
  body: Uint8Array,
  gzipped?: Uint8Array,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  if (body.length >= GZIP_MIN_BYTES && acceptsGzip(request))
    return gzippedJson(gzipped ?? Bun.gzipSync(body as Uint8Array<ArrayBuffer>), headers, status);
  return new Response(body as Uint8Array<ArrayBuffer>, { status, headers: { ...JSON_HEADERS, ...headers } });
}

export const gzippedJson = (gzipped: Uint8Array, headers: Record<string, string> = {}, status = 200) =>
  new Response(gzipped as Uint8Array<ArrayBuffer>, {
    status,
    headers: { ...JSON_HEADERS, ...headers, "content-encoding": "gzip" },
  });

export const htmlResponse = (body: string, status = 200, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { "content-type": "text/html; charset=utf-8", ...headers } });

export const jsonResponse = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });

export const redirectTo = (location: string, headers: Record<string, string> = {}) =>
  new Response(null, { status: 303, headers: { location, ...headers } });
