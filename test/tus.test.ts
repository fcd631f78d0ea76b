// Timelapse uploads over tus 1.0 (PRINTERS.md §8) with real clients: tus-js-client, raw sockets for a cut
// connection, and the camera Pi's Python script through a link that drops. Playback: timelapses.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as tus from "tus-js-client";
import {
  appWithToken,
  createUpload,
  cutPatch,
  flakyProxy,
  offsetOf,
  patch,
  settledOffset,
  sha256,
  TUS,
  videoBytes,
} from "./fixtures/tus.ts";
import { deviceToken, type TestApp } from "./helpers.ts";

const MiB = 1024 * 1024;
let app: TestApp;
let token: string;
let otherToken: string;
let bearer: Record<string, string>;
let cookie: string;

beforeAll(async () => {
  ({ app, cookie, token, bearer } = await appWithToken({ max_upload_bytes: 32 * MiB, media_quota_bytes: 0 }));
  const json = { cookie, "content-type": "application/json" };
  const other = await fetch(`${app.url}/api/printers`, { method: "POST", headers: json, body: '{"name":"Second"}' });
  const { id } = (await other.json()) as { id: number };
  otherToken = await deviceToken(app, cookie, "b", id);
});
afterAll(() => app.close());

/** A fixture job of printer 1. */
const addJob = (startedAt: number, endedAt: number | null) =>
  app.store.db
    .query<{ id: number }, [number, number | null]>(
      "INSERT INTO jobs (printer_id, name, started_at, ended_at) VALUES (1, 'print', ?, ?) RETURNING id",
    )
    .get(startedAt, endedAt)!.id;

/** Uploads `bytes` with tus-js-client; resolves with the upload URL. */
function tusUpload(bytes: Uint8Array, opts: Partial<tus.UploadOptions> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload: tus.Upload = new tus.Upload(Buffer.from(bytes), {
      endpoint: `${app.url}/api/printers/1/timelapses`,
      headers: bearer,
      chunkSize: 1 * MiB,
      retryDelays: [],
      metadata: { filename: "print.mp4", filetype: "video/mp4" },
      onSuccess: () => resolve(upload.url!),
      onError: reject,
      ...opts,
    });
    upload.start();
  });
}

const videoOf = (uploadUrl: string) => {
  const row = app.store.db
    .query<
      { id: number; path: string; filename: string; job_id: number | null; completed_at: number | null },
      [string]
    >("SELECT id, path, filename, job_id, completed_at FROM timelapses WHERE upload_id = ?")
    .get(uploadUrl.split("/").pop()!)!;
  return { ...row, file: join(app.dir, "media", row.path) };
};

describe("tus uploads", () => {
  test("OPTIONS advertises tus 1.0.0 with the creation extension and the size limit", async () => {
    const res = await fetch(`${app.url}/api/printers/1/timelapses`, { method: "OPTIONS" });
    expect(res.status).toBe(204);
    expect(res.headers.get("tus-version")).toBe("1.0.0");
    expect(res.headers.get("tus-extension")).toBe("creation");
    expect(res.headers.get("tus-max-size")).toBe(String(32 * MiB));
  });

  test("creation answers 201 with a Location whose HEAD says offset 0 of the length", async () => {
    const res = await createUpload(app.url, 1, 1000, bearer);
    expect(res.status).toBe(201);
    expect(res.headers.get("tus-resumable")).toBe("1.0.0");
    const location = new URL(res.headers.get("location")!, app.url).href;
    const head = await fetch(location, { method: "HEAD", headers: { ...TUS, ...bearer } });
    expect(head.status).toBe(200);
    expect(head.headers.get("upload-offset")).toBe("0");
    expect(head.headers.get("upload-length")).toBe("1000");
    expect(head.headers.get("cache-control")).toBe("no-store");
  });

  test("no token or an unknown one is 401, another printer's token is 403, also on HEAD and PATCH", async () => {
    expect((await createUpload(app.url, 1, 10, {})).status).toBe(401);
    expect((await createUpload(app.url, 1, 10, { authorization: "Bearer lwd_nope" })).status).toBe(401);
    expect((await createUpload(app.url, 1, 10, { authorization: `Bearer ${otherToken}` })).status).toBe(403);
    const location = new URL((await createUpload(app.url, 1, 10, bearer)).headers.get("location")!, app.url).href;
    const other = { authorization: `Bearer ${otherToken}` };
    expect((await fetch(location, { method: "HEAD", headers: { ...TUS, ...other } })).status).toBe(403);
    expect((await patch(location, 0, videoBytes(10), other)).status).toBe(403);
    expect((await patch(location, 0, videoBytes(10), {})).status).toBe(401);
    expect(await offsetOf(location, bearer)).toBe(0);
  });

  test("an admin session may upload too", async () => {
    expect((await createUpload(app.url, 1, 10, { cookie })).status).toBe(201);
  });

  test("a request without Tus-Resumable is 412 and a wrong content type 415", async () => {
    const res = await fetch(`${app.url}/api/printers/1/timelapses`, {
      method: "POST",
      headers: { ...bearer, "upload-length": "10" },
    });
    expect(res.status).toBe(412);
    expect(res.headers.get("tus-version")).toBe("1.0.0");
    const location = new URL((await createUpload(app.url, 1, 10, bearer)).headers.get("location")!, app.url).href;
    expect((await patch(location, 0, videoBytes(10), { "content-type": "video/mp4" })).status).toBe(415);
  });

  test("an Upload-Length over max_upload_bytes is 413", async () => {
    expect((await createUpload(app.url, 1, 32 * MiB + 1, bearer)).status).toBe(413);
  });

  test("a PATCH at the wrong offset is 409 and changes nothing", async () => {
    const location = new URL((await createUpload(app.url, 1, 100, bearer)).headers.get("location")!, app.url).href;
    expect((await patch(location, 0, videoBytes(40), bearer)).status).toBe(204);
    const res = await patch(location, 10, videoBytes(40), bearer);
    expect(res.status).toBe(409);
    expect(await offsetOf(location, bearer)).toBe(40);
  });

  test("bytes past Upload-Length are refused with 413 and none are kept", async () => {
    const location = new URL((await createUpload(app.url, 1, 100, bearer)).headers.get("location")!, app.url).href;
    expect((await patch(location, 0, videoBytes(150), bearer)).status).toBe(413);
    expect(await offsetOf(location, bearer)).toBe(0);
  });

  test("tus-js-client uploads in chunks; the stored file is byte-identical and linked to the named job", async () => {
    const job = addJob(Date.now() - 86_400_000, Date.now() - 80_000_000);
    const bytes = videoBytes(3 * MiB + 12345, 7);
    const url = await tusUpload(bytes, { metadata: { filename: "../../etc/passwd", job_id: String(job) } });
    const video = videoOf(url);
    expect(video.completed_at).not.toBeNull();
    expect(video.path).toBe(`${video.id}.mp4`);
    expect(video.filename).toBe("passwd");
    expect(video.job_id).toBe(job);
    expect(sha256(await Bun.file(video.file).arrayBuffer())).toBe(sha256(bytes));
  });

  test("tus-js-client resumes an aborted upload from the server's offset", async () => {
    const bytes = videoBytes(4 * MiB, 9);
    let first!: tus.Upload;
    const aborted = new Promise<string>((resolve, reject) => {
      first = new tus.Upload(Buffer.from(bytes), {
        endpoint: `${app.url}/api/printers/1/timelapses`,
        headers: bearer,
        chunkSize: MiB,
        retryDelays: [],
        onChunkComplete: (_chunk, sent) => {
          if (sent >= 2 * MiB) first.abort().then(() => resolve(first.url!));
        },
        onError: reject,
      });
      first.start();
    });
    const location = await aborted;
    const offset = await settledOffset(location, bearer);
    expect(offset).toBeGreaterThanOrEqual(2 * MiB);
    expect(offset).toBeLessThan(4 * MiB);
    const progress: number[] = [];
    await tusUpload(bytes, { uploadUrl: location, onProgress: (sent) => progress.push(sent) });
    expect(Math.min(...progress)).toBeGreaterThanOrEqual(offset); // it did not start over
    expect(sha256(await Bun.file(videoOf(location).file).arrayBuffer())).toBe(sha256(bytes));
  });

  test("an upload cut mid-chunk keeps what landed, and resuming from there gives the same file", async () => {
    const bytes = videoBytes(6 * MiB, 3);
    const path = (await createUpload(app.url, 1, bytes.length, bearer)).headers.get("location")!;
    const location = new URL(path, app.url).href;
    await cutPatch(app.port, path, token, bytes.subarray(0, 2 * MiB), 4 * MiB);
    const landed = await settledOffset(location, bearer);
    expect(landed).toBeGreaterThan(0);
    expect(landed).toBeLessThanOrEqual(2 * MiB);
    expect((await patch(location, landed, bytes.slice(landed), bearer)).status).toBe(204);
    expect(await offsetOf(location, bearer)).toBe(bytes.length);
    expect(sha256(await Bun.file(videoOf(location).file).arrayBuffer())).toBe(sha256(bytes));
  });

  test("a resume supersedes a PATCH whose link went silent without closing", async () => {
    const bytes = videoBytes(3 * MiB, 4);
    const path = (await createUpload(app.url, 1, bytes.length, bearer)).headers.get("location")!;
    const location = new URL(path, app.url).href;
    const silent = await cutPatch(app.port, path, token, bytes.subarray(0, MiB), 2 * MiB, true);
    try {
      const landed = await settledOffset(location, bearer);
      expect(landed).toBeGreaterThan(0);
      expect((await patch(location, landed, bytes.slice(landed), bearer)).status).toBe(204);
      expect(sha256(await Bun.file(videoOf(location).file).arrayBuffer())).toBe(sha256(bytes));
    } finally {
      silent.destroy();
    }
  });

  test("the Pi script uploads through a link that drops mid-chunk, resuming from the server's offset", async () => {
    const bytes = videoBytes(12 * MiB + 777, 5);
    const file = join(app.dir, "print-42.mp4");
    await Bun.write(file, bytes);
    const proxy = await flakyProxy(app.port, 7 * MiB);
    const job = addJob(Date.now() - 60_000, null);
    const py = Bun.spawn(
      [
        "/usr/bin/python3",
        "deploy/upload-timelapse.py",
        "--url",
        `http://127.0.0.1:${proxy.port}`,
        "--printer",
        "1",
      ].concat(["--retry-delay", "0.3", "--tries", "5", file]),
      { env: { ...process.env, LAYERWATCH_TOKEN: token }, stdout: "pipe", stderr: "pipe" },
    );
    const [code, err] = await Promise.all([py.exited, new Response(py.stderr).text()]);
    proxy.close();
    expect(err).toContain("link trouble");
    expect(code).toBe(0);
    expect(proxy.cuts).toBe(1);
    // After the drop it went on from what the server had, not from a chunk boundary of its own.
    const offsets = [...err.matchAll(/^(\d+)\/\d+ bytes$/gm)].map((m) => Number(m[1]));
    expect(offsets.some((o) => o % (5 * MiB) !== 0 && o < bytes.length)).toBe(true);
    expect(existsSync(`${file}.tus`)).toBe(false);
    const row = app.store.db
      .query<{ path: string; job_id: number }, []>("SELECT path, job_id FROM timelapses ORDER BY id DESC LIMIT 1")
      .get()!;
    expect(row.job_id).toBe(job); // the job running when the upload began
    expect(sha256(await Bun.file(join(app.dir, "media", row.path)).arrayBuffer())).toBe(sha256(bytes));
  });
});
