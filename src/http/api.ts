// Owns the JSON API (PROTOCOL.md §3): 401 JSON when not logged in, never a redirect.
import { Elysia, t } from "elysia";
import { dictionary, translate } from "../i18n.ts";
import { parseIntervals } from "../services/intervals.ts";
import { dayOf, isoInZone, parseDay, shiftDay } from "../time.ts";

/** shiftDay for input that may be malformed: a bad day passes through to be refused later. */
const shiftDayOr = (day: string, delta: number) => (parseDay(day) ? shiftDay(day, delta) : day);
import { type HttpDeps, jsonResponse, type RequestTools } from "./context.ts";

export function apiRoutes(deps: HttpDeps, tools: RequestTools) {
  const { telemetry, config } = deps;
  return new Elysia({ name: "api-routes", prefix: "/api" })
    .resolve(({ request }) => ({ session: tools.sessionOf(request) }))
    .onBeforeHandle(({ session }) => {
      if (!session) return jsonResponse({ error: "unauthorized: log in first" }, 401);
    })
    .get("/temphum", ({ query }) => {
      const day = query.date ?? dayOf(Date.now(), config.timezone);
      const rows = telemetry.readingsOfDay(day);
      if (!rows) return jsonResponse({ error: `date must be a real calendar date written YYYY-MM-DD, got "${day.slice(0, 32)}"` }, 400);
      return jsonResponse(rows.map((r) => ({ timestamp: isoInZone(r.recorded_at, config.timezone), temperature: r.temperature, humidity: r.humidity })));
    }, { query: t.Object({ date: t.Optional(t.String({ maxLength: 64 })) }) })
    .get("/temphum/summary", ({ query }) => {
      const bucket = query.bucket ?? "hour";
      const today = dayOf(Date.now(), config.timezone);
      const to = query.to ?? today;
      const from = query.from ?? shiftDayOr(to, bucket === "hour" ? -6 : -29);
      if (bucket !== "hour" && bucket !== "day") return jsonResponse({ error: 'bucket must be "hour" or "day"' }, 400);
      const rows = telemetry.summaries(bucket, from, to);
      if (!rows) return jsonResponse({ error: "from and to must be real dates written YYYY-MM-DD, from not after to" }, 400);
      const span = (Date.parse(to) - Date.parse(from)) / 86400000;
      if (span > (bucket === "hour" ? 93 : 3660)) return jsonResponse({ error: `range too long for bucket=${bucket}` }, 400);
      const round = (v: number) => Math.round(v * 100) / 100;
      return jsonResponse(rows.map((r) => ({
        start: isoInZone(r.start_at, config.timezone), count: r.count,
        temperature: { min: r.temp_min, avg: round(r.temp_avg), max: r.temp_max },
        humidity: { min: r.hum_min, avg: round(r.hum_avg), max: r.hum_max },
      })));
    }, { query: t.Object({ from: t.Optional(t.String({ maxLength: 32 })), to: t.Optional(t.String({ maxLength: 32 })), bucket: t.Optional(t.String({ maxLength: 8 })) }) })
    .get("/timelapse_config", () => jsonResponse(deps.intervals.get()))
    // JSON only: a cross-site form cannot send it, so the session cookie alone is safe here.
    .put("/timelapse_config", ({ session, body, request }) => {
      if (!request.headers.get("content-type")?.startsWith("application/json")) return jsonResponse({ error: "send application/json" }, 415);
      if (session!.user.role !== "admin") return jsonResponse({ error: "forbidden: only an admin can change intervals" }, 403);
      const parsed = parseIntervals((body ?? {}) as Record<string, unknown>);
      if (!parsed.ok) {
        const fields = Object.fromEntries(Object.entries(parsed.errors).map(([k, m]) => [k, translate(dictionary("en"), m)]));
        return jsonResponse({ error: "invalid intervals", fields }, 400);
      }
      deps.intervals.set(parsed.value);
      return jsonResponse(parsed.value);
    })
    .get("/frames", () => jsonResponse(telemetry.frames().map((f) => ({
      id: f.id, mime: f.mime, size: f.size, timestamp: isoInZone(f.recorded_at, config.timezone), url: `/frames/${f.id}.jpg`,
    }))))
    .get("/latest", () => {
      const { reading, status, frame } = telemetry.latest();
      const stamp = (ms?: number) => (ms === undefined ? null : isoInZone(ms, config.timezone));
      return jsonResponse({
        reading: reading ? { timestamp: stamp(reading.recorded_at), temperature: reading.temperature, humidity: reading.humidity } : null,
        status: status ? { timestamp: stamp(status.last_seen_at), since: stamp(status.recorded_at), status: status.status } : null,
        frame: frame ? { id: frame.id, timestamp: stamp(frame.recorded_at), url: `/frames/${frame.id}.jpg` } : null,
      });
    });
}
