// Owns the command line: flags and the init, copy-db, backup and restore commands, loading the config, starting the
// app (a reluctant JIT until it is up, one memory trim after), exit codes, and a graceful stop on signals.
import type { AppHandle } from "./app.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { writeInitialConfig } from "./init.ts";
import { createLogger } from "./log.ts";
import { StoreOpenError } from "./store/db.ts";
import { redactUrl } from "./urls.ts";
import { COMMIT, VERSION } from "./version.ts";

const HELP = `layerwatch ${VERSION}: live dashboard, JSON API and Socket.IO gateway for a 3D-printer timelapse rig

Usage: layerwatch [--config PATH] [--port N]
       layerwatch init [--config PATH]
       layerwatch copy-db SOURCE TARGET [--force] [--config PATH]
       layerwatch backup PATH [--force] [--config PATH]
       layerwatch restore PATH [--force] [--config PATH]
       layerwatch --version | --help

  init            write a new config.json with a random secret_key and admin password
  copy-db         copy every table between SQLite files and PostgreSQL (postgres:// URLs), either way;
                  see layerwatch copy-db --help
  backup          write a consistent copy of the database to PATH (an SQLite file) while the server runs
  restore         put a backup in place of the database of a stopped server; see layerwatch backup --help

  --config PATH   config file (default: ./config.json, else the built-in defaults)
  --port N        listen on port N (overrides the config and LAYERWATCH_PORT)

Every config key can be set by an environment variable LAYERWATCH_<KEY>, e.g. LAYERWATCH_PORT=8080.`;

type Flags = { config?: string; port?: number; help?: boolean; version?: boolean; init?: boolean };

function parseFlags(argv: string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new ConfigError(`${name} needs a value`);
      return v;
    };
    if (name === "init" && i === 0) flags.init = true;
    else if (name === "--help" || name === "-h") flags.help = true;
    else if (name === "--version" || name === "-v") flags.version = true;
    else if (name === "--config" || name === "-c") flags.config = value();
    else if (name === "--port" || name === "-p") {
      const v = value();
      if (!/^\d{1,5}$/.test(v) || Number(v) > 65535)
        throw new ConfigError(`--port must be a number 0..65535, got "${v}"`);
      flags.port = Number(v);
    } else throw new ConfigError(`unknown argument "${arg}" (see --help)`);
  }
  return flags;
}

async function main(): Promise<number> {
  // Hidden, for the binary test: see src/probe-engines.ts.
  if (process.argv[2] === "probe-engines") {
    const { probeEngines } = await import("./probe-engines.ts");
    const result = await probeEngines(process.argv[3] ?? "", process.argv[4] ?? "");
    console.log(JSON.stringify(result));
    return result.ok ? 0 : 1;
  }
  // Hidden, for the binary test: the backup worker thread (its own entry point) is in the binary and runs.
  if (process.argv[2] === "probe-backup") {
    const { backupSqliteInWorker } = await import("./store/backup.ts");
    console.log(
      JSON.stringify({ ok: true, ...(await backupSqliteInWorker(process.argv[3] ?? "", process.argv[4] ?? "")) }),
    );
    return 0;
  }
  if (process.argv[2] === "backup" || process.argv[2] === "restore") {
    const { backupCommand } = await import("./backup-command.ts");
    return backupCommand(process.argv[2], process.argv.slice(3));
  }
  if (process.argv[2] === "copy-db") {
    const { copyDbCommand } = await import("./copy-db.ts");
    return copyDbCommand(process.argv.slice(3));
  }
  const flags = parseFlags(process.argv.slice(2));
  if (flags.help) {
    console.log(HELP);
    return 0;
  }
  if (flags.version) {
    console.log(`layerwatch ${VERSION} (${COMMIT})`);
    return 0;
  }
  if (flags.init) {
    const path = flags.config ?? "config.json";
    const made = writeInitialConfig(path);
    if (!made.ok) {
      console.error(`layerwatch: ${made.error}`);
      return 2;
    }
    console.log(
      `wrote ${path}\nadmin user: admin\nadmin password: ${made.password}\n` +
        "(shown once: note it now; change it later in Settings)",
    );
    return 0;
  }

  const log = createLogger();
  // Handlers go in before anything starts, so a signal during start-up is not a hard kill.
  let app: AppHandle | undefined;
  let stopping = false;
  let stopTrimming = () => {};
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    stopTrimming();
    const force = setTimeout(() => process.exit(1), 5000);
    await app?.stop();
    clearTimeout(force);
    log.info("stopped cleanly");
    finish(0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));

  const loaded = await loadConfig({
    path: flags.config,
    overrides: flags.port === undefined ? {} : { port: flags.port },
  });
  for (const w of loaded.warnings) log.warn(`!!! ${w}`);
  // Loaded here, not at the top: --help, --version and init must work even where the native addon cannot.
  // Start-up code runs once: the JIT is kept from compiling it (memory for nothing) until the app is up.
  Bun.unsafe.setJITPolicy(STARTUP_JIT_POLICY);
  const { createApp } = await loadApp();
  app = await createApp(loaded.config, { log });
  Bun.unsafe.setJITPolicy(1);
  stopTrimming = trimMemory(app);
  log.info("layerwatch listening", {
    url: app.url,
    version: VERSION,
    config: loaded.origin,
    database: loaded.config.database_url ? redactUrl(loaded.config.database_url) : loaded.config.database_uri,
    timezone: loaded.config.timezone,
  });
  if (stopping) await app.stop();
  return -1;
}

/** How much more reluctant the JIT is during start-up (see Bun.unsafe.setJITPolicy). */
const STARTUP_JIT_POLICY = 20;
/**
 * Start-up leaves garbage behind (module evaluation, migrations, the first requests): 2 s after start a full
 * collection, then the JavaScript and malloc heaps and SQLite's page cache give back what is free. Once only:
 * Bun.shrink() also drops compiled code, which then costs CPU to compile again.
 */
function trimMemory(app: AppHandle) {
  const timer = setTimeout(() => {
    Bun.gc(true);
    Bun.shrink();
    app.shrinkMemory();
  }, 2000).unref();
  return () => clearTimeout(timer);
}

/** A native addon that fails to load says "npm has a bug"; in the binary it means TMPDIR is unusable. */
class AddonError extends Error {}

async function loadApp() {
  try {
    return await import("./app.ts");
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (!/native binding|\.node|dlopen/i.test(message)) throw err;
    const tmp = process.env.TMPDIR || "/tmp";
    throw new AddonError(
      `cannot load the bcrypt native addon. A compiled layerwatch unpacks it to TMPDIR (${tmp}) at start: ` +
        "that folder must exist, be writable and allow exec (no noexec mount). " +
        `(${message.split(".")[0]})`,
    );
  }
}

/** Ends the process after stdout/stderr drain: process.exit() right away can lose piped output. */
function finish(code: number) {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 500).unref();
}

main().then(
  (code) => {
    if (code >= 0) finish(code);
  },
  (err) => {
    if (err instanceof AddonError) {
      console.error(`layerwatch: ${err.message}`);
      return finish(5);
    }
    if (err instanceof ConfigError || err instanceof StoreOpenError) {
      console.error(`layerwatch: ${err.message}`);
      return finish(err instanceof ConfigError ? 2 : 3);
    }
    if ((err as { code?: string })?.code === "EADDRINUSE") {
      console.error(`layerwatch: the port is already in use (${(err as Error).message})`);
      return finish(4);
    }
    console.error("layerwatch: failed to start:", err);
    finish(1);
  },
);
