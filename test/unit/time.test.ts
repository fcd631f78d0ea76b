// The calendar day of an instant in a zone (src/time.ts dayOf), checked against Intl around midnights and DST.
import { expect, test } from "bun:test";
import { dayOf } from "../../src/time.ts";

const intlDay = (ms: number, zone: string) =>
  new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);

test("dayOf agrees with Intl minute by minute across midnights and DST changes, in any order of asking", () => {
  const zones = ["Europe/Helsinki", "Pacific/Auckland", "America/New_York", "UTC"];
  // Around the EU and US spring-forward and autumn-back days of 2026, and a plain midnight.
  const starts = ["2026-03-28T20:00:00Z", "2026-10-24T20:00:00Z", "2026-03-07T20:00:00Z", "2026-12-04T08:00:00Z"];
  for (const zone of zones)
    for (const start of starts) {
      const from = Date.parse(start);
      for (let m = 0; m < 36 * 60; m += 7) {
        const ms = from + m * 60_000;
        expect(dayOf(ms, zone)).toBe(intlDay(ms, zone));
        // A "now" asked for in between (another day, another zone) must not confuse the next answer.
        expect(dayOf(from - 86_400_000, "Asia/Tokyo")).toBe(intlDay(from - 86_400_000, "Asia/Tokyo"));
      }
    }
});
