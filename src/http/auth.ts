// Owns logging in and out over HTTP (PROTOCOL.md §1): 303 on success, 401 with the form on failure.
import { Elysia, t } from "elysia";
import { ErrorPage, LoginPage } from "../../views/pages.tsx";
import { REMEMBER_TTL_MS } from "../services/auth.ts";
import { readSessionToken } from "../session-cookie.ts";
import { type HttpDeps, type RequestTools, redirectTo, safeNext } from "./context.ts";
import { csrfCheck } from "./edge.ts";

const LoginForm = t.Optional(
  t.Object({
    // Optional so a half-filled form is a failed login (401 with the form), not a schema error.
    username: t.Optional(t.String({ maxLength: 256 })),
    password: t.Optional(t.String({ maxLength: 1024 })),
    remember: t.Optional(t.String({ maxLength: 8 })),
  }),
);

export function authRoutes(deps: HttpDeps, tools: RequestTools) {
  /** Only a POST with the session's CSRF token ends it: another site can neither link nor post a logout. */
  const csrfRefusal = csrfCheck(deps, tools);
  const logout = async ({ request, body }: { request: Request; body: unknown }) => {
    const session = await tools.sessionOf(request);
    const refused = session && csrfRefusal(session, request, body);
    if (refused) return refused;
    await deps.auth.endSession(readSessionToken(request.headers.get("cookie")));
    return redirectTo("/login", { "set-cookie": tools.clearedCookie() });
  };

  return (
    new Elysia({ name: "auth-routes" })
      .get("/login", async ({ request, query }) => {
        if (await tools.sessionOf(request)) return redirectTo(safeNext(query.next));
        return LoginPage({ ctx: tools.view(null), next: typeof query.next === "string" ? query.next : undefined });
      })
      .post(
        "/login",
        async ({ request, body, query, server, set }) => {
          const next = typeof query.next === "string" ? query.next : undefined;
          const username = body?.username ?? "";
          const address = tools.clientAddress(request, server);
          const keys = [`ip:${address}`, `user:${username.toLowerCase()}`];
          const wait = await deps.loginLimiter.retryAfter(keys);
          if (wait > 0) {
            deps.log.warn("login throttled", { user: username.slice(0, 64), address, retry_after_s: wait });
            const message = tools.t.tooManyLogins.replace("{minutes}", String(Math.ceil(wait / 60)));
            set.status = 429;
            set.headers["retry-after"] = String(wait);
            return LoginPage({ ctx: tools.view(null), next, error: message, username });
          }
          const user = username && body?.password ? await deps.auth.checkCredentials(username, body.password) : null;
          if (!user) {
            await deps.loginLimiter.fail(keys);
            deps.log.warn("login failed", { user: username.slice(0, 64), address });
            set.status = 401;
            return LoginPage({ ctx: tools.view(null), next, error: tools.t.badLogin, username });
          }
          await deps.loginLimiter.succeed([`user:${username.toLowerCase()}`]);
          const remember = body?.remember === "on";
          const { token } = await deps.auth.startSession(user.id, remember);
          deps.log.info("login", { user: user.username, remember });
          const cookie = tools.sessionCookie(request, token, remember ? REMEMBER_TTL_MS / 1000 : undefined);
          return redirectTo(safeNext(next), { "set-cookie": cookie });
        },
        { body: LoginForm },
      )
      // A link (from any site) cannot log out: the page says to use the button, which posts with the CSRF token.
      .get("/logout", async ({ request, set }) => {
        set.status = 405;
        set.headers.allow = "POST";
        return ErrorPage({
          ctx: tools.view(await tools.sessionOf(request)),
          title: "405",
          message: tools.t.logoutByPost,
        });
      })
      .post("/logout", logout, { body: t.Optional(t.Object({ _csrf: t.Optional(t.String({ maxLength: 128 })) })) })
  );
}
