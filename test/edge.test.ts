// The HTTP edge (src/http/edge.ts) from outside: logout only by a CSRF-checked POST, unknown printers and ids in
// paths, roles, tus HEAD's Upload-Metadata, refusals worded per locale; and migration 8 keeping timelapse rows.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { b64, createUpload, TUS } from "./fixtures/tus.ts";
import {
  connected,
  connectSocket,
  csrfFrom,
  deviceToken,
  emitWithAck,
  getPage,
  login,
  startApp,
  type TestApp,
  tempDir,
} from "./helpers.ts";

let app: TestApp;
let cookie: string;
let csrf: string;
let token: string;
beforeAll(async () => {
  app = await startApp();
  cookie = await login(app);
  csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
  token = await deviceToken(app, cookie, "camera pi");
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

describe("ids in paths", () => {
  test("an id that is not a number names nothing: 404 with a session, the login without one", async () => {
    expect((await getPage(app, "/printers/abc", cookie)).status).toBe(404);
    expect((await getPage(app, "/jobs/1x", cookie)).status).toBe(404);
    const api = await getPage(app, "/api/printers/abc", cookie);
    expect([api.status, JSON.parse(api.text)]).toEqual([404, { error: "not found" }]);
    const page = await getPage(app, "/printers/abc");
    expect(page.status).toBe(303);
    expect(page.headers.get("location")).toBe("/login?next=%2Fprinters%2Fabc");
    expect((await getPage(app, "/api/printers/abc")).status).toBe(401);
  });

  test("a printer that does not exist is 404 on pages and in the API; its frames too", async () => {
    const page = await getPage(app, "/printers/77", cookie);
    expect(page.status).toBe(404);
    expect(page.text).toContain("No such printer.");
    const api = await getPage(app, "/api/printers/77/temphum", cookie);
    expect([api.status, JSON.parse(api.text)]).toEqual([404, { error: "no such printer" }]);
    expect((await getPage(app, "/printers/77/frames/latest.jpg", cookie)).status).toBe(404);
  });

  test("a printer's frames are served by id, with or without an extension", async () => {
    const id = app.store.db
      .query<{ id: number }, []>(
        `INSERT INTO frames (printer_id, device_id, recorded_at, mime, bytes)
         VALUES (1, 1, ${Date.now()}, 'image/jpeg', x'FFD8FFD9') RETURNING id`,
      )
      .get()!.id;
    for (const file of [`${id}.jpg`, `${id}.jpeg`, `${id}`]) {
      const res = await fetch(`${app.url}/printers/1/frames/${file}`, { headers: { cookie } });
      expect(`${file}: ${res.status}`).toBe(`${file}: 200`);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
    }
    expect((await getPage(app, `/printers/1/frames/${id}.gif`, cookie)).status).toBe(404);
  });

  test("a device token is revoked by its printer's path only", async () => {
    const json = { cookie, "content-type": "application/json" };
    const made = await fetch(`${app.url}/api/printers/1/tokens`, {
      method: "POST",
      headers: json,
      body: '{"name":"t"}',
    });
    const { id } = (await made.json()) as { id: number };
    const second = await fetch(`${app.url}/api/printers`, { method: "POST", headers: json, body: '{"name":"B"}' });
    const other = ((await second.json()) as { id: number }).id;
    const wrong = await fetch(`${app.url}/api/printers/${other}/tokens/${id}`, { method: "DELETE", headers: json });
    expect(wrong.status).toBe(404);
    const right = await fetch(`${app.url}/api/printers/1/tokens/${id}`, { method: "DELETE", headers: json });
    expect([right.status, await right.json()]).toEqual([200, { revoked: id }]);
  });
});

describe("roles", () => {
  test("a viewer is refused admin forms (403 page) and admin API writes (403 JSON)", async () => {
    const form = await post(
      "/settings/users",
      { _csrf: csrf, username: "kerttu", password: "kerttu-password", role: "viewer" },
      cookie,
    );
    expect(form.status).toBe(200);
    const viewer = await login(app, "kerttu", "kerttu-password");
    const token = csrfFrom((await getPage(app, "/settings", viewer)).text);
    const refused = await post("/settings/intervals", { _csrf: token, image_delay: "5" }, viewer);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("Only an admin can change this.");
    const api = await fetch(`${app.url}/api/printers`, {
      method: "POST",
      headers: { cookie: viewer, "content-type": "application/json" },
      body: '{"name":"Nope"}',
    });
    expect([api.status, await api.json()]).toEqual([403, { error: "forbidden: admins only" }]);
    // The viewer's own password form needs no admin.
    const own = await post("/settings/password", { _csrf: token, current: "x", next: "y" }, viewer);
    expect(own.status).toBe(400);
  });
});

describe("printer control and print errors in the Finnish UI", () => {
  let fi: TestApp;
  let fiCookie: string;
  beforeAll(async () => {
    fi = await startApp({ locale: "fi" });
    fiCookie = await login(fi);
  });
  afterAll(() => fi.close());

  test("a refused action reads in Finnish on the page; the API says it in English with the reason code", async () => {
    const page = (await getPage(fi, "/printers/1", fiCookie)).text;
    const res = await fetch(`${fi.url}/printers/1/actions`, {
      method: "POST",
      headers: { cookie: fiCookie, "hx-request": "true", "x-csrf-token": csrfFrom(page) },
      body: new URLSearchParams({ action: "pause" }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("tulostimella ei ole lähiverkkoyhteyttä eikä yhdistettyä kamera-Pi:tä");
    const api = await fetch(`${fi.url}/api/printers/1/actions`, {
      method: "POST",
      headers: { cookie: fiCookie, "content-type": "application/json" },
      body: JSON.stringify({ action: "pause" }),
    });
    expect(api.status).toBe(503);
    expect(await api.json()).toEqual({
      error: "no LAN connection and no camera Pi connected for this printer",
      reason: "offline",
    });
    const audit = fi.store.printerActions.recent(2).map((r) => `${r.action} ${r.via} ${r.result}`);
    expect(audit).toEqual(["pause - offline", "pause - offline"]);
  });

  test("an action that does not fit the state names the state in Finnish; the audit stores the code", async () => {
    const device = await connected(connectSocket(fi, { auth: { token: await deviceToken(fi, fiCookie) } }));
    try {
      const failed = { gcode_status: "FAILED", print_error_code: 0x0300_8014 };
      expect(await emitWithAck(device, "status", failed)).toMatchObject({ ok: true });
      const page = (await getPage(fi, "/printers/1", fiCookie)).text;
      expect(page).toContain("Virhe 0300_8014: katso tulostimen näytöltä, mitä tehdä");
      expect(page).not.toContain("see the printer's screen");
      const res = await fetch(`${fi.url}/printers/1/actions`, {
        method: "POST",
        headers: { cookie: fiCookie, "hx-request": "true", "x-csrf-token": csrfFrom(page) },
        body: new URLSearchParams({ action: "resume" }),
      });
      expect(await res.text()).toContain("ei jatkettavaa: tulostimen tila on Epäonnistui");
      expect(fi.store.printerActions.recent(1)[0]).toMatchObject({ result: "not_paused", detail: "FAILED" });
      const cancelled = { gcode_status: "FAILED", print_error_code: 50348044 };
      expect(await emitWithAck(device, "status", cancelled)).toMatchObject({ ok: true });
      expect((await getPage(fi, "/", fiCookie)).text).toContain("käyttäjä perui tulostuksen");
    } finally {
      device.disconnect();
    }
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
