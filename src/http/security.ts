// Owns the headers every answer carries (CSP, no sniffing, no framing, HSTS on HTTPS) and the body
// limits of ordinary HTTP requests, as one Elysia plugin.
import { Elysia } from "elysia";
import type { RequestTools } from "./context.ts";
import { errorAnswer } from "./errors.ts";
import { LIBRARY_UPLOAD_PATH } from "./library-api.ts";
import { UPLOADS_PATH } from "./tus.ts";

/** Bodies of ordinary HTTP requests (forms, JSON) are small; only Socket.IO polling carries frames. */
export const MAX_HTTP_BODY_BYTES = 64 * 1024;

const CSP_FIXED = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "media-src 'self' blob:",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

/** Older Safari does not count ws:/wss: to this host as 'self', so the page's own host is named. */
function contentSecurityPolicy(request: Request): string {
  const host = request.headers.get("host") ?? "";
  const own = /^[A-Za-z0-9.:[\]-]{1,255}$/.test(host) ? ` ws://${host} wss://${host}` : "";
  return `${CSP_FIXED}; connect-src 'self'${own}`;
}

/**
 * Paths whose requests carry more than a form: Socket.IO polling (frames), tus video chunks (see tus.ts), library
 * uploads (library-api.ts checks their size against library_max_mb).
 */
const bulkPath = (path: string) =>
  path.startsWith("/socket.io/") || path.startsWith(UPLOADS_PATH) || path === LIBRARY_UPLOAD_PATH;

export function securityHeaders(tools: RequestTools) {
  return new Elysia({ name: "security-headers" }).onRequest(({ request, set }) => {
    const h = set.headers as Record<string, string>;
    h["content-security-policy"] = contentSecurityPolicy(request);
    h["x-content-type-options"] = "nosniff";
    h["referrer-policy"] = "same-origin";
    h["x-frame-options"] = "DENY";
    if (tools.isHttps(request)) h["strict-transport-security"] = "max-age=31536000";
    if (request.method === "GET" || request.method === "HEAD" || bulkPath(new URL(request.url).pathname)) return;
    const length = request.headers.get("content-length");
    if (length === null && request.body) return errorAnswer(tools, request, 411, "send a Content-Length");
    if (Number(length) > MAX_HTTP_BODY_BYTES)
      return errorAnswer(tools, request, 413, `the request body is larger than ${MAX_HTTP_BODY_BYTES / 1024} KiB`);
  });
}
