import { pino, type DestinationStream, type Logger as Pino } from "pino";

export type LogLevel = "debug" | "info" | "warn" | "error";
/** `json`: one JSON object a line (for log collectors); `text`: `ISO LEVEL message` lines (for people). */
export type LogFormat = "json" | "text";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: LogLevel, message: string): void;
}

/** A Logger backed by pino: the HTTP server logs through the same instance (Fastify's logger). */
export interface PinoLogger extends Logger {
  readonly pino: Pino;
  readonly level: LogLevel;
}

export interface LoggerOptions {
  /** Default: TSERVE_LOGLEVEL (or KSERVE_LOGLEVEL), else info. */
  level?: LogLevel;
  /** Default: TSERVE_LOG_FORMAT, else `text` when stdout is a terminal and `json` when it is not. */
  format?: LogFormat;
  /** Where lines go (default: stderr, written synchronously so a line before an exit is not lost). */
  destination?: { write(line: string): unknown };
}

/**
 * The server's logger: pino, on stderr. JSON lines carry `level` (a name), `time` (ISO), `msg`, and on
 * request-scoped lines `reqId`; text lines read `ISO LEVEL message key=value…`.
 */
export function createLogger(options: LoggerOptions = {}): PinoLogger {
  const level = options.level ?? envLevel();
  const format = options.format ?? envFormat() ?? (process.stdout.isTTY ? "text" : "json");
  const out = options.destination ?? bufferedStderr();
  const destination: DestinationStream = format === "text" ? textDestination(out) : (out as DestinationStream);
  const instance = pino(
    {
      level,
      base: undefined, // no pid/hostname on every line
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  return {
    pino: instance,
    level,
    log(l, message) {
      instance[l](message);
    },
  };
}

let stderr: ReturnType<typeof pino.destination> | undefined;

/**
 * stderr, shared by every logger and written asynchronously: a line goes out at once, lines written while a write
 * is in flight go out together, and what is pending is written synchronously when the process exits.
 */
function bufferedStderr(): ReturnType<typeof pino.destination> {
  if (!stderr) {
    const dest = pino.destination({ fd: 2, sync: false });
    process.on("exit", () => {
      try {
        dest.flushSync();
      } catch {
        // stderr closed: nothing more to say
      }
    });
    stderr = dest;
  }
  return stderr;
}

/** Kept for callers of the old API: the default logger at the given level. */
export function consoleLogger(level: LogLevel = envLevel()): Logger {
  return createLogger({ level });
}

export function isPinoLogger(logger: Logger): logger is PinoLogger {
  return typeof (logger as Partial<PinoLogger>).pino?.child === "function";
}

/** Fields of an access line already spelled out in its message; text lines do not repeat them. */
const IN_MESSAGE = new Set(["time", "level", "msg", "method", "path", "status", "durationMs"]);

/** Turns pino's JSON lines into `ISO LEVEL message key=value…` (only on a terminal or when asked for). */
function textDestination(out: { write(line: string): unknown }): DestinationStream {
  return {
    write(line: string) {
      const o = JSON.parse(line) as Record<string, unknown>;
      let text = `${o.time} ${String(o.level).toUpperCase()} ${o.msg ?? ""}`;
      for (const k in o) if (!IN_MESSAGE.has(k)) text += ` ${k}=${typeof o[k] === "string" ? o[k] : JSON.stringify(o[k])}`;
      out.write(`${text}\n`);
    },
  };
}

export function parseLogLevel(v: string | undefined): LogLevel | undefined {
  if (v === undefined) return undefined;
  const l = v.toLowerCase();
  return l in ORDER ? (l as LogLevel) : l === "warning" ? "warn" : undefined;
}

function envLevel(): LogLevel {
  return parseLogLevel(process.env.TSERVE_LOGLEVEL ?? process.env.KSERVE_LOGLEVEL) ?? "info";
}

function envFormat(): LogFormat | undefined {
  const v = process.env.TSERVE_LOG_FORMAT?.toLowerCase();
  return v === "json" || v === "text" ? v : undefined;
}
