// Owns what every view needs to know about the request: strings, user, CSRF token, zone.
import type { Dictionary, Locale } from "../src/i18n.ts";
import type { UserRow } from "../src/store/store.ts";

export type ViewContext = { t: Dictionary; locale: Locale; zone: string; user?: UserRow; csrf?: string };

const timeFormats = new Map<string, Intl.DateTimeFormat>();

/** "14:03:22" for today, "24.11. 14:03" otherwise, in the configured zone and the UI's locale. */
export function formatStamp(ms: number, ctx: ViewContext, now = Date.now()): string {
  const sameDay = Math.abs(now - ms) < 86400000 && new Date(now).toDateString() === new Date(ms).toDateString();
  const key = `${ctx.locale}|${ctx.zone}|${sameDay}`;
  let f = timeFormats.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(
      ctx.locale === "fi" ? "fi-FI" : "en-GB",
      sameDay
        ? { timeZone: ctx.zone, hour: "2-digit", minute: "2-digit", second: "2-digit" }
        : { timeZone: ctx.zone, day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" },
    );
    timeFormats.set(key, f);
  }
  return f.format(ms);
}

/** JSON safe to place inside a <script type="application/json"> element. */
export const jsonForHtml = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");
