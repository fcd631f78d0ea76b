// Owns the printer forms of Settings (admin): add, edit (the access code write-only), delete with a
// confirmation that names what goes. Every POST is CSRF-checked by the settings guard.
import { Elysia } from "elysia";
import { ErrorPage } from "../../views/pages.tsx";
import { PrinterEditPage } from "../../views/settings-printers.tsx";
import { translate } from "../i18n.ts";
import type { Session } from "../services/auth.ts";
import type { SetupErrors } from "../services/printer-setup.ts";
import { type HttpDeps, htmlResponse, printerIdOf, type RequestTools } from "./context.ts";
import { settingsGuard, settingsPage as wholePage } from "./settings.ts";

export function settingsPrinterRoutes(deps: HttpDeps, tools: RequestTools) {
  const { printers } = deps;
  const settingsPage = (session: Session, flash: { kind: "ok" | "error"; text: string }, status = 200) =>
    htmlResponse(wholePage(deps, tools, session, { flash }) as string, status);
  const error = (session: Session, status: number, message: string) =>
    htmlResponse(ErrorPage({ ctx: tools.view(session), title: String(status), message }) as string, status);
  const idOf = (raw: string) => printerIdOf(printers, raw);
  /** What the form shows: the stored setup without the access code. */
  const valuesOf = (id: number) => {
    const { access_code: _, ...rest } = printers.connectionOf(id)!;
    return rest;
  };
  const editPage = (
    session: Session,
    id: number,
    values: Record<string, unknown>,
    errors?: SetupErrors,
    flash?: { kind: "ok" | "error"; text: string },
  ) =>
    htmlResponse(
      PrinterEditPage({
        ctx: tools.view(session),
        printer: printers.get(id)!,
        values: values as never,
        errors,
        flash,
        data: printers.dataOf(id)!,
      }) as string,
      errors ? 400 : 200,
    );

  return new Elysia({ name: "settings-printer-routes" })
    .resolve(({ request, set }) => ({ session: tools.sessionFor(request, set) }))
    .onBeforeHandle(({ session, request, body }) => {
      const refused = settingsGuard(deps, tools, session, request, body);
      if (refused) return refused;
      if (session!.user.role !== "admin") return error(session!, 403, tools.t.forbidden);
    })
    .post("/settings/printers", ({ session, body }) => {
      const raw = (body ?? {}) as Record<string, unknown>;
      const made = printers.create(raw);
      if (!made.ok) {
        const first = Object.values(made.errors)[0]!;
        return settingsPage(session!, { kind: "error", text: translate(tools.t, first) }, 400);
      }
      const text = translate(tools.t, { key: "printerAdded", vars: { name: made.value.name } });
      return settingsPage(session!, { kind: "ok", text });
    })
    .get("/settings/printers/:id", ({ session, params }) => {
      const id = idOf(params.id);
      return id === null ? error(session!, 404, tools.t.noSuchPrinter) : editPage(session!, id, valuesOf(id));
    })
    .post("/settings/printers/:id", ({ session, params, body }) => {
      const id = idOf(params.id);
      if (id === null) return error(session!, 404, tools.t.noSuchPrinter);
      const raw = (body ?? {}) as Record<string, unknown>;
      const changed = printers.update(id, raw);
      if (!changed) return error(session!, 404, tools.t.noSuchPrinter);
      if (!changed.ok) return editPage(session!, id, { ...raw, access_code: "" }, changed.errors);
      return editPage(session!, id, valuesOf(id), undefined, { kind: "ok", text: tools.t.printerSaved });
    })
    .post("/settings/printers/:id/repin", ({ session, params }) => {
      const id = idOf(params.id);
      if (id === null) return error(session!, 404, tools.t.noSuchPrinter);
      deps.lan.repin(id);
      return settingsPage(session!, { kind: "ok", text: tools.t.printerSaved });
    })
    .post("/settings/printers/:id/delete", ({ session, params, body }) => {
      const id = idOf(params.id);
      if (id === null) return error(session!, 404, tools.t.noSuchPrinter);
      const name = printers.get(id)!.info.name;
      // The form names the printer it confirms: a stale page cannot delete another.
      if ((body as { confirm?: unknown } | null)?.confirm !== name) return error(session!, 400, tools.t.badRequest);
      if (printers.list().length <= 1)
        return settingsPage(session!, { kind: "error", text: tools.t.cannotDeleteLastPrinter }, 409);
      printers.remove(id);
      return settingsPage(session!, {
        kind: "ok",
        text: translate(tools.t, { key: "printerDeleted", vars: { name } }),
      });
    });
}
