/** @jsxImportSource @kitajs/html */
// Owns the settings page: capture intervals, users, one's own password, the admin log and the printer action
// audit; printers, tokens, notifications and storage come from settings-printers/-tokens/-notify/-storage.tsx.
import { translate } from "../src/i18n.ts";
import type { IntervalErrors } from "../src/services/intervals.ts";
import { ROLES, roleAtLeast } from "../src/services/users.ts";
import type {
  ApiTokenRow,
  DeviceTokenRow,
  Intervals,
  LogRow,
  PrinterActionRow,
  ShareListRow,
  UserRow,
} from "../src/store/store.ts";
import { count, formatStamp, type ViewContext } from "./context.ts";
import { Csrf, type Flash, FlashMessage } from "./forms.tsx";
import { Layout } from "./layout.tsx";
import { ApiTokensSection } from "./settings-api-tokens.tsx";
import { InstancesSection, type InstancesView } from "./settings-instances.tsx";
import { NotifySection, type TargetView } from "./settings-notify.tsx";
import { type PrinterSummary, PrintersSection } from "./settings-printers.tsx";
import { StorageSection } from "./settings-storage.tsx";
import { TokensSection } from "./settings-tokens.tsx";
import { SharesSection } from "./shares.tsx";

export function IntervalsForm(props: {
  ctx: ViewContext;
  values: Record<keyof Intervals, string | number>;
  errors?: IntervalErrors;
  flash?: Flash;
  devices?: number;
}) {
  const { ctx, values, errors = {} } = props;
  const { t } = ctx;
  const admin = ctx.user?.role === "admin";
  const field = (key: keyof Intervals, label: string, min: number) => (
    <div class="field">
      <label for={key}>{label}</label>
      <input
        id={key}
        name={key}
        type="number"
        inputmode="numeric"
        min={min}
        step="1"
        required
        value={String(values[key])}
        disabled={!admin}
        aria-invalid={errors[key] ? "true" : undefined}
        aria-describedby={errors[key] ? `${key}-error` : undefined}
      />
      {errors[key] ? (
        <p class="field-error" id={`${key}-error`} safe>
          {translate(t, errors[key])}
        </p>
      ) : (
        ""
      )}
    </div>
  );
  return (
    <form
      id="intervals-form"
      class="card"
      method="post"
      action="/settings/intervals"
      hx-post="/settings/intervals"
      hx-target="this"
      hx-swap="outerHTML"
    >
      <h2>{t.captureIntervals}</h2>
      <FlashMessage flash={props.flash} />
      <Csrf ctx={ctx} />
      {field("image_delay", t.imageDelay, 5)}
      {field("temphum_delay", t.temphumDelay, 1)}
      {field("status_delay", t.statusDelay, 1)}
      {admin ? <button type="submit">{t.save}</button> : <p class="muted">{t.forbidden}</p>}
      {props.devices === undefined ? (
        ""
      ) : (
        <p class="muted devices">
          {props.devices ? t.devicesInSync.replace("{n}", String(props.devices)) : t.noDeviceConnected}
        </p>
      )}
    </form>
  );
}

export function UsersSection(props: {
  ctx: ViewContext;
  users: UserRow[];
  flash?: Flash;
  draft?: { username: string; role: string };
}) {
  const { ctx, users } = props;
  const { t } = ctx;
  const admin = ctx.user?.role === "admin";
  return (
    <section id="users" class="card" aria-labelledby="h-users">
      <h2 id="h-users">{t.users}</h2>
      <FlashMessage flash={props.flash} />
      <ul class="users">
        {users.map((u) => (
          <li>
            <span class="name" safe>
              {u.username}
            </span>{" "}
            <span class="role">{t[u.role]}</span>
            {u.id === ctx.user?.id ? <span class="muted"> ({t.you})</span> : ""}
            {admin && u.id !== ctx.user?.id ? (
              <form
                method="post"
                action={`/settings/users/${u.id}/delete`}
                hx-post={`/settings/users/${u.id}/delete`}
                hx-target="#users"
                hx-swap="outerHTML"
                class="inline"
              >
                <Csrf ctx={ctx} />
                <button type="submit" class="danger" aria-label={`${t.delete} ${u.username}`}>
                  {t.delete}
                </button>
              </form>
            ) : (
              ""
            )}
            {admin && u.id !== ctx.user?.id ? (
              <details class="set-password">
                <summary>{t.setPassword}</summary>
                <form
                  method="post"
                  action={`/settings/users/${u.id}/password`}
                  hx-post={`/settings/users/${u.id}/password`}
                  hx-target="#users"
                  hx-swap="outerHTML"
                >
                  <Csrf ctx={ctx} />
                  <label for={`set-password-${u.id}`} safe>
                    {t.newPasswordFor.replace("{name}", u.username)}
                  </label>
                  <input
                    id={`set-password-${u.id}`}
                    name="password"
                    type="password"
                    required
                    minlength="8"
                    autocomplete="new-password"
                  />
                  <p class="muted">{t.setPasswordHelp}</p>
                  <button type="submit">{t.setPassword}</button>
                </form>
              </details>
            ) : (
              ""
            )}
          </li>
        ))}
      </ul>
      {admin ? (
        <form
          method="post"
          action="/settings/users"
          hx-post="/settings/users"
          hx-target="#users"
          hx-swap="outerHTML"
          class="add-user"
        >
          <h3>{t.addUser}</h3>
          <Csrf ctx={ctx} />
          <label for="new-username">{t.username}</label>
          <input
            id="new-username"
            name="username"
            required
            maxlength="64"
            autocomplete="off"
            value={props.draft?.username ?? ""}
          />
          <label for="new-password">{t.password}</label>
          <input id="new-password" name="password" type="password" required minlength="8" autocomplete="new-password" />
          <label for="new-role">{t.role}</label>
          <select id="new-role" name="role">
            {ROLES.map((role) => (
              <option value={role} selected={(props.draft?.role ?? "viewer") === role}>
                {t[role]}
              </option>
            ))}
          </select>
          <button type="submit">{t.addUser}</button>
        </form>
      ) : (
        ""
      )}
    </section>
  );
}

/** `apiTokens`: how many live API tokens the user has; the box to revoke them is offered only when there are some. */
export function PasswordForm(props: { ctx: ViewContext; flash?: Flash; apiTokens: number }) {
  const { ctx } = props;
  const { t } = ctx;
  return (
    <form
      id="password-form"
      class="card"
      method="post"
      action="/settings/password"
      hx-post="/settings/password"
      hx-target="this"
      hx-swap="outerHTML"
    >
      <h2>{t.changePassword}</h2>
      <FlashMessage flash={props.flash} />
      <Csrf ctx={ctx} />
      <label for="current">{t.currentPassword}</label>
      <input id="current" name="current" type="password" required autocomplete="current-password" />
      <label for="next">{t.newPassword}</label>
      <input id="next" name="next" type="password" required minlength="8" autocomplete="new-password" />
      {props.apiTokens > 0 ? (
        <>
          <input type="hidden" name="api_tokens_offered" value="1" />
          <label class="check">
            <input type="checkbox" name="revoke_api_tokens" value="1" checked />{" "}
            {count(ctx, "revokeMyApiTokens", props.apiTokens)}
          </label>
        </>
      ) : (
        ""
      )}
      <button type="submit">{t.save}</button>
    </form>
  );
}

export function LogSection(props: { ctx: ViewContext; rows: LogRow[] }) {
  const { ctx } = props;
  return (
    <section id="log" class="card wide" aria-labelledby="h-log">
      <h2 id="h-log">{ctx.t.recentProblems}</h2>
      {props.rows.length === 0 ? (
        <p class="muted">{ctx.t.noProblems}</p>
      ) : (
        <table class="log">
          <tbody>
            {props.rows.map((r) => (
              <tr class={`level-${r.level}`}>
                <td class="when">{formatStamp(r.at, ctx)}</td>
                <td>{r.level}</td>
                <td>
                  <span safe>{r.message}</span>{" "}
                  <code class="muted" safe>
                    {r.details === "{}" ? "" : r.details}
                  </code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ActionsSection(props: { ctx: ViewContext; rows: PrinterActionRow[]; names: Map<number, string> }) {
  const { ctx } = props;
  if (!props.rows.length) return "";
  return (
    <section id="printer-actions" class="card wide" aria-labelledby="h-actions">
      <h2 id="h-actions">{ctx.t.printerActions}</h2>
      <table class="log">
        <tbody>
          {props.rows.map((r) => (
            <tr class={r.result === "ok" ? "" : "level-warn"}>
              <td class="when">{formatStamp(r.at, ctx)}</td>
              <td safe>{props.names.get(r.printer_id) ?? `#${r.printer_id}`}</td>
              <td safe>{`${r.username}: ${r.action} (${r.via}) → ${r.result}`}</td>
              <td class="muted" safe>
                {r.detail}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function SettingsPage(props: {
  ctx: ViewContext;
  users: UserRow[];
  intervals: Intervals;
  flash?: Flash;
  tokens?: DeviceTokenRow[];
  log?: LogRow[];
  created?: { name: string; token: string };
  devices?: number;
  printers: PrinterSummary[];
  actions?: PrinterActionRow[];
  targets?: TargetView[];
  storage?: { archive: number; archiveQuota: number; media: number; mediaQuota: number };
  instances?: InstancesView;
  shares?: ShareListRow[];
  apiTokens?: ApiTokenRow[];
  apiCreated?: { name: string; token: string };
  /** Whether spoolman_url is set: Settings' Spoolman part is loaded after the page. */
  spoolman?: boolean;
}) {
  const { ctx } = props;
  return (
    <Layout ctx={ctx} title={ctx.t.settings} page="settings">
      <h1>{ctx.t.settings}</h1>
      <FlashMessage flash={props.flash} />
      <div class="settings">
        <PrintersSection ctx={ctx} printers={props.printers} />
        <IntervalsForm ctx={ctx} values={props.intervals} devices={props.devices} />
        <UsersSection ctx={ctx} users={props.users} />
        <PasswordForm ctx={ctx} apiTokens={props.apiTokens?.length ?? 0} />
        {props.apiTokens ? <ApiTokensSection ctx={ctx} tokens={props.apiTokens} created={props.apiCreated} /> : ""}
        {ctx.user?.role === "admin" && props.tokens ? (
          <TokensSection ctx={ctx} tokens={props.tokens} created={props.created} printers={props.printers} />
        ) : (
          ""
        )}
        {ctx.user?.role === "admin" && props.targets ? <NotifySection ctx={ctx} targets={props.targets} /> : ""}
        {ctx.user?.role === "admin" && props.spoolman ? (
          <div id="spoolman-uses" hx-get="/settings/spoolman" hx-trigger="load"></div>
        ) : (
          ""
        )}
        {roleAtLeast(ctx.user?.role, "operator") && props.shares ? (
          <SharesSection ctx={ctx} shares={props.shares} />
        ) : (
          ""
        )}
        {props.storage ? <StorageSection ctx={ctx} storage={props.storage} /> : ""}
        {ctx.user?.role === "admin" && props.instances ? <InstancesSection ctx={ctx} view={props.instances} /> : ""}
        {ctx.user?.role === "admin" && props.actions ? (
          <ActionsSection
            ctx={ctx}
            rows={props.actions}
            names={new Map(props.printers.map((p) => [p.printer.info.id, p.printer.info.name]))}
          />
        ) : (
          ""
        )}
        {ctx.user?.role === "admin" && props.log ? <LogSection ctx={ctx} rows={props.log} /> : ""}
      </div>
    </Layout>
  );
}

export type { Flash };
