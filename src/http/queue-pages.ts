// Owns the queue's pages (CSRF-checked forms, operators): the queue page and its buttons (move, cancel, retry,
// delete, pause), adding a plate from the library page, the printer page's farm panel (plate cleared, skip
// picker) and the overview cards' plate-cleared buttons, fetched and answered by htmx. The rules are the queue
// and send services', as for the API.
import { Elysia, t } from "elysia";
import { CardPlate, cardPlateId } from "../../views/overview.tsx";
import { FarmPanel, QueuePage } from "../../views/queue.tsx";
import type { Session } from "../services/auth.ts";
import type { QueueItemView } from "../services/queue.ts";
import { roleAtLeast } from "../services/users.ts";
import { type HttpDeps, type RequestTools, redirectTo } from "./context.ts";
import { edge, IdParams, refusal, wholeNumber } from "./edge.ts";

const Csrf = { _csrf: t.Optional(t.String({ maxLength: 200 })) };
const operator = { auth: "form", role: "operator" } as const;

export function queuePageRoutes(deps: HttpDeps, tools: RequestTools) {
  const { queue, sends, printers, library } = deps;

  async function rows(items: QueueItemView[]) {
    const names = new Map<number, string>();
    for (const i of items)
      if (!names.has(i.file_id)) names.set(i.file_id, (await library.get(i.file_id))?.name ?? `#${i.file_id}`);
    return items.map((i) => ({
      ...i,
      file: names.get(i.file_id)!,
      target:
        i.printer_id !== null
          ? (printers.get(i.printer_id)?.info.name ?? `#${i.printer_id}`)
          : tools.t.queueAnyPrinter.replace("{model}", i.rule?.model ?? "") +
            (i.assigned_printer ? ` (${printers.get(i.assigned_printer)?.info.name ?? ""})` : ""),
    }));
  }
  async function waitingPlates() {
    const items = await queue.list();
    const ids = new Set(items.filter((i) => i.status === "waiting_plate").map((i) => i.printer_id!));
    for (const id of await queue.dirtyPrinters()) ids.add(id);
    return [...ids].map((id) => ({ id, name: printers.get(id)?.info.name ?? `#${id}` }));
  }
  async function farm(session: Session, printerId: number, answer?: { kind: "ok" | "error"; text: string }) {
    return FarmPanel({
      ctx: tools.view(session),
      printerId,
      plateWaits: (await queue.dirtyPrinters()).includes(printerId),
      objects: roleAtLeast(session.user.role, "operator") ? await sends.objectsNow(printerId) : null,
      answer,
    });
  }

  return new Elysia({ name: "queue-pages" })
    .use(edge(deps, tools))
    .get(
      "/queue",
      async ({ session }) =>
        QueuePage({
          ctx: tools.view(session),
          items: await rows(await queue.list()),
          paused: await queue.paused(),
          waiting: await waitingPlates(),
        }),
      { auth: "page" },
    )
    .post(
      "/queue/pause",
      async ({ session, body }) => {
        await queue.pause(body.paused === "on", session.user.username);
        return redirectTo("/queue");
      },
      { ...operator, body: t.Object({ ...Csrf, paused: t.Optional(t.String({ maxLength: 4 })) }) },
    )
    .post(
      "/queue/:id/move",
      async ({ session, params, body, request }) => {
        const r = await queue.change(params.id, { position: wholeNumber(body.position) }, session.user.username);
        return r.ok ? redirectTo("/queue") : refusal(tools, request, session, r.status, r.error);
      },
      { ...operator, params: IdParams, body: t.Object({ ...Csrf, position: t.Optional(t.String({ maxLength: 8 })) }) },
    )
    .post(
      "/queue/:id/status",
      async ({ session, params, body, request }) => {
        const r = await queue.change(params.id, { status: body.status }, session.user.username);
        return r.ok ? redirectTo("/queue") : refusal(tools, request, session, r.status, r.error);
      },
      { ...operator, params: IdParams, body: t.Object({ ...Csrf, status: t.Optional(t.String({ maxLength: 16 })) }) },
    )
    .post(
      "/queue/:id/delete",
      async ({ session, params, request }) => {
        const r = await queue.remove(params.id, session.user.username);
        return r.ok ? redirectTo("/queue") : refusal(tools, request, session, r.status, r.error);
      },
      { ...operator, params: IdParams, body: t.Object(Csrf) },
    )
    .post(
      "/library/:id/queue",
      async ({ session, params, body, request }) => {
        const plate = wholeNumber(body.plate);
        // "any:<model>" queues by rule (any idle printer of that model), else a printer's id.
        const target = body.target ?? "";
        const input = target.startsWith("any:")
          ? { file_id: params.id, plate, rule: { model: target.slice(4) } }
          : { file_id: params.id, plate, printer_id: wholeNumber(target) };
        const r = await queue.add(input, session.user.username);
        return r.ok ? redirectTo("/queue") : refusal(tools, request, session, r.status, r.error);
      },
      {
        ...operator,
        params: IdParams,
        body: t.Object({
          ...Csrf,
          plate: t.Optional(t.String({ maxLength: 4 })),
          target: t.Optional(t.String({ maxLength: 40 })),
        }),
      },
    )
    .post(
      "/printers/:id/plate-cleared",
      async ({ session, printer, request }) => {
        const id = printer.info.id;
        await queue.plateCleared(id, session.user.username);
        // The overview card's button asks for its own slot back; the printer page's for its panel.
        if (request.headers.get("hx-target") === cardPlateId(id))
          return CardPlate({ ctx: tools.view(session), printerId: id, name: printer.info.name, waits: false });
        if (request.headers.get("hx-request") === "true") return farm(session, id);
        return redirectTo("/queue");
      },
      { ...operator, printer: true },
    )
    .get(
      "/partials/plates",
      async ({ session }) => {
        // Every card's plate slot at once (out-of-band): the button where a plate waits, empty elsewhere.
        const dirty = new Set(await queue.dirtyPrinters());
        const ctx = tools.view(session);
        return printers
          .list()
          .map((p) =>
            CardPlate({ ctx, printerId: p.info.id, name: p.info.name, waits: dirty.has(p.info.id), oob: true }),
          )
          .join("");
      },
      { auth: "page", role: "operator" },
    )
    .get("/printers/:id/farm", ({ session, printer }) => farm(session, printer.info.id), {
      auth: "page",
      printer: true,
    })
    .post(
      "/printers/:id/skip",
      async ({ session, printer, body }) => {
        const raw = (body as { objects?: unknown } | null)?.objects;
        const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map((o) => wholeNumber(String(o)));
        if (!list.length || list.some((o) => o === null))
          return farm(session, printer.info.id, { kind: "error", text: tools.t.badRequest });
        const r = await sends.skip(printer.info.id, list as number[], session.user.username);
        return farm(
          session,
          printer.info.id,
          r.ok ? { kind: "ok", text: tools.t.skipDone } : { kind: "error", text: r.error },
        );
      },
      { ...operator, printer: true },
    );
}
