// src/log.ts — JSON-lines logger on stdout, with redaction of secrets.
//
// One line per event: {"ts":…,"level":…,"msg":…,…fields}. Field names that can carry secrets
// (keys, PINs, tokens, passwords, authorization) are replaced by "[redacted]" at any depth, so a
// caller that passes a whole object cannot leak one by mistake. Repeated identical events can be
// rate limited with `every` to keep a flapping peer from flooding the log.
export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_NAME =
  /(^|_|-)(key|keys|pin|token|secret|password|passwd|authorization|master|salt|privatekey|private_key)$/i;
const SECRET_EXACT = new Set([
  "key",
  "pin",
  "token",
  "secret",
  "password",
  "authorization",
  "master",
  "salt",
  "privateKey",
  "sessionKey",
  "adminToken",
]);

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(fields: Fields): Logger;
  /** Whether `level` is logged (skip building expensive debug fields otherwise). */
  enabled(level: LogLevel): boolean;
  /** Log at most once per `intervalMs` for the same key; returns whether it logged. */
  every(key: string, intervalMs: number, level: LogLevel, msg: string, fields?: Fields): boolean;
  /** Change the level of this logger, of the one it is a child of and of all their children (`log.level`). */
  setLevel(level: LogLevel): void;
}

/** the levels, lowest first (the configuration's log.level takes one of them) */
export const LOG_LEVELS = Object.keys(ORDER) as readonly LogLevel[];

/** `SEPP_LOG_LEVEL` and the like: a level, or undefined for anything else. */
export const logLevelOf = (s: string | undefined): LogLevel | undefined => LOG_LEVELS.find((l) => l === s);

export function isSecretField(name: string): boolean {
  return SECRET_EXACT.has(name) || SECRET_NAME.test(name);
}

/** Deep copy with secret-named members redacted and binary data summarised. Bounded depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object") return value;
  if (depth > 6) return "[…]";
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[${(value as ArrayBuffer).byteLength} bytes]`;
  if (Array.isArray(value)) return value.slice(0, 50).map((x) => redact(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(value)) out[k] = isSecretField(k) ? "[redacted]" : redact(x, depth + 1);
  return out;
}

export type Sink = (line: string) => void;

export function createLogger(
  opts: { level?: LogLevel; sink?: Sink; base?: Fields; shared?: { min: number } } = {},
): Logger {
  // one level for a logger and all its children, so that a change of log.level reaches every component
  const shared = opts.shared ?? { min: ORDER[opts.level ?? "info"] };
  const sink: Sink = opts.sink ?? ((line) => process.stdout.write(`${line}\n`));
  const base = opts.base ?? {};
  const last = new Map<string, number>();
  const emit = (level: LogLevel, msg: string, fields?: Fields) => {
    if (ORDER[level] < shared.min) return;
    const rec = redact({ ...base, ...fields }) as Fields;
    sink(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...rec }));
  };
  const logger: Logger = {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (f) => createLogger({ sink, base: { ...base, ...f }, shared }),
    enabled: (level) => ORDER[level] >= shared.min,
    setLevel: (level) => {
      shared.min = ORDER[level];
    },
    every(key, intervalMs, level, msg, fields) {
      const now = performance.now(); // monotonic: the wall clock stepped back would silence a key until it caught up
      const t = last.get(key);
      if (t !== undefined && now - t < intervalMs) return false;
      if (last.size > 10_000) last.clear(); // bounded
      last.set(key, now);
      emit(level, msg, fields);
      return true;
    },
  };
  return logger;
}

/** A logger that keeps lines in memory (tests). */
export function memoryLogger(level: LogLevel = "debug"): Logger & { lines: Fields[] } {
  const lines: Fields[] = [];
  const l = createLogger({ level, sink: (s) => lines.push(JSON.parse(s)) });
  return Object.assign(l, { lines });
}
