// Owns the library tables on PostgreSQL: the same methods and results as ../library.ts.
import type { Promisified } from "../async-store.ts";
import {
  type LibraryFileRow,
  type LibraryPlateRow,
  type LibraryQuery,
  type libraryStatements,
  likeAnywhere,
  type NewLibraryFile,
} from "../library.ts";
import { atomic, one, type Pg, rows } from "./run.ts";

export function pgLibraryStatements(pg: Pg): Promisified<ReturnType<typeof libraryStatements>> {
  const { sql } = pg;
  return {
    insert: (file: NewLibraryFile, plates: Omit<LibraryPlateRow, "file_id">[]) =>
      atomic(pg, async ({ sql: tx }) => {
        const row = await one<{ id: number }>(tx`INSERT INTO library_files
          (name, size, sha256, tags, uploaded_by, created_at)
          VALUES (${file.name}, ${file.size}, ${file.sha256}, ${file.tags}, ${file.uploaded_by}, ${file.created_at})
          RETURNING id`);
        const id = row!.id;
        await Promise.all(
          plates.map(
            (p) => tx`INSERT INTO library_plates
              (file_id, plate, name, estimate_s, model, nozzle_mm, filaments_json, objects_json, thumbnail)
              VALUES (${id}, ${p.plate}, ${p.name}, ${p.estimate_s}, ${p.model}, ${p.nozzle_mm}, ${p.filaments_json},
                ${p.objects_json}, ${p.thumbnail})`,
          ),
        );
        return id;
      }),
    byId: (id: number) => one<LibraryFileRow>(sql`SELECT * FROM library_files WHERE id = ${id}`),
    // Backslash is LIKE's escape here by default, as ESCAPE makes it on SQLite; lower() as SQLite's LIKE is case-blind.
    search: (query: LibraryQuery) =>
      rows<LibraryFileRow>(sql`SELECT * FROM library_files
        WHERE lower(name) LIKE lower(${likeAnywhere(query.text)})
          AND lower(tags) LIKE lower(${query.tag ? likeAnywhere(`,${query.tag},`) : "%"})
        ORDER BY id DESC LIMIT ${query.limit}`),
    plates: (fileId: number) =>
      rows<LibraryPlateRow>(sql`SELECT * FROM library_plates WHERE file_id = ${fileId} ORDER BY plate`),
    setTags: async (id: number, tags: string) => {
      await sql`UPDATE library_files SET tags = ${tags} WHERE id = ${id}`;
    },
    delete: async (id: number) => {
      await sql`DELETE FROM library_files WHERE id = ${id}`;
    },
  };
}
