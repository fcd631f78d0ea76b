// Which model a printer is: its get_version answer (every model's real answer in test/fixtures/bambu), its
// serial's prefix, the config's hint; and the facts that follow from the model. Pure functions, no server.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  amsKindsFromVersion,
  effectiveModel,
  firmwareFromVersion,
  hasChamberSensor,
  hmsWikiUrl,
  modelFromSerial,
  modelFromVersion,
} from "../../src/bambu-models.ts";

const modules = (file: string) =>
  (JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/bambu", file), "utf8")) as { info: { module: unknown } })
    .info.module;

describe("the model from the printer", () => {
  test("each model's get_version answer names it", () => {
    expect(
      ["a2l-idle", "p2s-running", "x2d-running", "h2s-running", "h2c-failed", "h2d-running", "x1c-4ams-finish"].map(
        (f) => modelFromVersion(modules(`${f}.version.json`)),
      ),
    ).toEqual(["A2L", "P2S", "X2D", "H2S", "H2C", "H2D", "X1C"]);
  });

  test("older firmware: the hardware id and project name", () => {
    const ap = (hw_ver: string, project_name?: string) => [{ name: "esp32", hw_ver, project_name, sw_ver: "1" }];
    expect(modelFromVersion(ap("AP04", "C11"))).toBe("P1P");
    expect(modelFromVersion(ap("AP04", "C12"))).toBe("P1S");
    expect(modelFromVersion(ap("AP05", "N1"))).toBe("A1 mini");
    expect(modelFromVersion(ap("AP05", "N2S"))).toBe("A1");
    expect(modelFromVersion([{ name: "rv1126", hw_ver: "AP05", sw_ver: "1" }])).toBe("X1C");
    expect(modelFromVersion([{ name: "ap", hw_ver: "AP02" }])).toBe("X1E");
    expect(modelFromVersion(ap("AP09", "ZZ"))).toBeNull();
    expect(modelFromVersion("nonsense")).toBeNull();
    expect(modelFromVersion([null, 5, { product_name: 7 }])).toBeNull();
  });

  test("the serial's prefix when the printer has not answered; the config's model last", () => {
    expect(modelFromSerial("03919A3B0100254")).toBe("A1");
    expect(modelFromSerial("0309DA123456789")).toBe("A1 mini");
    expect(modelFromSerial("00M09A123456789")).toBe("X1C");
    expect(modelFromSerial("094XXXXXXXXXXXX")).toBe("H2D");
    expect(modelFromSerial("ZZZ")).toBeNull();
    expect(effectiveModel("H2D", "03919A3B0100254", "A1")).toEqual({ model: "H2D", source: "printer" });
    expect(effectiveModel(null, "01P00A123456789", "A1")).toEqual({ model: "P1S", source: "serial" });
    expect(effectiveModel(null, "", "X1C")).toEqual({ model: "X1C", source: "config" });
  });

  test("firmware: the printer's own first, then its modules; placeholders dropped", () => {
    const fw = firmwareFromVersion(modules("h2d-running.version.json"));
    expect(fw[0]).toEqual({ module: "ota", version: "01.01.02.07", hw: null, name: "Bambu Lab H2D" });
    expect(fw.find((f) => f.module === "n3s/128")).toMatchObject({ version: "02.00.19.67", name: "AMS HT (1)" });
    expect(fw.every((f) => f.version !== "00.00.00.00")).toBe(true);
  });

  test("AMS kinds by unit from module names", () => {
    expect(amsKindsFromVersion(modules("x1c-4ams-finish.version.json"))).toEqual({
      "0": "AMS",
      "1": "AMS",
      "2": "AMS 2 Pro",
      "128": "AMS HT",
    });
    expect(amsKindsFromVersion(modules("a2l-idle.version.json"))).toEqual({ "16": "AMS lite" });
  });
});

describe("what follows from the model", () => {
  test("a real chamber thermometer on X1, X2, H2 and P2S only", () => {
    expect(["X1C", "X1E", "X2D", "H2D", "H2S", "P2S"].every(hasChamberSensor)).toBe(true);
    expect(["A1", "A1 mini", "P1P", "P1S", "A2L", null].some(hasChamberSensor)).toBe(false);
  });

  test("the HMS wiki link per model family", () => {
    const code = "0300_0100_0001_0007";
    expect(hmsWikiUrl(code, "H2D")).toBe(`https://wiki.bambulab.com/en/h2/troubleshooting/hmscode/${code}`);
    expect(hmsWikiUrl(code, "A1 mini")).toContain("/en/a1/");
    expect(hmsWikiUrl(code, "P2S")).toContain("/en/p2s/");
    expect(hmsWikiUrl(code, "X2D")).toContain("/en/x2d/");
    expect(hmsWikiUrl(code, "P1S")).toContain("/en/x1/");
    expect(hmsWikiUrl(code)).toContain("/en/x1/");
  });
});
