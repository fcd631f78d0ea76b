// Owns the jobs JSON API (PRINTERS.md §6): a printer's prints newest first, and one print with its
// archived frames and errors.
import { Elysia, t } from "elysia";
import type { JobFilament, JobListRow, JobRow } from "../store/store.ts";
import { isoInZone } from "../time.ts";
import { type HttpDeps, jsonFor, jsonResponse, type RequestTools } from "./context.ts";
import { edge, IdParams } from "./edge.ts";

/** What the API and the pages say about a job (the shapes of PRINTERS.md §6). */
export function jobFacts(job: JobRow, now = Date.now()) {
  const end = job.ended_at ?? now;
  const paused = job.paused_ms + (job.paused_since ? now - job.paused_since : 0);
  const n = job.readings;
  return {
    duration_s: Math.round((end - job.started_at) / 1000),
    paused_s: Math.round(paused / 1000),
    weather: n
      ? {
          temp_min: job.temp_min,
          temp_avg: Math.round((job.temp_sum / n) * 100) / 100,
          temp_max: job.temp_max,
          hum_min: job.hum_min,
          hum_avg: Math.round((job.hum_sum / n) * 100) / 100,
          hum_max: job.hum_max,
        }
      : null,
    errors: JSON.parse(job.errors) as { code: string; kind: string; severity?: string }[],
  };
}

/** Each job's filaments (type, colour, brand, tray), by job id. */
export function filamentsByJob(rows: JobFilament[]) {
  const out = new Map<number, { tray: number; type: string; color: string | null; brand: string | null }[]>();
  for (const f of rows) {
    const list = out.get(f.job_id) ?? [];
    list.push({ tray: f.tray, type: f.type, color: f.color, brand: f.brand });
    out.set(f.job_id, list);
  }
  return out;
}

export function jobsApiRoutes(deps: HttpDeps, tools: RequestTools) {
  const iso = (ms: number | null) => (ms === null ? null : isoInZone(ms, deps.config.timezone));
  const { jobs } = deps;
  const row = async (j: JobListRow | (JobRow & { frames: number }), filaments: ReturnType<typeof filamentsByJob>) => {
    const facts = jobFacts(j);
    return {
      id: j.id,
      printer_id: j.printer_id,
      name: j.name,
      file: j.file,
      started_at: iso(j.started_at),
      ended_at: iso(j.ended_at),
      outcome: j.outcome,
      layer: j.layer,
      total_layers: j.total_layers,
      duration_s: facts.duration_s,
      paused_s: facts.paused_s,
      weather: facts.weather,
      frames: j.frames,
      timelapse_id: await jobs.timelapseOf(j.id),
      filaments: filaments.get(j.id) ?? [],
    };
  };

  return new Elysia({ name: "jobs-api", prefix: "/api" })
    .use(edge(deps, tools))
    .get(
      "/printers/:id/jobs",
      async ({ printer, query, request }) => {
        const limit = Math.min(200, Math.max(1, Number(query.limit ?? 50) || 50));
        const before = query.before ? Number(query.before) : undefined;
        const outcome = query.outcome ?? "";
        const list = await jobs.list({ printerId: printer.info.id, limit, before, outcome });
        const filaments = filamentsByJob(await jobs.filaments(list.map((j) => j.id)));
        return jsonFor(request, await Promise.all(list.map((j) => row(j, filaments))));
      },
      {
        auth: "api",
        printer: true,
        query: t.Object({
          limit: t.Optional(t.String({ maxLength: 6 })),
          before: t.Optional(t.String({ maxLength: 15 })),
          outcome: t.Optional(t.String({ maxLength: 12 })),
        }),
      },
    )
    .get(
      "/jobs/:id",
      async ({ params, request }) => {
        const job = await jobs.get(params.id);
        if (!job) return jsonResponse({ error: "no such job" }, 404);
        const frames = await jobs.frames(job.id);
        return jsonFor(request, {
          ...(await row({ ...job, frames: frames.length }, filamentsByJob(await jobs.filaments([job.id])))),
          errors: jobFacts(job).errors,
          frames: frames.map((f) => ({
            id: f.id,
            recorded_at: iso(f.recorded_at),
            layer: f.layer,
            url: `/jobs/${job.id}/frames/${f.id}.jpg`,
          })),
        });
      },
      { auth: "api", params: IdParams },
    )
    .get(
      "/jobs/:id/recording",
      async ({ params, request }) => {
        const rec = await deps.recorder.recording(params.id);
        if (!rec) return jsonResponse({ error: "no such job" }, 404);
        const { job, events } = rec;
        const frames = events.filter((e) => e.kind === "frame").length;
        const timelapse = await jobs.timelapseOf(job.id);
        return jsonFor(request, {
          job: {
            ...(await row({ ...job, frames }, filamentsByJob(await jobs.filaments([job.id])))),
            errors: jobFacts(job).errors,
          },
          timelapse_url: timelapse === null ? null : `/timelapses/${timelapse}.mp4`,
          events: events.map((e) => ({
            ...e,
            at: iso(e.at),
            t_s: Math.round((e.at - job.started_at) / 100) / 10,
            ...(e.kind === "frame" ? { url: `/jobs/${job.id}/frames/${e.id}.jpg` } : {}),
          })),
        });
      },
      { auth: "api", params: IdParams },
    );
}
