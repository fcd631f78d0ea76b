// Hostile strings from devices, usernames and the next parameter render escaped in every page that shows them.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connected, connectSocket, csrfFrom, emitWithAck, getPage, login, startApp, type TestApp } from "./helpers.ts";

const HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>'];
let app: TestApp;
let cookie: string;
beforeAll(async () => {
  app = await startApp();
  cookie = await login(app);
});
afterAll(async () => {
  await app.close();
});

test("hostile statuses from a device render escaped on the dashboard", async () => {
  const device = await connected(connectSocket(app, { cookie }));
  for (const status of HOSTILE) {
    await emitWithAck(device, "status", { status });
    const html = (await getPage(app, "/3d", cookie)).text;
    expect(html).not.toContain(status);
    expect(html).toContain(Bun.escapeHTML(status));
  }
  device.disconnect();
});

test("hostile usernames render escaped in settings, and the login form echoes them escaped", async () => {
  const csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
  // The username rule refuses these, so the message echo and the form must escape them.
  for (const username of HOSTILE) {
    const res = await fetch(`${app.url}/settings/users`, {
      method: "POST",
      headers: { cookie },
      body: new URLSearchParams({ _csrf: csrf, username, password: "long-enough-pw" }),
    });
    const html = await res.text();
    expect(html).not.toContain(username);
    // Echoed into value="…": a quote must not break out, and no markup may appear outside the attribute.
    const login401 = await (
      await fetch(`${app.url}/login`, { method: "POST", body: new URLSearchParams({ username, password: "x" }) })
    ).text();
    const outsideAttributes = login401.replace(/value="[^"]*"/g, "");
    expect(outsideAttributes).not.toContain("alert(1)");
  }
  // A name stored before the rule existed (an old database) still renders escaped.
  app.store.users.insert(HOSTILE[1]!, "x", "viewer");
  const page = (await getPage(app, "/settings", cookie)).text;
  expect(page).not.toContain(HOSTILE[1]!);
  expect(page).toContain(Bun.escapeHTML(HOSTILE[1]!));
});

test("a hostile next parameter is escaped in the login form", async () => {
  const html = (await getPage(app, `/login?next=${encodeURIComponent('/"><script>x</script>')}`)).text;
  expect(html).not.toContain("<script>x</script>");
});
