// The per-file app fixture: one real app on port 0 (SQLite file in a temp dir) for a test file, logged in,
// with the sockets a test opens closed after it and the app and its temp dir removed after the file. And the
// per-file instances fixture: several apps sharing one throwaway PostgreSQL (and Redis), all gone after the file.

import { afterAll, afterEach, beforeAll } from "bun:test";
import { rmSync } from "node:fs";
import type { Socket } from "socket.io-client";
import type { AppOptions } from "../src/app.ts";
import type { Config } from "../src/config.ts";
import { connected, connectSocket, csrfFrom, getPage, login, startApp, type TestApp, tempDir } from "./helpers.ts";
import { type PostgresServer, type RedisServer, startPostgres, startRedis } from "./servers.ts";

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

/** What a test file hands `useCleanup`: each is run after the current test, the last pushed first. */
export type Cleanup = { push(...fns: (() => unknown)[]): void };

/**
 * Call at the top of a test file whose tests start their own servers, fakes or sockets: what a test pushes is
 * stopped after it (and anything pushed outside a test, after the file), the last pushed first.
 */
export function useCleanup(): Cleanup {
  const fns: (() => unknown)[] = [];
  const run = async () => {
    for (const fn of fns.splice(0).reverse()) await fn();
  };
  afterEach(run);
  afterAll(run);
  return { push: (...more) => void fns.push(...more) };
}

export type InstancesFixture = {
  /** The PostgreSQL server the instances share (started in beforeAll). */
  readonly pg: PostgresServer;
  /** The Redis server joining them (started in beforeAll when `useInstances({ redis: true })`). */
  readonly redis: RedisServer;
  /** A temp dir, removed after the file. */
  dir(): string;
  /** Runs `fn` after the file, before the servers stop; the last one registered runs first. */
  atEnd(fn: () => unknown): void;
  /** An app on `config` in a temp dir of its own, stopped after the file. */
  instance(config: Partial<Config>, opts?: Omit<AppOptions, "log">): Promise<TestApp>;
};

/**
 * Call at the top of a test file whose instances share one PostgreSQL (and, with `redis`, one Redis): starts the
 * servers in beforeAll; after the file runs what `atEnd` was given (instances stop first), stops the servers and
 * removes the temp dirs.
 */
export function useInstances(opts: { redis?: boolean } = {}): InstancesFixture {
  let pg: PostgresServer | undefined;
  let redis: RedisServer | undefined;
  const dirs: string[] = [];
  const cleanups: (() => unknown)[] = [];
  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPostgres(), opts.redis ? startRedis() : undefined]);
  }, 60_000);
  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await Promise.all([redis?.stop(), pg?.stop()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const dir = () => {
    const d = tempDir();
    dirs.push(d);
    return d;
  };
  const atEnd = (fn: () => unknown) => void cleanups.push(fn);
  return {
    get pg() {
      if (!pg) throw new Error("useInstances: PostgreSQL is started in beforeAll; read it inside a test or hook");
      return pg;
    },
    get redis() {
      if (!redis) throw new Error("useInstances: Redis is started in beforeAll when asked for ({ redis: true })");
      return redis;
    },
    dir,
    atEnd,
    async instance(config, appOpts = {}) {
      const app = await startApp(config, dir(), appOpts);
      atEnd(() => app.stop());
      return app;
    },
  };
}
