// Owns the send, reprint and skip JSON API (PRINTERS.md §9): a library plate sent to a printer (202 and a send to
// follow, or what refuses it at once), a send's progress, reprinting a sent job, and skipping objects of the print
// under way. Writes need the operator role.
import { Elysia } from "elysia";
import { parseOptions, type SendReason, type SkipResult } from "../services/sends.ts";
import { type HttpDeps, jsonResponse, type RequestTools } from "./context.ts";
import { edge, IdParams } from "./edge.ts";

/** The HTTP status of each reason a send is refused before it starts. */
export const SEND_REFUSAL_STATUS: Record<SendReason, number> = {
  busy: 409,
  model_mismatch: 422,
  authorization_control: 403,
  upload_refused: 409,
  not_confirmed: 504,
  no_file: 404,
  no_plate: 400,
  needs_lan: 503,
  bad_options: 400,
  instance_silent: 504,
};
const SKIP_STATUS: Record<Extract<SkipResult, { ok: false }>["reason"], number> = {
  not_printing: 409,
  bad_objects: 400,
  needs_lan: 503,
  authorization_control: 403,
  unconfirmed: 504,
  instance_silent: 504,
};

export function sendsApiRoutes(deps: HttpDeps, tools: RequestTools) {
  const { sends } = deps;
  const operator = { auth: "api", role: "operator" } as const;
  const answer = (r: { ok: true; send_id: number } | { ok: false; reason: SendReason; error: string }) =>
    r.ok
      ? jsonResponse({ send_id: r.send_id }, 202, { location: `/api/sends/${r.send_id}` })
      : jsonResponse({ error: r.error, reason: r.reason }, SEND_REFUSAL_STATUS[r.reason]);
  return new Elysia({ name: "sends-api" })
    .use(edge(deps, tools))
    .post(
      "/api/printers/:id/print",
      async ({ printer, body, session }) => {
        const raw = (body ?? {}) as Record<string, unknown>;
        const fileId = raw.file_id;
        const plate = raw.plate ?? 1;
        if (!Number.isSafeInteger(fileId) || !Number.isSafeInteger(plate))
          return jsonResponse({ error: "file_id and plate must be whole numbers", reason: "bad_options" }, 400);
        const options = parseOptions(raw);
        if (typeof options === "string") return jsonResponse({ error: options, reason: "bad_options" }, 400);
        return answer(
          await sends.send(printer.info.id, fileId as number, plate as number, options, session.user.username),
        );
      },
      { ...operator, printer: true },
    )
    .get(
      "/api/sends/:id",
      async ({ params }) => {
        const send = await sends.get(params.id);
        return send ? jsonResponse(send) : jsonResponse({ error: "no such send" }, 404);
      },
      { auth: "api", params: IdParams },
    )
    .post(
      "/api/jobs/:id/reprint",
      async ({ params, session }) => answer(await sends.reprint(params.id, session.user.username)),
      { ...operator, params: IdParams },
    )
    .get(
      "/api/printers/:id/objects",
      async ({ printer }) => {
        const now = await sends.objectsNow(printer.info.id);
        return now
          ? jsonResponse(now)
          : jsonResponse({ error: "the print under way was not sent from the library" }, 404);
      },
      { auth: "api", printer: true },
    )
    .post(
      "/api/printers/:id/skip",
      async ({ printer, body, session }) => {
        const objects = (body as { objects?: unknown } | null)?.objects;
        if (!Array.isArray(objects) || objects.length > 64 || !objects.every((o) => Number.isSafeInteger(o)))
          return jsonResponse({ error: "objects must be a list of object ids", reason: "bad_objects" }, 400);
        const r = await sends.skip(printer.info.id, objects as number[], session.user.username);
        if (r.ok) return jsonResponse({ ok: true, skipped: r.skipped });
        return jsonResponse({ error: r.error, reason: r.reason }, SKIP_STATUS[r.reason]);
      },
      { ...operator, printer: true },
    );
}
