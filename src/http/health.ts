// Owns /healthz: what a supervisor or load balancer asks to know the process and its database are well.
import { Elysia } from "elysia";
import { COMMIT, VERSION } from "../version.ts";
import { jsonResponse } from "./context.ts";

export function healthRoutes(deps: { startedAt: number; dbHealthy: () => boolean }) {
  return new Elysia({ name: "health-routes" }).get("/healthz", () => {
    const database = deps.dbHealthy() ? "ok" : "error";
    const uptime_s = Math.round((Date.now() - deps.startedAt) / 1000);
    const body = {
      status: database === "ok" ? "ok" : "degraded",
      version: VERSION,
      commit: COMMIT,
      uptime_s,
      database,
    };
    return jsonResponse(body, database === "ok" ? 200 : 503);
  });
}
