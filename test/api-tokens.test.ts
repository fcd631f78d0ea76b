// Personal API tokens (PRINTERS.md §9): a script with an operator's token uploads to the library, sends a print
// to the fake A1 and reads the send; a viewer's token cannot write; a revoked or unknown token is 401; the token
// is in the page that made it and nowhere else (no log, no later page).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { useCleanup } from "./app-fixture.ts";
import { startFakePrinter } from "./fakes/bambu-printer.ts";
import { addUser, csrfFrom, getPage, login, postForm, printerEntry, startApp, type TestApp, until } from "./helpers.ts";
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
