// Owns log output: one line per event, with a level; never secrets or image bytes.
export type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Logger = {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
};

function format(fields?: Record<string, unknown>): string {
  if (!fields) return "";
  let out = "";
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    const text = typeof v === "string" ? v : v instanceof Error ? v.message : JSON.stringify(v);
    out += ` ${k}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
  }
  return out;
}

/** A logger writing to stderr; `sink` lets a caller (the admin log, a quiet test) see every line too. */
export function createLogger(
  opts: {
    level?: Level;
    quiet?: boolean;
    sink?: (level: Level, msg: string, fields?: Record<string, unknown>) => void;
  } = {},
): Logger {
  const min = order[opts.level ?? ((process.env.LAYERWATCH_LOG_LEVEL as Level) || "info")] ?? order.info;
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    opts.sink?.(level, msg, fields);
    if (opts.quiet || order[level] < min) return;
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${format(fields)}\n`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

/** The same logger, with every line also handed to `sink` (e.g. the admin's log view). */
export function withSink(
  log: Logger,
  sink: (level: Level, msg: string, fields?: Record<string, unknown>) => void,
): Logger {
  const tee = (level: Level) => (msg: string, fields?: Record<string, unknown>) => {
    sink(level, msg, fields);
    log[level](msg, fields);
  };
  return { debug: tee("debug"), info: tee("info"), warn: tee("warn"), error: tee("error") };
}
