// Owns what a sliced 3MF (`.gcode.3mf` from Bambu Studio or OrcaSlicer) says about its plates: which plates have
// G-code, each one's thumbnail, estimate, filaments, objects, and the printer model and nozzle it was sliced for.
// The slicers' layout: Metadata/plate_<n>.gcode (+ .png), Metadata/slice_info.config (XML, one <plate> per sliced
// plate: metadata index/prediction/weight/printer_model_id/nozzle_diameters, <object identify_id name skipped>,
// <filament type color used_g>), Metadata/model_settings.config (XML: plater_id, plater_name per plate),
// Metadata/project_settings.config (JSON: printer_model, nozzle_diameter).
import { openZip, type ZipLimits, ZipRefused } from "./zip.ts";

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

/** The attributes of each `<tag .../>` or `<tag ...>` in `xml`. */
function tags(xml: string, tag: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const m of xml.matchAll(new RegExp(`<${tag}\\b((?:[^>"]|"[^"]*")*)>`, "g"))) {
    const attrs: Record<string, string> = {};
    for (const a of m[1]!.matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]!] = decode(a[2]!);
    out.push(attrs);
  }
  return out;
}
/** Each `<plate>...</plate>` block's text. */
const plateBlocks = (xml: string) => [...xml.matchAll(/<plate\b[^>]*>([\s\S]*?)<\/plate>/g)].map((m) => m[1]!);
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
  const slice = text(await zip.read("Metadata/slice_info.config"));
  const settings = text(await zip.read("Metadata/model_settings.config"));
  let project: Record<string, unknown> = {};
  try {
    const raw = JSON.parse(text(await zip.read("Metadata/project_settings.config")) || "{}");
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
      thumbnail: await zip.read(`Metadata/plate_${index}.png`),
    });
  }
  return plates;
}
