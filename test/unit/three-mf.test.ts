// Reading sliced 3MFs (the slicers' layout, test/fixtures/library/make-3mf.ts) and refusing hostile zips.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { readSlicedPlates, sameModel } from "../../src/library/three-mf.ts";
import { ZipRefused } from "../../src/library/zip.ts";
import { CUBES_A1_PLATE, LIBRARY_FIXTURES } from "../library-helpers.ts";

const fixture = (name: string) => Bun.file(join(LIBRARY_FIXTURES, name));
async function refusal(name: string): Promise<ZipRefused> {
  try {
    await readSlicedPlates(fixture(name));
  } catch (err) {
    if (err instanceof ZipRefused) return err;
    throw err;
  }
  throw new Error(`${name} was read`);
}

describe("a sliced 3MF", () => {
  test("gives its plate's estimate, model, nozzle, filament, objects and thumbnail", async () => {
    const [plate, ...rest] = await readSlicedPlates(fixture("cubes-a1.gcode.3mf"));
    expect(rest).toEqual([]);
    const { thumbnail, ...meta } = plate!;
    expect(meta).toEqual(CUBES_A1_PLATE);
    expect([...thumbnail!.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
  });

  test("gives every sliced plate, named or not, with colours as #RRGGBB", async () => {
    const plates = await readSlicedPlates(fixture("two-plates-a1mini.gcode.3mf"));
    expect(plates.map((p) => [p.index, p.name, p.model, p.filaments.map((f) => f.color)])).toEqual([
      [1, "Plate 1", "A1 mini", ["#FF0000", "#0000FF"]],
      [2, "Spares", "A1 mini", []],
    ]);
  });

  test("names an X1 Carbon's model so that it matches the printer's X1C", async () => {
    const [plate] = await readSlicedPlates(fixture("cubes-x1c-0.6.gcode.3mf"));
    expect(plate!.model).toBe("X1C");
    expect(plate!.nozzle_mm).toBe(0.6);
    expect(sameModel("Bambu Lab X1 Carbon", "X1C")).toBe(true);
    expect(sameModel("A1 Mini", "A1 mini")).toBe(true);
    expect(sameModel("A1", "A1 mini")).toBe(false);
  });
});

describe("what is refused", () => {
  test("a file that is not a zip", async () => {
    expect((await refusal("not-a-zip.gcode.3mf")).kind).toBe("not_zip");
  });
  test("a 3MF that was never sliced, with a hint", async () => {
    expect((await refusal("unsliced.3mf")).message).toContain("slice it");
  });
  test("a zip bomb, by its ratio", async () => {
    const r = await refusal("bomb.gcode.3mf");
    expect([r.kind, r.message]).toEqual(["hostile", expect.stringContaining("inflate")]);
  });
  test("a zip bomb whose directory lies about its size, while it inflates", async () => {
    const r = await refusal("lying-bomb.gcode.3mf");
    expect([r.kind, r.message]).toEqual(["hostile", expect.stringContaining("inflates past")]);
  });
  test("a name that climbs out of the folder", async () => {
    expect((await refusal("traversal.gcode.3mf")).message).toContain('".." path');
  });
  test("an absolute name", async () => {
    expect((await refusal("absolute.gcode.3mf")).message).toContain("absolute");
  });
  test("entries that share their bytes", async () => {
    expect((await refusal("overlap.gcode.3mf")).message).toContain("overlap");
  });
});
