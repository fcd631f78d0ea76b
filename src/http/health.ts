// Owns /healthz: what a supervisor or load balancer asks to know the process and its database are well.
import { Elysia } from "elysia";
import { COMMIT, VERSION } from "../version.ts";
import { jsonResponse } from "./context.ts";

/** `engine`: which database this instance runs on; `database` says whether it answers. */
export function healthRoutes(deps: { startedAt: number; engine: string; dbHealthy: () => Promise<boolean> }) {
  return new Elysia({ name: "health-routes" }).get("/healthz", async () => {
    const database = (await deps.dbHealthy()) ? "ok" : "error";
    const uptime_s = Math.round((Date.now() - deps.startedAt) / 1000);
    const body = {
      status: database === "ok" ? "ok" : "degraded",
      version: VERSION,
      commit: COMMIT,
      uptime_s,
      engine: deps.engine,
      database,
    };
    return jsonResponse(body, database === "ok" ? 200 : 503);
  });
}
