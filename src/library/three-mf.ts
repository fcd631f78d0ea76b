// Owns what a sliced 3MF (`.gcode.3mf` from Bambu Studio or OrcaSlicer) says about its plates: which plates have
// G-code, each one's thumbnail, estimate, filaments, objects, and the printer model and nozzle it was sliced for.
// The slicers' layout: Metadata/plate_<n>.gcode (+ .png), Metadata/slice_info.config (XML, one <plate> per sliced
// plate: metadata index/prediction/weight/printer_model_id/nozzle_diameters, <object identify_id name skipped>,
// <filament type color used_g>), Metadata/model_settings.config (XML: plater_id, plater_name per plate),
// Metadata/project_settings.config (JSON: printer_model, nozzle_diameter).
import { type EntryCap, openZip, type ZipLimits, ZipRefused } from "./zip.ts";

/** The most plates a file may have; Bambu Studio's plate list is far shorter. */
export const MAX_PLATES = 64;
/** The XML and JSON the parser reads: a slicer writes kilobytes, a few MB for a crowded plate. */
const CONFIG_CAP: EntryCap = { bytes: 4 * 1024 * 1024, kind: "not_zip" };
/** A plate's PNG: the slicers write a few hundred kB at most. */
const THUMBNAIL_CAP: EntryCap = { bytes: 2 * 1024 * 1024, kind: "hostile" };

export type Filament = { type: string; color: string; grams: number | null };
export type PlateObject = { id: number; name: string };
export type Plate = {
  index: number;
  name: string;
  estimate_s: number | null;
  model: string | null;
  nozzle_mm: number | null;
  filaments: Filament[];
  objects: PlateObject[];
  /** The PNG's bytes, when the file has Metadata/plate_<n>.png. */
  thumbnail: Uint8Array | null;
};

/** Bambu's printer_model_id codes (the `model_id` of BambuStudio's machine profiles) → the model's name. */
const MODEL_IDS: Record<string, string> = {
  "BL-P001": "X1C",
  "BL-P002": "X1",
  C13: "X1E",
  C11: "P1P",
  C12: "P1S",
  N1: "A1 mini",
  N2S: "A1",
  O1D: "H2D",
};

/** A model's name reduced for comparing: "Bambu Lab X1 Carbon" and "X1C" are one model, as are "A1 Mini"/"A1 mini". */
export function sameModel(a: string, b: string): boolean {
  const norm = (s: string) =>
    s
      .toLowerCase()
      .replace(/^bambu\s*lab\s*/, "")
      .replace(/\s+/g, "")
      .replace(/carbon$/, "c");
  return norm(a) === norm(b);
}

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
const decode = (v: string) =>
  v.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const code = e[1] === "x" || e[1] === "X" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1));
      return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
    }
    return ENTITIES[e] ?? m;
  });

// The XML is scanned by hand, each character visited a bounded number of times: a lazy regex over a file with an
// opening tag repeated and no closing one takes time growing with the square of its length.
const WORD = /\w/;
const NAME_CHAR = /[\w:-]/;
const SPACE = /\s/;

/** Where `<tag` starts a tag named exactly `tag` at or after `from`, or -1. */
function opening(xml: string, tag: string, from: number): number {
  for (let at = xml.indexOf(`<${tag}`, from); at >= 0; at = xml.indexOf(`<${tag}`, at + 1))
    if (!WORD.test(xml[at + tag.length + 1] ?? "")) return at;
  return -1;
}
/** The `>` that ends a tag whose attributes start at `from` (a quoted value may hold `>`), or -1. */
function tagEnd(xml: string, from: number): number {
  let quoted = false;
  for (let i = from; i < xml.length; i++) {
    const c = xml.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (c === 62 && !quoted) return i;
  }
  return -1;
}
/** The `name="value"` pairs of a tag's attribute text. */
function attributes(text: string): Record<string, string> {
  const attrs: Record<string, string> = {};
  let at = 0;
  for (let eq = text.indexOf("=", at); eq >= 0; eq = text.indexOf("=", at)) {
    let end = eq;
    while (end > at && SPACE.test(text[end - 1]!)) end--;
    let start = end;
    while (start > at && NAME_CHAR.test(text[start - 1]!)) start--;
    let value = eq + 1;
    while (value < text.length && SPACE.test(text[value]!)) value++;
    if (text[value] !== '"') {
      at = eq + 1;
      continue;
    }
    const close = text.indexOf('"', value + 1);
    if (close < 0) break;
    if (start < end) attrs[text.slice(start, end)] = decode(text.slice(value + 1, close));
    at = close + 1;
  }
  return attrs;
}
/** The attributes of each `<tag .../>` or `<tag ...>` in `xml`; the scan ends at a tag that never closes. */
function tags(xml: string, tag: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (let at = opening(xml, tag, 0); at >= 0; ) {
    const from = at + tag.length + 1;
    const end = tagEnd(xml, from);
    if (end < 0) break;
    out.push(attributes(xml.slice(from, end)));
    at = opening(xml, tag, end + 1);
  }
  return out;
}
/** Each `<plate>...</plate>` block's text; the scan ends at a plate that never closes. */
function plateBlocks(xml: string): string[] {
  const out: string[] = [];
  for (let at = opening(xml, "plate", 0); at >= 0; ) {
    const body = xml.indexOf(">", at) + 1;
    const end = body > 0 ? xml.indexOf("</plate>", body) : -1;
    if (end < 0) break;
    out.push(xml.slice(body, end));
    at = opening(xml, "plate", end + 8);
  }
  return out;
}
const metadata = (block: string) =>
  Object.fromEntries(tags(block, "metadata").map((a) => [a.key ?? "", a.value ?? ""]));
const number = (v: string | undefined) => {
  if (v === undefined || v.trim() === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};
const firstOf = (v: unknown) => (Array.isArray(v) ? v[0] : v);
const text = (bytes: Uint8Array | null) => (bytes ? new TextDecoder().decode(bytes) : "");
/** `#RRGGBB` (the slicers write #RRGGBB or #RRGGBBAA), or "" when it is not a colour. */
const colour = (v: string | undefined) =>
  v && /^#[0-9a-f]{6}([0-9a-f]{2})?$/i.test(v) ? v.slice(0, 7).toUpperCase() : "";

/** Reads the plates of the sliced 3MF in `file`; throws ZipRefused for what is not one, or is hostile. */
export async function readSlicedPlates(file: Blob, limits?: ZipLimits): Promise<Plate[]> {
  const zip = await openZip(file, limits);
  const sliced = [...zip.entries.keys()]
    .map((name) => /^Metadata\/plate_(\d{1,3})\.gcode$/.exec(name)?.[1])
    .filter((n): n is string => !!n)
    .map(Number)
    .sort((a, b) => a - b);
  if (!zip.entries.has("3D/3dmodel.model") && !zip.entries.has("[Content_Types].xml"))
    throw new ZipRefused("not_zip", "a zip archive, but not a 3MF (no 3D/3dmodel.model)");
  if (!sliced.length)
    throw new ZipRefused(
      "not_zip",
      "a 3MF without sliced plates: slice it in Bambu Studio or OrcaSlicer and export the plate (.gcode.3mf)",
    );
  if (sliced.length > MAX_PLATES)
    throw new ZipRefused("hostile", `${sliced.length} sliced plates (at most ${MAX_PLATES})`);
  const slice = text(await zip.read("Metadata/slice_info.config", CONFIG_CAP));
  const settings = text(await zip.read("Metadata/model_settings.config", CONFIG_CAP));
  const projectText = text(await zip.read("Metadata/project_settings.config", CONFIG_CAP));
  let project: Record<string, unknown> = {};
  try {
    const raw = JSON.parse(projectText || "{}");
    if (raw && typeof raw === "object" && !Array.isArray(raw)) project = raw;
  } catch {
    // Older exports wrote it as XML; the slice info carries what is needed.
  }
  const projectModel =
    typeof project.printer_model === "string" ? project.printer_model.replace(/^Bambu Lab /, "") : null;
  const projectNozzle = number(String(firstOf(project.nozzle_diameter) ?? ""));

  const sliceByIndex = new Map<number, string>();
  for (const block of plateBlocks(slice)) {
    const index = number(metadata(block).index);
    if (index !== null) sliceByIndex.set(index, block);
  }
  const names = new Map<number, string>();
  for (const block of plateBlocks(settings)) {
    const m = metadata(block);
    const id = number(m.plater_id);
    if (id !== null && m.plater_name) names.set(id, m.plater_name.slice(0, 200));
  }

  const plates: Plate[] = [];
  for (const index of sliced) {
    const block = sliceByIndex.get(index) ?? "";
    const m = metadata(block);
    const modelId = m.printer_model_id ?? "";
    const nozzles = (m.nozzle_diameters ?? "").split(/[,; ]+/).filter(Boolean);
    plates.push({
      index,
      name: names.get(index) ?? `Plate ${index}`,
      estimate_s: number(m.prediction),
      model: MODEL_IDS[modelId] ?? projectModel ?? (modelId || null),
      nozzle_mm: number(nozzles[0]) ?? projectNozzle,
      filaments: tags(block, "filament").map((f) => ({
        type: (f.type ?? "").slice(0, 40),
        color: colour(f.color),
        grams: number(f.used_g),
      })),
      objects: tags(block, "object")
        .map((o) => ({ id: number(o.identify_id), name: (o.name ?? "").slice(0, 200) }))
        .filter((o): o is PlateObject => o.id !== null && Number.isInteger(o.id)),
      thumbnail: await zip.read(`Metadata/plate_${index}.png`, THUMBNAIL_CAP),
    });
  }
  return plates;
}
