// Owns the configuration: config.json, LAYERWATCH_<KEY> environment overrides, defaults, validation.
import embeddedConfig from "../config.json" with { type: "json" };
import { dictionary, msg, translate } from "./i18n.ts";
import { parseTarget, redactTarget } from "./notify/targets.ts";
import { parsePrinterSetup } from "./services/printer-setup.ts";
import type { PrinterSetup } from "./store/store.ts";
import { redactUrl } from "./urls.ts";

export type Config = {
  web_username: string;
  web_password: string;
  secret_key: string;
  database_uri: string;
  /** A PostgreSQL URL (postgres:// or postgresql://) for several instances; empty = SQLite at database_uri. */
  database_url: string;
  /** A Redis URL (redis://host:port[/db]) joining instances that share database_url; empty = one instance. */
  redis_url: string;
  host: string;
  port: number;
  timezone: string;
  image_retention: number;
  trust_proxy: boolean;
  locale: "en" | "fi";
  device_rate_limit: number;
  raw_retention_days: number;
  allowed_origins: string;
  /** Timelapse videos (PRINTERS.md §8); a relative path is taken next to the database file. */
  media_dir: string;
  /** Bytes all videos may use; the oldest are deleted to make room. 0 = no quota. */
  media_quota_bytes: number;
  /** The largest single video upload. */
  max_upload_bytes: number;
  /** The largest sliced file the library takes, in MB (PRINTERS.md §9). */
  library_max_mb: number;
  /** Printers created or updated by name at start (PRINTERS.md §2); the file only, no env override. */
  printers: PrinterEntry[];
  /** The ffmpeg program that decodes RTSPS printer cameras (X1, P2S, H2, X2D): a path, or a name on PATH. */
  ffmpeg_path: string;
  /** Notification target URLs (PRINTERS.md §7); file only. */
  notify: string[];
  /** Telegram Bot API root, for self-hosted Bot API servers. */
  telegram_api_root: string;
  /** This server as users reach it (https://printers.example.com): links in notifications. */
  public_url: string;
  /** Prometheus's GET /metrics: off by default; a scraper sends the token as a bearer token (or an admin logs in). */
  metrics: MetricsConfig;
  /** Where the daily backup goes (a relative path is taken next to the database file); empty = no daily backup. */
  backup_dir: string;
  /** How many daily backups are kept; older ones are deleted. */
  backup_keep: number;
  /** Home Assistant over MQTT (PRINTERS.md §9); an empty url turns it off. */
  mqtt: MqttConfig;
  /** A Spoolman server (http://host:7912) the filament prints use is reported to; empty = off. */
  spoolman_url: string;
};

export type MetricsConfig = { enabled: boolean; token: string };

export type MqttConfig = {
  /** mqtt://[user:pass@]host[:port] or mqtts://… (TLS); empty = off. */
  url: string;
  /** Where Home Assistant listens for discovery configs (its default: homeassistant). */
  discovery_prefix: string;
  /** The root of this server's state, image, availability and command topics. */
  topic_prefix: string;
  /** Whether Home Assistant gets pause/resume/stop buttons and the light (its commands act on printers). */
  commands: boolean;
};

/** A broker URL's parts; the password stays out of every message. */
export type BrokerUrl = { tls: boolean; host: string; port: number; username: string; password: string };

/** Parses mqtt(s)://[user[:pass]@]host[:port]; an error message never repeats the password. */
export function parseBrokerUrl(url: string): { ok: true; value: BrokerUrl } | { ok: false; error: string } {
  const bad = (why: string) => ({ ok: false as const, error: `${why} (got ${redactUrl(url)})` });
  if (!/^mqtts?:\/\//i.test(url)) return bad("must start with mqtt:// or mqtts://");
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad("is not a valid URL");
  }
  if (!u.hostname) return bad("needs a host name");
  if (u.pathname && u.pathname !== "/") return bad("must not have a path");
  if (u.search || u.hash) return bad("must not have a query or fragment");
  const tls = u.protocol.toLowerCase() === "mqtts:";
  const port = u.port ? Number(u.port) : tls ? 8883 : 1883;
  if (!(port >= 1 && port <= 65535)) return bad("has a port outside 1..65535");
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    ok: true,
    value: { tls, host, port, username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) },
  };
}

const MQTT_DEFAULTS: MqttConfig = {
  url: "",
  discovery_prefix: "homeassistant",
  topic_prefix: "layerwatch",
  commands: false,
};
const TOPIC_PREFIX = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;

/** The `mqtt` object: defaults for what it leaves out, each key checked, messages naming `mqtt.<key>`. */
function parseMqtt(raw: unknown): MqttConfig {
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new ConfigError('config: "mqtt" must be an object such as { "url": "mqtt://user:pass@host:1883" }');
  const known = Object.keys(MQTT_DEFAULTS);
  for (const key of Object.keys(raw))
    if (!known.includes(key)) throw new ConfigError(`config: unknown key "mqtt.${key}" (known: ${known.join(", ")})`);
  const out = { ...MQTT_DEFAULTS, ...(raw as Partial<MqttConfig>) };
  for (const key of ["url", "discovery_prefix", "topic_prefix"] as const)
    if (typeof out[key] !== "string") throw new ConfigError(`config: "mqtt.${key}" must be a string`);
  if (typeof out.commands !== "boolean") throw new ConfigError('config: "mqtt.commands" must be true or false');
  out.url = out.url.trim();
  if (out.url) {
    const parsed = parseBrokerUrl(out.url);
    if (!parsed.ok) throw new ConfigError(`config: "mqtt.url" ${parsed.error}`);
  }
  for (const key of ["discovery_prefix", "topic_prefix"] as const)
    if (!TOPIC_PREFIX.test(out[key]))
      throw new ConfigError(
        `config: "mqtt.${key}" must be topic levels of letters, digits, _ and - joined by / (no wildcards, no ` +
          "leading or trailing /)",
      );
  return out;
}

/** A config file's printer: its setup, created or updated by name at start. */
export type PrinterEntry = PrinterSetup;

export type ConfigSource = "default" | "file" | "env" | "embedded";

export type LoadedConfig = {
  config: Config;
  sources: Record<keyof Config, ConfigSource>;
  /** Where the file came from, for the start-up log. */
  origin: string;
  warnings: string[];
};

/** Thrown for any bad configuration; main prints the message alone and exits 2. */
export class ConfigError extends Error {}

export const PLACEHOLDER_PASSWORD = "change-me";
export const PLACEHOLDER_SECRET = "change-me-to-a-long-random-string";
export const LOCALES = ["en", "fi"] as const;

type Rule<V> = {
  kind: "string" | "integer" | "boolean" | "list" | "object";
  fallback: () => V;
  check?: (v: V) => string | null;
};

const systemZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";

export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const rules: { [K in keyof Config]: Rule<Config[K]> } = {
  web_username: {
    kind: "string",
    fallback: () => "admin",
    check: (v) => (v.trim() && v.length <= 64 ? null : "must be 1 to 64 characters"),
  },
  web_password: {
    kind: "string",
    fallback: () => PLACEHOLDER_PASSWORD,
    check: (v) =>
      !v
        ? "must not be empty"
        : new TextEncoder().encode(v).length > 72
          ? "must be at most 72 bytes (bcrypt limit)"
          : null,
  },
  secret_key: { kind: "string", fallback: () => PLACEHOLDER_SECRET, check: (v) => (v ? null : "must not be empty") },
  database_uri: { kind: "string", fallback: () => "app.db", check: (v) => (v.trim() ? null : "must not be empty") },
  database_url: {
    kind: "string",
    fallback: () => "",
    check: (v) =>
      v === "" || /^postgres(ql)?:\/\/\S+$/i.test(v)
        ? null
        : "must be empty (SQLite at database_uri) or a PostgreSQL URL starting with postgres:// or postgresql://",
  },
  redis_url: {
    kind: "string",
    fallback: () => "",
    check: (v) =>
      v === "" || /^rediss?:\/\/(?:[^\s@/]*@)?[^\s@/:]+(?::\d{1,5})?(?:\/\d{1,2})?\/?$/i.test(v)
        ? null
        : "must be empty (one instance) or a Redis URL such as redis://host:6379 or redis://host:6379/0",
  },
  host: { kind: "string", fallback: () => "127.0.0.1", check: (v) => (v.trim() ? null : "must not be empty") },
  port: { kind: "integer", fallback: () => 5555, check: (v) => (v >= 0 && v <= 65535 ? null : "must be 0..65535") },
  timezone: {
    kind: "string",
    fallback: () => "",
    check: (v) => (v === "" || isValidTimeZone(v) ? null : "must be an IANA time zone such as Europe/Helsinki"),
  },
  image_retention: {
    kind: "integer",
    fallback: () => 10,
    check: (v) => (v >= 1 && v <= 10000 ? null : "must be 1..10000"),
  },
  trust_proxy: { kind: "boolean", fallback: () => false },
  raw_retention_days: {
    kind: "integer",
    fallback: () => 90,
    check: (v) => (v >= 0 && v <= 36500 ? null : "must be 0..36500 days (0 keeps raw readings forever)"),
  },
  device_rate_limit: {
    kind: "integer",
    fallback: () => 50,
    check: (v) => (v >= 0 && v <= 100000 ? null : "must be 0..100000 events per second (0 turns the limit off)"),
  },
  allowed_origins: {
    kind: "string",
    fallback: () => "",
    check: (v) =>
      v
        .split(",")
        .map((o) => o.trim())
        .filter(Boolean)
        .every((o) => /^https?:\/\/[^/\s]+$/.test(o))
        ? null
        : "must be a comma-separated list of origins such as https://printer.example.com",
  },
  media_dir: { kind: "string", fallback: () => "media", check: (v) => (v.trim() ? null : "must not be empty") },
  media_quota_bytes: {
    kind: "integer",
    fallback: () => 10 * 1024 ** 3,
    check: (v) => (v >= 0 ? null : "must be 0 or more bytes (0 turns the quota off)"),
  },
  max_upload_bytes: {
    kind: "integer",
    fallback: () => 4 * 1024 ** 3,
    check: (v) => (v >= 1 && v <= 2 ** 50 ? null : "must be 1..2^50 bytes"),
  },
  library_max_mb: {
    kind: "integer",
    fallback: () => 500,
    check: (v) => (v >= 1 && v <= 4096 ? null : "must be 1..4096 (MB)"),
  },
  printers: { kind: "list", fallback: () => [] },
  ffmpeg_path: { kind: "string", fallback: () => "ffmpeg", check: (v) => (v.trim() ? null : "must not be empty") },
  notify: { kind: "list", fallback: () => [] },
  telegram_api_root: {
    kind: "string",
    fallback: () => "https://api.telegram.org",
    check: (v) => (/^https?:\/\/[^\s]+$/.test(v) ? null : "must be an http(s) URL"),
  },
  public_url: {
    kind: "string",
    fallback: () => "",
    check: (v) => (v === "" || /^https?:\/\/[^/\s]+(\/[^\s]*)?$/.test(v) ? null : "must be empty or an http(s) URL"),
  },
  metrics: { kind: "object", fallback: () => ({ enabled: false, token: "" }) },
  backup_dir: { kind: "string", fallback: () => "" },
  backup_keep: {
    kind: "integer",
    fallback: () => 7,
    check: (v) => (v >= 1 && v <= 3650 ? null : "must be 1..3650 backups"),
  },
  mqtt: { kind: "object", fallback: () => ({ ...MQTT_DEFAULTS }) },
  spoolman_url: {
    kind: "string",
    fallback: () => "",
    check: (v) => (v === "" || /^https?:\/\/[^/\s]+(\/[^\s]*)?$/.test(v) ? null : "must be empty or an http(s) URL"),
  },
  locale: {
    kind: "string",
    fallback: () => "en",
    check: (v) => ((LOCALES as readonly string[]).includes(v) ? null : `must be one of ${LOCALES.join(", ")}`),
  },
} as { [K in keyof Config]: Rule<Config[K]> };

export const CONFIG_KEYS = Object.keys(rules) as (keyof Config)[];

const PRINTER_KEYS = [
  "name",
  "model",
  "host",
  "serial",
  "access_code",
  "mqtt_port",
  "camera",
  "camera_port",
  "ftps_port",
  "rtsp_port",
  "tls",
];

/** Each entry checked by the same rules as Settings, the message naming the entry and its key. */
function parsePrinters(raw: unknown): PrinterEntry[] {
  if (!Array.isArray(raw)) throw new ConfigError('config: "printers" must be a list of printer objects');
  const en = dictionary("en");
  const seen = new Set<string>();
  return raw.map((entry, i) => {
    const at = `printers[${i}]`;
    if (!entry || typeof entry !== "object" || Array.isArray(entry))
      throw new ConfigError(`config: "${at}" must be an object with at least a "name"`);
    for (const key of Object.keys(entry))
      if (!PRINTER_KEYS.includes(key))
        throw new ConfigError(`config: unknown key "${at}.${key}" (known: ${PRINTER_KEYS.join(", ")})`);
    const parsed = parsePrinterSetup(entry as Record<string, unknown>);
    if (!parsed.ok) {
      const [key, message] = Object.entries(parsed.errors)[0]!;
      throw new ConfigError(`config: "${at}.${key}" ${translate(en, message!)}`);
    }
    const name = parsed.value.name.toLowerCase();
    if (seen.has(name)) throw new ConfigError(`config: "${at}.name" "${parsed.value.name}" is used twice`);
    seen.add(name);
    // The file's rtsp_port has always been a JSON number only (the form's text "322" is for Settings).
    const rtsp = (entry as Record<string, unknown>).rtsp_port;
    if (rtsp !== undefined && (typeof rtsp !== "number" || !Number.isInteger(rtsp)))
      throw new ConfigError(`config: "${at}.rtsp_port" ${translate(en, msg("printerPortRule"))}`);
    return parsed.value;
  });
}

/** Notification targets: each checked as Settings checks it; the message never repeats a secret. */
function parseTargets(raw: unknown): string[] {
  if (!Array.isArray(raw)) throw new ConfigError('config: "notify" must be a list of target URLs');
  return raw.map((url, i) => {
    if (typeof url !== "string") throw new ConfigError(`config: "notify[${i}]" must be a URL string`);
    const parsed = parseTarget(url);
    if (!parsed.ok) throw new ConfigError(`config: "notify[${i}]" (${redactTarget(url)}): ${parsed.error}`);
    return url.trim();
  });
}

/** The metrics object: known keys only, each of its type; a token short enough to guess is refused. */
function parseMetrics(key: string, raw: unknown): MetricsConfig {
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    throw new ConfigError(`config: "${key}" must be an object such as {"enabled": true, "token": "..."}`);
  const out: MetricsConfig = { enabled: false, token: "" };
  for (const [k, v] of Object.entries(raw)) {
    if (k === "enabled" && typeof v === "boolean") out.enabled = v;
    else if (k === "token" && typeof v === "string") out.token = v;
    else if (k === "enabled" || k === "token")
      throw new ConfigError(`config: "${key}.${k}" must be ${k === "enabled" ? "true or false" : "a string"}`);
    else throw new ConfigError(`config: unknown key "${key}.${k}" (known: enabled, token)`);
  }
  if (out.token && (out.token.length < 16 || /\s/.test(out.token)))
    throw new ConfigError(`config: "${key}.token" must be empty or at least 16 characters without spaces`);
  return out;
}

function coerce(key: string, kind: Rule<unknown>["kind"], raw: unknown, fromEnv: boolean): unknown {
  if (kind === "object") {
    let value = raw;
    // From the environment an object comes as JSON text: LAYERWATCH_MQTT='{"url":"mqtt://..."}',
    // LAYERWATCH_METRICS='{"enabled":true,"token":"..."}'.
    if (fromEnv && typeof raw === "string")
      try {
        value = JSON.parse(raw);
      } catch {
        throw new ConfigError(`config: "${key}" must be a JSON object`);
      }
    return key.replace(/^LAYERWATCH_/, "").toLowerCase() === "metrics"
      ? parseMetrics("metrics", value)
      : parseMqtt(value);
  }
  if (kind === "list") {
    if (fromEnv) throw new ConfigError(`config: "${key}" can only be set in the config file`);
    return key === "printers" ? parsePrinters(raw) : parseTargets(raw);
  }
  if (kind === "string") {
    if (typeof raw === "string") return raw;
    throw new ConfigError(`config: "${key}" must be a string`);
  }
  if (kind === "integer") {
    const n = fromEnv && typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
    if (typeof n === "number" && Number.isInteger(n)) return n;
    throw new ConfigError(`config: "${key}" must be a whole number`);
  }
  if (typeof raw === "boolean") return raw;
  if (fromEnv && typeof raw === "string") {
    const v = raw.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
  }
  throw new ConfigError(`config: "${key}" must be true or false`);
}

function parseJson(text: string, origin: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config: ${origin} is not valid JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed))
    throw new ConfigError(`config: ${origin} must hold a JSON object`);
  return parsed as Record<string, unknown>;
}

/**
 * Builds the config from a file (or the embedded default when no path was asked for and
 * ./config.json is absent), then the environment, then flag overrides.
 */
export async function loadConfig(opts: {
  path?: string;
  env?: Record<string, string | undefined>;
  overrides?: Partial<Config>;
}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env;
  let fileValues: Record<string, unknown>;
  let origin: string;
  let fileSource: ConfigSource = "file";
  if (opts.path) {
    const file = Bun.file(opts.path);
    if (!(await file.exists()))
      throw new ConfigError(`config: file not found: ${opts.path} (create one with "layerwatch init")`);
    fileValues = parseJson(await file.text(), opts.path);
    origin = opts.path;
  } else if (await Bun.file("config.json").exists()) {
    fileValues = parseJson(await Bun.file("config.json").text(), "config.json");
    origin = "config.json";
  } else {
    fileValues = { ...embeddedConfig } as Record<string, unknown>;
    origin = "embedded default config";
    fileSource = "embedded";
  }

  for (const key of Object.keys(fileValues)) {
    if (!(key in rules))
      throw new ConfigError(`config: unknown key "${key}" in ${origin} (known keys: ${CONFIG_KEYS.join(", ")})`);
  }

  const config = {} as Record<string, unknown>;
  const sources = {} as Record<keyof Config, ConfigSource>;
  for (const key of CONFIG_KEYS) {
    const rule = rules[key] as Rule<unknown>;
    const envName = `LAYERWATCH_${key.toUpperCase()}`;
    let value: unknown;
    if (opts.overrides && opts.overrides[key] !== undefined) {
      const kind = rule.kind;
      value =
        kind === "list" || kind === "object" ? coerce(key, kind, opts.overrides[key], false) : opts.overrides[key];
      sources[key] = "env";
    } else if (env[envName] !== undefined) {
      value = coerce(envName, rule.kind, env[envName], true);
      sources[key] = "env";
    } else if (key in fileValues) {
      value = coerce(key, rule.kind, fileValues[key], false);
      sources[key] = fileSource;
    } else {
      value = rule.fallback();
      sources[key] = "default";
    }
    const problem = rule.check?.(value);
    if (problem) throw new ConfigError(`config: "${key}" ${problem}`);
    config[key] = value;
  }

  const warnings: string[] = [];
  if (config.web_password === PLACEHOLDER_PASSWORD)
    warnings.push(
      `web_password is the shipped placeholder "${PLACEHOLDER_PASSWORD}": ` +
        `change it (or run "layerwatch init") before exposing this server`,
    );
  // Instances behind one address must accept each other's forms: a random key per instance would not.
  if (config.secret_key === PLACEHOLDER_SECRET && config.database_url)
    throw new ConfigError(
      'config: "secret_key" is the shipped placeholder, and with "database_url" set every instance must share ' +
        'one key: set secret_key (or LAYERWATCH_SECRET_KEY) to the same random value on each (see "layerwatch init")',
    );
  // Instances joined through Redis must see one another's rows: each on its own SQLite file would not.
  if (config.redis_url && !config.database_url)
    throw new ConfigError(
      'config: "redis_url" is set but "database_url" is empty: instances joined through Redis must share one ' +
        "PostgreSQL database; set database_url (or LAYERWATCH_DATABASE_URL) too, or leave redis_url empty",
    );
  if (config.secret_key === PLACEHOLDER_SECRET) {
    warnings.push(
      "secret_key is the shipped placeholder: using a random key for this run " +
        "(forms open before a restart must be reloaded)",
    );
    config.secret_key = crypto.randomUUID() + crypto.randomUUID();
  }
  if (config.timezone === "") config.timezone = systemZone();

  return { config: config as Config, sources, origin, warnings };
}
