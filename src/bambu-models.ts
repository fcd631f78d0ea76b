// Owns what is known about each Bambu Lab model: how a printer says which model it is (its get_version answer,
// else its serial number's prefix), its firmware versions, and the facts that differ by model family (a real
// chamber thermometer, the HMS wiki's section). Facts from ha-bambulab (pybambu utils/const) and Bambu Studio's
// printer profiles (sn_prefix); see PRINTERS.md §4. Pure: it imports nothing.

/** A model's family: what its reports and its wiki pages share. */
export type ModelFamily = "A1" | "P1" | "P2" | "X1" | "X2" | "H2";
export type ModelSource = "printer" | "serial" | "config";
/** One module's firmware as the printer reported it (get_version). */
export type Firmware = { module: string; version: string; hw: string | null; name: string | null };

/** Every model layerwatch knows, with its family (A2L reads like the A1 family). */
export const MODELS: Record<string, ModelFamily> = {
  A1: "A1",
  "A1 mini": "A1",
  A2L: "A1",
  P1P: "P1",
  P1S: "P1",
  P2S: "P2",
  X1: "X1",
  X1C: "X1",
  X1E: "X1",
  X2D: "X2",
  H2D: "H2",
  "H2D Pro": "H2",
  H2S: "H2",
  H2C: "H2",
};

/** The first three characters of a serial number name the model (Bambu Studio's sn_prefix). */
const SERIAL_PREFIXES: Record<string, string> = {
  "00W": "X1",
  "00M": "X1C",
  "03W": "X1E",
  "01S": "P1P",
  "01P": "P1S",
  "030": "A1 mini",
  "039": "A1",
  "22E": "P2S",
  "20P": "X2D",
  "26A": "A2L",
  "093": "H2S",
  "094": "H2D",
  "239": "H2D Pro",
  "31B": "H2C",
};

/** get_version's `product_name` of the `ota` module (newer firmware), lower case, as the model. */
const PRODUCT_NAMES: Record<string, string> = {
  "bambu lab a1": "A1",
  "bambu lab a1 mini": "A1 mini",
  "bambu lab a2l": "A2L",
  "bambu lab p1p": "P1P",
  "bambu lab p1s": "P1S",
  "bambu lab p2s": "P2S",
  "bambu lab x1": "X1",
  "bambu lab x1 carbon": "X1C",
  "bambu lab x1-carbon": "X1C",
  "bambu lab x1e": "X1E",
  "bambu lab x2d": "X2D",
  "bambu lab h2d": "H2D",
  "bambu lab h2d pro": "H2D Pro",
  "bambu lab h2s": "H2S",
  "bambu lab h2c": "H2C",
};

export const modelFromSerial = (serial: string | null | undefined): string | null =>
  (serial && SERIAL_PREFIXES[serial.slice(0, 3).toUpperCase()]) || null;

type Module = { name?: unknown; product_name?: unknown; hw_ver?: unknown; project_name?: unknown; sw_ver?: unknown };
const text = (v: unknown) => (typeof v === "string" ? v.trim() : "");
const modulesOf = (list: unknown): Module[] =>
  Array.isArray(list) ? list.filter((m): m is Module => !!m && typeof m === "object") : [];

/**
 * The model a get_version answer names: a module's product name (newer firmware), else the older
 * firmware's hardware id and project name (AP02 = X1E; AP04 with C11/C12 = P1P/P1S; N1 = A1 mini; AP05 with
 * N2S = A1, with no project = X1C). Null when the answer names none.
 */
export function modelFromVersion(list: unknown): string | null {
  const modules = modulesOf(list);
  for (const m of modules) {
    const model = PRODUCT_NAMES[text(m.product_name).toLowerCase()];
    if (model) return model;
  }
  const ap = modules.find((m) => text(m.hw_ver).startsWith("AP0"));
  if (!ap) return null;
  const hw = text(ap.hw_ver);
  const project = text(ap.project_name);
  if (hw === "AP02") return "X1E";
  if (project === "N1") return "A1 mini";
  if (hw === "AP04" && project === "C11") return "P1P";
  if (hw === "AP04" && project === "C12") return "P1S";
  if (hw === "AP05" && project === "N2S") return "A1";
  if (hw === "AP05" && project === "") return "X1C";
  return null;
}

/** The firmware of the modules a user would recognise (the printer itself first, then AMS units and others). */
export function firmwareFromVersion(list: unknown): Firmware[] {
  const out: Firmware[] = [];
  for (const m of modulesOf(list)) {
    const module = text(m.name);
    const version = text(m.sw_ver);
    if (!module || !version || version === "00.00.00.00") continue;
    const hw = text(m.hw_ver);
    out.push({ module, version, hw: hw && hw !== "N/A" ? hw : null, name: text(m.product_name) || null });
  }
  // The printer's own firmware (ota) is the one users quote; keep the rest in the printer's order.
  return out.sort((a, b) => Number(b.module === "ota") - Number(a.module === "ota"));
}

/** The AMS kind of each unit a get_version answer lists, by unit id (ams/0, ams_f1/0, n3f/2, n3s/128). */
export function amsKindsFromVersion(list: unknown): Record<string, AmsKind> {
  const out: Record<string, AmsKind> = {};
  for (const m of modulesOf(list)) {
    const match = /^(ams|ams_f1|n3f|n3s)\/(\d+)$/.exec(text(m.name));
    if (match) out[match[2]!] = AMS_MODULES[match[1]!]!;
  }
  return out;
}
export type AmsKind = "AMS" | "AMS lite" | "AMS 2 Pro" | "AMS HT";
const AMS_MODULES: Record<string, AmsKind> = { ams: "AMS", ams_f1: "AMS lite", n3f: "AMS 2 Pro", n3s: "AMS HT" };

/** The model to show: the printer's own answer, else its serial's, else the one configured. */
export function effectiveModel(
  printer: string | null,
  serial: string | null | undefined,
  configured: string,
): { model: string; source: ModelSource } {
  if (printer) return { model: printer, source: "printer" };
  const bySerial = modelFromSerial(serial);
  if (bySerial) return { model: bySerial, source: "serial" };
  return { model: configured, source: "config" };
}

export const familyOf = (model: string | null | undefined): ModelFamily | null => (model && MODELS[model]) || null;

/** Models whose chamber thermometer is real; A1 and P1 send a constant (5) in chamber_temper. */
export const hasChamberSensor = (model: string | null | undefined) =>
  ["X1", "X2", "H2", "P2"].includes(familyOf(model) ?? "");

/** Bambu's wiki keeps HMS pages per family; X1 is its default section. */
const WIKI_SECTIONS: Partial<Record<ModelFamily, string>> = { A1: "a1", P2: "p2s", X2: "x2d", H2: "h2" };
export const hmsWikiUrl = (code: string, model?: string | null) =>
  `https://wiki.bambulab.com/en/${WIKI_SECTIONS[familyOf(model) ?? "X1"] ?? "x1"}/troubleshooting/hmscode/${code}`;
