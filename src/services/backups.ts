// Owns the daily backup: once the newest backup in backup_dir is a day old (looked at hourly, and soon after start), a
// new one is made there and all but the newest backup_keep are deleted. With several instances only the holder of the
// housekeeping lease backs up (`mine`). Nothing is held: the folder's file names say when each backup was made.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../log.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** A day less a little: a backup that took a while (or an hourly look that came early) does not skip a day. */
const DUE_AFTER_MS = DAY_MS - 30 * 60 * 1000;
const LOOK_EVERY_MS = 60 * 60 * 1000;
/** layerwatch-20261204T171500.123Z.db: sorts by time, and names only files this service made. */
const NAME = /^layerwatch-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z\.db$/;

export const backupName = (at: Date) => `layerwatch-${at.toISOString().replace(/[-:]/g, "")}.db`;

function madeAt(name: string): number | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms] = m.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms!);
}

export function createBackups(deps: {
  /** The folder, made if missing; backups are taken only when one is configured. */
  dir: string;
  keep: number;
  log: Logger;
  /** Makes a consistent copy of the database at this path (the engine's way: store/backup.ts). */
  backup: (path: string) => Promise<{ bytes: number; seconds: number }>;
  /** Is housekeeping this instance's to do now? Always, on one instance. */
  mine?: () => boolean;
}) {
  const { dir, keep, log } = deps;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<unknown> | undefined;
  let stopped = false;

  /** This service's backups in the folder, newest first. */
  function list(): { name: string; at: number }[] {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names
      .flatMap((name) => {
        const at = madeAt(name);
        return at === null ? [] : [{ name, at }];
      })
      .sort((a, b) => b.at - a.at);
  }

  /** Deletes all but the newest `keep` backups, and what an interrupted backup left. */
  function prune(): string[] {
    const gone = list()
      .slice(keep)
      .map((b) => b.name);
    for (const name of gone) rmSync(join(dir, name), { force: true });
    for (const name of readdirSync(dir))
      if (name.endsWith(".db.partial") && NAME.test(name.slice(0, -".partial".length)))
        rmSync(join(dir, name), { force: true });
    return gone;
  }

  /** Makes a backup now and prunes; resolves with its path. A failure is logged and leaves the older ones. */
  async function runOnce(now = new Date()): Promise<string | null> {
    const path = join(dir, backupName(now));
    try {
      mkdirSync(dir, { recursive: true });
      const made = await deps.backup(path);
      const pruned = prune();
      log.info("database backed up", {
        path,
        bytes: made.bytes,
        seconds: Math.round(made.seconds * 10) / 10,
        ...(pruned.length && { deleted: pruned.join(",") }),
      });
      return path;
    } catch (err) {
      log.error("the daily backup failed", { path, error: err as Error });
      return null;
    }
  }

  /** Backs up when the newest backup is a day old (or there is none) and housekeeping is this instance's. */
  async function look(now = Date.now()): Promise<string | null> {
    if (deps.mine?.() === false) return null;
    const newest = list()[0];
    if (newest && now - newest.at < DUE_AFTER_MS) return null;
    return runOnce(new Date(now));
  }

  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      running = look().finally(() => {
        if (!stopped) schedule(LOOK_EVERY_MS);
      });
    }, ms);
    timer.unref?.();
  };

  return {
    list,
    runOnce,
    look,
    start(firstDelayMs = 5 * 60 * 1000) {
      schedule(firstDelayMs);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

export type Backups = ReturnType<typeof createBackups>;
