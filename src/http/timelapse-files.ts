// Owns playing back timelapse videos (PRINTERS.md §8): a printer's list, the MP4 served with HTTP Range so
// browsers (Safari included) can seek, download, and deletion by an admin.
import { Elysia } from "elysia";
import type { TimelapseRow } from "../store/store.ts";
import { isoInZone } from "../time.ts";
import { type HttpDeps, jsonFor, jsonResponse, type RequestTools } from "./context.ts";
import { edge, IdParams, idOfFile } from "./edge.ts";
import type { TimelapseDeps } from "./tus.ts";

export type ByteRange = { start: number; end: number };

/**
 * One `bytes=` range of RFC 9110 against a body of `size` bytes: `N-M`, `N-` or the suffix `-N`.
 * null means "send it all" (no header, a malformed one, or several ranges, which a server may ignore).
 */
export function parseRange(header: string | null, size: number): ByteRange | "unsatisfiable" | null {
  const m = /^bytes=\s*(\d{0,16})\s*-\s*(\d{0,16})\s*$/.exec(header ?? "");
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    return suffix === 0 || size === 0 ? "unsatisfiable" : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return null;
  return start >= size ? "unsatisfiable" : { start, end };
}

/** `attachment` with an ASCII fallback name and the real one in RFC 5987 form. */
function disposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/** The video, whole or one range of it, straight from disk (a Blob slice: nothing read into memory). */
export function videoResponse(
  request: Request,
  row: (TimelapseRow & { file: string }) | null,
  download: boolean,
): Response {
  if (!row) return new Response("no such video", { status: 404, headers: { "content-type": "text/plain" } });
  const headers: Record<string, string> = {
    "content-type": row.filetype,
    "accept-ranges": "bytes",
    // A video never changes once complete, so its id is a strong validator.
    etag: `"timelapse-${row.id}"`,
    "cache-control": "private, max-age=31536000, immutable",
  };
  if (download) headers["content-disposition"] = disposition(row.filename);
  const blob = Bun.file(row.file);
  const range = parseRange(request.headers.get("range"), row.size);
  if (range === "unsatisfiable")
    return new Response(null, { status: 416, headers: { ...headers, "content-range": `bytes */${row.size}` } });
  if (!range) return new Response(blob, { headers });
  headers["content-range"] = `bytes ${range.start}-${range.end}/${row.size}`;
  return new Response(blob.slice(range.start, range.end + 1), { status: 206, headers });
}

export function timelapseFileRoutes(deps: TimelapseDeps & Pick<HttpDeps, "config" | "log">, tools: RequestTools) {
  const { timelapses } = deps;
  const iso = (ms: number) => isoInZone(ms, deps.config.timezone);
  const listed = (t: TimelapseRow) => ({
    id: t.id,
    filename: t.filename,
    size: t.size,
    created_at: iso(t.created_at),
    job_id: t.job_id,
    url: `/timelapses/${t.id}.mp4`,
    thumbnail_url: t.job_id === null ? null : `/jobs/${t.job_id}/thumbnail.jpg`,
  });

  async function video(request: Request, file: string, download: boolean): Promise<Response> {
    const id = idOfFile(file, ["mp4"]);
    return videoResponse(request, id === null ? null : await timelapses.video(id), download);
  }

  return new Elysia({ name: "timelapse-files" })
    .use(edge(deps, tools))
    .get("/timelapses/:file", ({ params, request, query }) => video(request, params.file, query.download === "1"), {
      auth: "media",
    })
    .get(
      "/api/printers/:id/timelapses",
      async ({ printer, request }) => jsonFor(request, (await timelapses.list(printer.info.id)).map(listed)),
      { auth: "api", printer: true },
    )
    .delete(
      "/api/timelapses/:id",
      async ({ params, request, session }) => {
        // JSON only, like the other API writes: a cross-site form cannot send it.
        if (!request.headers.get("content-type")?.startsWith("application/json"))
          return jsonResponse({ error: "send application/json" }, 415);
        if (!(await timelapses.remove(params.id, session.user.username)))
          return jsonResponse({ error: "no such video" }, 404);
        return jsonResponse({ deleted: params.id });
      },
      { auth: "api", role: "admin", params: IdParams, parse: "none" },
    );
}
