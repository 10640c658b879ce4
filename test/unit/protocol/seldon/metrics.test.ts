import { describe, expect, it } from "vitest";
import { SeldonError } from "../../../../packages/server/src/protocol/seldon/errors.ts";
import { validateMetrics } from "../../../../packages/server/src/protocol/seldon/metrics.ts";

function badMetric(value: unknown): SeldonError {
  try {
    validateMetrics(value);
  } catch (err) {
    expect(err).toBeInstanceOf(SeldonError);
    const e = err as SeldonError;
    expect(e.status).toBe(500);
    expect(e.reason).toBe("MICROSERVICE_BAD_METRIC");
    return e;
  }
  throw new Error(`expected validateMetrics(${JSON.stringify(value)}) to throw`);
}

describe("validateMetrics: what a component may return", () => {
  it("treats undefined and null as no metrics", () => {
    expect(validateMetrics(undefined)).toEqual([]);
    expect(validateMetrics(null)).toEqual([]);
    expect(validateMetrics([])).toEqual([]);
  });

  it("accepts a list of the three types, with and without tags", () => {
    const metrics = [
      { type: "COUNTER", key: "mycounter", value: 1 },
      { type: "GAUGE", key: "mygauge", value: -100.5 },
      { type: "TIMER", key: "mytimer", value: 20.2, tags: { mytag: "mytagvalue" } },
    ];
    expect(validateMetrics(metrics)).toEqual(metrics);
  });

  it("reads a missing type as COUNTER, the enum's zero that protobuf's JSON form leaves out, and types by number", () => {
    expect(validateMetrics([{ key: "mycounter", value: 1 }])).toEqual([{ key: "mycounter", type: "COUNTER", value: 1 }]);
    expect(validateMetrics([{ key: "c", type: null, value: 2 }])).toEqual([{ key: "c", type: "COUNTER", value: 2 }]);
    expect(validateMetrics([{ key: "g", type: 1, value: -1 }, { key: "t", type: 2, value: 5 }])).toEqual([
      { key: "g", type: "GAUGE", value: -1 },
      { key: "t", type: "TIMER", value: 5 },
    ]);
  });

  it("accepts a single metric object as a list of one", () => {
    expect(validateMetrics({ type: "GAUGE", key: "g", value: 3 })).toEqual([{ type: "GAUGE", key: "g", value: 3 }]);
  });

  it("returns copies in normal form: extra fields dropped, numeric tags stringified, empty tags dropped", () => {
    const input = [
      { type: "COUNTER", key: "c", value: 0, extra: true, tags: { shard: 3, zone: "a" } },
      { type: "GAUGE", key: "ns:g_1", value: 2, tags: {} },
      { type: "GAUGE", key: "_g", value: 2, tags: null },
    ];
    const out = validateMetrics(input);
    expect(out).toEqual([
      { type: "COUNTER", key: "c", value: 0, tags: { shard: "3", zone: "a" } },
      { type: "GAUGE", key: "ns:g_1", value: 2 },
      { type: "GAUGE", key: "_g", value: 2 },
    ]);
    expect(out[0]).not.toBe(input[0]);
  });

  it("allows negative gauges and zero counters and timers", () => {
    expect(validateMetrics([{ type: "GAUGE", key: "g", value: -1 }, { type: "COUNTER", key: "c", value: 0 }, { type: "TIMER", key: "t", value: 0 }])).toHaveLength(3);
  });
});

describe("validateMetrics: bad metrics are Seldon's 500 MICROSERVICE_BAD_METRIC", () => {
  it("quotes the whole value returned in the message, as Seldon does", () => {
    const value = [{ type: "COUNTER", key: "ok", value: 1 }, { type: "COUNTER", value: 1 }];
    expect(badMetric(value).message).toBe(`Bad metric created during request: ${JSON.stringify(value)}`);
    expect(badMetric({ key: "x", type: "HISTOGRAM", value: 1 }).message).toBe('Bad metric created during request: {"key":"x","type":"HISTOGRAM","value":1}');
  });

  const cases: [string, unknown][] = [
    ["a missing key", [{ type: "COUNTER", value: 1 }]],
    ["an empty key", [{ type: "COUNTER", key: "", value: 1 }]],
    ["a non-string key", [{ type: "COUNTER", key: 7, value: 1 }]],
    ["a key with a dash", [{ type: "COUNTER", key: "my-counter", value: 1 }]],
    ["a key starting with a digit", [{ type: "GAUGE", key: "1abc", value: 1 }]],
    ["a key with a space", [{ type: "GAUGE", key: "a b", value: 1 }]],
    ["a missing value", [{ type: "COUNTER", key: "c" }]],
    ["a string value", [{ type: "GAUGE", key: "g", value: "1" }]],
    ["a boolean value", [{ type: "GAUGE", key: "g", value: true }]],
    ["a NaN value", [{ type: "GAUGE", key: "g", value: Number.NaN }]],
    ["an infinite value", [{ type: "GAUGE", key: "g", value: Number.POSITIVE_INFINITY }]],
    ["an unknown type", [{ type: "HISTOGRAM", key: "c", value: 1 }]],
    ["an unknown type number", [{ type: 3, key: "c", value: 1 }]],
    ["a lower-case type", [{ type: "counter", key: "c", value: 1 }]],
    ["a negative counter", [{ type: "COUNTER", key: "c", value: -1 }]],
    ["a negative timer", [{ type: "TIMER", key: "t", value: -0.5 }]],
    ["tags that are not an object", [{ type: "GAUGE", key: "g", value: 1, tags: "a=b" }]],
    ["tags that are a list", [{ type: "GAUGE", key: "g", value: 1, tags: ["a"] }]],
    ["a boolean tag value", [{ type: "GAUGE", key: "g", value: 1, tags: { a: true } }]],
    ["an object tag value", [{ type: "GAUGE", key: "g", value: 1, tags: { a: { b: 1 } } }]],
    ["a null tag value", [{ type: "GAUGE", key: "g", value: 1, tags: { a: null } }]],
    ["a NaN tag value", [{ type: "GAUGE", key: "g", value: 1, tags: { a: Number.NaN } }]],
    ["a tag name that is not a label name", [{ type: "GAUGE", key: "g", value: 1, tags: { "a-b": "x" } }]],
    ["a tag name with a colon", [{ type: "GAUGE", key: "g", value: 1, tags: { "a:b": "x" } }]],
    ["a reserved __ tag name", [{ type: "GAUGE", key: "g", value: 1, tags: { __name__: "x" } }]],
    ["an le tag on a timer", [{ type: "TIMER", key: "t", value: 1, tags: { le: "x" } }]],
    ["an item that is not an object", ["COUNTER"]],
    ["a null item", [null]],
    ["a nested list", [[{ type: "COUNTER", key: "c", value: 1 }]]],
    ["a string", "metrics"],
    ["a number", 42],
  ];
  for (const [what, value] of cases) {
    it(`rejects ${what}`, () => {
      expect(badMetric(value).message).toMatch(/^Bad metric created during request: /);
    });
  }

  it("allows an le tag on a counter or gauge, where it has no special meaning", () => {
    expect(validateMetrics([{ type: "GAUGE", key: "g", value: 1, tags: { le: "x" } }])).toHaveLength(1);
  });

  it("still reports values JSON cannot show", () => {
    const cyclic: Record<string, unknown> = { key: "c", type: "COUNTER" };
    cyclic.self = cyclic;
    expect(badMetric(cyclic).message).toBe("Bad metric created during request: [object Object]");
    expect(badMetric([{ key: "c", type: "COUNTER", value: 1n }]).message).toMatch(/^Bad metric created during request: /);
  });
});
