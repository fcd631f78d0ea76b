// Throwaway PostgreSQL, Redis and MQTT (mosquitto) servers for tests: each started on a free 127.0.0.1 port in a temp dir, stopped
// after, and killed with this process however it ends (exit handler, and the kernel's parent-death signal).
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SQL, type Subprocess } from "bun";

export type PostgresServer = {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: trust auth, superuser. */
  url: string;
  port: number;
  /** A new, empty database (on the same server) for one test file or test; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server and starts it again on the same port and data, after `downMs` (a fault test's outage). */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
  startedMs: number;
  /** The postmaster's pid (its backends are its children): for a benchmark's CPU accounting. */
  readonly pid: number;
};

export type RedisServer = {
  /** `redis://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Stops the server and starts it again on the same port after `downMs` (its keys are gone: no persistence). */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
  startedMs: number;
};

/** Every server this process started and has not stopped: killed when the process exits. */
type Running = { proc: Subprocess; dir: string; exitSignal: NodeJS.Signals };
const running = new Set<Running>();
process.on("exit", () => {
  for (const r of running) {
    r.proc.kill(r.exitSignal);
    rmSync(r.dir, { recursive: true, force: true });
  }
});

/** A temp dir named for this process, after removing those of test processes that died without cleaning up. */
function serverDir(kind: "pg" | "redis" | "mosquitto"): string {
  const prefix = `layerwatch-${kind}-`;
  for (const name of readdirSync(tmpdir())) {
    const owner = Number(/^layerwatch-(?:pg|redis|mosquitto)-(\d+)-/.exec(name)?.[1]);
    if (!owner || owner === process.pid) continue;
    try {
      process.kill(owner, 0);
    } catch (err) {
      if ((err as { code?: string }).code === "ESRCH") rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
  return mkdtempSync(join(tmpdir(), `${prefix}${process.pid}-`));
}

/**
 * Debian's own binaries first (/usr/lib/postgresql/<newest>/bin): an initdb elsewhere on PATH may belong to
 * another install. Then pg_config's bindir, then PATH.
 */
export function postgresBinDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length) return join(root, versions[0]!, "bin");
  const pgConfig = Bun.which("pg_config") && Bun.spawnSync(["pg_config", "--bindir"]).stdout.toString().trim();
  if (pgConfig && existsSync(join(pgConfig, "initdb"))) return pgConfig;
  const initdb = Bun.which("initdb");
  if (initdb) return join(initdb, "..");
  throw new Error("PostgreSQL is not installed: make test installs Debian's postgresql (make system-deps)");
}

const isRoot = process.getuid?.() === 0;

/**
 * As root, PostgreSQL refuses to run: drop to the `postgres` user. setpriv execs (no extra process to kill), and
 * --pdeathsig makes the kernel signal the server when this process dies, even by SIGKILL.
 */
function wrap(cmd: string[], deathSignal: string): string[] {
  const setpriv = Bun.which("setpriv");
  if (!setpriv) return cmd;
  const user = isRoot ? ["--reuid=postgres", "--regid=postgres", "--init-groups"] : [];
  return [setpriv, `--pdeathsig=${deathSignal}`, ...user, ...cmd];
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(Bun.spawnSync(["id", flag, "postgres"]).stdout.toString().trim());
  return { uid: id("-u"), gid: id("-g") };
}

/** A port nobody listens on right now (another process may take it first: callers retry). */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** Spawns a server and resolves once its log shows `ready`; rejects with the log if it exits first. */
async function spawnUntil(cmd: string[], ready: RegExp, timeoutMs = 20000): Promise<{ proc: Subprocess; log: string }> {
  const proc = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  let log = "";
  let resolveReady: () => void = () => {};
  const isReady = new Promise<void>((r) => {
    resolveReady = r;
  });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      log += decoder.decode(value, { stream: true });
      if (ready.test(log)) resolveReady();
    }
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  let timer: Timer | undefined;
  const outcome = await Promise.race([
    isReady.then(() => "ready" as const),
    proc.exited.then(() => "exited" as const),
    new Promise<"timeout">((r) => {
      timer = setTimeout(() => r("timeout"), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome === "ready") return { proc, log };
  proc.kill("SIGKILL");
  throw new Error(`${cmd.join(" ")}: ${outcome === "exited" ? `exited ${proc.exitCode}` : "not ready"}\n${log}`);
}

/** Starts on a free port, trying again with another when the chosen one was taken meanwhile. */
async function onFreePort(start: (port: number) => Promise<Subprocess>): Promise<{ proc: Subprocess; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const port = freePort();
    try {
      return { proc: await start(port), port };
    } catch (err) {
      if (attempt >= 5 || !/in use|could not bind|Address already/i.test(String(err))) throw err;
    }
  }
}

async function stopProcess(proc: Subprocess, signal: NodeJS.Signals, graceMs = 5000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

/**
 * One started server: on a free port (or the one given), stopped when the tests' process exits, restartable on the
 * same port after an outage, and gone with its dir on stop.
 */
async function supervise(
  dir: string,
  launch: (port: number) => Promise<Subprocess>,
  signals: { exit: NodeJS.Signals; stop: NodeJS.Signals },
  fixedPort?: number,
) {
  let entry: Running;
  let port: number;
  try {
    const started = fixedPort ? { proc: await launch(fixedPort), port: fixedPort } : await onFreePort(launch);
    port = started.port;
    entry = { proc: started.proc, dir, exitSignal: signals.exit };
    running.add(entry);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    pid: () => entry.proc.pid,
    async restart(downMs = 0) {
      await stopProcess(entry.proc, signals.stop);
      if (downMs) await Bun.sleep(downMs);
      entry.proc = await launch(port);
    },
    async stop() {
      await stopProcess(entry.proc, signals.stop);
      running.delete(entry);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * initdb into a temp dir (as `postgres` when root), then a server with trust auth on 127.0.0.1:<free port> and
 * its socket in the same dir. No fsync: a test cluster is thrown away. `durable` (for a benchmark) keeps fsync,
 * synchronous_commit and full_page_writes on, PostgreSQL's defaults, so commits cost what they do in production.
 */
export async function startPostgres(opts: { durable?: boolean } = {}): Promise<PostgresServer> {
  const t0 = performance.now();
  const bin = postgresBinDir();
  const dir = serverDir("pg");
  if (isRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const data = join(dir, "data");
  const fast = opts.durable ? ["--no-instructions"] : ["--no-sync", "--no-instructions"];
  const init = Bun.spawnSync(
    wrap(
      [join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", ...fast],
      "SIGKILL",
    ),
    { stdout: "pipe", stderr: "pipe" },
  );
  if (init.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.exitCode}): ${init.stderr.toString()}`);
  }
  const settings = opts.durable
    ? ["max_connections=200"]
    : ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200"];
  const launch = async (port: number) =>
    (
      await spawnUntil(
        wrap(
          [join(bin, "postgres"), "-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1"].concat(
            settings.flatMap((s) => ["-c", s]),
          ),
          "SIGQUIT",
        ),
        /ready to accept connections/,
      )
    ).proc;
  // Immediate shutdown when the tests' process exits: the postmaster takes its backends down with it (SIGKILL would
  // orphan them); a fast one (clients told) on stop and restart.
  const server = await supervise(dir, launch, { exit: "SIGQUIT", stop: "SIGINT" });
  const port = server.port;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let made = 0;
  return {
    url,
    port,
    startedMs: performance.now() - t0,
    get pid() {
      return server.pid();
    },
    async createDatabase(name = `lw_${process.pid}_${++made}_${Date.now().toString(36)}`) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const admin = new SQL(url, { max: 1 });
      try {
        await admin.unsafe(`CREATE DATABASE ${name}`);
      } finally {
        await admin.close();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    restart: server.restart,
    stop: server.stop,
  };
}

/** redis-server on 127.0.0.1:<free port>, no persistence, its dir a temp dir. */
export async function startRedis(): Promise<RedisServer> {
  const t0 = performance.now();
  const bin = Bun.which("redis-server") ?? "/usr/bin/redis-server";
  if (!existsSync(bin)) throw new Error("redis-server is not installed: make test installs it (make system-deps)");
  const dir = serverDir("redis");
  const launch = async (port: number) =>
    (
      await spawnUntil(
        [
          ...(Bun.which("setpriv") ? [Bun.which("setpriv")!, "--pdeathsig=SIGKILL"] : []),
          bin,
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir,
          "--protected-mode",
          "no",
          "--daemonize",
          "no",
        ],
        /Ready to accept connections/,
      )
    ).proc;
  const server = await supervise(dir, launch, { exit: "SIGKILL", stop: "SIGTERM" });
  return {
    url: `redis://127.0.0.1:${server.port}`,
    port: server.port,
    startedMs: performance.now() - t0,
    restart: server.restart,
    stop: server.stop,
  };
}

export type MosquittoServer = {
  /** `mqtt://127.0.0.1:<port>` (`mqtts://localhost:<port>` with TLS), with `user:password@` given a password file. */
  url: string;
  port: number;
  /** Stops the broker and starts it again on the same port after `downMs` (retained messages are gone). */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
};

/**
 * Debian's mosquitto on 127.0.0.1:<free port>, no persistence, from a config file written here. `user` makes a
 * password file with that one user (anonymous clients refused); without it anyone may connect. `tls`: the
 * listener speaks TLS only, with that certificate.
 */
export async function startMosquitto(
  opts: { user?: { name: string; password: string }; port?: number; tls?: { cert: string; key: string } } = {},
): Promise<MosquittoServer> {
  const bin = Bun.which("mosquitto") ?? "/usr/sbin/mosquitto";
  if (!existsSync(bin)) throw new Error("mosquitto is not installed: make test installs it (make system-deps)");
  const dir = serverDir("mosquitto");
  const lines = [
    "persistence false",
    "log_dest stderr",
    "log_type error",
    "log_type warning",
    "log_type notice",
    "log_type information",
  ];
  // As root it would switch to the `mosquitto` user, who cannot read this temp dir.
  if (isRoot) lines.push("user root");
  if (opts.user) {
    const passwords = join(dir, "passwords");
    await Bun.write(passwords, "");
    const made = Bun.spawnSync(["mosquitto_passwd", "-b", passwords, opts.user.name, opts.user.password], {
      stdout: "pipe",
      stderr: "pipe",
    });
    if (made.exitCode !== 0) throw new Error(`mosquitto_passwd failed: ${made.stderr.toString()}`);
    chmodSync(passwords, 0o600);
    lines.push("allow_anonymous false", `password_file ${passwords}`);
  } else lines.push("allow_anonymous true");
  if (opts.tls) {
    await Bun.write(join(dir, "cert.pem"), opts.tls.cert);
    await Bun.write(join(dir, "key.pem"), opts.tls.key);
    lines.push(`certfile ${join(dir, "cert.pem")}`, `keyfile ${join(dir, "key.pem")}`);
  }
  const launch = async (port: number) => {
    const conf = join(dir, "mosquitto.conf");
    await Bun.write(conf, [`listener ${port} 127.0.0.1`, ...lines, ""].join("\n"));
    const cmd = [...(Bun.which("setpriv") ? [Bun.which("setpriv")!, "--pdeathsig=SIGKILL"] : []), bin, "-c", conf];
    // A taken port: mosquitto logs "Address already in use" and exits, and onFreePort tries another.
    return (await spawnUntil(cmd, /mosquitto version \S+ running/)).proc;
  };
  const server = await supervise(dir, launch, { exit: "SIGKILL", stop: "SIGTERM" }, opts.port);
  const { port } = server;
  const auth = opts.user ? `${encodeURIComponent(opts.user.name)}:${encodeURIComponent(opts.user.password)}@` : "";
  return {
    url: opts.tls ? `mqtts://${auth}localhost:${port}` : `mqtt://${auth}127.0.0.1:${port}`,
    port,
    restart: server.restart,
    stop: server.stop,
  };
}
