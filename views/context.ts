// Owns what every view needs to know about the request (strings, user, CSRF token, zone) and the formatting
// they share: times in the zone, plural counts, JSON safe inside HTML.
import type { Dictionary, Locale } from "../src/i18n.ts";
import type { UserRow } from "../src/store/store.ts";
import { dayOf } from "../src/time.ts";

export type ViewContext = { t: Dictionary; locale: Locale; zone: string; user?: UserRow; csrf?: string };

const timeFormats = new Map<string, Intl.DateTimeFormat>();

/** "14:03:22" for today, "24.11. 14:03" otherwise, in the configured zone and the UI's locale. */
export function formatStamp(ms: number, ctx: ViewContext, now = Date.now()): string {
  // The day as the configured zone has it, not the server's own zone.
  const sameDay = Math.abs(now - ms) < 86400000 && dayOf(now, ctx.zone) === dayOf(ms, ctx.zone);
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

/** Dictionary keys that come in plural forms: `<key>_one` and `<key>_other`. */
export type CountKey = {
  [K in keyof Dictionary]: K extends `${infer B}_one` ? (`${B}_other` extends keyof Dictionary ? B : never) : never;
}[keyof Dictionary];
const pluralRules = new Map<string, Intl.PluralRules>();

/** "1 reading", "2 readings" ("1 mittaus", "2 mittausta"): a count in the form its number needs. */
export function count(ctx: Pick<ViewContext, "t" | "locale">, key: CountKey, n: number): string {
  let rules = pluralRules.get(ctx.locale);
  if (!rules) {
    rules = new Intl.PluralRules(ctx.locale);
    pluralRules.set(ctx.locale, rules);
  }
  const form = rules.select(n) === "one" ? "one" : "other";
  return ctx.t[`${key}_${form}`].replace("{n}", String(n));
}

/** JSON safe to place inside a <script type="application/json"> element. */
export const jsonForHtml = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");
