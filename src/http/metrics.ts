// Owns GET /metrics (Prometheus): 404 while `metrics.enabled` is off; otherwise for a scraper with the bearer token, or
// an admin's session (a browser), and refused to anyone else.
import { timingSafeEqual } from "node:crypto";
import { Elysia } from "elysia";
import { EXPOSITION_CONTENT_TYPE, exposition } from "../prometheus.ts";
import type { Metrics } from "../services/metrics.ts";
import type { HttpDeps, RequestTools } from "./context.ts";

/** Whether the Authorization header carries this bearer token (compared in constant time). */
function bearerMatches(header: string | null, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m || !token) return false;
  const [given, expected] = [Buffer.from(m[1]!), Buffer.from(token)];
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const text = (body: string, status: number, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers: { "content-type": "text/plain; charset=utf-8", ...headers } });

export function metricsRoutes(deps: Pick<HttpDeps, "config" | "log"> & { metrics: Metrics }, tools: RequestTools) {
  const { enabled, token } = deps.config.metrics;
  return new Elysia({ name: "metrics-routes" }).get("/metrics", async ({ request }) => {
    if (!enabled) return text("not found\n", 404);
    const auth = request.headers.get("authorization");
    if (!bearerMatches(auth, token)) {
      // A wrong token is refused as such, even with a session cookie beside it.
      const session = auth ? null : await tools.sessionOf(request);
      if (!session)
        return text("unauthorized: send the metrics token as a bearer token, or log in as an admin\n", 401, {
          "www-authenticate": 'Bearer realm="layerwatch"',
        });
      if (session.user.role !== "admin") return text("forbidden: admins only\n", 403);
    }
    return new Response(exposition(await deps.metrics.collect()), {
      headers: { "content-type": EXPOSITION_CONTENT_TYPE, "cache-control": "no-store" },
    });
  });
}
