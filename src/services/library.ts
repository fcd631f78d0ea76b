// Owns the print library: a sliced file arriving (streamed to media_dir/library under a size limit, hashed,
// read for its plates, refused whole when it is not a sliced 3MF or is hostile), its thumbnails, search, tags and
// deletion. Files live in media_dir, their metadata in the store.
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { type Plate, readSlicedPlates } from "../library/three-mf.ts";
import { ZipRefused } from "../library/zip.ts";
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { LibraryFileRow, LibraryPlateRow } from "../store/store.ts";

export type LibraryPlate = {
  index: number;
  name: string;
  thumbnail_url: string | null;
  estimate_s: number | null;
  model: string | null;
  nozzle_mm: number | null;
  filaments: Plate["filaments"];
  objects: Plate["objects"];
};
export type LibraryFile = {
  id: number;
  name: string;
  size: number;
  sha256: string;
  tags: string[];
  uploaded_by: string;
  created_at: number;
  plates: LibraryPlate[];
};
/** Why a file was not taken: `status` is the HTTP answer's (400 hostile or bad, 413 too large, 415 not a 3MF). */
export type AddRefused = { ok: false; status: 400 | 413 | 415; error: string };

const TAG = /^[\p{L}\p{N}_-]{1,32}$/u;
/** Tags as the store keeps them (",a,b,"), lower-cased, unique; null when one is not a tag. */
export function tagsText(tags: unknown): string | null {
  if (!Array.isArray(tags) || tags.length > 20) return null;
  const clean = new Set<string>();
  for (const t of tags) {
    if (typeof t !== "string" || !TAG.test(t.trim())) return null;
    clean.add(t.trim().toLowerCase());
  }
  return `,${[...clean].join(",")}${clean.size ? "," : ""}`;
}
const tagList = (text: string) => text.split(",").filter(Boolean);

export function createLibrary(deps: { store: AsyncStore; log: Logger; mediaDir: string; maxBytes: number }) {
  const { store, log } = deps;
  const dir = join(deps.mediaDir, "library");
  // Made with the first upload (media_dir holds nothing of the library until one). Uploads under way when the
  // server last stopped were never recorded, so never reachable: removed.
  if (existsSync(dir))
    for (const name of readdirSync(dir)) if (name.endsWith(".part")) rmSync(join(dir, name), { force: true });
  const fileOf = (id: number) => join(dir, `${id}.gcode.3mf`);
  const thumbOf = (id: number, plate: number) => join(dir, `${id}-plate${plate}.png`);

  const plateJson = (id: number, p: LibraryPlateRow): LibraryPlate => ({
    index: p.plate,
    name: p.name,
    thumbnail_url: p.thumbnail ? `/library/${id}/plates/${p.plate}.png` : null,
    estimate_s: p.estimate_s,
    model: p.model,
    nozzle_mm: p.nozzle_mm,
    filaments: JSON.parse(p.filaments_json),
    objects: JSON.parse(p.objects_json),
  });
  async function describe(row: LibraryFileRow): Promise<LibraryFile> {
    const plates = await store.library.plates(row.id);
    return { ...row, tags: tagList(row.tags), plates: plates.map((p) => plateJson(row.id, p)) };
  }

  return {
    maxBytes: deps.maxBytes,
    /**
     * Takes a file from `chunks` (a request body's file part): written as it arrives, refused with 413 once past
     * the limit, then read for its plates; nothing of a refused file stays.
     */
    async add(
      name: string,
      chunks: AsyncIterable<Uint8Array>,
      by: string,
    ): Promise<{ ok: true; file: LibraryFile } | AddRefused> {
      mkdirSync(dir, { recursive: true });
      const part = join(dir, `${crypto.randomUUID()}.part`);
      const sink = Bun.file(part).writer({ highWaterMark: 1024 * 1024 });
      const hash = new Bun.CryptoHasher("sha256");
      let size = 0;
      const drop = () => rmSync(part, { force: true });
      try {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > deps.maxBytes) {
            await sink.end();
            drop();
            return { ok: false, status: 413, error: `the file is larger than library_max_mb (${deps.maxBytes} bytes)` };
          }
          hash.update(chunk);
          sink.write(chunk);
          await sink.flush();
        }
        await sink.end();
      } catch (err) {
        await Promise.resolve(sink.end()).catch(() => {});
        drop();
        throw err;
      }
      let plates: Plate[];
      try {
        plates = await readSlicedPlates(Bun.file(part));
      } catch (err) {
        drop();
        if (!(err instanceof ZipRefused)) throw err;
        log.warn("library file refused", { name, by, reason: err.message });
        return err.kind === "hostile"
          ? { ok: false, status: 400, error: `refused: ${err.message}` }
          : { ok: false, status: 415, error: `not a sliced 3MF (.gcode.3mf): ${err.message}` };
      }
      const id = await store.library.insert(
        { name, size, sha256: hash.digest("hex"), tags: ",", uploaded_by: by, created_at: Date.now() },
        plates.map((p) => ({
          plate: p.index,
          name: p.name,
          estimate_s: p.estimate_s === null ? null : Math.round(p.estimate_s),
          model: p.model,
          nozzle_mm: p.nozzle_mm,
          filaments_json: JSON.stringify(p.filaments),
          objects_json: JSON.stringify(p.objects),
          thumbnail: p.thumbnail ? 1 : 0,
        })),
      );
      try {
        for (const p of plates) if (p.thumbnail) await Bun.write(thumbOf(id, p.index), p.thumbnail);
        await rename(part, fileOf(id));
      } catch (err) {
        await store.library.delete(id);
        drop();
        throw err;
      }
      log.info("library file added", { id, name, size, plates: plates.length, by });
      return { ok: true, file: await describe((await store.library.byId(id))!) };
    },
    async get(id: number): Promise<LibraryFile | null> {
      const row = await store.library.byId(id);
      return row ? describe(row) : null;
    },
    async search(text = "", tag = "", limit = 100): Promise<LibraryFile[]> {
      const rows = await store.library.search({ text: text.slice(0, 100), tag: tag.slice(0, 32).toLowerCase(), limit });
      return Promise.all(rows.map(describe));
    },
    async setTags(id: number, tags: string, by: string): Promise<LibraryFile | null> {
      if (!(await store.library.byId(id))) return null;
      await store.library.setTags(id, tags);
      log.info("library file tagged", { id, tags, by });
      return this.get(id);
    },
    async remove(id: number, by: string): Promise<boolean> {
      const row = await store.library.byId(id);
      if (!row) return false;
      const plates = await store.library.plates(id);
      await store.library.delete(id);
      rmSync(fileOf(id), { force: true });
      for (const p of plates) rmSync(thumbOf(id, p.plate), { force: true });
      log.info("library file deleted", { id, name: row.name, by });
      return true;
    },
    /** The file's bytes on disk (for sending), or null once it is gone. */
    blob: async (id: number) => {
      const file = Bun.file(fileOf(id));
      return (await file.exists()) ? file : null;
    },
    thumbnail: async (id: number, plate: number) => {
      const file = Bun.file(thumbOf(id, plate));
      return (await file.exists()) ? file : null;
    },
  };
}

export type Library = ReturnType<typeof createLibrary>;
