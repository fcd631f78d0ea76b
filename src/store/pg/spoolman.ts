// Owns the Spoolman tables on PostgreSQL: the same methods and results as ../spoolman.ts.
import type { Promisified } from "../async-store.ts";
import type { NewSpoolUse, SpoolLinkRow, SpoolUseRow, spoolmanStatements } from "../spoolman.ts";
import { one, type Pg, rows } from "./run.ts";

export function pgSpoolmanStatements(pg: Pg): Promisified<ReturnType<typeof spoolmanStatements>> {
  const { sql } = pg;
  return {
    link: async (l: SpoolLinkRow) => {
      await sql`INSERT INTO spoolman_links (printer_id, tray, spool_id, spool_grams, linked_by, linked_at)
        VALUES (${l.printer_id}, ${l.tray}, ${l.spool_id}, ${l.spool_grams}, ${l.linked_by}, ${l.linked_at})
        ON CONFLICT (printer_id, tray) DO UPDATE SET spool_id = excluded.spool_id,
          spool_grams = excluded.spool_grams, linked_by = excluded.linked_by, linked_at = excluded.linked_at`;
    },
    unlink: async (printerId: number, tray: number) => {
      await sql`DELETE FROM spoolman_links WHERE printer_id = ${printerId} AND tray = ${tray}`;
    },
    links: (printerId: number) =>
      rows<SpoolLinkRow>(sql`SELECT * FROM spoolman_links WHERE printer_id = ${printerId} ORDER BY tray`),
    addUse: async (u: NewSpoolUse) =>
      (
        await one<{ id: number }>(sql`INSERT INTO spoolman_uses (job_id, printer_id, tray, spool_id, grams, source,
            created_at)
          VALUES (${u.job_id}, ${u.printer_id}, ${u.tray}, ${u.spool_id}, ${u.grams}, ${u.source}, ${u.created_at})
          ON CONFLICT (job_id, tray) DO NOTHING RETURNING id`)
      )?.id ?? null,
    pending: (limit: number) =>
      rows<SpoolUseRow>(
        sql`SELECT * FROM spoolman_uses WHERE reported_at IS NULL AND refused_at IS NULL ORDER BY id LIMIT ${limit}`,
      ),
    reported: async (id: number, at: number) => {
      await sql`UPDATE spoolman_uses SET reported_at = ${at}, attempts = attempts + 1, last_error = NULL
        WHERE id = ${id}`;
    },
    failed: async (id: number, error: string) => {
      await sql`UPDATE spoolman_uses SET attempts = attempts + 1, last_error = ${error.slice(0, 300)}
        WHERE id = ${id}`;
    },
    refused: async (id: number, error: string, at: number) => {
      await sql`UPDATE spoolman_uses SET refused_at = ${at}, attempts = attempts + 1, last_error = ${error.slice(0, 300)}
        WHERE id = ${id}`;
    },
    refusedUses: (limit: number) =>
      rows<SpoolUseRow>(sql`SELECT * FROM spoolman_uses WHERE reported_at IS NULL AND refused_at IS NOT NULL
        ORDER BY id DESC LIMIT ${limit}`),
    retry: (id: number) =>
      one<SpoolUseRow>(sql`UPDATE spoolman_uses SET refused_at = NULL
        WHERE id = ${id} AND refused_at IS NOT NULL AND reported_at IS NULL RETURNING *`),
    ofJob: (jobId: number) => rows<SpoolUseRow>(sql`SELECT * FROM spoolman_uses WHERE job_id = ${jobId} ORDER BY tray`),
  };
}
