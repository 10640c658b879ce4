import { describe, expect, it } from "vitest";
import { compileHeaderPatterns, patternsFromEnv, propagatedHeaders } from "../../../packages/server/src/graph/headers.ts";

/** Headers as node:http hands them to a server: names in lower case. */
const INCOMING = {
  "x-custom-id": "abc",
  "x-custom": "bare",
  "my-x-custom": "not at the start",
  "my-custom-header": "mine",
  "custom-header": "plain",
  authorization: "Bearer t",
  "content-type": "application/json",
  "x-other": "other",
};

describe("compileHeaderPatterns", () => {
  it("compiles every valid pattern, case-insensitive", () => {
    const policy = compileHeaderPatterns(["^x-custom", "Custom-Header"]);
    expect(policy.invalid).toEqual([]);
    expect(policy.patterns).toHaveLength(2);
    expect(policy.patterns.every((p) => p.flags.includes("i"))).toBe(true);
  });

  it("skips invalid patterns and reports them, keeping the valid ones", () => {
    const policy = compileHeaderPatterns(["[", "^x-custom", "(unclosed", "Custom-Header"]);
    expect(policy.invalid).toEqual(["[", "(unclosed"]);
    expect(policy.patterns.map((p) => p.source)).toEqual(["^x-custom", "Custom-Header"]);
  });

  it("trims patterns and ignores empty ones (as a trailing comma in PROPAGATE_HEADERS gives)", () => {
    const policy = compileHeaderPatterns([" ^x-custom ", "", "   "]);
    expect(policy.patterns.map((p) => p.source)).toEqual(["^x-custom"]);
    expect(policy.invalid).toEqual([]);
  });
});

describe("patternsFromEnv", () => {
  it("splits PROPAGATE_HEADERS on commas", () => {
    expect(patternsFromEnv("^x-custom,Custom-Header")).toEqual(["^x-custom", "Custom-Header"]);
  });
  it("gives nothing for an unset or empty variable", () => {
    expect(patternsFromEnv(undefined)).toEqual([]);
    expect(patternsFromEnv("")).toEqual([]);
  });
});

describe("propagatedHeaders", () => {
  it("forwards only headers whose names match a pattern", () => {
    const out = propagatedHeaders(INCOMING, compileHeaderPatterns(["^x-custom"]));
    expect(out).toEqual({ "x-custom-id": "abc", "x-custom": "bare" });
  });

  it("matching is unanchored: 'Custom-Header' matches anywhere in the name", () => {
    const out = propagatedHeaders(INCOMING, compileHeaderPatterns(["Custom-Header"]));
    expect(out).toEqual({ "my-custom-header": "mine", "custom-header": "plain" });
  });

  it("matching is case-insensitive both ways", () => {
    const out = propagatedHeaders({ "X-Mixed-Case": "1", "x-lower": "2" }, compileHeaderPatterns(["x-MIXED", "X-LOWER"]));
    expect(out).toEqual({ "X-Mixed-Case": "1", "x-lower": "2" });
  });

  it("several patterns add up", () => {
    const out = propagatedHeaders(INCOMING, compileHeaderPatterns(["^x-custom", "Custom-Header", "^authorization$"]));
    expect(Object.keys(out).sort()).toEqual(["authorization", "custom-header", "my-custom-header", "x-custom", "x-custom-id"]);
  });

  it("an invalid pattern does not stop the valid ones", () => {
    const out = propagatedHeaders(INCOMING, compileHeaderPatterns(["[", "^x-custom"]));
    expect(out).toEqual({ "x-custom-id": "abc", "x-custom": "bare" });
  });

  it("forwards nothing when there are no patterns", () => {
    expect(propagatedHeaders(INCOMING, compileHeaderPatterns([]))).toEqual({});
    expect(propagatedHeaders(INCOMING, compileHeaderPatterns(["["]))).toEqual({});
  });

  it("joins repeated headers and skips undefined ones", () => {
    const out = propagatedHeaders({ "x-custom-list": ["a", "b"], "x-custom-none": undefined }, compileHeaderPatterns(["^x-custom"]));
    expect(out).toEqual({ "x-custom-list": "a, b" });
  });

  it("does not add anything (content-type is the target's business)", () => {
    const out = propagatedHeaders({ "x-custom-id": "1" }, compileHeaderPatterns(["^x-custom"]));
    expect(out).toEqual({ "x-custom-id": "1" });
  });
});
