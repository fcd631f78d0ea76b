/** @jsxImportSource @kitajs/html */
// Owns a printer's page: its state panel, controls, live tiles and history (/printers/:id; /3d is printer 1).
import type { HeldPrinter } from "../src/services/printers.ts";
import { roleAtLeast } from "../src/services/users.ts";
import type { FrameMeta, Intervals } from "../src/store/store.ts";
import type { ViewContext } from "./context.ts";
import { Controls, controlView } from "./controls.tsx";
import { Layout } from "./layout.tsx";
import { StatePanel } from "./printer.tsx";
import { type Latest, LiveTiles } from "./tiles.tsx";

export { ChartPanel, type ChartView, chartPoints, VIEW_DAYS } from "./chart.tsx";
export { LiveTiles, ReadingTile, Stamp, StatusTile } from "./tiles.tsx";

export function DashboardPage(props: {
  ctx: ViewContext;
  printer: HeldPrinter;
  /** Whether a camera Pi counts as there (the printers service's deviceSource says "online"). */
  deviceOnline: boolean;
  latest: Latest;
  intervals: Intervals;
  frames: FrameMeta[];
  chart: JSX.Element;
  /** The room is in a band where this printer's prints failed markedly more often: that, in words. */
  roomWarning?: string | null;
  /** Whether spoolman_url is set: the Spoolman section is loaded after the page. */
  spoolman?: boolean;
}) {
  const { ctx, printer } = props;
  const controls = controlView(printer, props.deviceOnline, ctx.t);
  return (
    <Layout
      ctx={ctx}
      title={props.printer.info.name}
      page="dashboard"
      scripts={[
        "/static/socket.io.min.js",
        "/static/chart.umd.min.js",
        "/static/dashboard.js",
        "/static/history.js",
      ].concat(roleAtLeast(ctx.user?.role, "operator") ? ["/static/controls.js"] : [])}
    >
      <div class="dash-head">
        <h1 safe>{props.printer.info.name}</h1>
        <p id="device-state" class="device-state" role="status" aria-live="polite"></p>
      </div>
      {props.roomWarning ? (
        <p class="room-warning" id="room-warning" role="note" safe>
          {props.roomWarning}
        </p>
      ) : (
        ""
      )}
      <div class="dashboard" data-printer-id={props.printer.info.id}>
        <StatePanel printer={printer} status={props.latest.status} ctx={ctx} controls={controls} />
        <Controls printer={printer} view={controls} ctx={ctx} />
        {/* The queue's plate-cleared button and the skip picker, when there is something to show. */}
        <div id="farm-panel" hx-get={`/printers/${printer.info.id}/farm`} hx-trigger="load, every 5s"></div>
        {props.spoolman ? (
          <div id="spoolman" hx-get={`/printers/${printer.info.id}/spoolman`} hx-trigger="load"></div>
        ) : (
          ""
        )}
        <LiveTiles ctx={ctx} latest={props.latest} intervals={props.intervals} frames={props.frames} />
        {props.chart}
      </div>
    </Layout>
  );
}
