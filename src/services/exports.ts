// Owns CSV exports: a printer's readings over a range and prints with their room weather, each a stream that pulls
// one page of rows from the store when the reader wants more, so a year of readings never sits in memory. Nothing is
// held between requests.
import { type Cell, csvRow } from "../csv.ts";
import type { Logger } from "../log.ts";
import type { AsyncStore } from "../store/async-store.ts";
import type { ExportReading, JobRow } from "../store/store.ts";
import { isoInZone } from "../time.ts";

/** Rows read per page: a few hundred KB of CSV, one short query. */
export const EXPORT_PAGE_ROWS = 2000;

export const READING_COLUMNS = ["time", "printer", "device", "temperature_c", "humidity_pct"] as const;
export const JOB_COLUMNS = [
  "id",
  "printer",
  "name",
  "file",
  "started_at",
  "ended_at",
  "outcome",
  "duration_s",
  "paused_s",
  "layer",
  "total_layers",
  "readings",
  "temp_min_c",
  "temp_avg_c",
  "temp_max_c",
  "hum_min_pct",
  "hum_avg_pct",
  "hum_max_pct",
  "errors",
] as const;

const round2 = (v: number) => Math.round(v * 100) / 100;

/**
 * A byte stream of CSV: the header, then page after page from `page(cursor)` (the cursor is the last row of the page
 * before), until a page comes back short. The first page is read before the stream is handed out, so a database that
 * fails fails the request, not half a file; a later failure aborts the stream (the reader sees it cut short).
 */
async function pagedCsv<R>(opts: {
  header: readonly string[];
  page: (last: R | null) => Promise<R[]>;
  cells: (row: R) => Cell[];
  log: Logger;
  what: string;
}): Promise<ReadableStream<Uint8Array>> {
  const encoder = new TextEncoder();
  const encode = (rows: R[]) => encoder.encode(rows.map((r) => csvRow(opts.cells(r))).join(""));
  let rows = await opts.page(null);
  let first: Uint8Array | null = encoder.encode(csvRow(opts.header) + rows.map((r) => csvRow(opts.cells(r))).join(""));
  let done = rows.length < EXPORT_PAGE_ROWS;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (first) {
          controller.enqueue(first);
          first = null;
          if (done) controller.close();
          return;
        }
        try {
          rows = await opts.page(rows.at(-1) ?? null);
        } catch (err) {
          opts.log.error("an export stopped: reading the next page failed", { export: opts.what, error: err as Error });
          controller.error(err);
          return;
        }
        if (rows.length) controller.enqueue(encode(rows));
        done = rows.length < EXPORT_PAGE_ROWS;
        if (done) controller.close();
      },
    },
    // One page waits at most: the next is read only when the reader has taken it.
    { highWaterMark: 1 },
  );
}

export function createExports(deps: {
  store: AsyncStore;
  log: Logger;
  zone: string;
  printerName: (id: number) => string;
}) {
  const { store, zone } = deps;
  const iso = (ms: number | null) => (ms === null ? null : isoInZone(ms, zone));
  return {
    /** A printer's readings in [from, to) (ms), oldest first; `deviceId` 0 = every device of it. */
    readings(opts: { printerId: number; deviceId: number; from: number; to: number }) {
      const printer = deps.printerName(opts.printerId);
      return pagedCsv<ExportReading>({
        header: READING_COLUMNS,
        what: `readings of printer ${opts.printerId}`,
        log: deps.log,
        page: (last) =>
          store.exports.readingPage({
            ...opts,
            after: last ? { at: last.recorded_at, id: last.id } : null,
            limit: EXPORT_PAGE_ROWS,
          }),
        cells: (r) => [iso(r.recorded_at), printer, r.device, r.temperature, r.humidity],
      });
    },
    /** Prints started in [from, to) (ms), oldest first, with the room's weather over each; printerId 0 = all. */
    jobs(opts: { printerId: number; from: number; to: number }) {
      return pagedCsv<JobRow>({
        header: JOB_COLUMNS,
        what: `prints of printer ${opts.printerId || "all"}`,
        log: deps.log,
        page: (last) => store.exports.jobPage({ ...opts, afterId: last?.id ?? 0, limit: EXPORT_PAGE_ROWS }),
        cells: (j) => {
          const end = j.ended_at ?? Date.now();
          const paused = j.paused_ms + (j.paused_since ? Date.now() - j.paused_since : 0);
          const n = j.readings;
          const errors = (JSON.parse(j.errors) as { code: string }[]).map((e) => e.code).join(" ");
          return [
            j.id,
            deps.printerName(j.printer_id),
            j.name,
            j.file,
            iso(j.started_at),
            iso(j.ended_at),
            j.outcome,
            Math.round((end - j.started_at) / 1000),
            Math.round(paused / 1000),
            j.layer,
            j.total_layers,
            n,
            n ? j.temp_min : null,
            n ? round2(j.temp_sum / n) : null,
            n ? j.temp_max : null,
            n ? j.hum_min : null,
            n ? round2(j.hum_sum / n) : null,
            n ? j.hum_max : null,
            errors,
          ];
        },
      });
    },
  };
}

export type Exports = ReturnType<typeof createExports>;
