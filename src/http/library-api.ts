// Owns the library's JSON API (PRINTERS.md §9): upload (multipart, streamed; operators, with the session's CSRF
// token in X-CSRF-Token as a cross-site form cannot send it, or an API token, which needs none), list and search,
// one file, tags, delete, and the plate thumbnails.
import { Elysia, t } from "elysia";
import { type Library, tagsText } from "../services/library.ts";
import { roleAtLeast } from "../services/users.ts";
import { type HttpDeps, jsonFor, jsonResponse, type RequestTools } from "./context.ts";
import { edge, IdParams, idOfFile } from "./edge.ts";
import { boundaryOf, filePart, MultipartError } from "./multipart.ts";

export const LIBRARY_UPLOAD_PATH = "/api/library";

export function libraryApiRoutes(deps: HttpDeps & { library: Library }, tools: RequestTools) {
  const { library } = deps;
  const api = { auth: "api" } as const;
  const operator = { auth: "api", role: "operator" } as const;
  return new Elysia({ name: "library-api" })
    .use(edge(deps, tools))
    .post(
      LIBRARY_UPLOAD_PATH,
      async ({ request, set }) => {
        const session = await tools.sessionFor(request, set);
        if (!session) return jsonResponse({ error: "unauthorized: log in first" }, 401);
        if (!roleAtLeast(session.user.role, "operator"))
          return jsonResponse({ error: "forbidden: operators and admins only" }, 403);
        if (!tools.csrfValid(session, request, null))
          return jsonResponse({ error: "send the session's CSRF token as X-CSRF-Token" }, 403);
        const declared = Number(request.headers.get("content-length") ?? 0);
        // The form's own bytes (boundaries, headers) are small; a body far past the limit is refused unread.
        if (declared > library.maxBytes + 64 * 1024)
          return jsonResponse({ error: `the file is larger than library_max_mb (${library.maxBytes} bytes)` }, 413);
        const boundary = boundaryOf(request.headers.get("content-type"));
        if (!boundary || !request.body)
          return jsonResponse({ error: 'send multipart/form-data with the file in the field "file"' }, 415);
        try {
          const part = await filePart(request.body, boundary, "file");
          const name = cleanUploadName(part.filename);
          const added = await library.add(name, part.chunks, session.user.username);
          if (!added.ok) return jsonResponse({ error: added.error }, added.status);
          return jsonResponse(added.file, 201);
        } catch (err) {
          if (err instanceof MultipartError) return jsonResponse({ error: err.message }, 400);
          throw err;
        }
      },
      { parse: "none" },
    )
    .get(
      "/api/library",
      async ({ request, query }) => jsonFor(request, await library.search(query.q ?? "", query.tag ?? "")),
      {
        ...api,
        query: t.Object({ q: t.Optional(t.String({ maxLength: 100 })), tag: t.Optional(t.String({ maxLength: 32 })) }),
      },
    )
    .get(
      "/api/library/:id",
      async ({ params }) => {
        const file = await library.get(params.id);
        return file ? jsonResponse(file) : jsonResponse({ error: "no such file" }, 404);
      },
      { ...api, params: IdParams },
    )
    .patch(
      "/api/library/:id",
      async ({ params, body, session }) => {
        const tags = tagsText((body as { tags?: unknown } | null)?.tags);
        if (tags === null)
          return jsonResponse({ error: "tags must be a list of up to 20 words (letters, digits, - and _)" }, 400);
        const file = await library.setTags(params.id, tags, session.user.username);
        return file ? jsonResponse(file) : jsonResponse({ error: "no such file" }, 404);
      },
      { ...operator, params: IdParams },
    )
    .delete(
      "/api/library/:id",
      async ({ params, session }) =>
        (await library.remove(params.id, session.user.username))
          ? jsonResponse({ deleted: params.id })
          : jsonResponse({ error: "no such file" }, 404),
      { ...operator, params: IdParams },
    )
    .get(
      "/library/:id/plates/:file",
      async ({ params }) => {
        const plate = idOfFile(params.file, ["png"]);
        const png = plate === null ? null : await library.thumbnail(params.id, plate);
        if (!png) return new Response("no such thumbnail", { status: 404 });
        return new Response(png, {
          headers: { "content-type": "image/png", "cache-control": "private, max-age=31536000, immutable" },
        });
      },
      { auth: "media", params: t.Object({ id: IdParams.properties.id, file: t.String({ maxLength: 20 }) }) },
    );
}

/** The upload's name, kept as a .gcode.3mf so the printer and the slicer's own tools recognise it. */
function cleanUploadName(raw: string): string {
  const base = (raw.split(/[\\/]/).pop() ?? "")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .trim()
    .slice(-120);
  if (!base) return "print.gcode.3mf";
  return /\.3mf$/i.test(base) ? base : `${base}.gcode.3mf`;
}
