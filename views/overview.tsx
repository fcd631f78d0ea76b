/** @jsxImportSource @kitajs/html */
// Owns the overview: one card per printer, a dense grid on a desktop and a list on a phone.
import type { ViewContext } from "./context.ts";
import { Layout } from "./layout.tsx";

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
    </Layout>
  );
}
