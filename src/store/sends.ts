// Owns the sends table: a library file's plate going to a printer (FTPS, then the print command) and its outcome.
import type { Database } from "bun:sqlite";

export type SendStatus = "uploading" | "starting" | "started" | "failed";
export type SendRow = {
  id: number;
  printer_id: number;
  file_id: number | null;
  plate: number;
  /** The print options asked for (use_ams, ams_mapping, bed_leveling, flow_cali, timelapse). */
  options_json: string;
  /** The print's task id for the printer: the send's id (unique, far below the firmware's 2^31-1). */
  task_id: number;
  /** The file's name on the printer's SD card. */
  remote_name: string;
  status: SendStatus;
  progress: number;
  reason: string | null;
  error: string | null;
  job_id: number | null;
  username: string;
  created_at: number;
  updated_at: number;
};
export type NewSend = Omit<
  SendRow,
  "id" | "task_id" | "status" | "progress" | "reason" | "error" | "job_id" | "updated_at"
>;
export type SendChange = Pick<SendRow, "status" | "progress" | "reason" | "error" | "job_id">;

export function sendStatements(db: Database) {
  const q = {
    insert: db.query<{ id: number }, [number, number | null, number, string, string, string, number, number]>(
      `INSERT INTO sends (printer_id, file_id, plate, options_json, task_id, remote_name, status, progress, username,
         created_at, updated_at)
       VALUES (?, ?, ?, ?, 0, ?, 'uploading', 0, ?, ?, ?) RETURNING id`,
    ),
    setTask: db.query<never, [number]>("UPDATE sends SET task_id = id WHERE id = ?"),
    update: db.query<never, [string, number, string | null, string | null, number | null, number, number]>(
      "UPDATE sends SET status = ?, progress = ?, reason = ?, error = ?, job_id = ?, updated_at = ? WHERE id = ?",
    ),
    byId: db.query<SendRow, [number]>("SELECT * FROM sends WHERE id = ?"),
    ofJob: db.query<SendRow, [number]>("SELECT * FROM sends WHERE job_id = ? ORDER BY id DESC LIMIT 1"),
    unfinished: db.query<SendRow, []>("SELECT * FROM sends WHERE status IN ('uploading', 'starting') ORDER BY id"),
  };
  return {
    /** A new send, its task id its own id; the id. */
    insert: db.transaction((s: NewSend) => {
      const id = q.insert.get(
        s.printer_id,
        s.file_id,
        s.plate,
        s.options_json,
        s.remote_name,
        s.username,
        s.created_at,
        s.created_at,
      )!.id;
      q.setTask.run(id);
      return id;
    }),
    update: (id: number, c: SendChange) =>
      void q.update.run(c.status, c.progress, c.reason, c.error, c.job_id, Date.now(), id),
    byId: (id: number) => q.byId.get(id),
    /** The send that started a job (for a reprint), or null. */
    ofJob: (jobId: number) => q.ofJob.get(jobId),
    /** Sends an instance left half-way (it stopped mid-send). */
    unfinished: () => q.unfinished.all(),
  };
}
