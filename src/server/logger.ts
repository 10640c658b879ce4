export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  log(level: LogLevel, message: string): void;
}

/** One line per event on stderr, filtered by TSERVE_LOGLEVEL (or KSERVE_LOGLEVEL), default info. */
export function consoleLogger(level: LogLevel = envLevel()): Logger {
  return {
    log(l, message) {
      if (ORDER[l] < ORDER[level]) return;
      process.stderr.write(`${new Date().toISOString()} ${l.toUpperCase()} ${message}\n`);
    },
  };
}

function envLevel(): LogLevel {
  const v = (process.env.TSERVE_LOGLEVEL ?? process.env.KSERVE_LOGLEVEL ?? "info").toLowerCase();
  return v in ORDER ? (v as LogLevel) : v === "warning" ? "warn" : "info";
}
