// Owns the `layerwatch backup PATH` and `layerwatch restore PATH` commands: their arguments, the config they share with
// the server (file and LAYERWATCH_<KEY> env), one line of outcome, and exit codes (the work is src/store/backup.ts).
import { existsSync } from "node:fs";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { BackupError, backupPostgres, backupSqliteFile, restorePostgres, restoreSqlite } from "./store/backup.ts";
import { redactUrl } from "./urls.ts";

export const BACKUP_USAGE = `Usage: layerwatch backup PATH [--force] [--config PATH]
       layerwatch restore PATH [--force] [--config PATH]

  backup    writes a consistent copy of the database the config names (database_uri, or database_url) to PATH, an
            SQLite file, while the server runs: SQLite by VACUUM INTO (one snapshot; writers never wait), PostgreSQL
            copied into SQLite. The copy passes PRAGMA integrity_check before it takes its name.
  restore   puts the backup PATH (an SQLite file) in place of the config's database. Refused while a layerwatch
            server has that database open: stop it first. SQLite: the database it replaces is kept beside it as
            <database>.before-restore-<time>. PostgreSQL: the backup is copied in (as copy-db; --force to replace
            a database that holds data).

  --config PATH   the server's config file (default ./config.json); LAYERWATCH_<KEY> variables apply as for the server
  --force         backup: replace an existing PATH; restore (PostgreSQL): replace the data there

  Exit codes: 0 done, 1 failed, 2 wrong arguments or config, 3 a database or file cannot be opened or used,
  4 refused (PATH exists without --force, or a server is running on the database).`;

/** Runs `backup` or `restore`; returns the exit code. `argv` is what follows the command's name. */
export async function backupCommand(command: "backup" | "restore", argv: string[]): Promise<number> {
  const positional: string[] = [];
  let force = false;
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--force") force = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(BACKUP_USAGE);
      return 0;
    } else if (arg === "--config" || arg === "-c") config = argv[++i];
    else if (arg.startsWith("--config=")) config = arg.slice("--config=".length);
    else if (arg.startsWith("-")) return usage(command, `unknown argument "${arg}"`);
    else positional.push(arg);
  }
  if (positional.length !== 1) return usage(command, `${command} needs one PATH`);
  const path = positional[0]!;

  let loaded: Awaited<ReturnType<typeof loadConfig>>["config"];
  try {
    loaded = (await loadConfig({ path: config })).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`layerwatch ${command}: ${err.message}`);
    return 2;
  }
  const log = createLogger({ quiet: true });
  const database = loaded.database_url ? redactUrl(loaded.database_url) : loaded.database_uri;
  try {
    if (command === "backup") {
      if (existsSync(path) && !force) {
        console.error(`layerwatch backup: ${path} exists; choose another path or add --force to replace it`);
        return 4;
      }
      const made = loaded.database_url
        ? await backupPostgres(loaded.database_url, path, { zone: loaded.timezone, log })
        : backupSqliteFile(loaded.database_uri, path);
      console.log(
        `backed up ${database} to ${path} (${(made.bytes / 1048576).toFixed(1)} MiB, ${made.seconds.toFixed(1)} s)`,
      );
      return 0;
    }
    if (loaded.database_url) {
      await restorePostgres(path, loaded.database_url, {
        zone: loaded.timezone,
        log,
        force,
        progress: (line) => process.stderr.write(`  ${line}\n`),
      });
      console.log(`restored ${path} into ${database}`);
    } else {
      const { keptAs } = restoreSqlite(path, loaded.database_uri);
      const kept = keptAs ? `; the database it replaced is kept as ${keptAs}` : "";
      console.log(`restored ${path} to ${database}${kept}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof BackupError) {
      console.error(`layerwatch ${command}: ${err.message}`);
      return err.code;
    }
    throw err;
  }
}

function usage(command: string, problem: string): number {
  console.error(`layerwatch ${command}: ${problem}\n\n${BACKUP_USAGE}`);
  return 2;
}
