// Owns Spoolman (spoolman_url): listing its spools for the AMS view, linking a tray to one, and reporting the
// filament each ended print used per linked tray with PUT /api/v1/spool/{id}/use {"use_weight": g}. Grams come
// from the print's library plate (per filament, through ams_mapping; scaled by the layers done when the print did
// not finish) and otherwise from the tray's remain % drop during the print × the spool's net weight. Each use is
// kept in the store before it is sent and sent until Spoolman takes it: Spoolman down delays it, never loses it,
// and never holds up a print or a page. A use Spoolman refuses for good (a 4xx such as 404 for a spool deleted
// there) is marked refused instead: no longer retried, listed in Settings until an admin tries it again.

import type { AmsState } from "../bambu-ams.ts";
import type { EventBus } from "../events.ts";
import type { Logger } from "../log.ts";
import type { FilamentFacts } from "../print-stats.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { JobRow } from "../store/jobs.ts";
import type { SpoolLinkRow, SpoolUseRow, UseSource } from "../store/store.ts";

/** A spool as the AMS view shows it (from Spoolman's Spool model). */
export type Spool = {
  id: number;
  name: string;
  material: string | null;
  vendor: string | null;
  /** #RRGGBB, or null. */
  color: string | null;
  remaining_weight: number | null;
  /** Net filament weight of the full spool (initial_weight, else the filament type's weight); null unknown. */
  net_weight: number | null;
};

export class SpoolmanError extends Error {
  constructor(
    message: string,
    /** Worth trying again later (Spoolman unreachable or failing), not a refusal of this request. */
    readonly transient: boolean,
  ) {
    super(message);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const text = (v: unknown) => (typeof v === "string" && v.trim() ? v.trim() : null);

/** One spool from Spoolman's JSON; null when it is not one. */
export function spoolOf(raw: unknown): Spool | null {
  if (!isObj(raw) || num(raw.id) === null) return null;
  const filament = isObj(raw.filament) ? raw.filament : {};
  const vendor = isObj(filament.vendor) ? text(filament.vendor.name) : null;
  const hex = text(filament.color_hex);
  return {
    id: num(raw.id)!,
    name: text(filament.name) ?? `#${raw.id}`,
    material: text(filament.material),
    vendor,
    color: hex && /^#?[0-9a-f]{6}/i.test(hex) ? `#${hex.replace("#", "").slice(0, 6).toUpperCase()}` : null,
    remaining_weight: num(raw.remaining_weight),
    net_weight: num(raw.initial_weight) ?? num(filament.weight),
  };
}

/** The server part of the URL only: a user:password in spoolman_url never reaches a log or a page. */
const shown = (url: string) => url.replace(/^([a-z]+:\/\/)[^@/]*@/i, "$1");

export function spoolmanClient(baseUrl: string, timeoutMs = 5000) {
  const root = baseUrl.replace(/\/+$/, "");
  async function call(method: string, path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${root}${path}`, {
        method,
        headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "error",
      });
    } catch (err) {
      throw new SpoolmanError(`Spoolman at ${shown(root)} did not answer: ${(err as Error).message}`, true);
    }
    const answer = await res.text().catch(() => "");
    if (!res.ok) {
      let message = answer.slice(0, 200);
      try {
        message = String((JSON.parse(answer) as { message?: unknown }).message ?? message);
      } catch {}
      // 408 and 429 say "not now"; any other 4xx refuses this request as it stands, so asking again cannot help.
      const transient = res.status >= 500 || res.status === 408 || res.status === 429;
      throw new SpoolmanError(`Spoolman answered ${res.status}: ${message}`, transient);
    }
    try {
      return JSON.parse(answer);
    } catch {
      throw new SpoolmanError("Spoolman's answer was not JSON", true);
    }
  }
  return {
    /** The spools not archived. */
    async spools(): Promise<Spool[]> {
      const list = await call("GET", "/api/v1/spool");
      if (!Array.isArray(list)) throw new SpoolmanError("Spoolman's spool list was not a list", true);
      return list.map(spoolOf).filter((s): s is Spool => s !== null);
    },
    async spool(id: number): Promise<Spool> {
      const s = spoolOf(await call("GET", `/api/v1/spool/${id}`));
      if (!s) throw new SpoolmanError("Spoolman's spool was not a spool", true);
      return s;
    },
    use: async (id: number, grams: number) =>
      void (await call("PUT", `/api/v1/spool/${id}/use`, { use_weight: grams })),
  };
}

/** A use to report: grams of one linked tray's spool. */
export type TrayUse = { tray: number; spool_id: number; grams: number; source: UseSource };

/**
 * What an ended print used from each linked tray. Plate grams per filament go to the tray ams_mapping gave it (all
 * of them for a finished print, the share of layers done otherwise); a linked tray the plate says nothing of (or
 * when the share is unknown) counts its remain % drop since the print started × the spool's net weight.
 */
export function usesOf(input: {
  job: Pick<JobRow, "outcome" | "layer" | "total_layers">;
  facts: FilamentFacts;
  links: Pick<SpoolLinkRow, "tray" | "spool_id" | "spool_grams">[];
  /** Remain % per tray when the print started and now; a tray missing from either has no drop. */
  remainAtStart: Map<number, number>;
  remainNow: Map<number, number>;
}): TrayUse[] {
  const { job, facts } = input;
  const share =
    job.outcome === "finished"
      ? 1
      : job.layer !== null && job.total_layers
        ? Math.min(1, Math.max(0, job.layer / job.total_layers))
        : null;
  const out = new Map<number, TrayUse>();
  for (const link of input.links) {
    let grams = 0;
    let fromPlate = false;
    if (facts.plate && share !== null)
      facts.plate.filaments.forEach((f, i) => {
        if (facts.plate!.ams_mapping[i] !== link.tray || f.grams === null) return;
        fromPlate = true;
        grams += f.grams * share;
      });
    if (fromPlate) {
      if (grams > 0) out.set(link.tray, { tray: link.tray, spool_id: link.spool_id, grams, source: "plate" });
      continue;
    }
    const before = input.remainAtStart.get(link.tray);
    const after = input.remainNow.get(link.tray);
    if (before === undefined || after === undefined || link.spool_grams === null || after >= before) continue;
    grams = ((before - after) / 100) * link.spool_grams;
    out.set(link.tray, { tray: link.tray, spool_id: link.spool_id, grams, source: "remain" });
  }
  return [...out.values()].map((u) => ({ ...u, grams: Math.round(u.grams * 100) / 100 })).filter((u) => u.grams > 0);
}

/** Remain % of every tray that knows it. */
export function remainsOf(ams: AmsState | null | undefined): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of [...(ams?.units.flatMap((u) => u.trays) ?? []), ...(ams?.external ?? [])])
    if (t.remain !== null) out.set(t.id, t.remain);
  return out;
}

export type SpoolmanTimings = { retryMs: number; timeoutMs: number };
export const DEFAULT_SPOOLMAN_TIMINGS: SpoolmanTimings = { retryMs: 60_000, timeoutMs: 5000 };

export function createSpoolman(deps: {
  url: string;
  store: AsyncStore;
  events: EventBus;
  log: Logger;
  /** The printer's AMS as held now. */
  amsOf: (printerId: number) => AmsState | null;
  timings?: Partial<SpoolmanTimings>;
}) {
  const { store, log } = deps;
  const timings = { ...DEFAULT_SPOOLMAN_TIMINGS, ...deps.timings };
  const client = spoolmanClient(deps.url, timings.timeoutMs);
  // Each running print's tray remains when it started (for uses from the remain drop).
  const atStart = new Map<number, Map<number, number>>();
  let reporting = false;
  let flushing: Promise<void> | null = null;
  let timer: ReturnType<typeof setInterval> | null = null;

  /**
   * Sends what Spoolman has not taken yet, oldest first; stops at the first sign that it is down. A use it refuses
   * for good is marked refused, so it cannot hold up newer ones, and the rest go on.
   */
  function flush(): Promise<void> {
    if (!reporting) return Promise.resolve();
    flushing ??= (async () => {
      for (const u of await store.spoolman.pending(100)) {
        try {
          await client.use(u.spool_id, u.grams);
          await store.spoolman.reported(u.id, Date.now());
          log.info("filament use reported to Spoolman", { job: u.job_id, spool: u.spool_id, grams: u.grams });
        } catch (err) {
          const e = err as SpoolmanError;
          if (e.transient === false) {
            await store.spoolman.refused(u.id, e.message, Date.now());
            log.warn("Spoolman refused a filament use: kept, and not sent again until an admin tries it again", {
              job: u.job_id,
              spool: u.spool_id,
              error: e.message,
            });
            continue;
          }
          await store.spoolman.failed(u.id, e.message);
          // Logged the first time; the row keeps the newest error for Settings and the API.
          if (u.attempts === 0)
            log.warn("Spoolman did not take a filament use: kept, and tried again later", {
              job: u.job_id,
              spool: u.spool_id,
              error: e.message,
            });
          break;
        }
      }
    })()
      .catch((err) => log.error("reporting to Spoolman failed", { error: err as Error }))
      .finally(() => {
        flushing = null;
      });
    return flushing;
  }

  async function jobEnded(job: JobRow) {
    const start = atStart.get(job.id) ?? new Map<number, number>();
    atStart.delete(job.id);
    const links = await store.spoolman.links(job.printer_id);
    if (!links.length) return;
    const facts = await store.stats.filamentFacts(job.id);
    const uses = usesOf({ job, facts, links, remainAtStart: start, remainNow: remainsOf(deps.amsOf(job.printer_id)) });
    for (const u of uses)
      await store.spoolman.addUse({ job_id: job.id, printer_id: job.printer_id, created_at: Date.now(), ...u });
    if (uses.length) await flush();
  }

  deps.events.on("job", ({ kind, job }) => {
    if (kind === "started") {
      atStart.set(job.id, remainsOf(deps.amsOf(job.printer_id)));
      return;
    }
    jobEnded(job).catch((err) =>
      log.error("working out a print's filament use for Spoolman failed", { job: job.id, error: err as Error }),
    );
  });

  return {
    /** Spoolman's spools (throws SpoolmanError when it cannot say). */
    spools: () => client.spools(),
    links: (printerId: number) => store.spoolman.links(printerId),
    /** Links a tray to a spool Spoolman has (its net weight kept for uses from the remain drop). */
    async link(printerId: number, tray: number, spoolId: number, user: string) {
      const spool = await client.spool(spoolId);
      await store.spoolman.link({
        printer_id: printerId,
        tray,
        spool_id: spool.id,
        spool_grams: spool.net_weight,
        linked_by: user,
        linked_at: Date.now(),
      });
      log.info("AMS tray linked to a Spoolman spool", { printer: printerId, tray, spool: spool.id, user });
      return spool;
    },
    async unlink(printerId: number, tray: number, user: string) {
      await store.spoolman.unlink(printerId, tray);
      log.info("AMS tray unlinked from Spoolman", { printer: printerId, tray, user });
    },
    /** Uses not yet taken by Spoolman, with their last error. */
    pending: () => store.spoolman.pending(500),
    /** Uses Spoolman refused for good, newest first, with its answer. */
    refused: () => store.spoolman.refusedUses(200),
    /**
     * Makes a refused use pending again (say, once its spool exists in Spoolman) and sends it on this instance if
     * it is the one reporting (else the reporting one does within a minute). The use as it stands after that
     * (reported, refused again, or still pending), or null when it was not a refused use.
     */
    async retry(id: number, user: string): Promise<SpoolUseRow | null> {
      const use = await store.spoolman.retry(id);
      if (!use) return null;
      log.info("a refused filament use is sent to Spoolman again", { job: use.job_id, spool: use.spool_id, user });
      // A flush under way may have read the pending uses before this one was: let it end, then send.
      await flushing;
      await flush();
      return (await store.spoolman.ofJob(use.job_id)).find((u) => u.id === id) ?? use;
    },
    /** Reporting runs on one instance (the lease holder); it sends what is kept now, then retries on a timer. */
    start() {
      if (reporting) return;
      reporting = true;
      timer = setInterval(() => void flush(), timings.retryMs);
      void flush();
    },
    async stop() {
      reporting = false;
      if (timer) clearInterval(timer);
      timer = null;
      await flushing;
    },
    flush,
  };
}

export type Spoolman = ReturnType<typeof createSpoolman>;
