/** @jsxImportSource @kitajs/html */
// Owns the personal API tokens section of Settings: the user's own tokens, each named with its last use and a
// revoke button; a new one shown once.
import type { ApiTokenRow } from "../src/store/store.ts";
import type { ViewContext } from "./context.ts";
import { Csrf, type Flash, FlashMessage } from "./forms.tsx";
import { NewToken, TokenItem } from "./settings-tokens.tsx";

export function ApiTokensSection(props: {
  ctx: ViewContext;
  tokens: ApiTokenRow[];
  flash?: Flash;
  created?: { name: string; token: string };
}) {
  const { ctx, tokens } = props;
  const { t } = ctx;
  return (
    <section id="api-tokens" class="card" aria-labelledby="h-api-tokens">
      <h2 id="h-api-tokens">{t.apiTokens}</h2>
      <p class="muted" safe>
        {t.apiTokensHelp}
      </p>
      <FlashMessage flash={props.flash} />
      <NewToken ctx={ctx} created={props.created} />
      <ul class="users">
        {tokens.map((tk) => (
          <TokenItem ctx={ctx} token={tk} action="/settings/api-tokens" section="api-tokens" />
        ))}
      </ul>
      <form
        method="post"
        action="/settings/api-tokens"
        hx-post="/settings/api-tokens"
        hx-target="#api-tokens"
        hx-swap="outerHTML"
      >
        <Csrf ctx={ctx} />
        <label for="api-token-name">{t.apiTokenName}</label>
        <input id="api-token-name" name="name" required maxlength="64" autocomplete="off" />
        <button type="submit">{t.createToken}</button>
      </form>
    </section>
  );
}
