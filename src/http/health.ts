// Owns /healthz: what a supervisor or load balancer asks to know the process, its database and Redis are well.
import { Elysia } from "elysia";
import { COMMIT, VERSION } from "../version.ts";
import { jsonResponse } from "./context.ts";

/**
 * `engine`: which database this instance runs on; `database` says whether it answers. `redis`: "off" without
 * redis_url; "down" while this instance cannot reach it, which leaves it serving its own devices and viewers
 * (degraded, but 200: taking it out of a load balancer would not help).
 */
export function healthRoutes(deps: {
  startedAt: number;
  engine: string;
  dbHealthy: () => Promise<boolean>;
  redisHealthy: (() => boolean) | null;
}) {
  return new Elysia({ name: "health-routes" }).get("/healthz", async () => {
    const database = (await deps.dbHealthy()) ? "ok" : "error";
    const redis = deps.redisHealthy ? (deps.redisHealthy() ? "ok" : "down") : "off";
    const uptime_s = Math.round((Date.now() - deps.startedAt) / 1000);
    const body = {
      status: database === "ok" && redis !== "down" ? "ok" : "degraded",
      version: VERSION,
      commit: COMMIT,
      uptime_s,
      engine: deps.engine,
      database,
      redis,
    };
    return jsonResponse(body, database === "ok" ? 200 : 503);
  });
}
