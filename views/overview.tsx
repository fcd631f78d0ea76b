/** @jsxImportSource @kitajs/html */
// Owns the overview: one card per printer, a dense grid on a desktop and a list on a phone.
import type { HeldPrinter } from "../src/services/printers.ts";
import type { ViewContext } from "./context.ts";
import { Layout } from "./layout.tsx";
import { PrinterCard, type PrinterLatest } from "./printer.tsx";

export function OverviewPage(props: {
  ctx: ViewContext;
  printers: { printer: HeldPrinter; latest: PrinterLatest }[];
  interval: number;
}) {
  const { ctx } = props;
  const few = props.printers.length <= 2;
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
        {props.printers.map(({ printer, latest }) => (
          <PrinterCard printer={printer} latest={latest} ctx={ctx} interval={props.interval} />
        ))}
      </div>
    </Layout>
  );
}
