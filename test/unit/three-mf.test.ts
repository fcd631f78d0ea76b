// Reading sliced 3MFs (the slicers' layout, test/fixtures/library/make-3mf.ts) and refusing hostile zips.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { MAX_PLATES, readSlicedPlates, sameModel } from "../../src/library/three-mf.ts";
import { ZIP_LIMITS, ZipRefused } from "../../src/library/zip.ts";
import { CUBES_A1, type FileSpec, slicedEntries, zip } from "../fixtures/library/make-3mf.ts";
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

/** CUBES_A1 with some entries' bytes replaced, stored uncompressed (so no ratio check stands in the way). */
function cubesWith(replace: Record<string, Uint8Array>, spec: FileSpec = CUBES_A1): Blob {
  const entries = slicedEntries(spec).map((e) => (replace[e.name] ? { ...e, data: replace[e.name]!, store: true } : e));
  return new Blob([zip(entries) as Uint8Array<ArrayBuffer>]);
}
const bytes = (s: string) => new TextEncoder().encode(s);
async function refusalOf(file: Blob): Promise<ZipRefused> {
  try {
    await readSlicedPlates(file);
  } catch (err) {
    if (err instanceof ZipRefused) return err;
    throw err;
  }
  throw new Error("the file was read");
}

// bun test's timeout is the guard on these: the patterns took time growing with the square of their length
// (400 kB took about 15 s) before the scan was linear.
describe("hostile XML is read in one pass", () => {
  test("plate tags that open and never close give plates without slice info", async () => {
    const file = cubesWith({ "Metadata/slice_info.config": bytes("<plate>".repeat(60_000)) });
    const [plate, ...rest] = await readSlicedPlates(file);
    expect(rest).toEqual([]);
    expect([plate!.name, plate!.estimate_s, plate!.model, plate!.filaments]).toEqual(["Three cubes", null, "A1", []]);
  });

  test("metadata tags that never close end the plate's metadata", async () => {
    const slice = `<plate><metadata key="index" value="1"/><metadata key="prediction" value="60"/>${"<metadata x".repeat(40_000)}</plate>`;
    const [plate] = await readSlicedPlates(cubesWith({ "Metadata/slice_info.config": bytes(slice) }));
    expect(plate!.estimate_s).toBe(60);
  });

  test("an attribute name 400 kB long without a value is passed over", async () => {
    const slice = `<plate><metadata key="index" value="1"/><metadata key="prediction" value="60" ${"a".repeat(400_000)}/></plate>`;
    const [plate] = await readSlicedPlates(cubesWith({ "Metadata/slice_info.config": bytes(slice) }));
    expect(plate!.estimate_s).toBe(60);
  });

  test("quoted values may hold > and the tags after them are read", async () => {
    const slice = `<plate><metadata key="index" value="1"/><metadata key="prediction" value="6>0"/><filament type="PLA" color="#00FF00" used_g="2"/></plate>`;
    const [plate] = await readSlicedPlates(cubesWith({ "Metadata/slice_info.config": bytes(slice) }));
    expect([plate!.estimate_s, plate!.filaments]).toEqual([null, [{ type: "PLA", color: "#00FF00", grams: 2 }]]);
  });
});

describe("what is refused by size", () => {
  test("a config past 4 MB, as not a sliced 3MF", async () => {
    const r = await refusalOf(cubesWith({ "Metadata/slice_info.config": bytes("<plate>".repeat(700_000)) }));
    expect([r.kind, r.message]).toEqual(["not_zip", expect.stringContaining("slice_info.config is too large")]);
  });

  test("project settings past 4 MB, as not a sliced 3MF", async () => {
    const r = await refusalOf(cubesWith({ "Metadata/project_settings.config": new Uint8Array(5 * 1024 * 1024) }));
    expect([r.kind, r.message]).toEqual(["not_zip", expect.stringContaining("project_settings.config is too large")]);
  });

  test("a plate thumbnail past 2 MB", async () => {
    const r = await refusalOf(cubesWith({ "Metadata/plate_1.png": new Uint8Array(3 * 1024 * 1024) }));
    expect([r.kind, r.message]).toEqual(["hostile", expect.stringContaining("plate_1.png is too large")]);
  });

  test(`more than ${MAX_PLATES} sliced plates`, async () => {
    const plates = Array.from({ length: MAX_PLATES + 1 }, (_, i) => ({ ...CUBES_A1.plates[0]!, index: i + 1 }));
    const r = await refusalOf(cubesWith({}, { ...CUBES_A1, plates }));
    expect([r.kind, r.message]).toEqual(["hostile", `${MAX_PLATES + 1} sliced plates (at most ${MAX_PLATES})`]);
  });

  test("entries read past the archive's total budget, though each is within its own", async () => {
    const file = cubesWith({ "Metadata/plate_1.png": new Uint8Array(40_000) });
    try {
      await readSlicedPlates(file, { ...ZIP_LIMITS, maxTotalBytes: 32_000 });
      throw new Error("the file was read");
    } catch (err) {
      expect(err).toBeInstanceOf(ZipRefused);
      expect((err as ZipRefused).message).toContain("in all (at Metadata/plate_1.png)");
    }
    expect(await readSlicedPlates(file, { ...ZIP_LIMITS, maxTotalBytes: 64_000 })).toHaveLength(1);
  });
});
