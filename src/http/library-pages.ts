// Owns the library's pages (CSRF-checked forms): the library with upload, search and a send form per plate,
// deleting a file, sending a plate to a printer, a send's progress page (its status refreshed by htmx), and the
// reprint button of a print's page.
import { Elysia, t } from "elysia";
import { LibraryPage, SendPage, SendStatus } from "../../views/library.tsx";
import type { Session } from "../services/auth.ts";
import { parseOptions, type SendReason } from "../services/sends.ts";
import { roleAtLeast } from "../services/users.ts";
import { type HttpDeps, htmlResponse, type RequestTools, redirectTo } from "./context.ts";
import { edge, IdParams, refusal, wholeNumber } from "./edge.ts";
import { SEND_REFUSAL_STATUS } from "./sends-api.ts";

const Csrf = { _csrf: t.Optional(t.String({ maxLength: 200 })) };
const operator = { auth: "form", role: "operator" } as const;

export function libraryPageRoutes(deps: HttpDeps, tools: RequestTools) {
  const { library, sends, printers } = deps;

  async function page(session: Session, q = "", tag = "", flash?: { kind: "ok" | "error"; text: string }) {
    return LibraryPage({
      ctx: tools.view(session),
      files: await library.search(q, tag),
      printers: printers.list().map((p) => ({ id: p.info.id, name: p.info.name, model: p.info.model })),
      q,
      tag,
      operator: roleAtLeast(session.user.role, "operator"),
      maxMb: deps.config.library_max_mb,
      flash,
    });
  }
  const refused = (request: Request, session: Session, r: { reason: SendReason; error: string }) =>
    refusal(tools, request, session, SEND_REFUSAL_STATUS[r.reason], r.error, tools.t.sendRefused);

  return new Elysia({ name: "library-pages" })
    .use(edge(deps, tools))
    .get("/library", ({ session, query }) => page(session, query.q ?? "", query.tag ?? ""), {
      auth: "page",
      query: t.Object({ q: t.Optional(t.String({ maxLength: 100 })), tag: t.Optional(t.String({ maxLength: 32 })) }),
    })
    .post(
      "/library/:id/delete",
      async ({ session, params }) => {
        await library.remove(params.id, session.user.username);
        return redirectTo("/library");
      },
      { ...operator, params: IdParams, body: t.Object(Csrf) },
    )
    .post(
      "/library/:id/send",
      async ({ session, params, body, request }) => {
        const printerId = wholeNumber(body.printer);
        const plate = wholeNumber(body.plate);
        if (printerId === null || plate === null || !printers.get(printerId))
          return refusal(tools, request, session, 400, tools.t.badRequest);
        const on = (v: string | undefined) => v === "on";
        const options = parseOptions({
          bed_leveling: on(body.bed_leveling),
          flow_cali: on(body.flow_cali),
          timelapse: on(body.timelapse),
          use_ams: on(body.use_ams),
        });
        if (typeof options === "string") return refusal(tools, request, session, 400, options);
        const r = await sends.send(printerId, params.id, plate, options, session.user.username);
        return r.ok ? redirectTo(`/sends/${r.send_id}`) : refused(request, session, r);
      },
      {
        ...operator,
        params: IdParams,
        body: t.Object({
          ...Csrf,
          printer: t.Optional(t.String({ maxLength: 16 })),
          plate: t.Optional(t.String({ maxLength: 4 })),
          bed_leveling: t.Optional(t.String({ maxLength: 4 })),
          flow_cali: t.Optional(t.String({ maxLength: 4 })),
          timelapse: t.Optional(t.String({ maxLength: 4 })),
          use_ams: t.Optional(t.String({ maxLength: 4 })),
        }),
      },
    )
    .post(
      "/jobs/:id/reprint",
      async ({ session, params, request }) => {
        const r = await sends.reprint(params.id, session.user.username);
        return r.ok ? redirectTo(`/sends/${r.send_id}`) : refused(request, session, r);
      },
      { ...operator, params: IdParams, body: t.Object(Csrf) },
    )
    .get(
      "/sends/:id",
      async ({ session, params, request }) => {
        const send = await sends.get(params.id);
        if (!send) return refusal(tools, request, session, 404, tools.t.sendTitle);
        const printer = printers.get(send.printer_id)?.info.name ?? "";
        return SendPage({ ctx: tools.view(session), send, printer });
      },
      { auth: "page", params: IdParams },
    )
    .get(
      "/sends/:id/status",
      async ({ session, params }) => {
        const send = await sends.get(params.id);
        if (!send) return htmlResponse("", 404);
        return SendStatus({ ctx: tools.view(session), send });
      },
      { auth: "page", params: IdParams },
    );
}
