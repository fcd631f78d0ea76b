// Owns the JSON API (PROTOCOL.md §3): 401 JSON when not logged in, never a redirect.
import { Elysia, t } from "elysia";
import { dictionary, translate } from "../i18n.ts";
import { parseIntervals } from "../services/intervals.ts";
import { DEFAULT_PRINTER_ID } from "../store/migrations.ts";
import { dayOf, isoInZone, parseDay, shiftDay } from "../time.ts";

/** shiftDay for input that may be malformed: a bad day passes through to be refused later. */
const shiftDayOr = (day: string, delta: number) => (parseDay(day) ? shiftDay(day, delta) : day);

import {
  acceptsGzip,
  encodedJson,
  gzippedJson,
  type HttpDeps,
  jsonFor,
  jsonResponse,
  type RequestTools,
} from "./context.ts";
import { edge } from "./edge.ts";

/** Days served recently, kept gzipped (a tenth of the JSON): a dashboard asks for the same day over and over. */
const DAY_CACHE_SIZE = 8;
type CachedDay = { stamp: string; gzipped: Uint8Array };
const DayQuery = t.Object({ date: t.Optional(t.String({ maxLength: 64 })) });
const SummaryQuery = t.Object({
  from: t.Optional(t.String({ maxLength: 32 })),
  to: t.Optional(t.String({ maxLength: 32 })),
  bucket: t.Optional(t.String({ maxLength: 8 })),
});

export function apiRoutes(deps: HttpDeps, tools: RequestTools) {
  const { telemetry, config } = deps;
  const dayCache = new Map<string, CachedDay>();

  async function encodedDay(printerId: number, day: string, stamp: string): Promise<CachedDay> {
    const key = `${printerId}|${day}`;
    const hit = dayCache.get(key);
    if (hit && hit.stamp === stamp) {
      dayCache.delete(key);
      dayCache.set(key, hit); // most recently used last
      return hit;
    }
    const rows = (await telemetry.readingsOfDay(printerId, day))!;
    const body = new TextEncoder().encode(
      JSON.stringify(
        rows.map((r) => ({
          timestamp: isoInZone(r.recorded_at, config.timezone),
          temperature: r.temperature,
          humidity: r.humidity,
        })),
      ),
    );
    const entry = { stamp, gzipped: Bun.gzipSync(body as Uint8Array<ArrayBuffer>, { level: 6 }) };
    dayCache.set(key, entry);
    if (dayCache.size > DAY_CACHE_SIZE) dayCache.delete(dayCache.keys().next().value!);
    return entry;
  }

  /** One calendar day of a printer's readings, gzipped and cached by a validator of that day. */
  async function dayReadings(printerId: number, date: string | undefined, request: Request): Promise<Response> {
    const day = date ?? dayOf(Date.now(), config.timezone);
    const stamp = await telemetry.dayStamp(printerId, day);
    if (stamp === null)
      return jsonResponse(
        { error: `date must be a real calendar date written YYYY-MM-DD, got "${day.slice(0, 32)}"` },
        400,
      );
    // The validator changes with any added, late or pruned reading of that day.
    const etag = `W/"temphum-${printerId}-${day}-${stamp}"`;
    const headers = { etag, "cache-control": "private, no-cache" };
    if (request.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
    const { gzipped } = await encodedDay(printerId, day, stamp);
    if (acceptsGzip(request)) return gzippedJson(gzipped, headers);
    return encodedJson(request, Bun.gunzipSync(gzipped as Uint8Array<ArrayBuffer>), undefined, 200, headers);
  }

  async function summary(printerId: number, query: typeof SummaryQuery.static, request: Request): Promise<Response> {
    const bucket = query.bucket ?? "hour";
    const today = dayOf(Date.now(), config.timezone);
    const to = query.to ?? today;
    const from = query.from ?? shiftDayOr(to, bucket === "hour" ? -6 : -29);
    if (bucket !== "hour" && bucket !== "day") return jsonResponse({ error: 'bucket must be "hour" or "day"' }, 400);
    const rows = await telemetry.summaries(printerId, bucket, from, to);
    if (!rows)
      return jsonResponse({ error: "from and to must be real dates written YYYY-MM-DD, from not after to" }, 400);
    const span = (Date.parse(to) - Date.parse(from)) / 86400000;
    if (span > (bucket === "hour" ? 93 : 3660))
      return jsonResponse({ error: `range too long for bucket=${bucket}` }, 400);
    const round = (v: number) => Math.round(v * 100) / 100;
    return jsonFor(
      request,
      rows.map((r) => ({
        start: isoInZone(r.start_at, config.timezone),
        count: r.count,
        temperature: { min: r.temp_min, avg: round(r.temp_avg), max: r.temp_max },
        humidity: { min: r.hum_min, avg: round(r.hum_avg), max: r.hum_max },
      })),
    );
  }

  const api = { auth: "api" } as const;
  return (
    new Elysia({ name: "api-routes", prefix: "/api" })
      .use(edge(deps, tools))
      .get("/temphum", ({ query, request }) => dayReadings(DEFAULT_PRINTER_ID, query.date, request), {
        ...api,
        query: DayQuery,
      })
      .get("/temphum/summary", ({ query, request }) => summary(DEFAULT_PRINTER_ID, query, request), {
        ...api,
        query: SummaryQuery,
      })
      .get(
        "/printers/:id/temphum",
        ({ query, request, printer }) => dayReadings(printer.info.id, query.date, request),
        { ...api, printer: true, query: DayQuery },
      )
      .get("/printers/:id/temphum/summary", ({ query, request, printer }) => summary(printer.info.id, query, request), {
        ...api,
        printer: true,
        query: SummaryQuery,
      })
      .get("/timelapse_config", () => jsonResponse(deps.intervals.get()), { ...api })
      // JSON only (the api auth refuses other bodies): a cross-site form cannot send it.
      .put(
        "/timelapse_config",
        async ({ body }) => {
          const parsed = parseIntervals((body ?? {}) as Record<string, unknown>);
          if (!parsed.ok) {
            const fields = Object.fromEntries(
              Object.entries(parsed.errors).map(([k, m]) => [k, translate(dictionary("en"), m)]),
            );
            return jsonResponse({ error: "invalid intervals", fields }, 400);
          }
          await deps.intervals.set(parsed.value);
          return jsonResponse(parsed.value);
        },
        { ...api, role: "admin" },
      )
      .get(
        "/frames",
        async ({ request }) =>
          jsonFor(
            request,
            (await telemetry.frames(DEFAULT_PRINTER_ID)).map((f) => ({
              id: f.id,
              mime: f.mime,
              size: f.size,
              timestamp: isoInZone(f.recorded_at, config.timezone),
              url: `/frames/${f.id}.jpg`,
            })),
          ),
        { ...api },
      )
      .get(
        "/latest",
        () => {
          const { reading, status, frame } = telemetry.latest(DEFAULT_PRINTER_ID);
          const stamp = (ms?: number) => (ms === undefined ? null : isoInZone(ms, config.timezone));
          return jsonResponse({
            reading: reading
              ? { timestamp: stamp(reading.recorded_at), temperature: reading.temperature, humidity: reading.humidity }
              : null,
            status: status
              ? { timestamp: stamp(status.last_seen_at), since: stamp(status.recorded_at), status: status.status }
              : null,
            frame: frame ? { id: frame.id, timestamp: stamp(frame.recorded_at), url: `/frames/${frame.id}.jpg` } : null,
          });
        },
        { ...api },
      )
  );
}
