import { describe, expect, it } from "vitest";
import { parseArgs, UsageError } from "../../../packages/server/src/cli/args.ts";
import { CONNECTION_FLAGS, connectionOptions } from "../../../packages/server/src/cli/connection-flags.ts";

const parse = (argv: string[]) => connectionOptions(parseArgs(argv, CONNECTION_FLAGS).flags);

describe("slow-client flags", () => {
  it("default to 30 s headers, 300 s request, 30 s body pause, 1024 bytes/s and an automatic connection limit", () => {
    expect(parse([])).toEqual({
      headersTimeoutMs: 30_000,
      requestTimeoutMs: 300_000,
      bodyTimeoutMs: 30_000,
      minBodyRate: 1024,
      maxConnections: undefined,
    });
  });

  it("take seconds (fractions too) in either spelling, and 0 turns a check off", () => {
    expect(parse(["--headers-timeout", "0.5", "--request_timeout=0", "--body_timeout", "2", "--min-body-rate", "0", "--max_connections", "100"])).toEqual({
      headersTimeoutMs: 500,
      requestTimeoutMs: 0,
      bodyTimeoutMs: 2_000,
      minBodyRate: 0,
      maxConnections: 100,
    });
  });

  it("refuse negative values and a fractional connection limit", () => {
    expect(() => parse(["--body_timeout", "-1"])).toThrow(UsageError);
    expect(() => parse(["--max_connections", "1.5"])).toThrow(/whole number/);
  });
});
