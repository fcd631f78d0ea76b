import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { Socket } from "socket.io-client";
import {
  ADMIN,
  connected,
  connectSocket,
  csrfFrom,
  getPage,
  login,
  nextEvent,
  sleep,
  startApp,
  type TestApp,
} from "./helpers.ts";

let app: TestApp;
let cookie: string;
let csrf: string;
const open: Socket[] = [];
const track = (s: Socket) => {
  open.push(s);
  return s;
};
beforeAll(async () => {
  app = await startApp({ device_rate_limit: 5, allowed_origins: "https://allowed.example" });
  cookie = await login(app);
  csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
});
afterEach(() => {
  while (open.length) open.pop()!.disconnect();
});
afterAll(async () => {
  await app.close();
});

const postForm = (
  target: TestApp,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
) => fetch(`${target.url}${path}`, { method: "POST", body: new URLSearchParams(fields), redirect: "manual", headers });

describe("login throttling", () => {
  test("a sixth failure in a minute for one username answers 429 with Retry-After and a readable page", async () => {
    const target = await startApp({ trust_proxy: true });
    const attacker = { "cf-connecting-ip": "198.51.100.7" };
    try {
      for (let i = 0; i < 5; i++)
        expect((await postForm(target, "/login", { username: "victim", password: `guess${i}` }, attacker)).status).toBe(
          401,
        );
      const res = await postForm(target, "/login", { username: "victim", password: "guess5" }, attacker);
      expect(res.status).toBe(429);
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await res.text()).toContain("Too many failed logins");
      // Even the right password waits: the lockout is on the name, not on the guess.
      expect(
        (
          await postForm(
            target,
            "/login",
            { username: "victim", password: "anything" },
            { "cf-connecting-ip": "203.0.113.9" },
          )
        ).status,
      ).toBe(429);
      // Another user from another address is unaffected.
      expect((await postForm(target, "/login", ADMIN, { "cf-connecting-ip": "203.0.113.9" })).status).toBe(303);
    } finally {
      await target.close();
    }
  });

  test("failures are counted per client address across usernames", async () => {
    const target = await startApp();
    try {
      for (let i = 0; i < 5; i++) await postForm(target, "/login", { username: `user${i}`, password: "x" });
      expect((await postForm(target, "/login", ADMIN)).status).toBe(429);
    } finally {
      await target.close();
    }
  });

  test("forwarded addresses count only behind a trusted proxy", async () => {
    const untrusted = await startApp();
    const trusted = await startApp({ trust_proxy: true });
    try {
      for (let i = 0; i < 5; i++) {
        await postForm(
          untrusted,
          "/login",
          { username: `u${i}`, password: "x" },
          { "cf-connecting-ip": `10.0.0.${i}` },
        );
        await postForm(trusted, "/login", { username: `u${i}`, password: "x" }, { "cf-connecting-ip": `10.0.0.${i}` });
      }
      // Spoofed headers do not escape the limit when the proxy is not trusted...
      expect((await postForm(untrusted, "/login", ADMIN, { "cf-connecting-ip": "10.9.9.9" })).status).toBe(429);
      // ...and behind a trusted proxy each client has its own count.
      expect((await postForm(trusted, "/login", ADMIN, { "cf-connecting-ip": "10.9.9.9" })).status).toBe(303);
    } finally {
      await untrusted.close();
      await trusted.close();
    }
  });
});

describe("sessions", () => {
  test("every login issues a new session id, even when the browser presents an old one", async () => {
    const first = await login(app);
    const res = await postForm(app, "/login", ADMIN, { cookie: first });
    const second = res.headers.getSetCookie()[0]!.split(";")[0]!;
    expect(second).not.toBe(first);
  });

  test("changing a password disconnects that user's other sockets at once", async () => {
    await postForm(
      app,
      "/settings/users",
      { _csrf: csrf, username: "sockuser", password: "sockuser-pass" },
      { cookie },
    );
    const mine = await login(app, "sockuser", "sockuser-pass");
    const other = await login(app, "sockuser", "sockuser-pass");
    const otherSocket = track(await connected(connectSocket(app, { cookie: other })));
    const mySocket = track(await connected(connectSocket(app, { cookie: mine })));
    const gone = nextEvent(otherSocket, "disconnect");
    const myCsrf = csrfFrom((await getPage(app, "/settings", mine)).text);
    expect(
      (
        await postForm(
          app,
          "/settings/password",
          { _csrf: myCsrf, current: "sockuser-pass", next: "sockuser-pass-2" },
          { cookie: mine },
        )
      ).status,
    ).toBe(200);
    await gone;
    await sleep(50);
    expect(mySocket.connected).toBe(true);
  });
});
