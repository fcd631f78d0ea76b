// Owns the `layerwatch copy-db SOURCE TARGET [--force]` command: its arguments, progress on stderr, the table of
// counts on stdout, and its exit codes (the copy itself is src/store/copy.ts).
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./log.ts";
import { CopyError, copyDatabase, isPostgresUrl } from "./store/copy.ts";
import { redactUrl } from "./urls.ts";

export const COPY_DB_USAGE = `Usage: layerwatch copy-db SOURCE TARGET [--force] [--config PATH] [--batch-rows N]

  Copies every table (users, sessions, readings, frames, printers, jobs, notifications, ...) from SOURCE to
  TARGET, each an SQLite file path or a postgres://user:password@host:port/database URL. The target gets the
  schema by the usual migrations. An old server's SQLite database is upgraded first, as starting layerwatch
  does; any other source must be at this version's schema (start this layerwatch on it once).
  The time zone for that upgrade comes from the config (--config PATH, else ./config.json).

  --force            replace everything in a target that already holds data
  --batch-rows N     rows per batch (default 5000; tables of images take at most 64)

  Exit codes: 0 copied and the row counts match, 1 the counts differ or the copy failed, 2 wrong arguments,
  3 a database cannot be opened, reached or used, 4 the target holds data (no --force) or is the source.`;

/** Runs the command; returns the exit code. `argv` is what follows "copy-db". */
export async function copyDbCommand(argv: string[]): Promise<number> {
  const positional: string[] = [];
  let force = false;
  let config: string | undefined;
  let batchRows: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--force") force = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(COPY_DB_USAGE);
      return 0;
    } else if (arg === "--config" || arg === "-c") config = argv[++i];
    else if (arg.startsWith("--config=")) config = arg.slice("--config=".length);
    else if (arg === "--batch-rows") {
      const v = argv[++i] ?? "";
      if (!/^\d{1,6}$/.test(v) || Number(v) < 1) return usage(`--batch-rows must be a whole number 1..999999`);
      batchRows = Number(v);
    } else if (arg.startsWith("-")) return usage(`unknown argument "${arg}"`);
    else positional.push(arg);
  }
  if (positional.length !== 2) return usage("copy-db needs a SOURCE and a TARGET");
  const [source, target] = positional as [string, string];

  let zone: string;
  try {
    zone = (await loadConfig({ path: config })).config.timezone;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`layerwatch copy-db: ${err.message}`);
    return 2;
  }
  const log = createLogger();
  const show = (s: string) => (isPostgresUrl(s) ? redactUrl(s) : s);
  process.stderr.write(`copying ${show(source)} → ${show(target)}\n`);
  try {
    const result = await copyDatabase(source, target, {
      force,
      zone,
      log,
      batchRows,
      progress: (line) => process.stderr.write(`  ${line}\n`),
    });
    for (const s of result.skipped) process.stderr.write(`not copied (not part of the schema): ${s}\n`);
    const width = Math.max(5, ...result.counts.map((c) => c.table.length));
    const lines = [`${"table".padEnd(width)}  ${"source".padStart(10)}  ${"target".padStart(10)}`];
    for (const c of result.counts)
      lines.push(
        `${c.table.padEnd(width)}  ${String(c.source).padStart(10)}  ${String(c.target).padStart(10)}` +
          (c.source === c.target ? "" : "  DIFFERS"),
      );
    console.log(lines.join("\n"));
    if (result.match) {
      console.log(`counts match (${result.seconds.toFixed(1)} s)`);
      return 0;
    }
    const differ = result.counts.filter((c) => c.source !== c.target).map((c) => c.table);
    console.log(`counts differ: ${differ.join(", ")}`);
    return 1;
  } catch (err) {
    if (err instanceof CopyError) {
      console.error(`layerwatch copy-db: ${err.message}`);
      return err.code;
    }
    throw err;
  }
}

function usage(problem: string): number {
  console.error(`layerwatch copy-db: ${problem}\n\n${COPY_DB_USAGE}`);
  return 2;
}
