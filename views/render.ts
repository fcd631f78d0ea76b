// Owns the tile HTML that goes out with live broadcasts: the same components as the page, rendered once
// per event for every viewer (nothing user-specific in them).
import type { TileRenderer } from "../src/realtime/hub.ts";
import type { PrinterService } from "../src/services/printers.ts";
import type { TelemetryService } from "../src/services/telemetry.ts";
import type { Intervals } from "../src/store/store.ts";
import type { ViewContext } from "./context.ts";
import { controlView } from "./controls.tsx";
import { CardInfo, StatePanel } from "./printer.tsx";
import { ReadingTile, Stamp, StatusTile } from "./tiles.tsx";

export function createTileRenderer(
  ctx: ViewContext,
  intervals: () => Intervals,
  sources: { printers: PrinterService; telemetry: TelemetryService },
): TileRenderer {
  const reading = (kind: "temperature" | "humidity", r: Parameters<TileRenderer["reading"]>[0]) =>
    ReadingTile({ kind, reading: r, ctx, interval: intervals().temphum_delay }) as string;
  return {
    reading: (r) => ({ temperature: reading("temperature", r), humidity: reading("humidity", r) }),
    status: (s) => StatusTile({ status: s, ctx, interval: intervals().status_delay }) as string,
    frameStamp: (f) => Stamp({ at: f.recorded_at, ctx }) as string,
    printerPanel(printerId) {
      const printer = sources.printers.get(printerId);
      if (!printer) return "";
      const status = sources.telemetry.latest(printerId).status;
      const controls = controlView(printer, sources.printers.deviceSource(printer) === "online", ctx.t);
      return StatePanel({ printer, status, ctx, controls }) as string;
    },
    printerCard(printerId) {
      const printer = sources.printers.get(printerId);
      if (!printer) return "";
      const latest = sources.telemetry.latest(printerId);
      return CardInfo({ printer, latest, ctx, interval: cardInterval(intervals()) }) as string;
    },
  };
}

/** A card is fresh while anything (reading, status, state) came within 3x the longest interval. */
export const cardInterval = (i: Intervals) => Math.max(i.temphum_delay, i.status_delay);
