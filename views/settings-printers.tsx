/** @jsxImportSource @kitajs/html */
// Owns the admin's printer settings: the list with each source's health, adding, editing (the access
// code is never shown back), deleting with a confirmation that says what goes, and per-printer tokens.
import { effectiveModel } from "../src/bambu-models.ts";
import { type Message, translate } from "../src/i18n.ts";
import type { SetupErrors } from "../src/services/printer-setup.ts";
import type { HeldPrinter } from "../src/services/printers.ts";
import type { PrinterData, PrinterSetup } from "../src/store/store.ts";
import { count, formatStamp, type ViewContext } from "./context.ts";
import { Csrf, type Flash, FlashMessage } from "./forms.tsx";
import { Layout } from "./layout.tsx";

const LIMITS = [
  ["temp_high", "tempHigh"],
  ["temp_low", "tempLow"],
  ["hum_high", "humHigh"],
  ["hum_low", "humLow"],
] as const;

export type PrinterSummary = {
  printer: HeldPrinter;
  device: "never" | "online" | "stale";
  /** The instance holding the printer's LAN link (its lease), or null when none does. */
  holder?: string | null;
};
type Values = Partial<Record<keyof PrinterSetup, string | number>>;

function Field(props: {
  ctx: ViewContext;
  name: keyof PrinterSetup;
  label: string;
  values: Values;
  errors: SetupErrors;
  type?: string;
  help?: string;
  required?: boolean;
}) {
  const { name, errors } = props;
  const error = errors[name] as Message | undefined;
  const id = `printer-${name}`;
  const describedBy = [error ? `${id}-error` : "", props.help ? `${id}-help` : ""].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={name}
        type={props.type ?? "text"}
        value={String(props.values[name] ?? "")}
        required={props.required}
        autocomplete="off"
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy || undefined}
      />
      {props.help ? (
        <p class="muted" id={`${id}-help`}>
          {props.help}
        </p>
      ) : (
        ""
      )}
      {error ? (
        <p class="field-error" id={`${id}-error`} safe>
          {translate(props.ctx.t, error)}
        </p>
      ) : (
        ""
      )}
    </div>
  );
}

/** The add and edit form: one set of fields, the access code write-only. */
export function PrinterForm(props: {
  ctx: ViewContext;
  action: string;
  values: Values;
  errors?: SetupErrors;
  editing: boolean;
  submit: string;
}) {
  const { ctx, values } = props;
  const { t } = ctx;
  const errors = props.errors ?? {};
  const f = (name: keyof PrinterSetup, label: string, extra: Partial<Parameters<typeof Field>[0]> = {}) => (
    <Field ctx={ctx} name={name} label={label} values={values} errors={errors} {...extra} />
  );
  return (
    <form method="post" action={props.action} class="printer-form">
      <Csrf ctx={ctx} />
      {f("name", t.printerName, { required: true })}
      {f("model", t.model)}
      {f("host", t.host, { help: t.hostHelp })}
      {f("serial", t.serial)}
      {f("access_code", t.accessCode, { type: "password", help: props.editing ? t.accessCodeKeep : undefined })}
      {f("mqtt_port", t.mqttPort, { type: "number" })}
      {f("camera_port", t.cameraPort, { type: "number" })}
      {f("ftps_port", t.ftpsPort, { type: "number" })}
      {f("rtsp_port", t.rtspPort, { type: "number" })}
      <label class="check">
        <input type="hidden" name="camera" value="off" />
        <input type="checkbox" name="camera" value="on" checked={String(values.camera) !== "0"} /> {t.useCamera}
      </label>
      <label for="printer-tls">{t.tlsMode}</label>
      <select id="printer-tls" name="tls">
        <option value="pin" selected={values.tls !== "insecure"}>
          {t.tlsPin}
        </option>
        <option value="insecure" selected={values.tls === "insecure"}>
          {t.tlsInsecure}
        </option>
      </select>
      <button type="submit">{props.submit}</button>
    </form>
  );
}

/** One line of a printer's health: its LAN link (since, last message, reconnects, error) and its device. */
function lanLine(summary: PrinterSummary, ctx: ViewContext): string {
  const { printer, device } = summary;
  const lan = printer.lan;
  const model = effectiveModel(printer.state.model, printer.info.serial, printer.info.model);
  const parts = [`${model.model} (${ctx.t[`modelFrom_${model.source}`]})`];
  const firmware = printer.state.firmware.find((f) => f.module === "ota") ?? printer.state.firmware[0];
  if (firmware) parts.push(`${ctx.t.firmware} ${firmware.version}`);
  if (printer.info.host) {
    parts.push(`${ctx.t.lan}: ${ctx.t[`lan_${lan.state}`]} (${formatStamp(lan.since, ctx)})`);
    if (lan.last_message_at) parts.push(`↓ ${formatStamp(lan.last_message_at, ctx)}`);
    if (lan.reconnects) parts.push(`${lan.reconnects} ↻`);
    if (lan.last_error) parts.push(lan.last_error);
    if (lan.camera_error) parts.push(`${ctx.t.cameraPrinter}: ${lan.camera_error}`);
    if (summary.holder !== undefined) parts.push(`${ctx.t.heldBy}: ${summary.holder ?? "–"}`);
  }
  parts.push(`${ctx.t.cameraDevice}: ${ctx.t[`device_${device}`]}`);
  return parts.join(" · ");
}

export function PrintersSection(props: { ctx: ViewContext; printers: PrinterSummary[]; flash?: Flash }) {
  const { ctx } = props;
  const { t } = ctx;
  const admin = ctx.user?.role === "admin";
  return (
    <section id="printers" class="card wide" aria-labelledby="h-printers">
      <h2 id="h-printers">{t.printers}</h2>
      <FlashMessage flash={props.flash} />
      <ul class="users printers">
        {props.printers.map(({ printer, device, holder }) => (
          <li>
            <a href={`/printers/${printer.info.id}`} class="name" safe>
              {printer.info.name}
            </a>{" "}
            {printer.info.from_config ? <span class="role">{t.fromConfig}</span> : ""}{" "}
            {admin ? (
              <a
                class="edit"
                href={`/settings/printers/${printer.info.id}`}
                aria-label={t.editPrinter.replace("{name}", printer.info.name)}
              >
                ✎
              </a>
            ) : (
              ""
            )}{" "}
            <span class="muted health" safe>
              {lanLine({ printer, device, holder }, ctx)}
            </span>
            {admin && printer.lan.state === "tls_mismatch" ? (
              <form method="post" action={`/settings/printers/${printer.info.id}/repin`} class="inline">
                <Csrf ctx={ctx} />
                <button type="submit">{t.repin}</button>
              </form>
            ) : (
              ""
            )}
          </li>
        ))}
      </ul>
      {admin ? (
        <details>
          <summary>{t.addPrinter}</summary>
          <PrinterForm ctx={ctx} action="/settings/printers" values={{}} editing={false} submit={t.addPrinter} />
        </details>
      ) : (
        ""
      )}
    </section>
  );
}

export function PrinterEditPage(props: {
  ctx: ViewContext;
  printer: HeldPrinter;
  values: Values;
  errors?: SetupErrors;
  flash?: Flash;
  data: PrinterData;
}) {
  const { ctx, printer } = props;
  const { t } = ctx;
  const id = printer.info.id;
  const confirm = translate(t, {
    key: "deletePrinterConfirm",
    vars: {
      name: printer.info.name,
      readings: count(ctx, "readingCount", props.data.readings),
      frames: count(ctx, "frameCount", props.data.frames),
      statuses: count(ctx, "statusCount", props.data.statuses),
      tokens: count(ctx, "tokenCount", props.data.tokens),
    },
  });
  return (
    <Layout ctx={ctx} title={printer.info.name} page="settings">
      <h1 safe>{printer.info.name}</h1>
      <p>
        <a href="/settings#printers">← {t.settings}</a>
      </p>
      <div class="settings">
        <section class="card" aria-label={t.printers}>
          <FlashMessage flash={props.flash} />
          <PrinterForm
            ctx={ctx}
            action={`/settings/printers/${id}`}
            values={props.values}
            errors={props.errors}
            editing={true}
            submit={t.save}
          />
        </section>
        <section class="card" aria-labelledby="h-limits">
          <h2 id="h-limits">{t.limits}</h2>
          <form method="post" action={`/settings/printers/${id}/limits`}>
            <Csrf ctx={ctx} />
            {LIMITS.map(([key, label]) => (
              <div class="field">
                <label for={`limit-${key}`}>{t[label]}</label>
                <input
                  id={`limit-${key}`}
                  name={key}
                  type="number"
                  step="0.5"
                  value={printer.info[key] === null ? "" : String(printer.info[key])}
                />
              </div>
            ))}
            <button type="submit">{t.save}</button>
          </form>
        </section>
        <section class="card" aria-labelledby="h-delete">
          <h2 id="h-delete">{t.deletePrinter}</h2>
          <p safe>{confirm}</p>
          <form method="post" action={`/settings/printers/${id}/delete`}>
            <Csrf ctx={ctx} />
            <input type="hidden" name="confirm" value={printer.info.name} />
            <button type="submit" class="danger">
              {t.deletePrinter}
            </button>
          </form>
        </section>
      </div>
    </Layout>
  );
}
