// Owns notification target URLs (PRINTERS.md §7): what each kind means, its checks, its event filter, and
// how it is shown without its secrets.

export const NOTIFY_EVENTS = [
  "print_started",
  "print_finished",
  "print_failed",
  "print_cancelled",
  "print_paused",
  "hms_error",
  "printer_offline",
  "printer_online",
  "camera_stale",
  "camera_ok",
  "reading_high",
  "reading_low",
  "filament_runout",
  "authorization_control",
  "plate_waiting",
] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export type Target =
  | { kind: "ntfy"; url: string; token: string | null; events: NotifyEvent[] | null }
  | { kind: "telegram"; botToken: string; chatId: string; events: NotifyEvent[] | null }
  | { kind: "webhook"; url: string; secret: Uint8Array | null; events: NotifyEvent[] | null }
  | { kind: "webpush"; events: NotifyEvent[] | null };

export type Parsed = { ok: true; target: Target } | { ok: false; error: string };

function eventsOf(params: URLSearchParams): NotifyEvent[] | null | string {
  const raw = params.get("events");
  if (raw === null) return null;
  const list = raw
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  const bad = list.find((e) => !(NOTIFY_EVENTS as readonly string[]).includes(e));
  return bad ? `unknown event "${bad}" (known: ${NOTIFY_EVENTS.join(", ")})` : (list as NotifyEvent[]);
}

/** Reads a target URL; an error says what is wrong without repeating the secret. */
export function parseTarget(raw: string): Parsed {
  const text = raw.trim();
  const scheme = /^([a-z]+):\/\//.exec(text)?.[1];
  const query = new URLSearchParams(text.includes("?") ? text.slice(text.indexOf("?") + 1) : "");
  const events = eventsOf(query);
  if (typeof events === "string") return { ok: false, error: events };
  if (scheme === "tgram") {
    const m = /^tgram:\/\/(\d+:[A-Za-z0-9_-]+)\/(-?\d+|@[A-Za-z0-9_]{4,})\/?(\?.*)?$/.exec(text);
    if (!m) return { ok: false, error: "a Telegram target is tgram://<bot token>/<chat id>" };
    return { ok: true, target: { kind: "telegram", botToken: m[1]!, chatId: m[2]!, events } };
  }
  if (scheme === "webpush") return { ok: true, target: { kind: "webpush", events } };
  if (scheme !== "ntfy" && scheme !== "ntfys" && scheme !== "json" && scheme !== "jsons")
    return { ok: false, error: "a target starts with ntfy://, ntfys://, tgram://, json://, jsons:// or webpush://" };
  let url: URL;
  try {
    url = new URL(`${scheme.endsWith("s") ? "https" : "http"}${text.slice(scheme.length)}`);
  } catch {
    return { ok: false, error: `not a valid ${scheme}:// address` };
  }
  if (!url.hostname) return { ok: false, error: `a ${scheme}:// target needs a host` };
  const base = `${url.protocol}//${url.host}${url.pathname}`;
  if (scheme.startsWith("ntfy")) {
    if (!/^\/[A-Za-z0-9_-]{1,64}$/.test(url.pathname)) return { ok: false, error: "an ntfy target needs a /topic" };
    return { ok: true, target: { kind: "ntfy", url: base, token: query.get("token"), events } };
  }
  const secret = query.get("secret");
  if (secret !== null && !/^whsec_[A-Za-z0-9+/=]{16,}$/.test(secret))
    return { ok: false, error: "a webhook secret is whsec_ followed by base64" };
  const key = secret ? new Uint8Array(Buffer.from(secret.slice(6), "base64")) : null;
  return { ok: true, target: { kind: "webhook", url: base, secret: key, events } };
}

/** The URL as a page or log may show it: tokens and secrets cut to their first characters. */
export function redactTarget(raw: string): string {
  return raw
    .replace(/^(tgram:\/\/)(\d+):([A-Za-z0-9_-]+)/, (_m, s, id) => `${s}${id}:…`)
    .replace(/([?&](?:token|secret)=)([^&]{0,6})[^&]*/g, (_m, k, head) => `${k}${head}…`);
}

export const wants = (t: Target, event: NotifyEvent) => t.events === null || t.events.includes(event);
