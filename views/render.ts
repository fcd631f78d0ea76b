// Owns the tile HTML that goes out with live broadcasts: the same components as the page, rendered once
// per event for every viewer (nothing user-specific in them).
import type { TileRenderer } from "../src/realtime/hub.ts";
import type { Intervals } from "../src/store/store.ts";
import type { ViewContext } from "./context.ts";
import { ReadingTile, Stamp, StatusTile } from "./dashboard.tsx";

export function createTileRenderer(ctx: ViewContext, intervals: () => Intervals): TileRenderer {
  const reading = (kind: "temperature" | "humidity", r: Parameters<TileRenderer["reading"]>[0]) =>
    ReadingTile({ kind, reading: r, ctx, interval: intervals().temphum_delay }) as string;
  return {
    reading: (r) => ({ temperature: reading("temperature", r), humidity: reading("humidity", r) }),
    status: (s) => StatusTile({ status: s, ctx, interval: intervals().status_delay }) as string,
    frameStamp: (f) => Stamp({ at: f.recorded_at, ctx }) as string,
  };
}
