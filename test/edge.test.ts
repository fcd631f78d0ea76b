// The HTTP edge's bugs of issue 16: logout only by a CSRF-checked POST, room limits of an unknown printer,
// and tus HEAD giving back the creation's Upload-Metadata.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { b64, createUpload, TUS } from "./fixtures/tus.ts";
import { csrfFrom, getPage, login, startApp, type TestApp, tempDir } from "./helpers.ts";

let app: TestApp;
let cookie: string;
let csrf: string;
let token: string;
beforeAll(async () => {
  app = await startApp();
  cookie = await login(app);
  csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
  const made = await fetch(`${app.url}/api/printers/1/tokens`, {
    method: "POST",
    headers: { cookie, "content-type": "application/json" },
    body: JSON.stringify({ name: "camera pi" }),
  });
  token = ((await made.json()) as { token: string }).token;
});
afterAll(() => app.close());

const post = (path: string, fields: Record<string, string>, session: string) =>
  fetch(`${app.url}${path}`, {
    method: "POST",
    body: new URLSearchParams(fields),
    headers: { cookie: session },
    redirect: "manual",
  });

describe("logout", () => {
  test("GET /logout does not end the session: another site cannot log a user out with a link", async () => {
    const session = await login(app);
    const res = await fetch(`${app.url}/logout`, { headers: { cookie: session }, redirect: "manual" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect(res.headers.getSetCookie()).toEqual([]);
    expect((await getPage(app, "/api/latest", session)).status).toBe(200);
  });

  test("POST /logout without the session's CSRF token is refused with 403 and the session lives on", async () => {
    const session = await login(app);
    const res = await post("/logout", {}, session);
    expect(res.status).toBe(403);
    expect((await getPage(app, "/api/latest", session)).status).toBe(200);
  });

  test("POST /logout with the CSRF token ends the session and clears the cookie", async () => {
    const session = await login(app);
    const token = csrfFrom((await getPage(app, "/", session)).text);
    const res = await post("/logout", { _csrf: token }, session);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/login");
    expect(res.headers.getSetCookie()[0]).toContain("Max-Age=0");
    expect((await getPage(app, "/api/latest", session)).status).toBe(401);
  });

  test("the page's logout button is a form that posts the CSRF token", async () => {
    const html = (await getPage(app, "/", cookie)).text;
    expect(html).toMatch(
      /<form method="post" action="\/logout"[^>]*>\s*<input type="hidden" name="_csrf" value="[^"]+"/,
    );
  });
});

describe("room limits", () => {
  test("the limits of a printer that does not exist answer 404 and store nothing", async () => {
    const res = await post("/settings/printers/999/limits", { _csrf: csrf, temp_high: "30" }, cookie);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("No such printer.");
  });
});

describe("tus", () => {
  test("HEAD on an upload gives back Upload-Metadata exactly as it was sent at creation", async () => {
    const metadata = `filename ${b64("kissa ä.mp4")},filetype ${b64("video/mp4")},is_confidential`;
    const bearer = { authorization: `Bearer ${token}` };
    const created = await createUpload(app.url, 1, 100, { ...bearer, "upload-metadata": metadata });
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get("location")!, app.url).href;
    const head = await fetch(location, { method: "HEAD", headers: { ...TUS, ...bearer } });
    expect(head.status).toBe(200);
    expect(head.headers.get("upload-metadata")).toBe(metadata);
  });

  test("HEAD on an upload created without metadata sends no Upload-Metadata", async () => {
    const bearer = { authorization: `Bearer ${token}` };
    const created = await fetch(`${app.url}/api/printers/1/timelapses`, {
      method: "POST",
      headers: { ...TUS, ...bearer, "upload-length": "100" },
    });
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get("location")!, app.url).href;
    const head = await fetch(location, { method: "HEAD", headers: { ...TUS, ...bearer } });
    expect(head.status).toBe(200);
    expect(head.headers.get("upload-metadata")).toBeNull();
  });
});

describe("migration 8 (timelapses.metadata)", () => {
  test("a database of schema 7 keeps every timelapse row; the old rows have no metadata", async () => {
    const { Database } = await import("bun:sqlite");
    const { migrateTo } = await import("../src/store/migrations.ts");
    const dir = tempDir();
    const db = new Database(join(dir, "app.db"), { create: true, strict: true });
    migrateTo(db, 7, { zone: "Europe/Helsinki" });
    for (let i = 0; i < 3; i++)
      db.run(
        `INSERT INTO timelapses (printer_id, upload_id, filename, size, received, path, created_at, completed_at)
         VALUES (1, ?, 'v.mp4', 10, 10, ?, 1, 2)`,
        [`u${i}`, `${i + 1}.mp4`],
      );
    db.close();
    const upgraded = await startApp({}, dir);
    try {
      const rows = upgraded.store.db.query("SELECT upload_id, metadata FROM timelapses ORDER BY id").all();
      expect(rows).toEqual(["u0", "u1", "u2"].map((upload_id) => ({ upload_id, metadata: null })));
    } finally {
      await upgraded.close();
    }
  });
});
