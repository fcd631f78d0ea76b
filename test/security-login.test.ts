// Security of logging in: throttling per name and address, session fixation, sockets ended with their sessions.
import { describe, expect, test } from "bun:test";
import { useApp } from "./app-fixture.ts";
import {
  ADMIN,
  addUser,
  connected,
  connectSocket,
  csrfFrom,
  getPage,
  login,
  nextEvent,
  postForm,
  quietFor,
  startApp,
} from "./helpers.ts";

const fx = useApp({ config: { device_rate_limit: 5, allowed_origins: "https://allowed.example" } });

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
    const first = await login(fx.app);
    const res = await postForm(fx.app, "/login", ADMIN, { cookie: first });
    const second = res.headers.getSetCookie()[0]!.split(";")[0]!;
    expect(second).not.toBe(first);
  });

  test("changing a password disconnects that user's other sockets at once", async () => {
    const mine = await addUser(fx.app, fx.cookie, "sockuser", undefined, "sockuser-pass");
    const other = await login(fx.app, "sockuser", "sockuser-pass");
    const otherSocket = fx.track(await connected(connectSocket(fx.app, { cookie: other })));
    const mySocket = fx.track(await connected(connectSocket(fx.app, { cookie: mine })));
    const gone = nextEvent(otherSocket, "disconnect");
    const myCsrf = csrfFrom((await getPage(fx.app, "/settings", mine)).text);
    expect(
      (
        await postForm(
          fx.app,
          "/settings/password",
          { _csrf: myCsrf, current: "sockuser-pass", next: "sockuser-pass-2" },
          { cookie: mine },
        )
      ).status,
    ).toBe(200);
    await gone;
    // Bounded: this session's socket, were it dropped too, would be dropped in the same sweep.
    await quietFor(50);
    expect(mySocket.connected).toBe(true);
  });
});
