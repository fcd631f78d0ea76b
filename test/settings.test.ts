// The Settings forms over HTTP: capture intervals, users, roles and one's own password, CSRF-checked.
import { describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import { ADMIN, connected, connectSocket, csrfFrom, getPage, login, nextEvent, postForm } from "./helpers.ts";

const fx = useApp();

const post = (path: string, fields: Record<string, string>, as = fx.cookie, headers: Record<string, string> = {}) =>
  postForm(fx.app, path, fields, { cookie: as, ...headers });
const userNames = () =>
  (fx.app.store.db.query("SELECT username FROM users ORDER BY id").all() as { username: string }[]).map(
    (u) => u.username,
  );
const intervals = () => fx.app.store.intervals.get();

describe("capture intervals form", () => {
  test("values under the minimums or not whole numbers are refused, with a message per field; none saved", async () => {
    const before = intervals();
    const res = await post(
      "/settings/intervals",
      { _csrf: fx.csrf, image_delay: "4", temphum_delay: "0", status_delay: "2.5" },
      fx.cookie,
      { "hx-request": "true" },
    );
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("Must be at least 5 seconds.");
    expect(html).toContain("Must be at least 1 seconds.");
    expect(html).toContain("Must be a whole number of seconds");
    expect(html).toContain('aria-invalid="true"');
    expect(html.startsWith("<form")).toBe(true);
    expect(intervals()).toEqual(before);
  });

  test("a POST without a CSRF token is 403 and changes nothing", async () => {
    const before = intervals();
    const res = await post("/settings/intervals", { image_delay: "60", temphum_delay: "60", status_delay: "60" });
    expect(res.status).toBe(403);
    expect(intervals()).toEqual(before);
    const wrong = await post("/settings/intervals", {
      _csrf: "x".repeat(43),
      image_delay: "60",
      temphum_delay: "60",
      status_delay: "60",
    });
    expect(wrong.status).toBe(403);
    expect(intervals()).toEqual(before);
  });

  test("the htmx header carries the token as well as the form field", async () => {
    const res = await post(
      "/settings/intervals",
      { image_delay: "20", temphum_delay: "10", status_delay: "10" },
      fx.cookie,
      { "hx-request": "true", "x-csrf-token": fx.csrf },
    );
    expect(res.status).toBe(200);
    expect(intervals()).toEqual({ image_delay: 20, temphum_delay: 10, status_delay: 10 });
  });
});

describe("users", () => {
  test("an admin adds a user who can then log in", async () => {
    const res = await post("/settings/users", {
      _csrf: fx.csrf,
      username: "maija",
      password: "maija-password",
      role: "viewer",
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("User added.");
    expect(userNames()).toContain("maija");
    await login(fx.app, "maija", "maija-password");
  });

  test("a duplicate name, a short password and a bad name are refused with a message", async () => {
    for (const [fields, message] of [
      [{ username: "maija", password: "another-password" }, "already exists"],
      [{ username: "short", password: "1234" }, "at least 8 characters"],
      [{ username: "bad name<>", password: "long-enough-1" }, "Username must be"],
      [{ username: "long", password: "x".repeat(73) }, "at most 72 bytes"],
    ] as const) {
      const res = await post("/settings/users", { _csrf: fx.csrf, ...fields });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain(message);
    }
  });

  test("you cannot delete yourself", async () => {
    const me = fx.app.store.users.byName(ADMIN.username)!;
    const res = await post(`/settings/users/${me.id}/delete`, { _csrf: fx.csrf });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("cannot delete your own account");
    expect(userNames()).toContain(ADMIN.username);
  });

  test("an admin can delete another admin, and the remaining admin is still refused deleting itself", async () => {
    await post("/settings/users", {
      _csrf: fx.csrf,
      username: "second-admin",
      password: "second-password",
      role: "admin",
    });
    const other = await login(fx.app, "second-admin", "second-password");
    const otherCsrf = csrfFrom((await getPage(fx.app, "/settings", other)).text);
    const me = fx.app.store.users.byName(ADMIN.username)!;
    expect((await post(`/settings/users/${me.id}/delete`, { _csrf: otherCsrf }, other)).status).toBe(200);
    expect(userNames()).not.toContain(ADMIN.username);
    expect(fx.app.store.users.countAdmins()).toBe(1);
    const last = fx.app.store.users.byName("second-admin")!;
    expect((await post(`/settings/users/${last.id}/delete`, { _csrf: otherCsrf }, other)).status).toBe(400);
    expect(userNames()).toContain("second-admin");
  });

  test("deleting a user ends their sessions and disconnects their sockets at once", async () => {
    const admin = await login(fx.app, "second-admin", "second-password");
    const adminCsrf = csrfFrom((await getPage(fx.app, "/settings", admin)).text);
    await post(
      "/settings/users",
      { _csrf: adminCsrf, username: "leaving", password: "leaving-password", role: "viewer" },
      admin,
    );
    const theirs = await login(fx.app, "leaving", "leaving-password");
    const socket = await connected(connectSocket(fx.app, { cookie: theirs }));
    const gone = nextEvent(socket, "disconnect");
    const id = fx.app.store.users.byName("leaving")!.id;
    expect((await post(`/settings/users/${id}/delete`, { _csrf: adminCsrf }, admin)).status).toBe(200);
    await gone;
    expect((await getPage(fx.app, "/api/latest", theirs)).status).toBe(401);
  });
});

describe("roles", () => {
  test("a viewer sees settings without forms and the server refuses their changes", async () => {
    const viewer = await login(fx.app, "maija", "maija-password");
    const page = await getPage(fx.app, "/settings", viewer);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('action="/settings/users"');
    expect(page.text).toContain("Only an admin can change this.");
    const viewerCsrf = csrfFrom(page.text);
    const before = intervals();
    const res = await post(
      "/settings/intervals",
      { _csrf: viewerCsrf, image_delay: "99", temphum_delay: "99", status_delay: "99" },
      viewer,
    );
    expect(res.status).toBe(403);
    expect(intervals()).toEqual(before);
    expect(
      (await post("/settings/users", { _csrf: viewerCsrf, username: "sneaky", password: "sneaky-password" }, viewer))
        .status,
    ).toBe(403);
    expect(userNames()).not.toContain("sneaky");
  });
});

describe("instances", () => {
  test("admins see this instance, SQLite up, Redis not used, in a section that asks for itself again", async () => {
    // The first admin was deleted above; the second one is left.
    const admin = await login(fx.app, "second-admin", "second-password");
    const page = await getPage(fx.app, "/settings", admin);
    expect(page.text).toContain('id="instances"');
    expect(page.text).toContain('hx-get="/settings/instances"');
    expect(page.text).toContain('hx-trigger="every 5s"');
    const fragment = await getPage(fx.app, "/settings/instances", admin);
    expect(fragment.status).toBe(200);
    expect(fragment.text).toStartWith('<section id="instances"');
    expect(fragment.text).toContain(fx.app.instance);
    expect(fragment.text).toMatch(/SQLite · up since \d\d:\d\d:\d\d/);
    expect(fragment.text).toContain("not used (one instance)");
  });

  test("a viewer gets neither the section nor its fragment", async () => {
    const viewer = await login(fx.app, "maija", "maija-password");
    expect((await getPage(fx.app, "/settings", viewer)).text).not.toContain('id="instances"');
    expect((await getPage(fx.app, "/settings/instances", viewer)).status).toBe(403);
  });
});

describe("own password", () => {
  test("changing it needs the current password and logs out the other sessions", async () => {
    const first = await login(fx.app, "maija", "maija-password");
    const second = await login(fx.app, "maija", "maija-password");
    const firstCsrf = csrfFrom((await getPage(fx.app, "/settings", first)).text);
    const wrong = await post(
      "/settings/password",
      { _csrf: firstCsrf, current: "nope", next: "new-password-1" },
      first,
    );
    expect(wrong.status).toBe(400);
    expect(await wrong.text()).toContain("Current password is wrong.");
    const ok = await post(
      "/settings/password",
      { _csrf: firstCsrf, current: "maija-password", next: "new-password-1" },
      first,
    );
    expect(ok.status).toBe(200);
    expect((await getPage(fx.app, "/settings", first)).status).toBe(200);
    expect((await getPage(fx.app, "/settings", second)).status).toBe(303);
    await login(fx.app, "maija", "new-password-1");
  });
});
