/** @jsxImportSource @kitajs/html */
// Owns the overview: one card per printer, a dense grid on a desktop and a list on a phone, and for operators the
// card's plate-cleared button while a printer's plate waits for the next queued print.
import { roleAtLeast } from "../src/services/users.ts";
import type { ViewContext } from "./context.ts";
import { Csrf } from "./forms.tsx";
import { Layout } from "./layout.tsx";

/** The id of a card's plate slot: empty in the card everyone shares, filled for operators. */
export const cardPlateId = (printerId: number) => `card-${printerId}-plate`;

/**
 * A card's plate slot for an operator: the plate-cleared button while the plate waits, else empty. `oob` when it
 * arrives among others to replace each card's slot in place (htmx out-of-band).
 */
export function CardPlate(props: { ctx: ViewContext; printerId: number; name: string; waits: boolean; oob?: boolean }) {
  const { ctx, printerId } = props;
  const id = cardPlateId(printerId);
  return (
    <div class="card-plate" id={id} hx-swap-oob={props.oob ? "true" : undefined}>
      {props.waits ? (
        <form
          method="post"
          action={`/printers/${printerId}/plate-cleared`}
          hx-post={`/printers/${printerId}/plate-cleared`}
          hx-target={`#${id}`}
          hx-swap="outerHTML"
        >
          <Csrf ctx={ctx} />
          <span>{ctx.t.queue_waiting_plate}</span>{" "}
          <button type="submit" aria-label={`${ctx.t.plateCleared}: ${props.name}`} safe>
            {ctx.t.plateCleared}
          </button>
        </form>
      ) : (
        ""
      )}
    </div>
  );
}

export function OverviewPage(props: {
  ctx: ViewContext;
  /** Each printer's card, already rendered (the route caches them). */
  cards: string[];
}) {
  const { ctx } = props;
  const few = props.cards.length <= 2;
  return (
    <Layout
      ctx={ctx}
      title={ctx.t.overview}
      page="overview"
      scripts={["/static/socket.io.min.js", "/static/dashboard.js"]}
    >
      <div class="dash-head">
        <h1>{ctx.t.overview}</h1>
        <p class="muted">{ctx.t.overviewIntro}</p>
      </div>
      <div class={few ? "printer-grid few" : "printer-grid"} id="printer-grid">
        {props.cards}
      </div>
      {/* Operators: the plate slots of the cards are filled from here, and kept up to date. */}
      {roleAtLeast(ctx.user?.role, "operator") ? (
        <div hidden hx-get="/partials/plates" hx-trigger="load, every 10s" hx-swap="none"></div>
      ) : (
        ""
      )}
    </Layout>
  );
}
