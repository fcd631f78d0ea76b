// The operator role (PRINTERS.md §9): between viewer and admin. Operators run prints (pause, resume, stop, and
// the library's send, queue and skip); printers, users, settings, the light and speed stay with admins.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { migrate, migrateTo } from "../src/store/migrations.ts";
import { useApp } from "./app-fixture.ts";
import { addUser, apiRequest, csrfFrom, getPage, login, postForm } from "./helpers.ts";

const fx = useApp();

const json = (cookie: string, path: string, method: string, body?: unknown) =>
  apiRequest(fx.app, cookie, method, path, body);

describe("the operator role", () => {
  test("an admin adds an operator, and the users list names the role", async () => {
    await addUser(fx.app, fx.cookie, "olli", "operator");
    const row = await fx.app.store.users.byName("olli");
    expect(row?.role).toBe("operator");
    expect((await getPage(fx.app, "/settings", fx.cookie)).text).toContain("Operator");
  });

  test("an operator may ask for pause and stop: the answer is about the printer, not the role", async () => {
    const cookie = await login(fx.app, "olli", "olli-password");
    for (const action of ["pause", "stop"]) {
      const res = await json(cookie, "/api/printers/1/actions", "POST", { action });
      // This printer has no LAN link nor camera Pi: refused for that, not with 403.
      expect(res.status).toBe(503);
      expect((await res.json()).reason).toBe("offline");
    }
  });

  test("an operator may not switch the light, add printers, or add users", async () => {
    const cookie = await login(fx.app, "olli", "olli-password");
    expect((await json(cookie, "/api/printers/1/actions", "POST", { action: "light_on" })).status).toBe(403);
    expect((await json(cookie, "/api/printers", "POST", { name: "X" })).status).toBe(403);
    const csrf = csrfFrom((await getPage(fx.app, "/settings", cookie)).text);
    const res = await postForm(
      fx.app,
      "/settings/users",
      { _csrf: csrf, username: "eve", password: "eve-password-1" },
      {
        cookie,
      },
    );
    expect(res.status).toBe(403);
    expect(await fx.app.store.users.byName("eve")).toBeNull();
  });

  test("a viewer may not pause or stop", async () => {
    const cookie = await addUser(fx.app, fx.cookie, "vera", "viewer");
    const res = await json(cookie, "/api/printers/1/actions", "POST", { action: "stop" });
    expect(res.status).toBe(403);
    expect((await res.json()).error).toContain("operators");
  });

  test("an operator's printer page shows pause and stop but not the light or timelapse", async () => {
    const cookie = await login(fx.app, "olli", "olli-password");
    const html = (await getPage(fx.app, "/printers/1", cookie)).text;
    expect(html).toContain('data-control="stop"');
    expect(html).not.toContain('name="timelapse"');
  });

  test("a role the form does not know becomes viewer", async () => {
    await addUser(fx.app, fx.cookie, "walter", "superuser");
    expect((await fx.app.store.users.byName("walter"))?.role).toBe("viewer");
  });
});

test("widening the role check keeps every user, session and push subscription", () => {
  const db = new Database(":memory:");
  db.run("PRAGMA foreign_keys = ON");
  migrateTo(db, 9, { zone: "UTC" });
  db.run("INSERT INTO users (id, username, password_hash, role, created_at) VALUES (7, 'ann', 'h', 'viewer', 1)");
  db.run("INSERT INTO sessions VALUES ('t', 7, 1, 2, 0, 1)");
  db.run("INSERT INTO push_subscriptions VALUES (1, 'https://push.example/1', 'p', 'a', 7, 1)");
  migrate(db, { zone: "UTC" });
  expect(db.query("SELECT username, role FROM users WHERE id = 7").get()).toEqual({ username: "ann", role: "viewer" });
  expect(db.query("SELECT count(*) AS n FROM sessions WHERE user_id = 7").get()).toEqual({ n: 1 });
  expect(db.query("SELECT count(*) AS n FROM push_subscriptions WHERE user_id = 7").get()).toEqual({ n: 1 });
  db.run("UPDATE users SET role = 'operator' WHERE id = 7");
  expect(() => db.run("UPDATE users SET role = 'root' WHERE id = 7")).toThrow();
  // The references still hold: deleting the user takes its session with it.
  db.run("DELETE FROM users WHERE id = 7");
  expect(db.query("SELECT count(*) AS n FROM sessions").get()).toEqual({ n: 0 });
  expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
});
