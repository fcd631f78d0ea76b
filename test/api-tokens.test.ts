// Personal API tokens (PRINTERS.md §9): a script with an operator's token uploads to the library, sends a print
// to the fake A1 and reads the send; a viewer's token cannot write; a revoked or unknown token is 401; the token
// is in the page that made it and nowhere else (no log, no later page). A token also opens the media the API links
// to (plate thumbnails, frames, videos), and no other route outside /api/.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { useCleanup } from "./app-fixture.ts";
import { startFakePrinter } from "./fakes/bambu-printer.ts";
import { b64, sha256, uploadWhole, videoBytes } from "./fixtures/tus.ts";
import {
  addUser,
  csrfFrom,
  deviceToken,
  getPage,
  login,
  postForm,
  printerEntry,
  startApp,
  type TestApp,
  until,
} from "./helpers.ts";
import { LIBRARY_FIXTURES } from "./library-helpers.ts";

const cleanup = useCleanup();

/** Makes a token through Settings as the user would; the token is read from the answer that shows it once. */
async function makeToken(app: TestApp, cookie: string, name: string) {
  const csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
  const res = await postForm(app, "/settings/api-tokens", { _csrf: csrf, name }, { cookie, "hx-request": "true" });
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  const token = /lwu_[A-Za-z0-9_-]+/.exec(await res.text())?.[0];
  expect(token).toBeDefined();
  return token!;
}

const bearer = (app: TestApp, token: string, method: string, path: string, body?: unknown) =>
  fetch(`${app.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

function uploadWith(app: TestApp, token: string, name: string, bytes: Uint8Array<ArrayBuffer>) {
  const form = new FormData();
  form.append("file", new Blob([bytes]), name);
  return fetch(`${app.url}/api/library`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: form });
}

describe("personal API tokens", () => {
  test("an operator's token uploads, sends to the printer and reads the send; no CSRF, no cookie", async () => {
    const printer = await startFakePrinter({ commandDelayMs: 30, sentPrint: { layers: 6, stepMs: 150 } });
    cleanup.push(() => printer.close());
    const app = await startApp(
      {
        printers: [
          printerEntry(printer, { name: "Farm A1", camera: false, ftps_port: printer.ftpsPort, tls: "pin" }),
        ] as never,
      },
      undefined,
      {
        lanTimings: { backoffMinMs: 100, backoffMaxMs: 500 },
        sendTimings: { startWithinMs: 3000, skipWithinMs: 3000 },
      },
    );
    cleanup.push(() => app.close());
    const operator = await addUser(app, await login(app), "olli", "operator");
    const token = await makeToken(app, operator, "farm script");

    const bytes = await Bun.file(join(LIBRARY_FIXTURES, "cubes-a1.gcode.3mf")).bytes();
    const up = await uploadWith(app, token, "cubes-a1.gcode.3mf", bytes);
    expect(up.status).toBe(201);
    const file = (await up.json()) as { id: number; uploaded_by?: string };
    await until(
      () => bearer(app, token, "GET", "/api/printers/1").then((r) => r.json()),
      (r) => (r as { state: { gcode_state: string } | null }).state?.gcode_state === "IDLE",
    );
    const sent = await bearer(app, token, "POST", "/api/printers/1/print", { file_id: file.id, plate: 1 });
    expect(sent.status).toBe(202);
    const { send_id } = (await sent.json()) as { send_id: number };
    const done = await until(
      () => bearer(app, token, "GET", `/api/sends/${send_id}`).then((r) => r.json() as Promise<{ status: string }>),
      (s) => s.status === "started" || s.status === "failed",
      15_000,
    );
    expect(done.status).toBe("started");

    // Last use is shown on the user's Settings, and the token itself is not.
    const page = (await getPage(app, "/settings", operator)).text;
    expect(page).toContain("farm script");
    expect(page).toContain("last used");
    expect(page).not.toContain(token);
    expect(page).toContain("Bearer &lt;token&gt;");
    const logged = JSON.stringify(app.logs);
    expect(logged).not.toContain(token);
    expect(logged).toContain("API token created");
  }, 30_000);

  test("a viewer's token reads but may not write (403); revoked and unknown tokens are 401", async () => {
    const app = await startApp();
    cleanup.push(() => app.close());
    const admin = await login(app);
    const viewer = await addUser(app, admin, "vera", "viewer");
    const token = await makeToken(app, viewer, "dashboard");
    // A token needs a name: refused plainly, nothing made.
    const vCsrf = csrfFrom((await getPage(app, "/settings", viewer)).text);
    const unnamed = await postForm(app, "/settings/api-tokens", { _csrf: vCsrf, name: "  " }, { cookie: viewer });
    expect(unnamed.status).toBe(400);
    expect(await unnamed.text()).not.toContain("lwu_");
    // Settings forms keep their CSRF check.
    expect((await postForm(app, "/settings/api-tokens", { name: "x" }, { cookie: viewer })).status).toBe(403);
    expect(await app.store.apiTokens.ofUser((await app.store.users.byName("vera"))!.id)).toHaveLength(1);

    expect((await bearer(app, token, "GET", "/api/library")).status).toBe(200);
    expect((await bearer(app, token, "POST", "/api/printers/1/print", { file_id: 1, plate: 1 })).status).toBe(403);
    const up = await uploadWith(app, token, "x.gcode.3mf", new Uint8Array(10));
    expect(up.status).toBe(403);

    // Another user cannot revoke it; its owner can.
    const row = (await app.store.apiTokens.ofUser((await app.store.users.byName("vera"))!.id))[0]!;
    const adminCsrf = csrfFrom((await getPage(app, "/settings", admin)).text);
    const other = await postForm(app, `/settings/api-tokens/${row.id}/revoke`, { _csrf: adminCsrf }, { cookie: admin });
    expect(other.status).toBe(400);
    expect((await bearer(app, token, "GET", "/api/library")).status).toBe(200);

    const csrf = csrfFrom((await getPage(app, "/settings", viewer)).text);
    const revoked = await postForm(app, `/settings/api-tokens/${row.id}/revoke`, { _csrf: csrf }, { cookie: viewer });
    expect(revoked.status).toBe(200);
    const res = await bearer(app, token, "GET", "/api/library");
    expect(res.status).toBe(401);
    expect(await res.text()).not.toContain(token);
    expect((await bearer(app, `lwu_${"x".repeat(43)}`, "GET", "/api/library")).status).toBe(401);
    // Bearer tokens are for the JSON API: pages still want the session.
    const pageRes = await fetch(`${app.url}/settings`, {
      headers: { authorization: `Bearer ${token}` },
      redirect: "manual",
    });
    expect(pageRes.status).not.toBe(200);
    expect(JSON.stringify(app.logs)).not.toContain(token);
  });
});

describe("a changed password and API tokens", () => {
  /** Changes the user's own password through Settings; `revoke` ticks or unticks the box the form offers. */
  async function changePassword(app: TestApp, cookie: string, current: string, next: string, revoke: boolean) {
    const page = (await getPage(app, "/settings", cookie)).text;
    const offered = /name="api_tokens_offered" value="1"/.test(page);
    const fields: Record<string, string> = { _csrf: csrfFrom(page), current, next };
    if (offered) fields.api_tokens_offered = "1";
    if (revoke) fields.revoke_api_tokens = "1";
    return postForm(app, "/settings/password", fields, { cookie, "hx-request": "true" });
  }

  test("with the box ticked (as it is at first) the user's tokens stop working at once", async () => {
    const app = await startApp();
    cleanup.push(() => app.close());
    const operator = await addUser(app, await login(app), "otto", "operator");
    const token = await makeToken(app, operator, "farm script");
    const other = await makeToken(app, operator, "dashboard");
    expect((await bearer(app, token, "GET", "/api/library")).status).toBe(200);
    const page = (await getPage(app, "/settings", operator)).text;
    expect(page).toMatch(/name="revoke_api_tokens" value="1" checked/);
    expect(page).toContain("Also revoke my 2 API tokens");

    const res = await changePassword(app, operator, "otto-password", "otto-password-2", true);
    expect(res.status).toBe(200);
    const answer = await res.text();
    expect(answer).toContain("2 API tokens were revoked.");
    expect(answer).not.toContain("revoke_api_tokens");
    expect((await bearer(app, token, "GET", "/api/library")).status).toBe(401);
    expect((await bearer(app, other, "GET", "/api/library")).status).toBe(401);
    const line = app.logs.find((l) => l.msg === "password changed");
    expect(line?.fields).toEqual({ user: "otto", api_tokens_revoked: 2 });
    const logged = JSON.stringify(app.logs);
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(other);
  });

  test("with the box unticked the user's tokens keep working; with none, no box is offered", async () => {
    const app = await startApp();
    cleanup.push(() => app.close());
    const admin = await login(app);
    expect((await getPage(app, "/settings", admin)).text).not.toContain("revoke_api_tokens");
    const operator = await addUser(app, admin, "olga", "operator");
    const token = await makeToken(app, operator, "farm script");
    const res = await changePassword(app, operator, "olga-password", "olga-password-2", false);
    expect(res.status).toBe(200);
    expect(await res.text()).not.toContain("revoked");
    expect((await bearer(app, token, "GET", "/api/library")).status).toBe(200);
    expect(app.logs.find((l) => l.msg === "password changed")?.fields).toEqual({ user: "olga", api_tokens_revoked: 0 });
    // A wrong current password changes nothing and revokes nothing.
    const wrong = await changePassword(app, operator, "not-it", "olga-password-3", true);
    expect(wrong.status).toBe(400);
    expect((await bearer(app, token, "GET", "/api/library")).status).toBe(200);
  });

  test("an admin setting another user's password logs them out and revokes their tokens; the page says so", async () => {
    const app = await startApp();
    cleanup.push(() => app.close());
    const admin = await login(app);
    const operator = await addUser(app, admin, "oona", "operator");
    const token = await makeToken(app, operator, "farm script");
    const adminToken = await makeToken(app, admin, "admin's own");
    const oona = (await app.store.users.byName("oona"))!;
    const page = (await getPage(app, "/settings", admin)).text;
    expect(page).toContain(`action="/settings/users/${oona.id}/password"`);
    expect(page).toContain("revokes their API tokens");
    // Only an admin may, and only with the form's CSRF token.
    const opCsrf = csrfFrom((await getPage(app, "/settings", operator)).text);
    const byOperator = await postForm(
      app,
      `/settings/users/${oona.id}/password`,
      { _csrf: opCsrf, password: "taken-over-1" },
      { cookie: operator },
    );
    expect(byOperator.status).toBe(403);
    const forged = await postForm(
      app,
      `/settings/users/${oona.id}/password`,
      { password: "x".repeat(9) },
      { cookie: admin },
    );
    expect(forged.status).toBe(403);
    expect((await bearer(app, token, "GET", "/api/library")).status).toBe(200);

    const csrf = csrfFrom(page);
    const short = await postForm(
      app,
      `/settings/users/${oona.id}/password`,
      { _csrf: csrf, password: "short" },
      { cookie: admin, "hx-request": "true" },
    );
    expect(short.status).toBe(400);
    expect((await bearer(app, token, "GET", "/api/library")).status).toBe(200);

    const res = await postForm(
      app,
      `/settings/users/${oona.id}/password`,
      { _csrf: csrf, password: "oona-new-password" },
      { cookie: admin, "hx-request": "true" },
    );
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(
      "Password set for oona; they were logged out everywhere. 1 API token was revoked.",
    );
    expect((await bearer(app, token, "GET", "/api/library")).status).toBe(401);
    expect((await getPage(app, "/settings", operator)).status).not.toBe(200);
    expect(await login(app, "oona", "oona-new-password")).toBeString();
    // The admin's own token is not theirs to lose here.
    expect((await bearer(app, adminToken, "GET", "/api/library")).status).toBe(200);
    expect(app.logs.find((l) => l.msg === "password reset by an admin")?.fields).toEqual({
      user: "oona",
      by: "admin",
      api_tokens_revoked: 1,
    });
    expect(JSON.stringify(app.logs)).not.toContain(token);
    // An admin changes their own password in their own form, which asks for the current one.
    const me = (await app.store.users.byName("admin"))!;
    const self = await postForm(
      app,
      `/settings/users/${me.id}/password`,
      { _csrf: csrf, password: "admin-new-password" },
      { cookie: admin },
    );
    expect(self.status).toBe(400);
  });
});

describe("API tokens and the media the API links to", () => {
  test("a token opens the thumbnails, frames and videos the API links to (GET and HEAD), nothing else outside /api/", async () => {
    const printer = await startFakePrinter({ commandDelayMs: 30, frameIntervalMs: 100 });
    cleanup.push(() => printer.close());
    const app = await startApp({
      printers: [printerEntry(printer, { name: "Farm A1", camera_port: printer.cameraPort })] as never,
    });
    cleanup.push(() => app.close());
    const admin = await login(app);
    const operator = await addUser(app, admin, "otis", "operator");
    const token = await makeToken(app, operator, "farm script");
    const json = async <T>(path: string) => {
      const res = await bearer(app, token, "GET", path);
      expect(res.status).toBe(200);
      return (await res.json()) as T;
    };
    /** Follows a URL the API gave, as a script does: the token and nothing else. */
    const open = (url: string, method = "GET", with_ = token, headers: Record<string, string> = {}) =>
      fetch(`${app.url}${url}`, {
        method,
        headers: { authorization: `Bearer ${with_}`, ...headers },
        redirect: "manual",
      });
    const isJpeg = (b: Uint8Array) => b[0] === 0xff && b[1] === 0xd8;

    // A plate's thumbnail from the library listing.
    const bytes = await Bun.file(join(LIBRARY_FIXTURES, "cubes-a1.gcode.3mf")).bytes();
    expect((await uploadWith(app, token, "cubes-a1.gcode.3mf", bytes)).status).toBe(201);
    const [file] = await json<{ plates: { thumbnail_url: string | null }[] }[]>("/api/library");
    const thumbnailUrl = file!.plates[0]!.thumbnail_url!;
    expect(thumbnailUrl).toMatch(/^\/library\/\d+\/plates\/1\.png$/);
    const png = await open(thumbnailUrl);
    expect(png.status).toBe(200);
    expect(png.headers.get("content-type")).toBe("image/png");
    expect([...new Uint8Array(await png.arrayBuffer()).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);

    // A print's archived frames, the printer's newest frame and, once the camera Pi has sent it, the video.
    await until(
      () => json<{ state: { gcode_state: string } | null }>("/api/printers/1"),
      (p) => p.state?.gcode_state === "IDLE",
    );
    await printer.runPrint({ name: "cube", layers: 8, stepMs: 300 });
    const [job] = await until(
      () => json<{ id: number; outcome: string }[]>("/api/printers/1/jobs"),
      (jobs) => jobs[0]?.outcome === "finished",
    );
    const { frames } = await until(
      () => json<{ frames: { url: string }[] }>(`/api/jobs/${job!.id}`),
      (j) => j.frames.length > 0,
    );
    const jobFrame = await open(frames[0]!.url);
    expect(jobFrame.status).toBe(200);
    expect(isJpeg(new Uint8Array(await jobFrame.arrayBuffer()))).toBe(true);
    const latest = await until(
      () => json<{ frame: { url: string } | null }>("/api/printers/1"),
      (p) => p.frame !== null,
    );
    const frame = await open(latest.frame!.url);
    expect(frame.status).toBe(200);
    expect(frame.headers.get("content-type")).toBe("image/jpeg");
    expect(isJpeg(new Uint8Array(await frame.arrayBuffer()))).toBe(true);
    const head = await open(latest.frame!.url, "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers.get("content-type")).toBe("image/jpeg");
    const device = { authorization: `Bearer ${await deviceToken(app, admin, "camera pi")}` };
    const video = videoBytes(50_000);
    const meta = `filename ${b64("cube.mp4")},job_id ${b64(String(job!.id))}`;
    expect((await uploadWhole(app.url, video, device, meta)).status).toBe(204);
    const { timelapse_url } = await json<{ timelapse_url: string }>(`/api/jobs/${job!.id}/recording`);
    const [listed] = await json<{ url: string; thumbnail_url: string }[]>("/api/printers/1/timelapses");
    expect(listed!.url).toBe(timelapse_url);
    const whole = await open(timelapse_url);
    expect(whole.status).toBe(200);
    expect(sha256(await whole.arrayBuffer())).toBe(sha256(video));
    const part = await open(timelapse_url, "GET", token, { range: "bytes=100-199" });
    expect(part.status).toBe(206);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(video.subarray(100, 200));
    expect((await open(listed!.thumbnail_url)).status).toBe(200);

    // Outside those media reads a token is nothing: pages and forms want the session.
    const settings = await open("/settings");
    expect(settings.status).toBe(303);
    expect(settings.headers.get("location")).toStartWith("/login");
    expect((await open(thumbnailUrl, "POST")).status).not.toBeLessThan(400);
    const adminToken = await makeToken(app, admin, "admin's script");
    const removed = await open(`/timelapses/${listed!.url.match(/\d+/)![0]}/delete`, "POST", adminToken);
    expect(removed.status).toBe(303);
    expect(removed.headers.get("location")).toStartWith("/login");
    expect((await open(timelapse_url, "HEAD")).status).toBe(200);
    // A device token is not a user's: the media want a session or a personal token.
    expect((await open(thumbnailUrl, "GET", device.authorization.slice(7))).status).toBe(303);
    // With no credentials a browser is still sent to log in.
    const anon = await fetch(`${app.url}${frames[0]!.url}`, { redirect: "manual" });
    expect(anon.status).toBe(303);

    // Revoked: 401 on the media too, even beside the user's valid cookie.
    const row = (await app.store.apiTokens.ofUser((await app.store.users.byName("otis"))!.id))[0]!;
    const csrf = csrfFrom((await getPage(app, "/settings", operator)).text);
    expect(
      (await postForm(app, `/settings/api-tokens/${row.id}/revoke`, { _csrf: csrf }, { cookie: operator })).status,
    ).toBe(200);
    for (const url of [thumbnailUrl, latest.frame!.url, frames[0]!.url, timelapse_url]) {
      const refused = await open(url, "GET", token, { cookie: operator });
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({ error: "unauthorized: unknown or revoked API token" });
    }
    expect((await open(thumbnailUrl, "GET", `lwu_${"x".repeat(43)}`)).status).toBe(401);
    expect((await fetch(`${app.url}${thumbnailUrl}`, { headers: { cookie: operator } })).status).toBe(200);
    expect(JSON.stringify(app.logs)).not.toContain(token);
  }, 30_000);
});
