import { describe, expect, it } from "vitest";
import { createLogger, isPinoLogger, parseLogLevel } from "../../../packages/server/src/server/logger.ts";

function capture(format: "json" | "text", level: "debug" | "info" | "warn" | "error" = "info") {
  const lines: string[] = [];
  const logger = createLogger({ format, level, destination: { write: (l: string) => lines.push(l) } });
  return { logger, lines };
}

describe("createLogger", () => {
  it("writes one JSON object a line with level, time and msg", () => {
    const { logger, lines } = capture("json");
    logger.log("warn", "disk is \"full\"");
    expect(lines).toHaveLength(1);
    const o = JSON.parse(lines[0]);
    expect(o).toMatchObject({ level: "warn", msg: 'disk is "full"' });
    expect(new Date(o.time).toISOString()).toBe(o.time);
    expect(o.pid).toBeUndefined();
  });

  it("filters by level", () => {
    const { logger, lines } = capture("json", "warn");
    logger.log("debug", "a");
    logger.log("info", "b");
    logger.log("error", "c");
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(["c"]);
  });

  it("writes readable ISO LEVEL message lines in text format, extra fields as key=value", () => {
    const { logger, lines } = capture("text");
    logger.log("info", "loaded model m");
    logger.pino.child({ reqId: "r1" }).info({ method: "GET", path: "/x", status: 200, durationMs: 1, model: "m" }, "GET /x 200 1ms");
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z INFO loaded model m\n$/);
    expect(lines[1]).toMatch(/ INFO GET \/x 200 1ms reqId=r1 model=m\n$/);
  });

  it("is recognised as pino-backed; a plain Logger is not", () => {
    expect(isPinoLogger(capture("json").logger)).toBe(true);
    expect(isPinoLogger({ log() {} })).toBe(false);
  });

  it("parses levels as KServe spells them", () => {
    expect(parseLogLevel("WARNING")).toBe("warn");
    expect(parseLogLevel("Debug")).toBe("debug");
    expect(parseLogLevel("loud")).toBeUndefined();
  });
});
