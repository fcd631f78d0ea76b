// Timelapse playback (PRINTERS.md §8): the list, the MP4 served with HTTP Range through Elysia (checked on the
// wire, since Elysia re-wraps returned Responses), download, admin deletion, and the media quota.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { appWithToken, b64, createUpload, patch, sha256, uploadWhole, videoBytes } from "./fixtures/tus.ts";
import type { TestApp } from "./helpers.ts";

const MiB = 1024 * 1024;

describe("playback", () => {
  let app: TestApp;
  let cookie: string;
  let id: number;
  let job: number;
  const bytes = videoBytes(2 * MiB + 3, 11);
  beforeAll(async () => {
    const setup = await appWithToken();
    ({ app, cookie } = setup);
    // A print running as the upload begins claims the video.
    job = app.store.db
      .query<{ id: number }, [number]>(
        "INSERT INTO jobs (printer_id, name, started_at) VALUES (1, 'b', ?) RETURNING id",
      )
      .get(Date.now() - 1000)!.id;
    const meta = `filename ${b64("Benchy ä.mp4")},filetype ${b64("video/mp4")}`;
    const { status, location } = await uploadWhole(app.url, bytes, setup.bearer, meta);
    expect(status).toBe(204);
    id = app.store.db
      .query<{ id: number }, [string]>("SELECT id FROM timelapses WHERE upload_id = ?")
      .get(location.split("/").pop()!)!.id;
  });
  afterAll(() => app.close());
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${app.url}${path}`, { headers: { cookie, ...headers }, redirect: "manual" });

  test("the list shows finished videos with their URLs and their job's thumbnail", async () => {
    const list = (await (await get("/api/printers/1/timelapses")).json()) as Record<string, unknown>[];
    expect(list).toEqual([
      {
        id,
        filename: "Benchy ä.mp4",
        size: bytes.length,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        job_id: job,
        url: `/timelapses/${id}.mp4`,
        thumbnail_url: `/jobs/${job}/thumbnail.jpg`,
      },
    ]);
  });

  test("a middle range is 206 with exactly those bytes", async () => {
    const res = await get(`/timelapses/${id}.mp4`, { range: "bytes=1000-1999999" });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes 1000-1999999/${bytes.length}`);
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(sha256(await res.arrayBuffer())).toBe(sha256(bytes.subarray(1000, 2000000)));
  });

  test("a suffix range and an open-ended one are 206 with the file's tail", async () => {
    const suffix = await get(`/timelapses/${id}.mp4`, { range: "bytes=-500" });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get("content-range")).toBe(`bytes ${bytes.length - 500}-${bytes.length - 1}/${bytes.length}`);
    expect(new Uint8Array(await suffix.arrayBuffer())).toEqual(bytes.subarray(bytes.length - 500));
    const open = await get(`/timelapses/${id}.mp4`, { range: `bytes=${MiB}-` });
    expect(open.status).toBe(206);
    expect(sha256(await open.arrayBuffer())).toBe(sha256(bytes.subarray(MiB)));
  });

  test("no range is 200 with the whole file; a range past the end is 416", async () => {
    const whole = await get(`/timelapses/${id}.mp4`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    expect(whole.headers.get("content-type")).toBe("video/mp4");
    expect(sha256(await whole.arrayBuffer())).toBe(sha256(bytes));
    const past = await get(`/timelapses/${id}.mp4`, { range: `bytes=${bytes.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${bytes.length}`);
  });

  test("download=1 names the file; without a session the video is not served", async () => {
    const res = await get(`/timelapses/${id}.mp4?download=1`);
    expect(res.headers.get("content-disposition")).toBe(
      `attachment; filename="Benchy _.mp4"; filename*=UTF-8''Benchy%20%C3%A4.mp4`,
    );
    await res.arrayBuffer();
    expect((await fetch(`${app.url}/timelapses/${id}.mp4`, { redirect: "manual" })).status).toBe(303);
    expect((await fetch(`${app.url}/api/printers/1/timelapses`)).status).toBe(401);
  });

  test("an admin deletes a video with a JSON request: row and file go", async () => {
    const file = join(app.dir, "media", `${id}.mp4`);
    expect(existsSync(file)).toBe(true);
    const del = (headers: Record<string, string>) =>
      fetch(`${app.url}/api/timelapses/${id}`, { method: "DELETE", headers: { cookie, ...headers } });
    expect((await del({})).status).toBe(415);
    expect((await del({ "content-type": "application/json" })).status).toBe(200);
    expect(existsSync(file)).toBe(false);
    expect((await get(`/timelapses/${id}.mp4`)).status).toBe(404);
    expect((await del({ "content-type": "application/json" })).status).toBe(404);
  });
});

test("the quota deletes the oldest videos to make room, warns the admin, and refuses what cannot fit", async () => {
  const { app: small, cookie, bearer } = await appWithToken({ media_quota_bytes: 3 * MiB, media_dir: "videos" });
  try {
    const upload = async (size: number) => (await uploadWhole(small.url, videoBytes(size), bearer)).status;
    for (let i = 0; i < 4; i++) expect(await upload(MiB)).toBe(204);
    const list = (await (await fetch(`${small.url}/api/printers/1/timelapses`, { headers: { cookie } })).json()) as {
      id: number;
    }[];
    expect(list.map((v) => v.id)).toEqual([4, 3, 2]);
    expect(readdirSync(join(small.dir, "videos")).sort()).toEqual(["2.mp4", "3.mp4", "4.mp4"]);
    expect(
      small.logs.some((l) => l.level === "warn" && l.msg.includes("media_quota_bytes") && l.fields?.id === 1),
    ).toBe(true);
    expect(await upload(3 * MiB + 1)).toBe(413);
    expect(readdirSync(join(small.dir, "videos"))).toHaveLength(3);
  } finally {
    await small.close();
  }
});

test("deleting a printer deletes its videos, rows and files; another printer's stay", async () => {
  const { app, cookie, bearer } = await appWithToken();
  try {
    const api = (path: string, method: string, body?: object) =>
      fetch(`${app.url}${path}`, {
        method,
        headers: { cookie, "content-type": "application/json" },
        body: body && JSON.stringify(body),
      });
    const { id: printer } = (await (await api("/api/printers", "POST", { name: "Second" })).json()) as { id: number };
    const { token } = (await (await api(`/api/printers/${printer}/tokens`, "POST", { name: "pi" })).json()) as {
      token: string;
    };
    const bytes = videoBytes(4096);
    const created = await createUpload(app.url, printer, bytes.length, { authorization: `Bearer ${token}` });
    const location = new URL(created.headers.get("location")!, app.url).href;
    expect((await patch(location, 0, bytes, { authorization: `Bearer ${token}` })).status).toBe(204);
    expect((await uploadWhole(app.url, videoBytes(4096, 2), bearer)).status).toBe(204);
    expect(readdirSync(join(app.dir, "media")).sort()).toEqual(["1.mp4", "2.mp4"]);
    expect((await api(`/api/printers/${printer}`, "DELETE")).status).toBe(200);
    expect(readdirSync(join(app.dir, "media"))).toEqual(["2.mp4"]);
    const rows = app.store.db.query("SELECT printer_id FROM timelapses").all();
    expect(rows).toEqual([{ printer_id: 1 }]);
  } finally {
    await app.close();
  }
});
