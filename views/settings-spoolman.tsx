/** @jsxImportSource @kitajs/html */
// Owns Settings' Spoolman part (admins): how many filament uses wait to be sent, and the uses Spoolman refused for
// good with its answer and a "Try again" button each. Loaded after the page (htmx), like the printer page's part.
import type { SpoolUseRow } from "../src/store/store.ts";
import { count, formatStamp, type ViewContext } from "./context.ts";
import { Csrf, type Flash, FlashMessage } from "./forms.tsx";

export function SpoolmanUsesSection(props: {
  ctx: ViewContext;
  pending: number;
  refused: SpoolUseRow[];
  flash?: Flash;
}) {
  const { ctx, refused } = props;
  const { t } = ctx;
  return (
    <section id="spoolman-uses" class="card wide" aria-labelledby="h-spoolman-uses">
      <h2 id="h-spoolman-uses">{t.spoolman}</h2>
      <FlashMessage flash={props.flash} />
      <p class="muted">{props.pending ? count(ctx, "spoolUsesWaiting", props.pending) : t.spoolNothingWaiting}</p>
      <h3>{t.spoolRefusedUses}</h3>
      {refused.length === 0 ? (
        <p class="muted">{t.spoolNoRefusedUses}</p>
      ) : (
        <>
          <p class="muted">{t.spoolRefusedHelp}</p>
          <table class="log">
            <tbody>
              {refused.map((u) => (
                <tr class="level-warn">
                  <td class="when">{formatStamp(u.refused_at ?? u.created_at, ctx)}</td>
                  <td>
                    <a href={`/jobs/${u.job_id}`}>{`${t.spoolUsePrint} #${u.job_id}`}</a>
                  </td>
                  <td>{`${t.spoolUseSpool} #${u.spool_id} · ${u.grams} g`}</td>
                  <td class="muted" safe>
                    {u.last_error ?? ""}
                  </td>
                  <td>
                    <form
                      method="post"
                      action={`/settings/spoolman/uses/${u.id}/retry`}
                      hx-post={`/settings/spoolman/uses/${u.id}/retry`}
                      hx-target="#spoolman-uses"
                      hx-swap="outerHTML"
                      class="inline"
                    >
                      <Csrf ctx={ctx} />
                      <button type="submit">{t.tryAgain}</button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
