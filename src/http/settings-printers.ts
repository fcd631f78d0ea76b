// Owns the printer forms of Settings (admin): add, edit (the access code write-only), re-pin the certificate,
// delete with a confirmation that names what goes. Every POST is CSRF-checked by the edge's form auth.
import { Elysia } from "elysia";
import { ErrorPage } from "../../views/pages.tsx";
import { PrinterEditPage } from "../../views/settings-printers.tsx";
import { translate } from "../i18n.ts";
import type { Session } from "../services/auth.ts";
import type { SetupErrors } from "../services/printer-setup.ts";
import type { HttpDeps, RequestTools } from "./context.ts";
import { edge } from "./edge.ts";
import { settingsPage as wholePage } from "./settings.ts";

type Status = { status?: number | string };
/** Spread into each route: Elysia rewrites the hook object it is given, so none may be shared. */
const admin = { auth: "form", role: "admin" } as const;

export function settingsPrinterRoutes(deps: HttpDeps, tools: RequestTools) {
  const { printers } = deps;
  const settingsPage = (session: Session, flash: { kind: "ok" | "error"; text: string }) =>
    wholePage(deps, tools, session, { flash });
  /** What the form shows: the stored setup without the access code. */
  const valuesOf = async (id: number) => {
    const { access_code: _, ...rest } = (await printers.connectionOf(id))!;
    return rest;
  };
  const editPage = async (
    session: Session,
    set: Status,
    id: number,
    values: Record<string, unknown>,
    errors?: SetupErrors,
    flash?: { kind: "ok" | "error"; text: string },
  ) => {
    if (errors) set.status = 400;
    return PrinterEditPage({
      ctx: tools.view(session),
      printer: printers.get(id)!,
      values: values as never,
      errors,
      flash,
      data: (await printers.dataOf(id))!,
    });
  };

  return new Elysia({ name: "settings-printer-routes" })
    .use(edge(deps, tools))
    .post(
      "/settings/printers",
      async ({ session, body, set }) => {
        const made = await printers.create((body ?? {}) as Record<string, unknown>);
        if (!made.ok) {
          set.status = 400;
          return settingsPage(session, { kind: "error", text: translate(tools.t, Object.values(made.errors)[0]!) });
        }
        const text = translate(tools.t, { key: "printerAdded", vars: { name: made.value.name } });
        return settingsPage(session, { kind: "ok", text });
      },
      { ...admin },
    )
    .get(
      "/settings/printers/:id",
      async ({ session, printer, set }) => editPage(session, set, printer.info.id, await valuesOf(printer.info.id)),
      { ...admin, printer: true },
    )
    .post(
      "/settings/printers/:id",
      async ({ session, printer, body, set }) => {
        const id = printer.info.id;
        const raw = (body ?? {}) as Record<string, unknown>;
        const changed = await printers.update(id, raw);
        if (!changed) {
          set.status = 404;
          return ErrorPage({ ctx: tools.view(session), title: "404", message: tools.t.noSuchPrinter });
        }
        if (!changed.ok) return editPage(session, set, id, { ...raw, access_code: "" }, changed.errors);
        return editPage(session, set, id, await valuesOf(id), undefined, { kind: "ok", text: tools.t.printerSaved });
      },
      { ...admin, printer: true },
    )
    .post(
      "/settings/printers/:id/repin",
      async ({ session, printer }) => {
        await deps.lan.repin(printer.info.id);
        return settingsPage(session, { kind: "ok", text: tools.t.printerSaved });
      },
      { ...admin, printer: true },
    )
    .post(
      "/settings/printers/:id/delete",
      async ({ session, printer, body, set }) => {
        const name = printer.info.name;
        // The form names the printer it confirms: a stale page cannot delete another.
        if ((body as { confirm?: unknown } | null)?.confirm !== name) {
          set.status = 400;
          return ErrorPage({ ctx: tools.view(session), title: "400", message: tools.t.badRequest });
        }
        if (printers.list().length <= 1) {
          set.status = 409;
          return settingsPage(session, { kind: "error", text: tools.t.cannotDeleteLastPrinter });
        }
        await printers.remove(printer.info.id);
        return settingsPage(session, {
          kind: "ok",
          text: translate(tools.t, { key: "printerDeleted", vars: { name } }),
        });
      },
      { ...admin, printer: true },
    );
}
