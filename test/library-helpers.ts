// Library test helpers: upload a fixture (test/fixtures/library, made by make-3mf.ts) as the page does.
import { join } from "node:path";

export const LIBRARY_FIXTURES = join(import.meta.dir, "fixtures/library");

/** The one plate of the fixture cubes-a1.gcode.3mf as it reads, less its thumbnail. */
export const CUBES_A1_PLATE = {
  index: 1,
  name: "Three cubes",
  estimate_s: 2712,
  model: "A1",
  nozzle_mm: 0.4,
  filaments: [{ type: "PLA", color: "#FFFFFF", grams: 10.49 }],
  objects: [
    { id: 159, name: "Cube A" },
    { id: 187, name: "Cube B" },
    { id: 215, name: "Cube <C> & co" },
  ],
};

/** A library file's plate as the store keeps it: an A1 plate with one PLA filament and one object. */
export const LIBRARY_PLATE_ROW = {
  plate: 1,
  name: "Plate 1",
  estimate_s: 2712,
  model: "A1",
  nozzle_mm: 0.4,
  filaments_json: '[{"type":"PLA","color":"#FFFFFF","grams":10.49}]',
  objects_json: '[{"id":159,"name":"Cube A"}]',
  thumbnail: 1,
};

/** Posts a file to /api/library as multipart (a field before it, as forms often have), with the CSRF header. */
export async function upload(
  app: { url: string },
  cookie: string,
  csrf: string,
  name: string,
  bytes?: Uint8Array<ArrayBuffer>,
): Promise<Response> {
  const form = new FormData();
  form.append("note", "a field before the file");
  form.append("file", new Blob([bytes ?? (await Bun.file(join(LIBRARY_FIXTURES, name)).bytes())]), name);
  return fetch(`${app.url}/api/library`, { method: "POST", headers: { cookie, "x-csrf-token": csrf }, body: form });
}
