/** @jsxImportSource @kitajs/html */
// Owns the device tokens section of Settings: each token named, its printer, last use, revoke; a new one
// shown once.
import type { DeviceTokenRow } from "../src/store/store.ts";
import { formatStamp, type ViewContext } from "./context.ts";
import { Csrf, type Flash, FlashMessage } from "./forms.tsx";
import type { PrinterSummary } from "./settings-printers.tsx";

export function TokensSection(props: {
  ctx: ViewContext;
  tokens: DeviceTokenRow[];
  flash?: Flash;
  created?: { name: string; token: string };
  printers: PrinterSummary[];
}) {
  const { ctx, tokens } = props;
  const nameOf = new Map(props.printers.map((p) => [p.printer.info.id, p.printer.info.name]));
  const { t } = ctx;
  return (
    <section id="tokens" class="card" aria-labelledby="h-tokens">
      <h2 id="h-tokens">{t.deviceTokens}</h2>
      <p class="muted">{t.deviceTokensHelp}</p>
      <FlashMessage flash={props.flash} />
      <NewToken ctx={ctx} created={props.created} />
      <ul class="users">
        {tokens.map((tk) => (
          <TokenItem
            ctx={ctx}
            token={tk}
            action="/settings/tokens"
            section="tokens"
            printer={nameOf.get(tk.printer_id) ?? ""}
          />
        ))}
      </ul>
      <form method="post" action="/settings/tokens" hx-post="/settings/tokens" hx-target="#tokens" hx-swap="outerHTML">
        <Csrf ctx={ctx} />
        <label for="token-name">{t.tokenName}</label>
        <input id="token-name" name="name" required maxlength="64" autocomplete="off" />
        <label for="token-printer">{t.printerState}</label>
        <select id="token-printer" name="printer_id">
          {props.printers.map((p) => (
            <option value={String(p.printer.info.id)} safe>
              {p.printer.info.name}
            </option>
          ))}
        </select>
        <button type="submit">{t.createToken}</button>
      </form>
    </section>
  );
}

/**
 * One token of a list, device or API alike: its name, its printer (device tokens), its last use, and a revoke
 * button posting to `<action>/<id>/revoke` that swaps the section `#<section>`.
 */
export function TokenItem(props: {
  ctx: ViewContext;
  token: { id: number; name: string; last_used_at: number | null };
  action: string;
  section: string;
  printer?: string;
}) {
  const { ctx, token: tk } = props;
  const { t } = ctx;
  const revoke = `${props.action}/${tk.id}/revoke`;
  return (
    <li>
      <span class="name" safe>
        {tk.name}
      </span>{" "}
      {props.printer === undefined ? (
        ""
      ) : (
        <>
          <span class="role" safe>
            {props.printer}
          </span>{" "}
        </>
      )}
      <span class="muted">{tk.last_used_at ? `${t.lastUsed} ${formatStamp(tk.last_used_at, ctx)}` : t.neverUsed}</span>
      <form
        method="post"
        action={revoke}
        hx-post={revoke}
        hx-target={`#${props.section}`}
        hx-swap="outerHTML"
        class="inline"
      >
        <Csrf ctx={ctx} />
        <button type="submit" class="danger" aria-label={`${t.revoke} ${tk.name}`}>
          {t.revoke}
        </button>
      </form>
    </li>
  );
}

/** A token just made: shown this once (only its hash is kept), for device and API tokens alike. */
export function NewToken(props: { ctx: ViewContext; created?: { name: string; token: string } | null }) {
  if (!props.created) return "";
  return (
    <div class="flash ok new-token" role="status">
      <p>
        <span safe>{props.created.name}</span>: {props.ctx.t.tokenShownOnce}
      </p>
      <code class="token" safe>
        {props.created.token}
      </code>
    </div>
  );
}
