// Unit: the device payload validators of PROTOCOL.md §2 (temphum, status, image, action answers) and image sniffing.
import { describe, expect, test } from "bun:test";
import { decodeBase64Image, MAX_IMAGE_BYTES, sniffImage } from "../../src/images.ts";
import {
  checkActionAnswer,
  checkImage,
  checkStatus,
  checkTemphum,
  MAX_STATUS_LENGTH,
} from "../../src/realtime/validators.ts";

// Built here rather than taken from ../helpers.ts, which loads the whole app.
const fakeJpeg = (size: number) => Uint8Array.from({ length: size }, (_, i) => [0xff, 0xd8, 0xff, 0xe0][i] ?? i & 0xff);
const PNG_HEAD = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52];
const fakePng = (size = 256) => Uint8Array.from({ length: size }, (_, i) => PNG_HEAD[i] ?? 0);

const errorOf = (r: { ok: true } | { ok: false; error: string }) => (r.ok ? null : r.error);

describe("temphum", () => {
  test("takes finite numbers within -50..150 °C and 0..100 %, the limits included", () => {
    expect(checkTemphum({ temperature: 21.5, humidity: 40.25 })).toEqual({
      ok: true,
      value: { temperature: 21.5, humidity: 40.25 },
    });
    expect(checkTemphum({ temperature: -50, humidity: 0, extra: "ignored" })).toEqual({
      ok: true,
      value: { temperature: -50, humidity: 0 },
    });
    expect(checkTemphum({ temperature: 150, humidity: 100 }).ok).toBe(true);
  });

  test("each refusal names the field and what is wrong with it", () => {
    const cases: [unknown, string][] = [
      [null, "temphum payload must be an object { temperature, humidity }"],
      [[20, 40], "temphum payload must be an object { temperature, humidity }"],
      [new Uint8Array(2), "temphum payload must be an object { temperature, humidity }"],
      [{ humidity: 40 }, "temperature is missing"],
      [{ temperature: "20", humidity: 40 }, "temperature must be a number, got string"],
      [{ temperature: Number.NaN, humidity: 40 }, "temperature must be a finite number"],
      [{ temperature: Number.POSITIVE_INFINITY, humidity: 40 }, "temperature must be a finite number"],
      [{ temperature: 150.1, humidity: 40 }, "temperature 150.1 is out of range -50..150 °C"],
      [{ temperature: 20, humidity: null }, "humidity is missing"],
      [{ temperature: 20, humidity: -0.5 }, "humidity -0.5 is out of range 0..100 %"],
    ];
    for (const [payload, message] of cases) expect(errorOf(checkTemphum(payload))).toBe(message);
  });
});

describe("status", () => {
  test("the old form { status } is trimmed and shown as it is", () => {
    expect(checkStatus({ status: "  printing layer 3  " })).toEqual({
      ok: true,
      value: { status: "printing layer 3", printer: null },
    });
  });

  test("the old form refuses a missing, non-string, empty or overlong status", () => {
    expect(errorOf(checkStatus({}))).toBe("status is missing");
    expect(errorOf(checkStatus({ status: 5 }))).toBe("status must be a string");
    expect(errorOf(checkStatus({ status: "   " }))).toBe("status must not be empty");
    expect(errorOf(checkStatus({ status: "x".repeat(MAX_STATUS_LENGTH + 1) }))).toBe(
      `status must be at most ${MAX_STATUS_LENGTH} characters`,
    );
    expect(errorOf(checkStatus("RUNNING"))).toBe("status payload must be an object { status }");
  });

  test("the dictionary form keeps known keys (nulls included), drops unknown ones, and shows gcode_status", () => {
    const r = checkStatus({
      gcode_status: " RUNNING ",
      percentage: 42.5,
      current_layer: 3,
      total_layers: null,
      running_and_printing: true,
      file_name: "benchy.3mf",
      surprise: "ignored",
    });
    expect(r).toEqual({
      ok: true,
      value: {
        status: "RUNNING",
        printer: {
          gcode_status: "RUNNING",
          percentage: 42.5,
          current_layer: 3,
          total_layers: null,
          running_and_printing: true,
          file_name: "benchy.3mf",
        },
      },
    });
    // A status text in the dictionary wins over gcode_status; with neither, there is no text to show.
    expect(checkStatus({ status: "warming up", gcode_status: "PREPARE" })).toMatchObject({
      value: { status: "warming up" },
    });
    expect(checkStatus({ percentage: 5 })).toEqual({ ok: true, value: { status: null, printer: { percentage: 5 } } });
  });

  test("the dictionary form refuses a key of the wrong type or range, naming it", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ gcode_status: 7 }, "gcode_status must be a string or null, got number"],
      [{ file_name: "f".repeat(257) }, "file_name must be at most 256 characters"],
      [{ percentage: 101 }, "percentage 101 is out of range 0..100"],
      [{ percentage: "50" }, "percentage must be a number or null, got string"],
      [{ remaining_time: Number.NaN }, "remaining_time must be a number or null, got number"],
      [{ current_layer: 2.5 }, "current_layer must be a whole number"],
      [{ print_error_code: 0x1_0000_0000 }, "print_error_code 4294967296 is out of range 0..4294967295"],
      [{ timelapse_status: "yes" }, "timelapse_status must be true, false or null"],
    ];
    for (const [payload, message] of cases) expect(errorOf(checkStatus(payload))).toBe(message);
  });
});

describe("image", () => {
  test("raw bytes, { image: bytes }, an ArrayBuffer and base64 (plain, URL-safe, data: URL) are all taken", () => {
    const jpeg = fakeJpeg(300);
    const b64 = Buffer.from(jpeg).toString("base64");
    for (const payload of [
      jpeg,
      { image: jpeg },
      jpeg.buffer,
      { image: b64 },
      { image: `data:image/jpeg;base64,${b64}` },
      { image: Buffer.from(jpeg).toString("base64url") },
      { image: b64.replace(/(.{60})/g, "$1\n") },
    ]) {
      const r = checkImage(payload);
      expect(r.ok && r.value.mime).toBe("image/jpeg");
      expect(r.ok && new Uint8Array(r.value.bytes)).toEqual(jpeg);
    }
    expect(checkImage({ image: fakePng() })).toMatchObject({ ok: true, value: { mime: "image/png" } });
  });

  test("refuses what is missing, empty, not base64, too large or not a JPEG or PNG", () => {
    const cases: [unknown, string][] = [
      [{}, "image is missing"],
      [null, "image is missing"],
      [{ image: 12 }, "image must be base64 text or binary"],
      [{ image: "not base64!" }, "image is not valid base64"],
      [{ image: "" }, "image is not valid base64"],
      [new Uint8Array(0), "image is empty"],
      [new Uint8Array(MAX_IMAGE_BYTES + 1), "image is larger than 10 MiB"],
      [{ image: "A".repeat(Math.ceil(MAX_IMAGE_BYTES / 3) * 4 + 65) }, "image is larger than 10 MiB"],
      [new TextEncoder().encode("GIF89a and so on"), "image is not a JPEG or PNG"],
    ];
    for (const [payload, message] of cases) expect(errorOf(checkImage(payload))).toBe(message);
  });
});

describe("image sniffing", () => {
  test("a JPEG is FF D8 FF; a PNG is its 8-byte signature with at least an IHDR's length of bytes", () => {
    expect(sniffImage(new Uint8Array([0xff, 0xd8, 0xff, 0xdb]))).toBe("image/jpeg");
    expect(sniffImage(new Uint8Array([0xff, 0xd8, 0xff]))).toBeNull(); // too short to be a picture
    expect(sniffImage(new Uint8Array([0xff, 0xd8, 0x00, 0xe0]))).toBeNull();
    expect(sniffImage(fakePng(16))).toBe("image/png");
    expect(sniffImage(fakePng(16).subarray(0, 15))).toBeNull();
    const notPng = fakePng(32);
    notPng[1] = 0x51;
    expect(sniffImage(notPng)).toBeNull();
    expect(sniffImage(new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'/>"))).toBeNull();
  });

  test("decodeBase64Image returns null for anything that is not base64", () => {
    expect(decodeBase64Image("data:image/png;base64,")).toBeNull();
    expect(decodeBase64Image("abc$")).toBeNull();
    expect(decodeBase64Image("QUJD")).toEqual(new Uint8Array(Buffer.from("ABC")));
  });
});

describe("action answers", () => {
  test("an answer names a known action and a boolean result", () => {
    expect(checkActionAnswer({ action: "pause", result: true })).toEqual({
      ok: true,
      value: { action: "pause", result: true },
    });
    expect(errorOf(checkActionAnswer({ action: "explode", result: true }))).toStartWith("action must be one of pause,");
    expect(errorOf(checkActionAnswer({ action: "stop", result: "yes" }))).toBe("result must be true or false");
    expect(errorOf(checkActionAnswer("pause"))).toBe("printerAction answer must be an object { action, result }");
  });
});
