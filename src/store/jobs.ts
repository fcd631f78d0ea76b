// Owns the jobs and job_frames tables: each print with its weather, errors and archive of frames.
import type { Database } from "bun:sqlite";

export type Outcome = "running" | "finished" | "failed" | "cancelled";
export type JobRow = {
  id: number;
  printer_id: number;
  name: string;
  file: string;
  started_at: number;
  ended_at: number | null;
  outcome: Outcome;
  layer: number | null;
  total_layers: number | null;
  paused_ms: number;
  paused_since: number | null;
  /** JSON: [{ code, kind: "print_error" | "hms", severity? }] */
  errors: string;
  temp_min: number | null;
  temp_max: number | null;
  temp_sum: number;
  hum_min: number | null;
  hum_max: number | null;
  hum_sum: number;
  readings: number;
  /** JSON: [[ms, temperature, humidity], ...], thinned to a few hundred points. */
  weather_points: string;
};
/**
 * A job write's fencing token: the printer's lease as the writing instance holds it. On PostgreSQL a write carrying
 * one is done only while the lease still has that holder and epoch (a holder that was frozen past its lease and
 * wakes writes nothing); on SQLite there is one instance and nothing to fence, so it is not looked at.
 */
export type Fence = { lease: string; holder: string; epoch: number } | null;

/** A fenced insert that was not done: the lease it carried is another instance's now (PostgreSQL only). */
export class FencedOut extends Error {
  constructor(readonly lease: string) {
    super(`not written: lease ${lease} is held by another instance`);
  }
}

export type JobFrameMeta = { id: number; job_id: number; recorded_at: number; layer: number | null; size: number };
export type JobListRow = JobRow & { frames: number; thumb: number | null };
/** A tray a print drew from: its filament as the AMS described it when the print first used it. */
export type JobFilament = {
  job_id: number;
  tray: number;
  type: string;
  color: string | null;
  brand: string | null;
  first_used_at: number;
};

const LIST = `SELECT j.*, (SELECT count(*) FROM job_frames f WHERE f.job_id = j.id) AS frames,
  (SELECT max(f.id) FROM job_frames f WHERE f.job_id = j.id) AS thumb FROM jobs j`;

export function jobStatements(db: Database) {
  const q = {
    insert: db.query<{ id: number }, [number, string, string, number]>(
      "INSERT INTO jobs (printer_id, name, file, started_at) VALUES (?, ?, ?, ?) RETURNING id",
    ),
    byId: db.query<JobRow, [number]>("SELECT * FROM jobs WHERE id = ?"),
    open: db.query<JobRow, []>("SELECT * FROM jobs WHERE outcome = 'running' ORDER BY id"),
    update: db.query<never, [number | null, number | null, number, number | null, string, number]>(
      "UPDATE jobs SET layer = ?, total_layers = ?, paused_ms = ?, paused_since = ?, errors = ? WHERE id = ?",
    ),
    weather: db.query<never, [number, number, number, number, number, number, number, string, number]>(
      `UPDATE jobs SET temp_min = ?, temp_max = ?, temp_sum = ?, hum_min = ?, hum_max = ?, hum_sum = ?,
        readings = ?, weather_points = ? WHERE id = ?`,
    ),
    close: db.query<never, [number, Outcome, number]>("UPDATE jobs SET ended_at = ?, outcome = ? WHERE id = ?"),
    list: db.query<JobListRow, [number, string, number, number]>(
      `${LIST} WHERE (?1 = 0 OR j.printer_id = ?1) AND (?2 = '' OR j.outcome = ?2) AND j.id < ?3
       ORDER BY j.id DESC LIMIT ?4`,
    ),
    insertFrame: db.query<{ id: number }, [number, number, number | null, string, Uint8Array]>(
      "INSERT INTO job_frames (job_id, recorded_at, layer, mime, bytes) VALUES (?, ?, ?, ?, ?) RETURNING id",
    ),
    frames: db.query<JobFrameMeta, [number]>(
      "SELECT id, job_id, recorded_at, layer, length(bytes) AS size FROM job_frames WHERE job_id = ? ORDER BY id",
    ),
    frame: db.query<{ id: number; job_id: number; mime: string; bytes: Uint8Array }, [number]>(
      "SELECT id, job_id, mime, bytes FROM job_frames WHERE id = ?",
    ),
    deleteFrame: db.query<never, [number]>("DELETE FROM job_frames WHERE id = ?"),
    archiveBytes: db.query<{ n: number }, []>("SELECT coalesce(sum(length(bytes)), 0) AS n FROM job_frames"),
    oldestWithFrames: db.query<{ job_id: number; n: number }, []>(
      `SELECT job_id, sum(length(bytes)) AS n FROM job_frames
       WHERE job_id = (SELECT min(job_id) FROM job_frames) GROUP BY job_id`,
    ),
    deleteFramesOf: db.query<never, [number]>("DELETE FROM job_frames WHERE job_id = ?"),
    deleteOfPrinter: db.query<never, [number]>("DELETE FROM jobs WHERE printer_id = ?"),
    timelapseOf: db.query<{ id: number }, [number]>(
      "SELECT id FROM timelapses WHERE job_id = ? AND completed_at IS NOT NULL ORDER BY id DESC LIMIT 1",
    ),
    addFilament: db.query<never, [number, number, string, string | null, string | null, number]>(
      `INSERT INTO job_filaments (job_id, tray, type, color, brand, first_used_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id, tray) DO NOTHING`,
    ),
    filaments: db.query<JobFilament, [string]>(
      `SELECT * FROM job_filaments WHERE job_id IN (SELECT value FROM json_each(?))
       ORDER BY job_id, first_used_at, tray`,
    ),
    deleteFilamentsOfPrinter: db.query<never, [number]>(
      "DELETE FROM job_filaments WHERE job_id IN (SELECT id FROM jobs WHERE printer_id = ?)",
    ),
    deleteFramesOfPrinter: db.query<never, [number]>(
      "DELETE FROM job_frames WHERE job_id IN (SELECT id FROM jobs WHERE printer_id = ?)",
    ),
  };
  // The writes take a Fence (see its type) that only PostgreSQL reads (there a fenced-out insert throws FencedOut,
  // a fenced-out update changes nothing).
  return {
    insert: (printerId: number, name: string, file: string, at: number, _fence: Fence = null) =>
      q.insert.get(printerId, name, file, at)!.id,
    byId: (id: number) => q.byId.get(id),
    open: () => q.open.all(),
    update: (j: JobRow, _fence: Fence = null) =>
      void q.update.run(j.layer, j.total_layers, j.paused_ms, j.paused_since, j.errors, j.id),
    saveWeather: (j: JobRow, _fence: Fence = null) =>
      void q.weather.run(
        j.temp_min!,
        j.temp_max!,
        j.temp_sum,
        j.hum_min!,
        j.hum_max!,
        j.hum_sum,
        j.readings,
        j.weather_points,
        j.id,
      ),
    close: (id: number, at: number, outcome: Outcome, _fence: Fence = null) => void q.close.run(at, outcome, id),
    /** Newest first; printerId 0 = every printer; `before` a job id (exclusive). */
    list: (opts: { printerId?: number; outcome?: string; before?: number; limit: number }) =>
      q.list.all(opts.printerId ?? 0, opts.outcome ?? "", opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit),
    addFrame: (
      jobId: number,
      at: number,
      layer: number | null,
      mime: string,
      bytes: Uint8Array,
      _fence: Fence = null,
    ) => q.insertFrame.get(jobId, at, layer, mime, bytes)!.id,
    frames: (jobId: number) => q.frames.all(jobId),
    frame: (id: number) => q.frame.get(id),
    deleteFrame: (id: number) => void q.deleteFrame.run(id),
    archiveBytes: () => q.archiveBytes.get()!.n,
    /** The finished timelapse video linked to a job, if any. */
    timelapseOf: (jobId: number) => q.timelapseOf.get(jobId)?.id ?? null,
    /** Drops the oldest job's archive; resolves how many bytes that freed (0 when nothing was left). */
    pruneOldestArchive: () => {
      const oldest = q.oldestWithFrames.get();
      if (!oldest) return 0;
      q.deleteFramesOf.run(oldest.job_id);
      return oldest.n;
    },
    /** Records that a print drew from a tray; the first filament seen in it stays. */
    addFilament: (f: JobFilament) =>
      void q.addFilament.run(f.job_id, f.tray, f.type, f.color, f.brand, f.first_used_at),
    /** The filaments of these jobs, each job's in the order first used. */
    filaments: (jobIds: number[]) => (jobIds.length ? q.filaments.all(JSON.stringify(jobIds)) : []),
    deleteOfPrinter: (printerId: number) => {
      q.deleteFramesOfPrinter.run(printerId);
      q.deleteFilamentsOfPrinter.run(printerId);
      q.deleteOfPrinter.run(printerId);
    },
  };
}
