// Owns the tus 1.0.0 upload edge (core + creation, PRINTERS.md §8): a camera Pi creates an upload for its
// printer, then HEAD tells it where to resume and PATCH appends. Written against the tus 1.0.0 spec because
// @tus/server speaks Node's req/res, not the Fetch requests Bun and Elysia hand us.
import { Elysia } from "elysia";
import type { TimelapseService, UploadMeta } from "../services/timelapses.ts";
import { type HttpDeps, jsonResponse, type RequestTools } from "./context.ts";
import { IdParams, wholeNumber } from "./edge.ts";

export const TUS_VERSION = "1.0.0";
export const UPLOADS_PATH = "/api/timelapses/uploads/";
/** Bun's server refuses bodies past maxRequestBodySize (about 14 MB, set in app.ts), so clients chunk. */
export const MAX_CHUNK_BYTES = 8 * 1024 * 1024;

export type TimelapseDeps = Pick<HttpDeps, "deviceTokens" | "printers"> & { timelapses: TimelapseService };

const TUS = { "tus-resumable": TUS_VERSION };
const answer = (status: number, headers: Record<string, string> = {}, error?: string) =>
  error
    ? jsonResponse({ error }, status, { ...TUS, ...headers })
    : new Response(null, { status, headers: { ...TUS, ...headers } });

/** `Upload-Metadata`: comma-separated `key base64value` pairs; unknown keys are ignored. */
export function parseMetadata(header: string | null): UploadMeta | null {
  const meta: Record<string, string> = {};
  for (const pair of (header ?? "").split(",")) {
    if (!pair.trim()) continue;
    const [key, value = "", extra] = pair.trim().split(" ");
    if (!key || extra !== undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return null;
    meta[key] = Buffer.from(value, "base64").toString("utf8");
  }
  return { filename: meta.filename, filetype: meta.filetype, jobId: meta.job_id, header: header || undefined };
}

/** Upload-Length, Upload-Offset, Content-Length: decimal digits, else null. */
const number = (raw: string | null) => wholeNumber(raw, 16);

export function tusRoutes(deps: TimelapseDeps, tools: RequestTools) {
  const { timelapses, printers } = deps;
  const capabilities = () => ({
    "tus-version": TUS_VERSION,
    "tus-extension": "creation",
    "tus-max-size": String(timelapses.maxSize()),
  });

  /**
   * Who may upload for a printer: a device token of that printer, or an admin session. A cross-site form
   * cannot send the Tus-Resumable header, so the cookie alone is safe here as it is for JSON writes.
   */
  async function refusal(request: Request, set: { headers: Record<string, unknown> }, printerId: number) {
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1];
    if (bearer) {
      const token = await deps.deviceTokens.resolve(bearer);
      if (!token) return answer(401, {}, "unknown or revoked device token");
      return token.printer_id === printerId ? null : answer(403, {}, "this token belongs to another printer");
    }
    const session = await tools.sessionFor(request, set);
    if (!session) return answer(401, {}, "send the printer's device token as Authorization: Bearer");
    return session.user.role === "admin" ? null : answer(403, {}, "forbidden: admins or the printer's devices only");
  }

  const versionRefused = (request: Request) =>
    request.headers.get("tus-resumable") === TUS_VERSION
      ? null
      : answer(412, { "tus-version": TUS_VERSION }, `send Tus-Resumable: ${TUS_VERSION}`);

  return new Elysia({ name: "tus" })
    .options("/api/printers/:id/timelapses", () => answer(204, capabilities()))
    .options(`${UPLOADS_PATH}:uploadId`, () => answer(204, capabilities()))
    .post(
      "/api/printers/:id/timelapses",
      async ({ params, request, set }) => {
        const refused = versionRefused(request);
        if (refused) return refused;
        const printerId = params.id;
        if (!printers.exists(printerId)) return answer(404, {}, "no such printer");
        const denied = await refusal(request, set, printerId);
        if (denied) return denied;
        const length = number(request.headers.get("upload-length"));
        if (length === null) return answer(400, {}, "send Upload-Length (deferred length is not supported)");
        const meta = parseMetadata(request.headers.get("upload-metadata"));
        if (!meta) return answer(400, {}, "Upload-Metadata must be key base64 pairs");
        const made = await timelapses.create(printerId, length, meta);
        if (!made.ok) return answer(413, {}, made.message);
        return answer(201, { location: `${UPLOADS_PATH}${made.row.upload_id}` });
      },
      { parse: "none", params: IdParams },
    )
    .head(`${UPLOADS_PATH}:uploadId`, async ({ params, request, set }) => {
      const refused = versionRefused(request);
      if (refused) return refused;
      const upload = await timelapses.upload(params.uploadId);
      const denied = await refusal(request, set, upload?.printer_id ?? 0);
      if (denied && (upload || denied.status === 401)) return denied;
      if (!upload) return answer(404, { "cache-control": "no-store" });
      return answer(200, {
        "upload-offset": String(upload.received),
        "upload-length": String(upload.size),
        "cache-control": "no-store",
        // The creation extension: the metadata exactly as the client sent it, when it sent any.
        ...(upload.metadata ? { "upload-metadata": upload.metadata } : {}),
      });
    })
    .patch(
      `${UPLOADS_PATH}:uploadId`,
      async ({ params, request, set }) => {
        const refused = versionRefused(request);
        if (refused) return refused;
        if (request.headers.get("content-type")?.split(";")[0]?.trim() !== "application/offset+octet-stream")
          return answer(415, {}, "send Content-Type: application/offset+octet-stream");
        const offset = number(request.headers.get("upload-offset"));
        if (offset === null) return answer(400, {}, "send Upload-Offset");
        const upload = await timelapses.upload(params.uploadId);
        const denied = await refusal(request, set, upload?.printer_id ?? 0);
        if (denied && (upload || denied.status === 401)) return denied;
        if (!upload) return answer(404, {}, "no such upload");
        const declared = number(request.headers.get("content-length"));
        if (declared !== null && declared > MAX_CHUNK_BYTES)
          return answer(413, {}, `send chunks of at most ${MAX_CHUNK_BYTES} bytes`);
        const done = await timelapses.append(params.uploadId, offset, request.body, declared);
        if (done.ok) return answer(204, { "upload-offset": String(done.offset) });
        const status = { gone: 404, offset: 409, too_long: 413 }[done.reason];
        return answer(status, { "upload-offset": String(done.offset) }, done.message);
      },
      { parse: "none" },
    );
}
