// Owns Spoolman over HTTP (PRINTERS.md §9): the printer page's Spoolman section (trays and their spools, loaded
// after the page), linking a tray to a spool (operators; a form with CSRF, or JSON), Spoolman's spools, and the
// uses Spoolman has not taken yet (admins), and Settings' part: the uses Spoolman refused for good, each with a
// "Try again" (admins, CSRF). Every route answers 404 while spoolman_url is empty.
import { Elysia, t } from "elysia";
import { SpoolmanUsesSection } from "../../views/settings-spoolman.tsx";
import { SpoolmanSection, traysOf } from "../../views/spoolman.tsx";
import type { Spoolman } from "../integrations/spoolman.ts";
import { SpoolmanError } from "../integrations/spoolman.ts";
import type { Session } from "../services/auth.ts";
import type { HeldPrinter } from "../services/printers.ts";
import { roleAtLeast } from "../services/users.ts";
import { type HttpDeps, jsonResponse, type RequestTools } from "./context.ts";
import { edge, IdParams, refusal, wholeNumber } from "./edge.ts";

const LinkForm = t.Object({
  _csrf: t.Optional(t.String({ maxLength: 128 })),
  tray: t.String({ maxLength: 5 }),
  spool_id: t.String({ maxLength: 15 }),
});
const LinkBody = t.Object({ spool_id: t.Union([t.Integer({ minimum: 1 }), t.Null()]) });
const TrayParams = t.Object({ id: t.Numeric({ minimum: 0 }), tray: t.String({ maxLength: 5 }) });

export function spoolmanRoutes(deps: HttpDeps & { spoolman: Spoolman | null }, tools: RequestTools) {
  const { spoolman } = deps;
  const off = () => jsonResponse({ error: "Spoolman is not set up (spoolman_url)" }, 404);
  /** A tray the printer reports now, by its global id; null otherwise. */
  const trayOf = (printer: HeldPrinter, text: string) => {
    const id = wholeNumber(text, 3);
    return id !== null && traysOf(tools.t, printer.state.ams).some((x) => x.tray.id === id) ? id : null;
  };
  const spoolsOrError = (sm: Spoolman) =>
    sm.spools().catch((err) => ({ error: err instanceof SpoolmanError ? err.message : "Spoolman failed" }));

  async function section(
    sm: Spoolman,
    session: Session,
    printer: HeldPrinter,
    flash?: { kind: "ok" | "error"; text: string },
  ) {
    const [links, spools] = await Promise.all([sm.links(printer.info.id), spoolsOrError(sm)]);
    return SpoolmanSection({
      ctx: tools.view(session),
      printerId: printer.info.id,
      ams: printer.state.ams,
      links,
      spools,
      canLink: roleAtLeast(session.user.role, "operator"),
      flash,
    });
  }

  async function usesSection(sm: Spoolman, session: Session, flash?: { kind: "ok" | "error"; text: string }) {
    const [pending, refused] = await Promise.all([sm.pending(), sm.refused()]);
    return SpoolmanUsesSection({ ctx: tools.view(session), pending: pending.length, refused, flash });
  }

  /** Links (spool id) or unlinks (null) a tray; the refusal as [status, text] when it cannot. */
  async function link(sm: Spoolman, printer: HeldPrinter, trayText: string, spoolId: number | null, user: string) {
    const tray = trayOf(printer, trayText);
    if (tray === null) return { status: 404, error: tools.t.spoolNoSuchTray, tray };
    try {
      if (spoolId === null) await sm.unlink(printer.info.id, tray, user);
      else await sm.link(printer.info.id, tray, spoolId, user);
      return { status: 200, tray };
    } catch (err) {
      if (!(err instanceof SpoolmanError)) throw err;
      // A spool Spoolman does not have is the caller's mistake; Spoolman down is not.
      return { status: err.transient ? 502 : 422, error: err.message, tray };
    }
  }

  return new Elysia({ name: "spoolman-routes" })
    .use(edge(deps, tools))
    .get(
      "/printers/:id/spoolman",
      async ({ session, printer, request, set }) => {
        if (!spoolman) return refusal(tools, request, session, 404, tools.t.notFound);
        set.headers["cache-control"] = "no-store";
        return section(spoolman, session, printer);
      },
      { auth: "page", printer: true },
    )
    .post(
      "/printers/:id/spoolman",
      async ({ session, printer, body, request, set }) => {
        if (!spoolman) return refusal(tools, request, session, 404, tools.t.notFound);
        const spoolId = body.spool_id === "" ? null : wholeNumber(body.spool_id);
        if (spoolId === 0) return refusal(tools, request, session, 400, tools.t.spoolNoSuchTray);
        const r = await link(spoolman, printer, body.tray, spoolId, session.user.username);
        set.status = r.status;
        if (request.headers.get("hx-request") !== "true" && r.status === 200)
          return new Response(null, { status: 303, headers: { location: `/printers/${printer.info.id}` } });
        const flash = r.error
          ? ({ kind: "error", text: r.error } as const)
          : ({
              kind: "ok",
              text: (spoolId === null ? tools.t.spoolUnlinked : tools.t.spoolLinked)
                .replace("{tray}", String(r.tray))
                .replace("{spool}", String(spoolId)),
            } as const);
        return section(spoolman, session, printer, flash);
      },
      { auth: "form", role: "operator", printer: true, body: LinkForm },
    )
    .get(
      "/api/spoolman/spools",
      async () => {
        if (!spoolman) return off();
        try {
          return jsonResponse({ spools: await spoolman.spools() });
        } catch (err) {
          if (!(err instanceof SpoolmanError)) throw err;
          return jsonResponse({ error: err.message }, 502);
        }
      },
      { auth: "api" },
    )
    .get(
      "/api/printers/:id/spoolman",
      async ({ printer }) => {
        if (!spoolman) return off();
        const links = await spoolman.links(printer.info.id);
        return jsonResponse({
          links: links.map((l) => ({
            tray: l.tray,
            spool_id: l.spool_id,
            linked_by: l.linked_by,
            linked_at: l.linked_at,
          })),
        });
      },
      { auth: "api", printer: true },
    )
    .put(
      "/api/printers/:id/trays/:tray/spool",
      async ({ params, body, session }) => {
        if (!spoolman) return off();
        const printer = deps.printers.get(params.id);
        if (!printer) return jsonResponse({ error: "no such printer" }, 404);
        const r = await link(spoolman, printer, params.tray, body.spool_id, session.user.username);
        return r.error
          ? jsonResponse({ error: r.error }, r.status)
          : jsonResponse({ tray: r.tray, spool_id: body.spool_id });
      },
      { auth: "api", role: "operator", params: TrayParams, body: LinkBody },
    )
    .get(
      "/api/spoolman/pending",
      async () => {
        if (!spoolman) return off();
        return jsonResponse({ uses: await spoolman.pending() });
      },
      { auth: "api", role: "admin" },
    )
    .get(
      "/api/spoolman/refused",
      async () => {
        if (!spoolman) return off();
        return jsonResponse({ uses: await spoolman.refused() });
      },
      { auth: "api", role: "admin" },
    )
    .get(
      "/settings/spoolman",
      async ({ session, request, set }) => {
        if (!spoolman) return refusal(tools, request, session, 404, tools.t.notFound);
        set.headers["cache-control"] = "no-store";
        return usesSection(spoolman, session);
      },
      { auth: "page", role: "admin" },
    )
    .post(
      "/settings/spoolman/uses/:id/retry",
      async ({ session, params, request, set }) => {
        if (!spoolman) return refusal(tools, request, session, 404, tools.t.notFound);
        const use = await spoolman.retry(params.id, session.user.username);
        const flash = !use
          ? ({ kind: "error", text: tools.t.spoolNoSuchRefusedUse } as const)
          : use.reported_at !== null
            ? ({ kind: "ok", text: tools.t.spoolUseRetried } as const)
            : use.refused_at !== null
              ? ({ kind: "error", text: `${tools.t.spoolUseRefusedAgain} ${use.last_error ?? ""}`.trim() } as const)
              : ({ kind: "ok", text: tools.t.spoolUseQueued } as const);
        if (request.headers.get("hx-request") !== "true")
          return use
            ? new Response(null, { status: 303, headers: { location: "/settings#spoolman-uses" } })
            : refusal(tools, request, session, 400, flash.text);
        set.status = use ? 200 : 400;
        return usesSection(spoolman, session, flash);
      },
      {
        auth: "form",
        role: "admin",
        params: IdParams,
        body: t.Optional(t.Object({ _csrf: t.Optional(t.String({ maxLength: 128 })) })),
      },
    );
}
