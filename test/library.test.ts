// The library API (PRINTERS.md §9): sliced files uploaded as multipart, read for their plates, searched, tagged,
// deleted; what is not a sliced 3MF, hostile or too large is refused and nothing of it stays.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { useApp } from "./app-fixture.ts";
import { CUBES_A1, type Entry, slicedEntries, zip } from "./fixtures/library/make-3mf.ts";
import { addUser, csrfFrom, getPage } from "./helpers.ts";
import { CUBES_A1_PLATE, upload } from "./library-helpers.ts";

const fx = useApp({ config: { library_max_mb: 1 } });

const libraryFiles = () => readdirSync(join(fx.app.dir, "media/library"));

describe("uploading to the library", () => {
  test("a sliced 3MF is taken, with its plate's estimate, model, filament, objects and thumbnail", async () => {
    const res = await upload(fx.app, fx.cookie, fx.csrf, "cubes-a1.gcode.3mf");
    expect(res.status).toBe(201);
    const file = await res.json();
    expect(file).toMatchObject({
      name: "cubes-a1.gcode.3mf",
      size: 2749,
      tags: [],
      plates: [CUBES_A1_PLATE],
    });
    const png = await fetch(`${fx.app.url}${file.plates[0].thumbnail_url}`, { headers: { cookie: fx.cookie } });
    expect(png.headers.get("content-type")).toBe("image/png");
    expect((await png.bytes()).subarray(1, 4)).toEqual(new Uint8Array([0x50, 0x4e, 0x47]));
    expect(libraryFiles()).toContain(`${file.id}.gcode.3mf`);
  });

  test("search finds a file by part of its name and by tag", async () => {
    const up = await (await upload(fx.app, fx.cookie, fx.csrf, "two-plates-a1mini.gcode.3mf")).json();
    const headers = { cookie: fx.cookie, "content-type": "application/json" };
    const tagged = await fetch(`${fx.app.url}/api/library/${up.id}`, {
      method: "PATCH",
      headers,
      body: JSON.stringify({ tags: ["Spares", "hooks"] }),
    });
    expect((await tagged.json()).tags).toEqual(["spares", "hooks"]);
    const byName = await (await fetch(`${fx.app.url}/api/library?q=PLATES`, { headers })).json();
    expect(byName.map((f: { id: number }) => f.id)).toEqual([up.id]);
    const byTag = await (await fetch(`${fx.app.url}/api/library?tag=hooks`, { headers })).json();
    expect(byTag.map((f: { id: number }) => f.id)).toEqual([up.id]);
    expect(await (await fetch(`${fx.app.url}/api/library?tag=hook`, { headers })).json()).toEqual([]);
  });

  test("a deleted file is gone with its thumbnails", async () => {
    const up = await (await upload(fx.app, fx.cookie, fx.csrf, "cubes-a1.gcode.3mf")).json();
    const res = await fetch(`${fx.app.url}/api/library/${up.id}`, {
      method: "DELETE",
      headers: { cookie: fx.cookie },
    });
    expect(res.status).toBe(200);
    expect((await fetch(`${fx.app.url}/api/library/${up.id}`, { headers: { cookie: fx.cookie } })).status).toBe(404);
    expect(libraryFiles().filter((f) => f.startsWith(`${up.id}.`) || f.startsWith(`${up.id}-`))).toEqual([]);
  });
});

describe("what the library refuses, keeping nothing of it", () => {
  const refused = async (name: string, status: number, words: string, bytes?: Uint8Array<ArrayBuffer>) => {
    const before = libraryFiles().length;
    const res = await upload(fx.app, fx.cookie, fx.csrf, name, bytes);
    expect(res.status).toBe(status);
    expect((await res.json()).error).toContain(words);
    expect(libraryFiles().length).toBe(before);
  };
  test("a file that is not a zip: 415", () => refused("not-a-zip.gcode.3mf", 415, "not a sliced 3MF"));
  test("a 3MF never sliced: 415 with a hint", () => refused("unsliced.3mf", 415, "slice it"));
  test("a zip bomb: 400", () => refused("bomb.gcode.3mf", 400, "inflate"));
  test("a zip bomb that lies about its size: 400", () => refused("lying-bomb.gcode.3mf", 400, "inflates past"));
  test("a path trick: 400", () => refused("traversal.gcode.3mf", 400, '".."'));
  test("overlapping entries: 400", () => refused("overlap.gcode.3mf", 400, "overlap"));
  test("a file over library_max_mb: 413", () =>
    refused("big.gcode.3mf", 413, "library_max_mb", new Uint8Array(1024 * 1024 + 1)));
});

describe("who may upload", () => {
  test("a viewer may not", async () => {
    const cookie = await addUser(fx.app, fx.cookie, "vic", "viewer");
    const csrf = csrfFrom((await getPage(fx.app, "/settings", cookie)).text);
    expect((await upload(fx.app, cookie, csrf, "cubes-a1.gcode.3mf")).status).toBe(403);
  });
  test("without the session's CSRF token, nobody may", async () => {
    expect((await upload(fx.app, fx.cookie, "forged", "cubes-a1.gcode.3mf")).status).toBe(403);
  });
});

describe("what the library refuses by its limits, keeping no file, thumbnail or row", () => {
  const listed = async () =>
    (await (await fetch(`${fx.app.url}/api/library`, { headers: { cookie: fx.cookie } })).json()).length;
  const refusedCrafted = async (entries: Entry[], words: string) => {
    const [files, rows] = [libraryFiles().length, await listed()];
    const res = await upload(fx.app, fx.cookie, fx.csrf, "crafted.gcode.3mf", zip(entries) as Uint8Array<ArrayBuffer>);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toContain(words);
    expect([libraryFiles().length, await listed()]).toEqual([files, rows]);
  };
  const platesOf = (n: number) => ({
    ...CUBES_A1,
    plates: Array.from({ length: n }, (_, i) => ({ ...CUBES_A1.plates[0]!, index: i + 1 })),
  });

  test("more than 64 plates: 400", () => refusedCrafted(slicedEntries(platesOf(65)), "65 sliced plates"));

  test("thumbnails within 2 MB each but past 64 MB in all: 400", async () => {
    // Random bytes repeated: about 100× smaller deflated, so the upload stays under library_max_mb.
    const block = crypto.getRandomValues(new Uint8Array(4096));
    const thumbnail = new Uint8Array(2 * 1024 * 1024 - 1);
    for (let at = 0; at < thumbnail.length; at += block.length)
      thumbnail.set(block.subarray(0, thumbnail.length - at), at);
    const entries = slicedEntries(platesOf(33)).map((e) => (e.name.endsWith(".png") ? { ...e, data: thumbnail } : e));
    await refusedCrafted(entries, "64 MB in all");
    // Deflating 66 MB to build the file takes a few seconds on a busy machine.
  }, 20_000);
});
