/** @jsxImportSource @kitajs/html */
// Owns the queue page (items in order with their state; up, down, cancel, retry, delete; pause the whole queue;
// plates waiting to be cleared) and the printer page's farm panel: the plate-cleared button and the skip picker.
import type { QueueItemView } from "../src/services/queue.ts";
import { roleAtLeast } from "../src/services/users.ts";
import type { ViewContext } from "./context.ts";
import { Csrf, type Flash, FlashMessage } from "./forms.tsx";
import { Layout } from "./layout.tsx";

export type QueueRow = QueueItemView & { file: string; target: string };

const Button = (props: { ctx: ViewContext; action: string; label: string; fields?: Record<string, string> }) => (
  <form method="post" action={props.action} class="inline">
    <Csrf ctx={props.ctx} />
    {Object.entries(props.fields ?? {}).map(([name, value]) => (
      <input type="hidden" name={name} value={value} />
    ))}
    <button type="submit" safe>
      {props.label}
    </button>
  </form>
);

export function QueuePage(props: {
  ctx: ViewContext;
  items: QueueRow[];
  paused: boolean;
  waiting: { id: number; name: string }[];
  flash?: Flash;
}) {
  const { ctx } = props;
  const { t } = ctx;
  const operator = roleAtLeast(ctx.user?.role, "operator");
  const open = props.items.filter((i) => i.status !== "done" && i.status !== "cancelled");
  const last = open.length;
  return (
    <Layout ctx={ctx} title={t.queue} page="library">
      <div class="dash-head">
        <h1>{t.queue}</h1>
        {operator ? (
          <Button
            ctx={ctx}
            action="/queue/pause"
            label={props.paused ? t.queueResume : t.queuePause}
            fields={{ paused: props.paused ? "off" : "on" }}
          />
        ) : (
          ""
        )}
      </div>
      <FlashMessage flash={props.flash} />
      {props.paused ? <p class="card">{t.queuePaused}</p> : ""}
      {props.waiting
        .map((p) => (
          <p class="card plate-wait">
            <span safe>{t.plateWaits.replace("{printer}", p.name)}</span>{" "}
            {operator ? <Button ctx={ctx} action={`/printers/${p.id}/plate-cleared`} label={t.plateCleared} /> : ""}
          </p>
        ))
        .join("")}
      {props.items.length === 0 ? <p class="card muted">{t.queueEmpty}</p> : ""}
      <ol class="queue-items">
        {props.items.map((i) => (
          <li class="card queue-item" data-status={i.status}>
            <p>
              <strong safe>{i.file}</strong> <span safe>{`· ${t.plate} ${i.plate} → ${i.target}`}</span>{" "}
              <span class="role">{(t as Record<string, string>)[`queue_${i.status}`] ?? i.status}</span>
            </p>
            {i.error ? (
              <p class="flash error" safe>
                {i.error}
              </p>
            ) : (
              ""
            )}
            {operator ? (
              <div class="queue-actions">
                {i.status === "queued" && i.position > 1 ? (
                  <Button
                    ctx={ctx}
                    action={`/queue/${i.id}/move`}
                    label={t.queueUp}
                    fields={{ position: String(i.position - 1) }}
                  />
                ) : (
                  ""
                )}
                {i.status === "queued" && i.position < last ? (
                  <Button
                    ctx={ctx}
                    action={`/queue/${i.id}/move`}
                    label={t.queueDown}
                    fields={{ position: String(i.position + 1) }}
                  />
                ) : (
                  ""
                )}
                {i.status === "queued" || i.status === "waiting_plate" || i.status === "failed" ? (
                  <Button
                    ctx={ctx}
                    action={`/queue/${i.id}/status`}
                    label={t.queueCancel}
                    fields={{ status: "cancelled" }}
                  />
                ) : (
                  ""
                )}
                {i.status === "failed" || i.status === "cancelled" ? (
                  <Button
                    ctx={ctx}
                    action={`/queue/${i.id}/status`}
                    label={t.queueRetry}
                    fields={{ status: "queued" }}
                  />
                ) : (
                  ""
                )}
                {i.status !== "sending" && i.status !== "printing" ? (
                  <Button ctx={ctx} action={`/queue/${i.id}/delete`} label={t.delete} />
                ) : (
                  ""
                )}
              </div>
            ) : (
              ""
            )}
          </li>
        ))}
      </ol>
    </Layout>
  );
}

/** The printer page's farm panel, fetched by htmx: the plate waiting to be cleared, and the skip picker. */
export function FarmPanel(props: {
  ctx: ViewContext;
  printerId: number;
  plateWaits: boolean;
  objects: { objects: { id: number; name: string }[]; skipped: number[] } | null;
  answer?: Flash;
}) {
  const { ctx, printerId } = props;
  const { t } = ctx;
  if (!props.plateWaits && !props.objects) return <FlashMessage flash={props.answer} />;
  return (
    <section class="tile farm" aria-labelledby="h-farm">
      <h2 id="h-farm">{t.queue}</h2>
      <FlashMessage flash={props.answer} />
      {props.plateWaits && roleAtLeast(ctx.user?.role, "operator") ? (
        <p>
          {t.plateWaitsHere}{" "}
          <button type="button" hx-post={`/printers/${printerId}/plate-cleared`} hx-target="#farm-panel">
            {t.plateCleared}
          </button>
        </p>
      ) : (
        ""
      )}
      {props.objects ? (
        <form hx-post={`/printers/${printerId}/skip`} hx-target="#farm-panel">
          <fieldset>
            <legend>{t.skipObjects}</legend>
            {props.objects.objects.map((o) => {
              const skipped = props.objects!.skipped.includes(o.id);
              return (
                <label class="check">
                  <input type="checkbox" name="objects" value={String(o.id)} checked={skipped} disabled={skipped} />{" "}
                  <span safe>{o.name}</span>
                </label>
              );
            })}
          </fieldset>
          <button type="submit">{t.skipSelected}</button>
        </form>
      ) : (
        ""
      )}
    </section>
  );
}
