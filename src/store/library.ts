// Owns the library tables: sliced files (their bytes live in media_dir) and each file's plates as read from it.
import type { Database } from "bun:sqlite";

export type LibraryFileRow = {
  id: number;
  name: string;
  size: number;
  sha256: string;
  /** ",a,b," (empty: ","), so a LIKE on ",tag," finds a whole tag. */
  tags: string;
  uploaded_by: string;
  created_at: number;
};
export type LibraryPlateRow = {
  file_id: number;
  plate: number;
  name: string;
  estimate_s: number | null;
  model: string | null;
  nozzle_mm: number | null;
  /** [{type, color, grams}] */
  filaments_json: string;
  /** [{id, name}] */
  objects_json: string;
  /** 1 when media_dir holds the plate's PNG. */
  thumbnail: number;
};
export type NewLibraryFile = Omit<LibraryFileRow, "id">;
/** What a search asks: words in the name, one tag; newest first, at most `limit`. */
export type LibraryQuery = { text: string; tag: string; limit: number };

/** LIKE pattern of `text` anywhere, with LIKE's own characters taken literally (ESCAPE '\'). */
export const likeAnywhere = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

export function libraryStatements(db: Database) {
  const q = {
    insert: db.query<{ id: number }, [string, number, string, string, string, number]>(
      `INSERT INTO library_files (name, size, sha256, tags, uploaded_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
    ),
    insertPlate: db.query<
      never,
      [number, number, string, number | null, string | null, number | null, string, string, number]
    >(
      `INSERT INTO library_plates
        (file_id, plate, name, estimate_s, model, nozzle_mm, filaments_json, objects_json, thumbnail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    byId: db.query<LibraryFileRow, [number]>("SELECT * FROM library_files WHERE id = ?"),
    search: db.query<LibraryFileRow, [string, string, number]>(
      `SELECT * FROM library_files WHERE name LIKE ? ESCAPE '\\' AND tags LIKE ? ESCAPE '\\'
       ORDER BY id DESC LIMIT ?`,
    ),
    plates: db.query<LibraryPlateRow, [number]>("SELECT * FROM library_plates WHERE file_id = ? ORDER BY plate"),
    setTags: db.query<never, [string, number]>("UPDATE library_files SET tags = ? WHERE id = ?"),
    delete: db.query<never, [number]>("DELETE FROM library_files WHERE id = ?"),
  };
  return {
    /** A file and its plates, in one transaction; its id. */
    insert: db.transaction((file: NewLibraryFile, plates: Omit<LibraryPlateRow, "file_id">[]) => {
      const id = q.insert.get(file.name, file.size, file.sha256, file.tags, file.uploaded_by, file.created_at)!.id;
      for (const p of plates)
        q.insertPlate.run(
          id,
          p.plate,
          p.name,
          p.estimate_s,
          p.model,
          p.nozzle_mm,
          p.filaments_json,
          p.objects_json,
          p.thumbnail,
        );
      return id;
    }),
    byId: (id: number) => q.byId.get(id),
    search: (query: LibraryQuery) =>
      q.search.all(likeAnywhere(query.text), query.tag ? likeAnywhere(`,${query.tag},`) : "%", query.limit),
    plates: (fileId: number) => q.plates.all(fileId),
    setTags: (id: number, tags: string) => void q.setTags.run(tags, id),
    delete: (id: number) => void q.delete.run(id),
  };
}
