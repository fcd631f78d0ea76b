/** @jsxImportSource @kitajs/html */
// Owns the notification settings: targets (shown without their secrets) with their delivery log, adding one
// with a "send test" that uses the form's values before saving, and this browser's push opt-in.
import type { DeliveryRow, TargetRow } from "../src/store/store.ts";
import { formatStamp, type ViewContext } from "./context.ts";
import { Csrf, type Flash, FlashMessage } from "./forms.tsx";

export type TargetView = TargetRow & { flagged: boolean; log: DeliveryRow[] };

function DeliveryLog(props: { rows: DeliveryRow[]; ctx: ViewContext }) {
  const { ctx } = props;
  if (!props.rows.length) return <p class="muted">{ctx.t.noDeliveries}</p>;
  return (
    <table class="log">
      <tbody>
        {props.rows.map((d) => (
          <tr class={d.status === "failed" ? "level-error" : d.status === "pending" ? "level-warn" : ""}>
            <td class="when">{formatStamp(d.done_at ?? d.created_at, ctx)}</td>
            <td>{d.event}</td>
            <td>{`${d.status}${d.attempts > 1 ? ` (${d.attempts})` : ""}`}</td>
            <td class="muted" safe>
              {d.last_error ?? ""}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function NotifySection(props: { ctx: ViewContext; targets: TargetView[]; flash?: Flash; draft?: string }) {
  const { ctx } = props;
  const { t } = ctx;
  return (
    <section id="notify" class="card wide" aria-labelledby="h-notify">
      <h2 id="h-notify">{t.notifications}</h2>
      <p class="muted">{t.notifyHelp}</p>
      <FlashMessage flash={props.flash} />
      <ul class="users targets">
        {props.targets.map((target) => (
          <li>
            <code class="name" safe>
              {target.url}
            </code>{" "}
            {target.flagged ? <span class="role failing">{t.targetFailing}</span> : ""}
            {target.from_config ? <span class="role">{t.fromConfig}</span> : ""}
            <span class="muted" safe>
              {target.last_ok_at ? ` ${t.lastDelivered} ${formatStamp(target.last_ok_at, ctx)}` : ""}
              {target.last_error ? ` · ${target.last_error}` : ""}
            </span>
            {target.from_config || target.url === "webpush://" ? (
              ""
            ) : (
              <form method="post" action={`/settings/notify/${target.id}/delete`} class="inline">
                <Csrf ctx={ctx} />
                <button type="submit" class="danger">
                  {t.delete}
                </button>
              </form>
            )}
            <details>
              <summary>{t.deliveryLog}</summary>
              <DeliveryLog rows={target.log} ctx={ctx} />
            </details>
          </li>
        ))}
      </ul>
      <form method="post" action="/settings/notify" class="notify-form">
        <Csrf ctx={ctx} />
        <label for="notify-url">{t.targetUrl}</label>
        <input
          id="notify-url"
          name="url"
          required
          maxlength="2048"
          autocomplete="off"
          placeholder="ntfys://ntfy.sh/my-printers"
          value={props.draft ?? ""}
        />
        <div class="control-buttons">
          <button type="submit">{t.addTarget}</button>
          <button
            type="button"
            hx-post="/settings/notify/test"
            hx-include="closest form"
            hx-target="#notify-test-result"
            hx-swap="innerHTML"
          >
            {t.sendTest}
          </button>
        </div>
        <p id="notify-test-result" role="status" aria-live="polite"></p>
      </form>
      <p>
        <button type="button" id="push-subscribe" hidden data-off={t.pushOff} data-on={t.pushOn}>
          {t.pushOff}
        </button>{" "}
        <span id="push-state" class="muted" role="status"></span>
      </p>
    </section>
  );
}
