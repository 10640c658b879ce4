/**
 * 64-bit integers in JSON bodies: a JSON number beyond ±2^53 (up to INT64's and UINT64's limits) reaches an
 * INT64/UINT64 tensor exactly, over V2 JSON and V1 (rows and columns), small bodies and the large ones parsed off
 * the event loop; it comes back exactly (as a digit string: a JSON number that size would be rounded by most
 * readers). The same literal in a float tensor is that float. The model is Identity for each input.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, FIXTURE_MODELS, post, type Running, startWith } from "./util.ts";

const WIDE_INTS_DIR = join(FIXTURE_MODELS, "wide_ints");

const INT64_MIN = "-9223372036854775808";
const INT64_MAX = "9223372036854775807";
const UINT64_MAX = "18446744073709551615";
/** The float32 nearest 12345678901234567890 (what JSON.parse and then Float32Array make of the literal). */
const BIG_AS_FP32 = Math.fround(JSON.parse("12345678901234567890"));
/** 2^53 + 1: the first integer a double cannot hold. */
const TWO_53_PLUS_1 = "9007199254740993";

/** JSON text with the big literals written as bare numbers (JSON.stringify cannot write them). */
function v2Body(i64: string[], u64: string[], f32: string[]): string {
  const input = (name: string, datatype: string, data: string[]) =>
    `{"name":"${name}","datatype":"${datatype}","shape":[${data.length}],"data":[${data.join(",")}]}`;
  return `{"inputs":[${input("i64", "INT64", i64)},${input("u64", "UINT64", u64)},${input("f32", "FP32", f32)}]}`;
}

/** What a V2 or V1 answer holds for a value: a digit string beyond ±2^53, else the number. */
function exact(literal: string): string | number {
  return Number.isSafeInteger(Number(literal)) ? Number(literal) : literal;
}

describe("64-bit integers in JSON bodies", () => {
  let running: Running;
  let url: string;

  beforeAll(async () => {
    running = await startWith({ dirs: [WIDE_INTS_DIR] });
    url = running.url;
  });
  afterAll(async () => running?.server.stop());

  describe("V2 JSON", () => {
    it("INT64 min/max, UINT64 max and 2^53+1 round-trip exactly; the same literal in FP32 is that float", async () => {
      const i64 = [INT64_MIN, INT64_MAX, TWO_53_PLUS_1, "-1", "0"];
      const u64 = [UINT64_MAX, TWO_53_PLUS_1, "0"];
      const r = await post(`${url}/v2/models/wide_ints/infer`, v2Body(i64, u64, ["12345678901234567890", "0.5"]));
      expect(r.status, r.text).toBe(200);
      const out = Object.fromEntries((r.json.outputs as { name: string; data: unknown[] }[]).map((o) => [o.name, o.data]));
      expect(out.i64_out).toEqual(i64.map(exact));
      expect(out.u64_out).toEqual(u64.map(exact));
      expect(out.f32_out).toEqual([BIG_AS_FP32, 0.5]);
    });

    it("a value just past a type's limit is a 400 that quotes the value as sent, not a rounded one", async () => {
      const over = await post(`${url}/v2/models/wide_ints/infer`, v2Body(["9223372036854775808"], ["1"], ["1"]));
      expectError(over, 400, "Input 'i64'", "9223372036854775808", "INT64");
      const under = await post(`${url}/v2/models/wide_ints/infer`, v2Body(["1"], ["18446744073709551616"], ["1"]));
      expectError(under, 400, "Input 'u64'", "18446744073709551616", "UINT64");
      const negative = await post(`${url}/v2/models/wide_ints/infer`, v2Body(["1"], ["-1"], ["1"]));
      expectError(negative, 400, "Input 'u64'", "UINT64");
    });

    it("a body of 4 MiB or more (parsed off the event loop) is exact too", async () => {
      const n = 250_000; // ~5 MB of 20-digit literals
      const i64 = Array.from({ length: n }, (_, k) => (k % 2 === 0 ? INT64_MAX : String(-(2n ** 62n) - BigInt(k))));
      const body = v2Body(i64, [UINT64_MAX], ["1"]);
      expect(body.length).toBeGreaterThan(4 * 1024 * 1024);
      const r = await post(`${url}/v2/models/wide_ints/infer`, body);
      expect(r.status, r.text.slice(0, 300)).toBe(200);
      const out = r.json.outputs.find((o: { name: string }) => o.name === "i64_out");
      expect(out.data).toEqual(i64.map(exact));
    });
  });

  describe("V1 (TF Serving / KServe V1)", () => {
    it("rows: exact values in every INT64/UINT64 column, floats as floats", async () => {
      const body = `{"instances":[{"i64":${INT64_MIN},"u64":${UINT64_MAX},"f32":12345678901234567890},{"i64":${INT64_MAX},"u64":${TWO_53_PLUS_1},"f32":2}]}`;
      const r = await post(`${url}/v1/models/wide_ints:predict`, body);
      expect(r.status, r.text).toBe(200);
      expect(r.json).toEqual({
        predictions: [
          { i64_out: INT64_MIN, u64_out: UINT64_MAX, f32_out: BIG_AS_FP32 },
          { i64_out: INT64_MAX, u64_out: TWO_53_PLUS_1, f32_out: 2 },
        ],
      });
    });

    it("columns, with TF Serving's NaN token in the same body", async () => {
      const body = `{"inputs":{"i64":[${INT64_MIN},${INT64_MAX}],"u64":[${UINT64_MAX}],"f32":[NaN,1]}}`;
      const r = await post(`${url}/v1/models/wide_ints:predict`, body);
      expect(r.status, r.text).toBe(200);
      expect(r.text).toContain('"f32_out":[NaN,1]');
      expect(r.json).toBeUndefined(); // bare NaN: not JSON.parse-able, as TF Serving writes it
      expect(r.text).toContain(`"i64_out":["${INT64_MIN}","${INT64_MAX}"]`);
      expect(r.text).toContain(`"u64_out":["${UINT64_MAX}"]`);
    });

    it("a value past the limit is a 400 naming the input and quoting the value as sent", async () => {
      const body = `{"inputs":{"i64":[1],"u64":[18446744073709551616],"f32":[1]}}`;
      expectError(await post(`${url}/v1/models/wide_ints:predict`, body), 400, "Input 'u64'", "18446744073709551616");
    });

    it("a body of 4 MiB or more (parsed off the event loop) is exact too, with or without NaN tokens", async () => {
      const n = 250_000; // ~5 MB of 20-digit literals
      const i64 = Array.from({ length: n }, (_, k) => (k % 2 === 0 ? INT64_MIN : String(2n ** 62n + BigInt(k))));
      // The worker parses the first; the second (a NaN token JSON.parse refuses) is parsed again on the main thread.
      for (const f32 of ["0.25", "NaN"]) {
        const body = `{"inputs":{"i64":[${i64.join(",")}],"u64":[${UINT64_MAX}],"f32":[${f32}]}}`;
        expect(body.length).toBeGreaterThan(4 * 1024 * 1024);
        const r = await post(`${url}/v1/models/wide_ints:predict`, body);
        expect(r.status, r.text.slice(0, 300)).toBe(200);
        const json = JSON.parse(r.text.replace("[NaN]", '["NaN"]'));
        expect(json.outputs.i64_out).toEqual(i64.map(exact));
        expect(json.outputs.u64_out).toEqual([UINT64_MAX]);
        expect(json.outputs.f32_out).toEqual([f32 === "NaN" ? "NaN" : 0.25]);
      }
    });
  });
});
