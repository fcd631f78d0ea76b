// Owns calendar arithmetic in the configured IANA time zone: day boundaries and ISO stamps with offset.
const formatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(zone, f);
  }
  return f;
}

type WallClock = { year: number; month: number; day: number; hour: number; minute: number; second: number };

function wallClock(ms: number, zone: string): WallClock {
  const out: Record<string, number> = {};
  for (const p of partsFormatter(zone).formatToParts(ms)) if (p.type !== "literal") out[p.type] = Number(p.value);
  return out as unknown as WallClock;
}

/** Offset of `zone` from UTC at instant `ms`, in minutes (e.g. +120 for Helsinki in winter). */
export function zoneOffsetMinutes(ms: number, zone: string): number {
  const w = wallClock(ms, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

/** The UTC instant of a wall-clock time in `zone` (DST gaps resolve forward, overlaps to the first). */
export function zonedToUtc(
  year: number,
  month: number,
  day: number,
  zone: string,
  hour = 0,
  minute = 0,
  second = 0,
): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute, second);
  let ms = guess - zoneOffsetMinutes(guess, zone) * 60000;
  ms = guess - zoneOffsetMinutes(ms, zone) * 60000;
  return ms;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses YYYY-MM-DD into its parts, or null when malformed or not a real calendar date. */
export function parseDay(text: string): { year: number; month: number; day: number } | null {
  const m = DATE_RE.exec(text);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  return { year, month, day };
}

/** [start, end) in UTC milliseconds of calendar day `day` (YYYY-MM-DD) in `zone`. */
const ranges = new Map<string, { start: number; end: number }>();

/** A day's [start, end) in `zone`; remembered, as pages ask for the same few days over and over. */
export function dayRange(day: string, zone: string): { start: number; end: number } | null {
  const key = `${zone}|${day}`;
  const hit = ranges.get(key);
  if (hit) return hit;
  const d = parseDay(day);
  if (!d) return null;
  const start = zonedToUtc(d.year, d.month, d.day, zone);
  const next = new Date(Date.UTC(d.year, d.month - 1, d.day + 1));
  const end = zonedToUtc(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), zone);
  if (ranges.size > 512) ranges.clear();
  ranges.set(key, { start, end });
  return { start, end };
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** The calendar day (YYYY-MM-DD) that instant `ms` falls on in `zone`. */
export function dayOf(ms: number, zone: string): string {
  // Pages ask for "today" and for the day of each stamp they show: the last two days found are kept with
  // their ranges, so any instant inside one of them costs no zone arithmetic.
  for (const known of recentDays) if (known.zone === zone && ms >= known.start && ms < known.end) return known.day;
  const w = wallClock(ms, zone);
  const day = `${w.year}-${pad(w.month)}-${pad(w.day)}`;
  const range = dayRange(day, zone)!;
  recentDays.unshift({ zone, day, start: range.start, end: range.end });
  recentDays.length = Math.min(recentDays.length, 2);
  return day;
}
const recentDays: { zone: string; day: string; start: number; end: number }[] = [];

/** Adds whole days to a YYYY-MM-DD string. */
export function shiftDay(day: string, delta: number): string {
  const d = parseDay(day)!;
  const t = new Date(Date.UTC(d.year, d.month - 1, d.day + delta));
  return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
}

const SLOT_MS = 15 * 60 * 1000;
const offsetsByZone = new Map<string, Map<number, number>>();

/**
 * zoneOffsetMinutes, remembered per quarter hour: every offset change in the time zone database
 * falls on a quarter hour, and Intl costs microseconds a call on paths that format thousands of rows.
 */
export function cachedOffsetMinutes(ms: number, zone: string): number {
  let offsets = offsetsByZone.get(zone);
  if (!offsets) {
    offsets = new Map();
    offsetsByZone.set(zone, offsets);
  }
  const slot = Math.floor(ms / SLOT_MS);
  let off = offsets.get(slot);
  if (off === undefined) {
    if (offsets.size > 100000) offsets.clear();
    off = zoneOffsetMinutes(slot * SLOT_MS, zone);
    offsets.set(slot, off);
  }
  return off;
}

const datePrefixes = new Map<number, string>();
const DAY_MS = 86400000;

/** ISO 8601 with the zone's UTC offset, e.g. 2025-06-01T12:00:00.000+03:00 (what the old server emitted). */
export function isoInZone(ms: number, zone: string): string {
  const off = cachedOffsetMinutes(ms, zone);
  const abs = Math.abs(off);
  // The wall clock is UTC shifted by the offset. A day of rows shares one date, so spell it once.
  const local = ms + off * 60000;
  const dayNumber = Math.floor(local / DAY_MS);
  let date = datePrefixes.get(dayNumber);
  if (date === undefined) {
    if (datePrefixes.size > 10000) datePrefixes.clear();
    date = new Date(dayNumber * DAY_MS).toISOString().slice(0, 11);
    datePrefixes.set(dayNumber, date);
  }
  const t = local - dayNumber * DAY_MS;
  const h = Math.floor(t / 3600000),
    m = Math.floor(t / 60000) % 60,
    sec = Math.floor(t / 1000) % 60,
    milli = t % 1000;
  const utcOffset = `${off < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
  return `${date}${pad(h)}:${pad(m)}:${pad(sec)}.${pad(milli, 3)}${utcOffset}`;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses an old-server timestamp: ISO with offset, or naive local time (read in `zone`).
 * Python's isoformat gives microseconds, which Date.parse does not accept everywhere.
 */
export function parseLegacyTimestamp(text: string, zone: string): number | null {
  const m = ISO_RE.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const s = Number(m[6] ?? 0);
  const ms = Math.floor(Number(`0.${m[7] ?? "0"}`) * 1000);
  const tz = m[8];
  if (!tz) return zonedToUtc(y!, mo!, d!, zone, h, mi, s) + ms;
  const base = Date.UTC(y!, mo! - 1, d!, h, mi, s) + ms;
  if (tz === "Z") return base;
  const sign = tz[0] === "-" ? -1 : 1;
  const digits = tz.slice(1).replace(":", "");
  return base - sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60000;
}

const dayStartByHour = new Map<string, number>();

/** Start instants (UTC ms) of the local hour and local day that instant `ms` falls in. */
export function summaryBuckets(ms: number, zone: string): { hour: number; day: number } {
  const offset = cachedOffsetMinutes(ms, zone) * 60000;
  const local = ms + offset;
  const hour = local - (((local % 3600000) + 3600000) % 3600000) - offset;
  // Many readings share an hour: remember its day so the hot path skips the calendar work.
  const key = `${zone}|${hour}`;
  let day = dayStartByHour.get(key);
  if (day === undefined) {
    day = dayRange(dayOf(ms, zone), zone)!.start;
    if (dayStartByHour.size > 10000) dayStartByHour.clear();
    dayStartByHour.set(key, day);
  }
  return { hour, day };
}
