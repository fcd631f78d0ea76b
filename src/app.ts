// Owns assembly: builds the store, services, HTTP routes and Socket.IO on one Bun server from a config.
import { html } from "@elysiajs/html";
import { Elysia } from "elysia";
import { ReadingTile, Stamp, StatusTile } from "../views/dashboard.tsx";
import { ErrorPage } from "../views/pages.tsx";
import type { Config } from "./config.ts";
import { createEventBus } from "./events.ts";
import { apiRoutes } from "./http/api.ts";
import { assetRoutes } from "./http/assets.ts";
import { authRoutes } from "./http/auth.ts";
import { createRequestTools, type HttpDeps, htmlResponse, jsonResponse } from "./http/context.ts";
import { pageRoutes } from "./http/pages.ts";
import { settingsRoutes } from "./http/settings.ts";
import { dictionary } from "./i18n.ts";
import { createLogger, type Logger, withSink } from "./log.ts";
import type { TileRenderer } from "./realtime/hub.ts";
import { createSocketServer, MAX_SOCKET_MESSAGE_BYTES } from "./realtime/socket.ts";
import { createAuthService } from "./services/auth.ts";
import { createDeviceTokenService } from "./services/device-tokens.ts";
import { createEventLog } from "./services/event-log.ts";
import { createIntervalService } from "./services/intervals.ts";
import { createLoginLimiter } from "./services/login-limiter.ts";
import { createRetention } from "./services/retention.ts";
import { createTelemetryService } from "./services/telemetry.ts";
import { createUserService } from "./services/users.ts";
import { openDatabase } from "./store/db.ts";
import { createStore } from "./store/store.ts";
import { createWriteQueue } from "./store/write-queue.ts";
import { COMMIT, VERSION } from "./version.ts";

export type AppHandle = Awaited<ReturnType<typeof createApp>>;

/** Bodies of ordinary HTTP requests (forms, JSON) are small; only Socket.IO polling carries frames. */
export const MAX_HTTP_BODY_BYTES = 64 * 1024;

const CSP_FIXED = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Older Safari does not count ws:/wss: to this host as 'self', so the page's own host is named. */
function contentSecurityPolicy(request: Request): string {
  const host = request.headers.get("host") ?? "";
  const own = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? ` ws://${host} wss://${host}` : "";
  return `${CSP_FIXED}; connect-src 'self'${own}`;
}

export async function createApp(config: Config, opts: { log?: Logger } = {}) {
  const baseLog = opts.log ?? createLogger();
  const startedAt = Date.now();
  const store = createStore(openDatabase(config.database_uri, { zone: config.timezone, log: baseLog }), {
    zone: config.timezone,
  });
  const eventLog = createEventLog(store);
  const log = withSink(baseLog, eventLog.record);
  const events = createEventBus();
  const auth = createAuthService({ store, events, log });
  const users = createUserService({ store, events, log });
  await users.ensureAdmin(config.web_username, config.web_password);
  const writes = createWriteQueue(store.db);
  const telemetry = createTelemetryService({
    store,
    writes,
    events,
    imageRetention: config.image_retention,
    zone: config.timezone,
  });
  const intervals = createIntervalService({ store, events });
  const deviceTokens = createDeviceTokenService({ store, events, log });
  const allowedOrigins = config.allowed_origins
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  const serverView = { t: dictionary(config.locale), locale: config.locale, zone: config.timezone };
  const render: TileRenderer = {
    reading: (r) => ({
      temperature: ReadingTile({
        kind: "temperature",
        reading: r,
        ctx: serverView,
        interval: intervals.get().temphum_delay,
      }) as string,
      humidity: ReadingTile({
        kind: "humidity",
        reading: r,
        ctx: serverView,
        interval: intervals.get().temphum_delay,
      }) as string,
    }),
    status: (s) => StatusTile({ status: s, ctx: serverView, interval: intervals.get().status_delay }) as string,
    frameStamp: (f) => Stamp({ at: f.recorded_at, ctx: serverView }) as string,
  };
  const { io, engine, hub } = createSocketServer({
    auth,
    deviceTokens,
    telemetry,
    events,
    log,
    render,
    intervals: intervals.get,
    options: { allowedOrigins, trustProxy: config.trust_proxy, deviceRateLimit: config.device_rate_limit },
  });

  const dbHealthy = () => {
    try {
      store.db.query("SELECT 1").get();
      return true;
    } catch {
      return false;
    }
  };
  const deps: HttpDeps = {
    config,
    log,
    auth,
    users,
    telemetry,
    intervals,
    deviceTokens,
    eventLog,
    loginLimiter: createLoginLimiter(),
    devices: { connected: hub.deviceCount },
    startedAt,
    version: VERSION,
    dbHealthy,
  };
  const tools = createRequestTools(deps);
  const jsonOrHtml = (request: Request, status: number, message: string) =>
    new URL(request.url).pathname.startsWith("/api/")
      ? jsonResponse({ error: message }, status)
      : htmlResponse(ErrorPage({ ctx: tools.view(null), title: String(status), message }) as string, status);

  const app = new Elysia()
    // First, so no page hook runs for socket traffic.
    .all("/socket.io/*", ({ request, server }) => engine.handleRequest(request, server as never), { parse: "none" })
    .use(html())
    .onRequest(({ request, set }) => {
      const h = set.headers as Record<string, string>;
      h["content-security-policy"] = contentSecurityPolicy(request);
      h["x-content-type-options"] = "nosniff";
      h["referrer-policy"] = "same-origin";
      h["x-frame-options"] = "DENY";
      if (tools.isHttps(request)) h["strict-transport-security"] = "max-age=31536000";
      if (
        request.method === "GET" ||
        request.method === "HEAD" ||
        new URL(request.url).pathname.startsWith("/socket.io/")
      )
        return;
      const length = request.headers.get("content-length");
      if (length === null && request.body) return jsonOrHtml(request, 411, "send a Content-Length");
      if (Number(length) > MAX_HTTP_BODY_BYTES)
        return jsonOrHtml(request, 413, `the request body is larger than ${MAX_HTTP_BODY_BYTES / 1024} KiB`);
    })
    .onError(({ code, error, request }) => {
      const api = new URL(request.url).pathname.startsWith("/api/");
      if (code === "NOT_FOUND")
        return api
          ? jsonResponse({ error: "not found" }, 404)
          : htmlResponse(ErrorPage({ ctx: tools.view(null), title: "404", message: tools.t.notFound }) as string, 404);
      if (code === "VALIDATION" || code === "PARSE" || code === "INVALID_COOKIE_SIGNATURE") {
        const message =
          code === "VALIDATION"
            ? `invalid ${(error as { type?: string }).type ?? "input"}: ${(error as { message: string }).message.split("\n")[0]?.slice(0, 200)}`
            : "the request body could not be read";
        return api
          ? jsonResponse({ error: message }, 400)
          : htmlResponse(ErrorPage({ ctx: tools.view(null), title: tools.t.badRequest, message }) as string, 400);
      }
      log.error("request failed", { path: new URL(request.url).pathname, error: error as Error });
      return api
        ? jsonResponse({ error: "internal error" }, 500)
        : htmlResponse(ErrorPage({ ctx: tools.view(null), title: "500", message: tools.t.serverError }) as string, 500);
    })
    .get("/healthz", () => {
      const database = dbHealthy() ? "ok" : "error";
      return jsonResponse(
        {
          status: database === "ok" ? "ok" : "degraded",
          version: VERSION,
          commit: COMMIT,
          uptime_s: Math.round((Date.now() - startedAt) / 1000),
          database,
        },
        database === "ok" ? 200 : 503,
      );
    })
    .use(assetRoutes())
    .use(authRoutes(deps, tools))
    .use(apiRoutes(deps, tools))
    .use(settingsRoutes(deps, tools))
    .use(pageRoutes(deps, tools));

  const { websocket, idleTimeout } = engine.handler();
  app.listen({
    hostname: config.host,
    port: config.port,
    reusePort: false,
    idleTimeout,
    websocket,
    // Socket.IO polling posts carry whole frames; the engine enforces the per-message limit itself.
    maxRequestBodySize: MAX_SOCKET_MESSAGE_BYTES + 64 * 1024,
  } as Parameters<typeof app.listen>[0]);
  const server = app.server!;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${server.port}`;

  const pruneTimer = setInterval(() => auth.pruneExpired(), 60 * 60 * 1000);
  pruneTimer.unref?.();
  const retention = createRetention({ store, log, rawRetentionDays: config.raw_retention_days });
  retention.start();

  let stopped = false;
  return {
    url,
    port: server.port as number,
    store,
    io,
    retention,
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(pruneTimer);
      await retention.stop();
      await app.stop(true);
      io.disconnectSockets(true);
      engine.close();
      writes.flush();
      store.close();
    },
  };
}
