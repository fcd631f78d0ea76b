// The pure parts of the printer cameras: which camera a model has, splitting ffmpeg's JPEG stream, what
// ffmpeg's words mean and that the access code is taken out of them, and the camera config keys.
import { describe, expect, test } from "bun:test";
import { cameraKind } from "../../src/camera-kind.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { jpegFrames } from "../../src/lan/jpeg-frames.ts";
import { explain, ffmpegArgs, inputList, LIVEVIEW_OFF, rtspsUrl, scrub } from "../../src/lan/rtsps-camera.ts";

describe("camera kind", () => {
  test("A1, A1 mini, P1P and P1S stream JPEG on port 6000", () => {
    for (const m of ["A1", "A1 mini", "A1 Mini", "a1m", "P1P", "P1S", "Bambu Lab P1S"])
      expect(cameraKind(m)).toBe("jpeg");
  });
  test("X1, X1C, X1E, P2S, the H2 family and X2D stream RTSPS", () => {
    const models = ["X1", "X1C", "X1 Carbon", "X1-Carbon", "X1E", "P2S", "H2D", "H2D Pro", "H2S", "H2C", "X2D"];
    for (const m of models) expect(cameraKind(m)).toBe("rtsps");
  });
  test("a model it does not know has no camera", () => {
    for (const m of ["", "Ender 3", "X3", "A2"]) expect(cameraKind(m)).toBeNull();
  });
});

/** A small JPEG: SOI, a segment (with FF D9 in its payload), SOS, scan data with stuffing and a restart, EOI. */
function jpeg(n: number): Buffer {
  const dqt = Buffer.from([0xff, 0xdb, 0x00, 0x06, 0xff, 0xd9, n, 0x01]);
  const sos = Buffer.from([0xff, 0xda, 0x00, 0x04, 0x01, 0x00]);
  const scan = Buffer.from([n, 0xff, 0x00, 0x12, 0xff, 0xd0, 0x34, 0xff, 0xff, 0xd9]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), dqt, sos, scan]);
}

describe("splitting ffmpeg's JPEG stream", () => {
  test("back-to-back frames come out whole, whatever the chunking", () => {
    const stream = Buffer.concat([jpeg(1), jpeg(2), jpeg(3)]);
    for (const size of [1, 2, 3, 7, stream.length]) {
      const out: Buffer[] = [];
      const split = jpegFrames((f) => out.push(f));
      for (let i = 0; i < stream.length; i += size) split.push(stream.subarray(i, i + size));
      expect(out).toEqual([jpeg(1), jpeg(2), jpeg(3)]);
    }
  });

  test("an FF D9 inside a header segment does not end the frame", () => {
    const out: Buffer[] = [];
    jpegFrames((f) => out.push(f)).push(jpeg(9));
    expect(out).toHaveLength(1);
    expect(out[0]!.length).toBe(jpeg(9).length);
  });

  test("bytes before a frame are skipped and a frame too large is dropped", () => {
    const out: Buffer[] = [];
    const split = jpegFrames((f) => out.push(f), 64);
    split.push(Buffer.from([0x00, 0x12, 0xff]));
    split.push(jpeg(1));
    const huge = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02]), Buffer.alloc(100, 0x11)]);
    split.push(huge);
    split.push(Buffer.concat([Buffer.from([0xff, 0xd9]), jpeg(2)]));
    expect(out).toEqual([jpeg(1), jpeg(2)]);
    expect(split.dropped()).toBe(1);
  });
});

describe("ffmpeg's words", () => {
  const code = "12345678";
  const url = rtspsUrl("192.168.1.60", 322, code);

  test("the URL is the printers' own, and reaches ffmpeg on stdin, not its command line", () => {
    expect(url).toBe("rtsps://bblp:12345678@192.168.1.60:322/streaming/live/1");
    expect(rtspsUrl("fe80::1", 322, code)).toBe("rtsps://bblp:12345678@[fe80::1]:322/streaming/live/1");
    const args = ffmpegArgs();
    expect(args.join(" ")).not.toContain("rtsps://");
    expect(args.slice(args.indexOf("-i"), args.indexOf("-i") + 2)).toEqual(["-i", "pipe:0"]);
    expect(inputList(url)).toBe(`ffconcat version 1.0\nfile '${url}'\n`);
    expect(inputList("rtsps://h/it's")).toBe("ffconcat version 1.0\nfile 'rtsps://h/it'\\''s'\n");
  });

  test("ffmpeg writes JPEG frames to stdout, one a second, at most 1280 wide", () => {
    const args = ffmpegArgs();
    expect(args.slice(args.indexOf("-vf"), args.indexOf("-vf") + 2)).toEqual(["-vf", "fps=1,scale='min(1280,iw)':-2"]);
    expect(args.slice(-7)).toEqual(["-c:v", "mjpeg", "-q:v", "6", "-f", "image2pipe", "pipe:1"]);
  });

  test("the access code is taken out of what ffmpeg says", () => {
    const said = [
      `[rtsp @ 0x559cd67a3980] method DESCRIBE failed: 401 Unauthorized`,
      `[concat @ 0x5589cd677a00] Impossible to open '${url}'`,
      `pipe:0: Server returned 401 Unauthorized (authorization failed)`,
      `[tcp @ 0x55bf255cecc0] Connection to tcp://192.168.1.60:322?timeout=0 failed: code ${code} refused`,
    ].join("\n");
    const clean = scrub(said, code);
    expect(clean).not.toContain(code);
    expect(clean).toContain("rtsps://***@192.168.1.60:322/streaming/live/1");
  });

  test("a refused login or connection means LAN Only Liveview (or the code); anything else is quoted", () => {
    expect(explain("method DESCRIBE failed: 401 Unauthorized", 1, false)).toBe(LIVEVIEW_OFF);
    expect(explain("rtsps://***@h:322/streaming/live/1: Connection refused", 1, false)).toBe(LIVEVIEW_OFF);
    expect(explain("x\nrtsps://***@h:322/streaming/live/1: Server returned 404 Not Found\n", 1, false)).toBe(
      "ffmpeg: rtsps://***@h:322/streaming/live/1: Server returned 404 Not Found",
    );
    expect(explain("", 0, true)).toBe("the camera stream ended");
    expect(explain("", 1, false)).toBe("ffmpeg exited with code 1 before any frame");
  });
});

describe("camera config keys", () => {
  const printer = {
    name: "X1C",
    model: "X1C",
    host: "192.168.1.60",
    serial: "00M09A350100123",
    access_code: "12345678",
  };

  test("ffmpeg_path is ffmpeg on PATH unless set; rtsp_port is kept on the printer's entry", async () => {
    const { config } = await loadConfig({
      env: {},
      overrides: { printers: [{ ...printer, rtsp_port: 3220 }] as never },
    });
    expect(config.ffmpeg_path).toBe("ffmpeg");
    expect(config.printers[0]!.rtsp_port).toBe(3220);
    const other = await loadConfig({ env: { LAYERWATCH_FFMPEG_PATH: "/opt/ffmpeg/bin/ffmpeg" } });
    expect(other.config.ffmpeg_path).toBe("/opt/ffmpeg/bin/ffmpeg");
  });

  test("an rtsp_port that is not a port is refused, naming the entry and the key", async () => {
    for (const bad of [0, 70000, "322", 3.5]) {
      const err = await loadConfig({
        env: {},
        overrides: { printers: [{ ...printer, rtsp_port: bad }] as never },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe('config: "printers[0].rtsp_port" Port must be 1 to 65535.');
    }
  });
});
