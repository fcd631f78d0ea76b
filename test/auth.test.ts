// Logging in and out over HTTP (PROTOCOL.md §1): cookies, next, sessions on the server, their sockets, /healthz.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ADMIN, csrfFrom, getPage, login, quietFor, startApp, type TestApp } from "./helpers.ts";

let app: TestApp;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app.close();
});

const post = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${app.url}${path}`, { method: "POST", body: new URLSearchParams(fields), redirect: "manual", headers });

/** Logs out the way the page's button does: a POST with the session's CSRF token. */
const postLogout = async (cookie: string) =>
  post("/logout", { _csrf: csrfFrom((await getPage(app, "/", cookie)).text) }, { cookie });

describe("logging in", () => {
  test("good credentials answer 303 to / with an HttpOnly SameSite=Lax session cookie and no Max-Age", async () => {
    const res = await post("/login", { username: ADMIN.username, password: ADMIN.password });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/");
    const cookie = res.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^layerwatch_session=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Lax");
    expect(cookie).not.toContain("Max-Age");
    expect(cookie).not.toContain("Secure");
  });

  test("remember=on gives a cookie that lasts 30 days", async () => {
    const res = await post("/login", { username: ADMIN.username, password: ADMIN.password, remember: "on" });
    expect(res.headers.getSetCookie()[0]).toContain(`Max-Age=${30 * 24 * 3600}`);
  });

  test("a wrong password answers 401 with the form and a visible error, and sets no cookie", async () => {
    const res = await post("/login", { username: ADMIN.username, password: "wrong" });
    expect(res.status).toBe(401);
    expect(res.headers.getSetCookie()).toEqual([]);
    const html = await res.text();
    expect(html).toContain("Wrong username or password.");
    expect(html).toContain('name="password"');
  });

  test("an unknown user and an empty form are both plain 401 failures", async () => {
    expect((await post("/login", { username: "nobody", password: "whatever" })).status).toBe(401);
    expect((await post("/login", {})).status).toBe(401);
  });

  test("the next parameter is followed when it is a local path and ignored otherwise", async () => {
    const local = await post("/login?next=/3d%3Fday%3D2025-01-01", {
      username: ADMIN.username,
      password: ADMIN.password,
    });
    expect(local.headers.get("location")).toBe("/3d?day=2025-01-01");
    for (const evil of ["https://evil.example/", "//evil.example/", "/\\evil.example"]) {
      const res = await post(`/login?next=${encodeURIComponent(evil)}`, {
        username: ADMIN.username,
        password: ADMIN.password,
      });
      expect(res.headers.get("location")).toBe("/");
    }
  });

  test("behind a trusted HTTPS proxy the cookie is Secure; an untrusted X-Forwarded-Proto is ignored", async () => {
    const plain = await post(
      "/login",
      { username: ADMIN.username, password: ADMIN.password },
      { "x-forwarded-proto": "https" },
    );
    expect(plain.headers.getSetCookie()[0]).not.toContain("Secure");
    const proxied = await startApp({ trust_proxy: true });
    try {
      const res = await fetch(`${proxied.url}/login`, {
        method: "POST",
        redirect: "manual",
        body: new URLSearchParams(ADMIN),
        headers: { "x-forwarded-proto": "https" },
      });
      expect(res.headers.getSetCookie()[0]).toContain("; Secure");
    } finally {
      await proxied.close();
    }
  });
});

describe("sessions", () => {
  test("pages redirect to the login page with next when logged out", async () => {
    for (const path of ["/", "/3d", "/settings"]) {
      const res = await getPage(app, path);
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
  });

  test("the API answers 401 JSON when logged out, never a redirect", async () => {
    for (const path of ["/api/temphum", "/api/timelapse_config", "/api/latest"]) {
      const res = await getPage(app, path);
      expect(res.status).toBe(401);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(JSON.parse(res.text).error).toContain("unauthorized");
    }
  });

  test("a forged or garbage cookie is not a session", async () => {
    const res = await getPage(
      app,
      "/api/timelapse_config",
      "layerwatch_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    expect(res.status).toBe(401);
  });

  test("a logged-in user sees the pages; logout ends the session on the server", async () => {
    const cookie = await login(app);
    expect((await getPage(app, "/3d", cookie)).status).toBe(200);
    const out = await postLogout(cookie);
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/login");
    expect(out.headers.getSetCookie()[0]).toContain("Max-Age=0");
    // The old cookie value is dead even if a client keeps sending it.
    expect((await getPage(app, "/api/timelapse_config", cookie)).status).toBe(401);
  });

  test("logging out disconnects that session's sockets, and only those", async () => {
    const { connected, connectSocket, nextEvent } = await import("./helpers.ts");
    const mine = await login(app);
    const other = await login(app);
    const mySocket = await connected(connectSocket(app, { cookie: mine }));
    const otherSocket = await connected(connectSocket(app, { cookie: other }));
    const gone = nextEvent(mySocket, "disconnect");
    await postLogout(mine);
    await gone;
    // Bounded: the other session's socket, were it dropped too, would be dropped in the same sweep.
    await quietFor(50);
    expect(otherSocket.connected).toBe(true);
    otherSocket.disconnect();
  });

  test("POST /logout with the CSRF token in X-CSRF-Token (htmx) works too", async () => {
    const cookie = await login(app);
    const token = csrfFrom((await getPage(app, "/", cookie)).text);
    const out = await fetch(`${app.url}/logout`, {
      method: "POST",
      headers: { cookie, "x-csrf-token": token },
      redirect: "manual",
    });
    expect(out.status).toBe(303);
    expect((await getPage(app, "/api/latest", cookie)).status).toBe(401);
  });

  test("an active remembered session gets its 30-day cookie renewed; a browser-session one does not", async () => {
    const remembered = await login(app, ADMIN.username, ADMIN.password, true);
    const plain = await login(app);
    // Pretend both were last seen two minutes ago: the next request renews them.
    app.store.db.run("UPDATE sessions SET last_seen_at = last_seen_at - 120000");
    const r = await getPage(app, "/api/latest", remembered);
    expect(r.headers.getSetCookie()[0]).toContain(
      `${remembered}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${30 * 24 * 3600}`,
    );
    const p = await getPage(app, "/api/latest", plain);
    expect(p.headers.getSetCookie()).toEqual([]);
    // Within the minute nothing is rewritten.
    expect((await getPage(app, "/3d", remembered)).headers.getSetCookie()).toEqual([]);
  });

  test("only the SHA-256 of the session token is stored", async () => {
    const cookie = await login(app);
    const token = cookie.split("=")[1]!;
    const rows = app.store.db.query("SELECT token_hash FROM sessions").all() as { token_hash: string }[];
    expect(rows.some((r) => r.token_hash === token)).toBe(false);
    expect(rows.some((r) => r.token_hash === new Bun.CryptoHasher("sha256").update(token).digest("hex"))).toBe(true);
  });

  test("the login page is served to logged-out users and skipped for logged-in ones", async () => {
    expect((await getPage(app, "/login")).status).toBe(200);
    const cookie = await login(app);
    const res = await getPage(app, "/login?next=/3d", cookie);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/3d");
  });
});

describe("health", () => {
  test("/healthz answers without a session and without private data", async () => {
    const res = await getPage(app, "/healthz");
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text);
    expect(body).toMatchObject({ status: "ok", engine: "sqlite", database: "ok", redis: "off" });
    expect(res.text).not.toContain(ADMIN.username);
  });
});
