import { describe, expect, it } from "vitest";
import { exactJson, parseJsonBody, rememberJsonSource, v1, v2 } from "../../../packages/server/src/protocol/index.ts";
import { parseJsonExact, rewriteJsonLiterals } from "../../../packages/server/src/protocol/exact-json.ts";

const enc = new TextEncoder();
/** What JSON.parse makes of the literal 12345678901234567890 (a double, not exactly that integer). */
const BIG = JSON.parse("12345678901234567890") as number;

describe("parseJsonExact", () => {
  it("reads integer literals beyond ±2^53 as bigints and leaves every other value as JSON.parse does", () => {
    const text =
      '{"a": [-9223372036854775808, 18446744073709551615, 9007199254740993, 9007199254740991, 1.2345678901234567890,' +
      ' 12345678901234567890e2, 1.5E+20, "12345678901234567890", "x\\"12345678901234567890", -0, null, true],' +
      ' "12345678901234567890": 12345678901234567890}';
    expect(parseJsonExact(text)).toEqual({
      a: [
        -(2n ** 63n),
        2n ** 64n - 1n,
        2n ** 53n + 1n,
        9007199254740991,
        JSON.parse("1.2345678901234567890"),
        JSON.parse("12345678901234567890e2"),
        1.5e20,
        "12345678901234567890",
        'x"12345678901234567890',
        -0,
        null,
        true,
      ],
      "12345678901234567890": 12345678901234567890n,
    });
  });

  it("is undefined when the text has no such literal (nothing to read again)", () => {
    expect(parseJsonExact('[1, 9007199254740991, -9007199254740991, 0.12345678901234567, "123456789012345678901"]')).toBeUndefined();
  });

  it("reads TF Serving's bare NaN / Infinity tokens too, so a V1 body reads the same way", () => {
    expect(parseJsonExact("[NaN, -Infinity, Inf, 12345678901234567890]")).toEqual([
      Number.NaN,
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      12345678901234567890n,
    ]);
  });

  it("a string that happens to start like the rewriter's marker stays a string", () => {
    const rewritten = rewriteJsonLiterals('["\\u0000abc:i1", 12345678901234567890]', { bigIntegers: true });
    expect(rewritten).toBeDefined();
    expect(JSON.parse(rewritten!.text, (_k, v) => (typeof v === "string" ? rewritten!.revive(v) : v))).toEqual([
      "\u0000abc:i1",
      12345678901234567890n,
    ]);
  });
});

describe("exactJson", () => {
  it("is the exact reading of a parsed body whose source is remembered, else undefined", () => {
    const body = parseJsonBody('{"x": [12345678901234567890]}') as { x: number[] };
    expect(body.x[0]).toBe(BIG); // the body itself is what JSON.parse gives
    expect(exactJson(body)).toEqual({ x: [12345678901234567890n] });
    expect(exactJson(body)).toBe(exactJson(body)); // read once
    expect(exactJson({ x: [BIG] })).toBeUndefined();
    expect(exactJson(parseJsonBody("[1, 2]"))).toBeUndefined();
    const remembered = {};
    rememberJsonSource(remembered, enc.encode("[18446744073709551615]"));
    expect(exactJson(remembered)).toEqual([2n ** 64n - 1n]);
  });
});

describe("V2 JSON decode", () => {
  const body = (text: string) => v2.decodeInferRequest(enc.encode(text));

  it("INT64/UINT64 data beyond ±2^53 is exact; a big literal in FP32 data or in parameters is the number", () => {
    const request = body(
      '{"inputs": [{"name": "i", "datatype": "INT64", "shape": [2], "data": [[-9223372036854775808], [9223372036854775807]]},' +
        ' {"name": "u", "datatype": "UINT64", "shape": [1], "data": [18446744073709551615]},' +
        ' {"name": "f", "datatype": "FP32", "shape": [1], "data": [12345678901234567890], "parameters": {"p": 12345678901234567890}}],' +
        ' "parameters": {"seed": 12345678901234567890}}',
    );
    const [i, u, f] = request.inputs;
    expect(Array.from(i.data as BigInt64Array)).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
    expect(Array.from(u.data as BigUint64Array)).toEqual([2n ** 64n - 1n]);
    expect(Array.from(f.data as Float32Array)).toEqual([Math.fround(BIG)]);
    expect(f.parameters).toEqual({ p: BIG });
    expect(request.parameters).toEqual({ seed: BIG });
  });

  it("a value past the type's limit is a 400 quoting it as sent", () => {
    expect(() => body('{"inputs": [{"name": "i", "datatype": "INT64", "shape": [1], "data": [9223372036854775808]}]}')).toThrow(
      "Input 'i' data element 0 is 9223372036854775808, expected an integer in [-9223372036854775808, 9223372036854775807] for INT64",
    );
  });

  it("a float literal beyond 2^53 for INT64 stays refused (it is not an integer literal)", () => {
    expect(() => body('{"inputs": [{"name": "i", "datatype": "INT64", "shape": [1], "data": [9.2e18]}]}')).toThrow("Input 'i' data element 0");
  });

  it("a JSON string in FP32 data is still refused: only the parser's own numbers count as numbers", () => {
    expect(() => body('{"inputs": [{"name": "f", "datatype": "FP32", "shape": [1], "data": ["12345678901234567890"]}]}')).toThrow(
      "expected a number",
    );
  });

  it("without a known source (a body built in code), a number beyond ±2^53 stays refused, never guessed", () => {
    expect(() =>
      v2.decodeInferRequestJson({ inputs: [{ name: "i", datatype: "INT64", shape: [1], data: [2 ** 63 - 1] }] }),
    ).toThrow("not exact");
  });
});

describe("V1 decode", () => {
  const inputs = [
    { name: "i", datatype: "INT64" as const, shape: [-1] },
    { name: "f", datatype: "FP32" as const, shape: [-1] },
  ];

  it("rows and columns: INT64 exact, FP32 the number, NaN tokens still read", () => {
    const rows = v1.parseV1Json('{"instances": [{"i": -9223372036854775808, "f": NaN}, {"i": 9223372036854775807, "f": 12345678901234567890}]}');
    const [i, f] = v1.v1ToInferRequest(rows, inputs).request.inputs;
    expect(Array.from(i.data as BigInt64Array)).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
    expect(Array.from(f.data as Float32Array)).toEqual([Number.NaN, Math.fround(BIG)]);

    const columns = v1.parseV1Json(enc.encode('{"inputs": {"i": [9007199254740993], "f": [1]}}'));
    expect(Array.from(v1.v1ToInferRequest(columns, inputs).request.inputs[0].data as BigInt64Array)).toEqual([2n ** 53n + 1n]);
  });

  it("a value past the limit is a 400 naming the input and quoting the value", () => {
    const body = v1.parseV1Json('{"inputs": {"i": [-9223372036854775809], "f": [1]}}');
    expect(() => v1.v1ToInferRequest(body, inputs)).toThrow("Input 'i' (INT64 [-1]) element 0 is -9223372036854775809");
  });
});
