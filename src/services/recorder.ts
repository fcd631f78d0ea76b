// Owns a print's flight recorder (PRINTERS.md §9): one timeline in time order of what the print met: its archived
// frames, the room's readings, state changes (each layer with the temperatures and speed), HMS codes and print
// errors, pauses and resumes, and every operator action on the printer while it ran (who did what).
import type { AsyncStore } from "../store/async-store.ts";
import type { JobRow } from "../store/store.ts";
import type { JobService } from "./jobs.ts";

export type RecordingKind = "frame" | "reading" | "state" | "hms" | "error" | "action" | "pause" | "resume";
export type RecordingEvent = { at: number; kind: RecordingKind } & Record<string, unknown>;

/**
 * At the same instant the cause comes first: an operator's action, then what the print's timeline recorded (in the
 * order it was recorded: an HMS code before the failure it came with, a state before the pause it means), then the
 * room's reading and the frame.
 */
const RANK: Record<RecordingKind, number> = {
  action: 0,
  state: 1,
  hms: 1,
  error: 1,
  pause: 1,
  resume: 1,
  reading: 2,
  frame: 3,
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
      // A stable sort: the timeline, pushed first in the order it was recorded, keeps that order within its rank.
      events.sort((a, b) => a.at - b.at || RANK[a.kind] - RANK[b.kind]);
      return { job, events };
    },
  };
}

export type FlightRecorder = ReturnType<typeof createFlightRecorder>;
