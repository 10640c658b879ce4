import { describe, expect, it } from "vitest";
import { LARGE_JSON_BYTES, parseLargeJson } from "../../../packages/server/src/server/json-off-loop.ts";

const encoder = new TextEncoder();

/** A document past the threshold with every kind of JSON value, numeric arrays of all sizes among them. */
function bigDocument(): unknown {
  const rows = Array.from({ length: 40_000 }, (_, r) => Array.from({ length: 16 }, (_, c) => (r * 16 + c) / 7 - 3));
  return {
    instances: rows,
    mixed: [1, "two", 3, null, true, { four: [4, 4.5] }],
    empty: [],
    one: [42],
    negativeZero: [-0, 0],
    nested: { deep: [[[1, 2], [3]], [], [[]]], text: "x".repeat(1000) },
    big: [Number.MAX_SAFE_INTEGER, -1e308, 5e-324],
    flag: false,
    nothing: null,
  };
}

describe("parseLargeJson", () => {
  it("returns exactly what JSON.parse returns for a large body (parsed on a worker thread)", async () => {
    // JSON.stringify writes -0 as 0; the client's text may say -0, and JSON.parse keeps it.
    const text = JSON.stringify(bigDocument()).replace('"negativeZero":[0,0]', '"negativeZero":[-0,0]');
    expect(text).toContain('"negativeZero":[-0,0]');
    const bytes = encoder.encode(text);
    expect(bytes.byteLength).toBeGreaterThan(LARGE_JSON_BYTES);
    let usedMainParser = false;
    const parsed = await parseLargeJson(bytes, (b) => {
      usedMainParser = true;
      return JSON.parse(new TextDecoder().decode(b));
    });
    expect(usedMainParser).toBe(false);
    expect(parsed).toEqual(JSON.parse(text));
    const negativeZero = (parsed as { negativeZero: number[] }).negativeZero;
    expect(Object.is(negativeZero[0], -0)).toBe(true);
    expect(Array.isArray((parsed as { instances: unknown[] }).instances[0])).toBe(true);
    // The caller's bytes are still readable (the worker got a copy).
    expect(new TextDecoder().decode(bytes.subarray(0, 12))).toBe('{"instances"');
  });

  it("leaves a body the worker cannot parse to the caller's parser, which decides the error or the reading", async () => {
    const broken = encoder.encode(`{"instances": [${"1,".repeat(LARGE_JSON_BYTES / 2)} NaN]}`);
    const answer = await parseLargeJson(broken, () => "parsed by the caller's rules");
    expect(answer).toBe("parsed by the caller's rules");
    await expect(
      parseLargeJson(broken, () => {
        throw new Error("JSON Parse error: Unexpected token");
      }),
    ).rejects.toThrow("JSON Parse error");
  });

  it("parses small bodies right away with the caller's parser", async () => {
    expect(await parseLargeJson(encoder.encode('{"a":[1,2]}'), (b) => ({ via: "caller", text: new TextDecoder().decode(b) }))).toEqual({
      via: "caller",
      text: '{"a":[1,2]}',
    });
  });
});
