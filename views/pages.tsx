/** @jsxImportSource @kitajs/html */
// Owns the simple pages: login and the error page.
import type { ViewContext } from "./context.ts";
import { Layout } from "./layout.tsx";

export function LoginPage(props: { ctx: ViewContext; next?: string; error?: string; username?: string }) {
  const { t } = props.ctx;
  const action = props.next ? `/login?next=${encodeURIComponent(props.next)}` : "/login";
  return (
    <Layout ctx={props.ctx} title={t.login} page="login">
      <form method="post" action={action} class="card login">
        <h1>{t.appName}</h1>
        {props.error ? (
          <p class="flash error" role="alert" safe>
            {props.error}
          </p>
        ) : null}
        <label for="username">{t.username}</label>
        <input
          id="username"
          name="username"
          autocomplete="username"
          required
          autofocus
          value={props.username ?? ""}
          maxlength="64"
        />
        <label for="password">{t.password}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <label class="check">
          <input type="checkbox" name="remember" value="on" /> {t.rememberMe}
        </label>
        <button type="submit">{t.login}</button>
      </form>
    </Layout>
  );
}

export function ErrorPage(props: { ctx: ViewContext; title: string; message: string }) {
  return (
    <Layout ctx={props.ctx} title={props.title} page="error">
      <div class="card">
        <h1 safe>{props.title}</h1>
        <p safe>{props.message}</p>
        <p>
          <a href="/">{props.ctx.t.home}</a>
        </p>
      </div>
    </Layout>
  );
}
