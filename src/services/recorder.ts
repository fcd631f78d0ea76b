// Owns a print's flight recorder (PRINTERS.md §9): one timeline in time order of what the print met: its archived
// frames, the room's readings, state changes (each layer with the temperatures and speed), HMS codes and print
// errors, pauses and resumes, and every operator action on the printer while it ran (who did what).
import type { AsyncStore } from "../store/async-store.ts";
import type { JobRow } from "../store/store.ts";
import type { JobService } from "./jobs.ts";

export type RecordingKind = "frame" | "reading" | "state" | "hms" | "error" | "action" | "pause" | "resume";
export type RecordingEvent = { at: number; kind: RecordingKind } & Record<string, unknown>;

/**
 * Kinds at the same instant: the cause first (an action before the pause it caused, an HMS code before the failure
 * it came with, a state before its frame).
 */
const ORDER: Record<RecordingKind, number> = {
  action: 0,
  hms: 1,
  error: 2,
  state: 3,
  pause: 4,
  resume: 5,
  reading: 6,
  frame: 7,
};

export function createFlightRecorder(deps: { store: AsyncStore; jobs: JobService }) {
  const { store, jobs } = deps;

  function parse(text: string): Record<string, unknown> {
    try {
      const v = JSON.parse(text) as unknown;
      return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }

  return {
    /** The print and its timeline; null when there is no such print. */
    async recording(jobId: number): Promise<{ job: JobRow; events: RecordingEvent[] } | null> {
      const job = await jobs.get(jobId);
      if (!job) return null;
      const end = job.ended_at ?? Date.now();
      const [timeline, frames, actions] = await Promise.all([
        store.jobEvents.of(job.id),
        jobs.frames(job.id),
        store.printerActions.between(job.printer_id, job.started_at, end),
      ]);
      const events: RecordingEvent[] = [];
      for (const e of timeline) events.push({ ...parse(e.detail), at: e.at, kind: e.kind as RecordingKind });
      for (const f of frames) events.push({ at: f.recorded_at, kind: "frame", id: f.id, layer: f.layer });
      // The room's readings as the print kept them (thinned to a few hundred): raw readings may be pruned.
      for (const [at, temperature, humidity] of JSON.parse(job.weather_points) as [number, number, number][])
        events.push({ at, kind: "reading", temperature, humidity });
      for (const a of actions)
        events.push({
          at: a.at,
          kind: "action",
          username: a.username,
          action: a.action,
          via: a.via,
          result: a.result,
          detail: a.detail,
        });
      events.sort((a, b) => a.at - b.at || ORDER[a.kind] - ORDER[b.kind]);
      return { job, events };
    },
  };
}

export type FlightRecorder = ReturnType<typeof createFlightRecorder>;
