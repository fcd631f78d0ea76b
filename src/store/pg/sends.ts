// Owns the sends table on PostgreSQL: the same methods and results as ../sends.ts.
import type { Promisified } from "../async-store.ts";
import type { NewSend, SendChange, SendRow, sendStatements } from "../sends.ts";
import { one, type Pg, rows } from "./run.ts";

export function pgSendStatements({ sql }: Pg): Promisified<ReturnType<typeof sendStatements>> {
  return {
    // The id from the identity's sequence, taken first, so the task id can be the same number in one statement.
    insert: async (s: NewSend) =>
      (await one<{ id: number }>(sql`INSERT INTO sends (id, printer_id, file_id, plate, options_json, task_id,
          remote_name, status, progress, username, created_at, updated_at)
        SELECT n, ${s.printer_id}, ${s.file_id}, ${s.plate}, ${s.options_json}, n, ${s.remote_name},
          'uploading', 0, ${s.username}, ${s.created_at}, ${s.created_at}
        FROM (SELECT nextval(pg_get_serial_sequence('sends', 'id')) AS n) AS next RETURNING id`))!.id,
    update: async (id: number, c: SendChange) => {
      await sql`UPDATE sends SET status = ${c.status}, progress = ${c.progress}, reason = ${c.reason},
        error = ${c.error}, job_id = ${c.job_id}, updated_at = ${Date.now()} WHERE id = ${id}`;
    },
    byId: (id: number) => one<SendRow>(sql`SELECT * FROM sends WHERE id = ${id}`),
    ofJob: (jobId: number) => one<SendRow>(sql`SELECT * FROM sends WHERE job_id = ${jobId} ORDER BY id DESC LIMIT 1`),
    unfinished: () => rows<SendRow>(sql`SELECT * FROM sends WHERE status IN ('uploading', 'starting') ORDER BY id`),
  };
}
