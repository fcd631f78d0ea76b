// The per-file app fixture: one real app on port 0 (SQLite file in a temp dir) for a test file, logged in,
// with the sockets a test opens closed after it and the app and its temp dir removed after the file.
import { afterAll, afterEach, beforeAll } from "bun:test";
import type { Socket } from "socket.io-client";
import type { AppOptions } from "../src/app.ts";
import type { Config } from "../src/config.ts";
import { connected, connectSocket, csrfFrom, getPage, login, startApp, type TestApp } from "./helpers.ts";

export type AppFixture = {
  /** The running app (set once the file's beforeAll has run). */
  readonly app: TestApp;
  /** The admin's session cookie. */
  readonly cookie: string;
  /** The CSRF token the settings page hands the admin's forms. */
  readonly csrf: string;
  /** Registers a socket (or anything with disconnect) to be disconnected after the current test. */
  track<S extends { disconnect(): unknown }>(socket: S): S;
  /** A tracked socket connected to the app, with the admin's cookie unless `opts.cookie` says otherwise. */
  client(opts?: Parameters<typeof connectSocket>[1]): Promise<Socket>;
};

export type AppFixtureOptions = {
  /** Config keys over the test defaults (see startApp). */
  config?: Partial<Config>;
  /** App options: timings and the like. */
  app?: Omit<AppOptions, "log">;
};

/** Call at the top of a test file: starts the app in beforeAll, closes sockets afterEach, stops it afterAll. */
export function useApp(opts: AppFixtureOptions = {}): AppFixture {
  let app: TestApp | undefined;
  let cookie = "";
  let csrf = "";
  const open: { disconnect(): unknown }[] = [];
  const started = () => {
    if (!app) throw new Error("useApp: the app is started in beforeAll; read it inside a test or hook");
    return app;
  };
  beforeAll(async () => {
    app = await startApp(opts.config, undefined, opts.app);
    cookie = await login(app);
    csrf = csrfFrom((await getPage(app, "/settings", cookie)).text);
  });
  afterEach(() => {
    while (open.length) open.pop()!.disconnect();
  });
  afterAll(async () => {
    while (open.length) open.pop()!.disconnect();
    await app?.close();
  });
  const track = <S extends { disconnect(): unknown }>(socket: S) => {
    open.push(socket);
    return socket;
  };
  return {
    get app() {
      return started();
    },
    get cookie() {
      started();
      return cookie;
    },
    get csrf() {
      started();
      return csrf;
    },
    track,
    client: (o = {}) => connected(track(connectSocket(started(), { ...o, cookie: o.cookie ?? cookie }))),
  };
}
