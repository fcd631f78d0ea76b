// Owns the settings forms: capture intervals, users, own password. Every POST checks the CSRF token.

import { Elysia, t } from "elysia";
import { ErrorPage } from "../../views/pages.tsx";
import { type Flash, IntervalsForm, PasswordForm, SettingsPage, UsersSection } from "../../views/settings.tsx";
import { TokensSection } from "../../views/settings-tokens.tsx";
import { msg, translate } from "../i18n.ts";
import type { Session } from "../services/auth.ts";
import { parseIntervals } from "../services/intervals.ts";
import { DEFAULT_PRINTER_ID } from "../store/migrations.ts";
import { type HttpDeps, htmlResponse, loginRedirect, type RequestTools } from "./context.ts";

const Csrf = { _csrf: t.Optional(t.String({ maxLength: 128 })) };

/** Every settings request needs a session; every POST the session's CSRF token. */
export function settingsGuard(
  deps: HttpDeps,
  tools: RequestTools,
  session: Session | null,
  request: Request,
  body: unknown,
): Response | undefined {
  if (!session) return loginRedirect(request);
  if (request.method === "POST" && !tools.csrfValid(session, request, body)) {
    deps.log.warn("request refused: missing or wrong CSRF token", {
      path: new URL(request.url).pathname,
      user: session.user.username,
    });
    // htmx would drop a 403 silently: have it reload the page, which brings a fresh token.
    if (request.headers.get("hx-request") === "true")
      return new Response(null, { status: 403, headers: { "hx-refresh": "true" } });
    return htmlResponse(
      ErrorPage({ ctx: tools.view(session), title: "403", message: tools.t.csrfExpired }) as string,
      403,
    );
  }
}

/** Each printer with its camera Pi's state, as the printer and token sections list them. */
export const summariesOf = (deps: HttpDeps) =>
  deps.printers.list().map((printer) => ({ printer, device: deps.printers.deviceSource(printer) }));

/** The whole settings page; every form that is not answered in place answers with it. */
export function settingsPage(
  deps: HttpDeps,
  tools: RequestTools,
  session: Session,
  extra: { flash?: Flash; created?: { name: string; token: string } } = {},
) {
  return SettingsPage({
    ctx: tools.view(session),
    users: deps.users.list(),
    intervals: deps.intervals.get(),
    tokens: deps.deviceTokens.list(),
    log: deps.eventLog.recent(100),
    actions: deps.control.recent(50),
    targets: deps.notifier.targets(),
    storage: deps.storage(),
    devices: deps.devices.connected(),
    printers: summariesOf(deps),
    ...extra,
  });
}

export function settingsRoutes(deps: HttpDeps, tools: RequestTools) {
  const { users, intervals, deviceTokens } = deps;
  const page = (session: Session, flash?: Flash, created?: { name: string; token: string }) =>
    settingsPage(deps, tools, session, { flash, created });
  const printerSummaries = () => summariesOf(deps);
  const isHtmx = (request: Request) => request.headers.get("hx-request") === "true";

  /** htmx gets the fragment; a plain form post gets the whole page with the same message. */
  const respond = (request: Request, session: Session, fragment: JSX.Element, flash: Flash, status = 200) =>
    isHtmx(request) ? htmlResponse(fragment as string, status) : htmlResponse(page(session, flash) as string, status);

  const forbidden = (session: Session) =>
    htmlResponse(ErrorPage({ ctx: tools.view(session), title: "403", message: tools.t.forbidden }) as string, 403);

  return new Elysia({ name: "settings-routes" })
    .resolve(({ request, set }) => ({ session: tools.sessionFor(request, set) }))
    .onBeforeHandle(({ session, request, body }) => settingsGuard(deps, tools, session, request, body))
    .get("/settings", ({ session }) => htmlResponse(page(session!) as string))

    .post(
      "/settings/intervals",
      ({ session, body, request }) => {
        const ctx = tools.view(session);
        if (session!.user.role !== "admin") return forbidden(session!);
        const parsed = parseIntervals(body);
        if (!parsed.ok) {
          const flash: Flash = {
            kind: "error",
            text: Object.values(parsed.errors)
              .map((m) => translate(tools.t, m))
              .join(" "),
          };
          return respond(
            request,
            session!,
            IntervalsForm({ ctx, values: body as never, errors: parsed.errors, devices: deps.devices.connected() }),
            flash,
            400,
          );
        }
        intervals.set(parsed.value);
        deps.log.info("capture intervals changed", { by: session!.user.username, ...parsed.value });
        const n = deps.devices.connected();
        const flash: Flash = {
          kind: "ok",
          text: `${tools.t.saved} ${n ? tools.t.sentToDevices.replace("{n}", String(n)) : tools.t.noDeviceConnected}`,
        };
        return respond(request, session!, IntervalsForm({ ctx, values: parsed.value, flash, devices: n }), flash);
      },
      {
        body: t.Object({
          ...Csrf,
          image_delay: t.Optional(t.String({ maxLength: 16 })),
          temphum_delay: t.Optional(t.String({ maxLength: 16 })),
          status_delay: t.Optional(t.String({ maxLength: 16 })),
        }),
      },
    )

    .post(
      "/settings/users",
      async ({ session, body, request }) => {
        if (session!.user.role !== "admin") return forbidden(session!);
        const role = body.role === "admin" ? "admin" : "viewer";
        const result = await users.add({ username: body.username ?? "", password: body.password ?? "", role });
        const flash: Flash = result.ok
          ? { kind: "ok", text: tools.t.userAdded }
          : { kind: "error", text: translate(tools.t, result.error) };
        const draft = result.ok ? undefined : { username: body.username ?? "", role };
        return respond(
          request,
          session!,
          UsersSection({ ctx: tools.view(session), users: users.list(), flash, draft }),
          flash,
          result.ok ? 200 : 400,
        );
      },
      {
        body: t.Object({
          ...Csrf,
          username: t.Optional(t.String({ maxLength: 256 })),
          password: t.Optional(t.String({ maxLength: 1024 })),
          role: t.Optional(t.String({ maxLength: 16 })),
        }),
      },
    )

    .post(
      "/settings/users/:id/delete",
      ({ session, params, request }) => {
        if (session!.user.role !== "admin") return forbidden(session!);
        const result = /^\d{1,15}$/.test(params.id)
          ? users.delete(session!.user, Number(params.id))
          : { ok: false as const, error: msg("noSuchUser") };
        const flash: Flash = result.ok
          ? { kind: "ok", text: tools.t.userDeleted }
          : { kind: "error", text: translate(tools.t, result.error) };
        return respond(
          request,
          session!,
          UsersSection({ ctx: tools.view(session), users: users.list(), flash }),
          flash,
          result.ok ? 200 : 400,
        );
      },
      { body: t.Optional(t.Object(Csrf)) },
    )

    .post(
      "/settings/tokens",
      ({ session, body, request }) => {
        if (session!.user.role !== "admin") return forbidden(session!);
        const printerId = Number(body.printer_id ?? DEFAULT_PRINTER_ID);
        if (!deps.printers.exists(printerId))
          return respond(request, session!, "", { kind: "error", text: tools.t.noSuchPrinter }, 400);
        const made = deviceTokens.create(printerId, body.name ?? "");
        const ctx = tools.view(session);
        if (!made.ok) {
          const flash: Flash = { kind: "error", text: translate(tools.t, made.error) };
          return respond(
            request,
            session!,
            TokensSection({ ctx, tokens: deviceTokens.list(), flash, printers: printerSummaries() }),
            flash,
            400,
          );
        }
        // Shown once, in this response only; never logged.
        const created = { name: (body.name ?? "").trim(), token: made.token };
        const fragment = TokensSection({ ctx, tokens: deviceTokens.list(), created, printers: printerSummaries() });
        return htmlResponse((isHtmx(request) ? fragment : page(session!, undefined, created)) as string, 200, {
          "cache-control": "no-store",
        });
      },
      {
        body: t.Object({
          ...Csrf,
          name: t.Optional(t.String({ maxLength: 256 })),
          printer_id: t.Optional(t.String({ maxLength: 12 })),
        }),
      },
    )

    .post(
      "/settings/tokens/:id/revoke",
      ({ session, params, request }) => {
        if (session!.user.role !== "admin") return forbidden(session!);
        const done = /^\d{1,15}$/.test(params.id) && deviceTokens.revoke(Number(params.id));
        const flash: Flash = done
          ? { kind: "ok", text: tools.t.tokenRevoked }
          : { kind: "error", text: tools.t.noSuchToken };
        return respond(
          request,
          session!,
          TokensSection({ ctx: tools.view(session), tokens: deviceTokens.list(), flash, printers: printerSummaries() }),
          flash,
          done ? 200 : 400,
        );
      },
      { body: t.Optional(t.Object(Csrf)) },
    )

    .post(
      "/settings/password",
      async ({ session, body, request }) => {
        const result = await users.changePassword(
          session!.user,
          body.current ?? "",
          body.next ?? "",
          session!.tokenHash,
        );
        const flash: Flash = result.ok
          ? { kind: "ok", text: tools.t.passwordChanged }
          : { kind: "error", text: translate(tools.t, result.error) };
        return respond(
          request,
          session!,
          PasswordForm({ ctx: tools.view(session), flash }),
          flash,
          result.ok ? 200 : 400,
        );
      },
      {
        body: t.Object({
          ...Csrf,
          current: t.Optional(t.String({ maxLength: 1024 })),
          next: t.Optional(t.String({ maxLength: 1024 })),
        }),
      },
    );
}
