// Owns the Settings forms for a user's own personal API tokens: make one (shown once) and revoke one. Any signed-in
// user may; a token carries its user's role, so a viewer's token still cannot write.
import { Elysia, t } from "elysia";
import type { Flash } from "../../views/forms.tsx";
import { ApiTokensSection } from "../../views/settings-api-tokens.tsx";
import { translate } from "../i18n.ts";
import type { Session } from "../services/auth.ts";
import type { HttpDeps, RequestTools } from "./context.ts";
import { edge, IdParams } from "./edge.ts";
import { settingsPage } from "./settings.ts";

const Csrf = { _csrf: t.Optional(t.String({ maxLength: 128 })) };

export function apiTokenRoutes(deps: HttpDeps, tools: RequestTools) {
  const { apiTokens } = deps;
  const isHtmx = (request: Request) => request.headers.get("hx-request") === "true";
  /** htmx gets the section; a plain form post gets the whole page with the same message. */
  const answer = async (
    c: { request: Request; session: Session; set: { status?: number | string; headers: Record<string, unknown> } },
    flash: Flash | undefined,
    created?: { name: string; token: string },
    status = 200,
  ) => {
    c.set.status = status;
    // A new token is in this response only: nothing may keep it.
    if (created) c.set.headers["cache-control"] = "no-store";
    if (!isHtmx(c.request)) return settingsPage(deps, tools, c.session, { flash, apiCreated: created });
    const tokens = await apiTokens.ofUser(c.session.user.id);
    return ApiTokensSection({ ctx: tools.view(c.session), tokens, flash, created });
  };

  return new Elysia({ name: "api-token-routes" })
    .use(edge(deps, tools))
    .post(
      "/settings/api-tokens",
      async (c) => {
        const made = await apiTokens.create(c.session.user, c.body.name ?? "");
        if (!made.ok) return answer(c, { kind: "error", text: translate(tools.t, made.error) }, undefined, 400);
        return answer(c, undefined, { name: (c.body.name ?? "").trim(), token: made.token });
      },
      { auth: "form", body: t.Object({ ...Csrf, name: t.Optional(t.String({ maxLength: 256 })) }) },
    )
    .post(
      "/settings/api-tokens/:id/revoke",
      async (c) => {
        const done = await apiTokens.revoke(c.session.user, c.params.id);
        const flash: Flash = done
          ? { kind: "ok", text: tools.t.tokenRevoked }
          : { kind: "error", text: tools.t.noSuchToken };
        return answer(c, flash, undefined, done ? 200 : 400);
      },
      { auth: "form", params: IdParams, body: t.Optional(t.Object(Csrf)) },
    );
}
