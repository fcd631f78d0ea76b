// Owns the Settings page as a whole and its own forms: capture intervals, users, device tokens, own password.
// Every POST is CSRF-checked by the edge's form auth.

import { Elysia, t } from "elysia";
import { count } from "../../views/context.ts";
import { type Flash, IntervalsForm, PasswordForm, SettingsPage, UsersSection } from "../../views/settings.tsx";
import { InstancesSection, type InstancesView } from "../../views/settings-instances.tsx";
import { TokensSection } from "../../views/settings-tokens.tsx";
import { translate } from "../i18n.ts";
import type { Session } from "../services/auth.ts";
import { parseIntervals } from "../services/intervals.ts";
import { roleNamed } from "../services/users.ts";
import { DEFAULT_PRINTER_ID } from "../store/migrations.ts";
import type { HttpDeps, RequestTools } from "./context.ts";
import { edge, IdParams } from "./edge.ts";

const Csrf = { _csrf: t.Optional(t.String({ maxLength: 128 })) };

/** Each printer with its camera Pi's state, as the printer and token sections list them. */
export const summariesOf = (deps: HttpDeps) =>
  deps.printers.list().map((printer) => ({
    printer,
    device: deps.printers.deviceSource(printer),
    holder: deps.holderOf(printer.info.id),
  }));

/** Settings' instances section: this instance, its database and Redis, and each LAN printer's holder. */
export const instancesView = async (deps: HttpDeps): Promise<InstancesView> => ({
  instance: deps.cluster.instance,
  database: await deps.cluster.database(),
  redis: deps.cluster.redis?.() ?? null,
  holders: deps.printers
    .list()
    .filter((p) => p.info.host)
    .map((p) => ({ id: p.info.id, name: p.info.name, holder: deps.holderOf(p.info.id) })),
});

/** The whole settings page; every form that is not answered in place answers with it. */
export async function settingsPage(
  deps: HttpDeps,
  tools: RequestTools,
  session: Session,
  extra: {
    flash?: Flash;
    created?: { name: string; token: string };
    apiCreated?: { name: string; token: string };
  } = {},
) {
  const [users, tokens, log, actions, targets, storage, instances, shares, apiTokens] = await Promise.all([
    deps.users.list(),
    deps.deviceTokens.list(),
    deps.eventLog.recent(100),
    deps.control.recent(50),
    deps.notifier.targets(),
    deps.storage(),
    instancesView(deps),
    deps.shares.list(),
    deps.apiTokens.ofUser(session.user.id),
  ]);
  return SettingsPage({
    ctx: tools.view(session),
    users,
    intervals: deps.intervals.get(),
    tokens,
    log,
    actions,
    targets,
    storage,
    instances,
    shares,
    apiTokens,
    devices: deps.devices.connected(),
    printers: summariesOf(deps),
    spoolman: !!deps.config.spoolman_url,
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
  const respond = (
    { request, session, set }: { request: Request; session: Session; set: { status?: number | string } },
    fragment: JSX.Element,
    flash: Flash,
    status = 200,
  ) => {
    set.status = status;
    return isHtmx(request) ? fragment : page(session, flash);
  };
  /** Spread into each route: Elysia rewrites the hook object it is given, so none may be shared. */
  const admin = { auth: "form", role: "admin" } as const;

  return (
    new Elysia({ name: "settings-routes" })
      .use(edge(deps, tools))
      .get("/settings", ({ session }) => page(session), { auth: "form" })
      // The instances section asks for itself again every few seconds.
      .get(
        "/settings/instances",
        async ({ session }) => InstancesSection({ ctx: tools.view(session), view: await instancesView(deps) }),
        { ...admin },
      )

      .post(
        "/settings/intervals",
        async (c) => {
          const { session, body } = c;
          const ctx = tools.view(session);
          const parsed = parseIntervals(body);
          if (!parsed.ok) {
            const flash: Flash = {
              kind: "error",
              text: Object.values(parsed.errors)
                .map((m) => translate(tools.t, m))
                .join(" "),
            };
            const devices = deps.devices.connected();
            return respond(
              c,
              IntervalsForm({ ctx, values: body as never, errors: parsed.errors, devices }),
              flash,
              400,
            );
          }
          await intervals.set(parsed.value);
          deps.log.info("capture intervals changed", { by: session.user.username, ...parsed.value });
          const n = deps.devices.connected();
          const flash: Flash = {
            kind: "ok",
            text: `${tools.t.saved} ${n ? count(ctx, "sentToDevices", n) : tools.t.noDeviceConnected}`,
          };
          return respond(c, IntervalsForm({ ctx, values: parsed.value, flash, devices: n }), flash);
        },
        {
          ...admin,
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
        async (c) => {
          const { session, body } = c;
          const role = roleNamed(body.role) ?? "viewer";
          const result = await users.add({ username: body.username ?? "", password: body.password ?? "", role });
          const flash: Flash = result.ok
            ? { kind: "ok", text: tools.t.userAdded }
            : { kind: "error", text: translate(tools.t, result.error) };
          const draft = result.ok ? undefined : { username: body.username ?? "", role };
          const fragment = UsersSection({ ctx: tools.view(session), users: await users.list(), flash, draft });
          return respond(c, fragment, flash, result.ok ? 200 : 400);
        },
        {
          ...admin,
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
        async (c) => {
          const result = await users.delete(c.session.user, c.params.id);
          const flash: Flash = result.ok
            ? { kind: "ok", text: tools.t.userDeleted }
            : { kind: "error", text: translate(tools.t, result.error) };
          const fragment = UsersSection({ ctx: tools.view(c.session), users: await users.list(), flash });
          return respond(c, fragment, flash, result.ok ? 200 : 400);
        },
        { ...admin, params: IdParams, body: t.Optional(t.Object(Csrf)) },
      )

      .post(
        "/settings/tokens",
        async (c) => {
          const { session, body, request, set } = c;
          const printerId = Number(body.printer_id ?? DEFAULT_PRINTER_ID);
          if (!deps.printers.exists(printerId)) {
            set.headers["content-type"] = "text/html; charset=utf-8";
            return respond(c, "", { kind: "error", text: tools.t.noSuchPrinter }, 400);
          }
          const made = await deviceTokens.create(printerId, body.name ?? "");
          const ctx = tools.view(session);
          if (!made.ok) {
            const flash: Flash = { kind: "error", text: translate(tools.t, made.error) };
            const tokens = await deviceTokens.list();
            const fragment = TokensSection({ ctx, tokens, flash, printers: printerSummaries() });
            return respond(c, fragment, flash, 400);
          }
          // Shown once, in this response only; never logged.
          const created = { name: (body.name ?? "").trim(), token: made.token };
          set.headers["cache-control"] = "no-store";
          if (!isHtmx(request)) return page(session, undefined, created);
          return TokensSection({ ctx, tokens: await deviceTokens.list(), created, printers: printerSummaries() });
        },
        {
          ...admin,
          body: t.Object({
            ...Csrf,
            name: t.Optional(t.String({ maxLength: 256 })),
            printer_id: t.Optional(t.String({ maxLength: 12 })),
          }),
        },
      )

      .post(
        "/settings/tokens/:id/revoke",
        async (c) => {
          const done = await deviceTokens.revoke(c.params.id);
          const flash: Flash = done
            ? { kind: "ok", text: tools.t.tokenRevoked }
            : { kind: "error", text: tools.t.noSuchToken };
          const printers = printerSummaries();
          const tokens = await deviceTokens.list();
          const fragment = TokensSection({ ctx: tools.view(c.session), tokens, flash, printers });
          return respond(c, fragment, flash, done ? 200 : 400);
        },
        { ...admin, params: IdParams, body: t.Optional(t.Object(Csrf)) },
      )

      .post(
        "/settings/users/:id/password",
        async (c) => {
          const result = await users.resetPassword(c.session.user, c.params.id, c.body.password ?? "");
          const ctx = tools.view(c.session);
          const flash: Flash = result.ok
            ? {
                kind: "ok",
                text: `${tools.t.passwordSet.replace("{name}", result.value.user.username)} ${count(ctx, "apiTokensRevoked", result.value.revoked)}`,
              }
            : { kind: "error", text: translate(tools.t, result.error) };
          const fragment = UsersSection({ ctx, users: await users.list(), flash });
          return respond(c, fragment, flash, result.ok ? 200 : 400);
        },
        {
          ...admin,
          params: IdParams,
          body: t.Object({ ...Csrf, password: t.Optional(t.String({ maxLength: 1024 })) }),
        },
      )

      .post(
        "/settings/password",
        async (c) => {
          const { session, body } = c;
          // Revoked unless the box was offered and left unticked: a form from before the user had tokens revokes.
          const revokeApiTokens = body.revoke_api_tokens === "1" || body.api_tokens_offered !== "1";
          const result = await users.changePassword(
            session.user,
            body.current ?? "",
            body.next ?? "",
            session.tokenHash,
            {
              revokeApiTokens,
            },
          );
          const ctx = tools.view(session);
          const flash: Flash = result.ok
            ? {
                kind: "ok",
                text: result.value
                  ? `${tools.t.passwordChanged} ${count(ctx, "apiTokensRevoked", result.value)}`
                  : tools.t.passwordChanged,
              }
            : { kind: "error", text: translate(tools.t, result.error) };
          const apiTokens = (await deps.apiTokens.ofUser(session.user.id)).length;
          return respond(c, PasswordForm({ ctx, flash, apiTokens }), flash, result.ok ? 200 : 400);
        },
        {
          auth: "form",
          body: t.Object({
            ...Csrf,
            current: t.Optional(t.String({ maxLength: 1024 })),
            next: t.Optional(t.String({ maxLength: 1024 })),
            api_tokens_offered: t.Optional(t.String({ maxLength: 8 })),
            revoke_api_tokens: t.Optional(t.String({ maxLength: 8 })),
          }),
        },
      )
  );
}
