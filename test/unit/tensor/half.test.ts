import { describe, expect, it } from "vitest";
import {
  bf16ToNumber,
  fromFlatValues,
  halfToNumber,
  numberToBf16,
  numberToHalf,
  toFlatValues,
} from "../../../packages/server/src/tensor/index.ts";

// Reference bit patterns from the IEEE 754 binary16 and bfloat16 formats.
describe("FP16 (IEEE binary16)", () => {
  const exact: [number, number][] = [
    [0, 0x0000],
    [1, 0x3c00],
    [-2.5, 0xc100],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite half
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [3 * 2 ** -24, 0x0003],
    [2 ** -15, 0x0200],
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [-(2 ** -24), 0x8001],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
  ];

  it.each(exact)("encodes %d as its binary16 bit pattern", (value, bits) => {
    expect(numberToHalf(value)).toBe(bits);
  });

  it.each(exact)("decodes the bit pattern of %d back to the same number", (value, bits) => {
    expect(halfToNumber(bits)).toBe(value);
  });

  it("keeps the sign of negative zero", () => {
    expect(numberToHalf(-0)).toBe(0x8000);
    expect(Object.is(halfToNumber(0x8000), -0)).toBe(true);
  });

  it("encodes NaN as a NaN pattern (exponent all ones, non-zero fraction) and decodes it as NaN", () => {
    const bits = numberToHalf(Number.NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x03ff).not.toBe(0);
    expect(Number.isNaN(halfToNumber(bits))).toBe(true);
    expect(Number.isNaN(halfToNumber(0x7e00))).toBe(true);
    expect(Number.isNaN(halfToNumber(0xfc01))).toBe(true);
  });

  it("rounds to the nearest representable value", () => {
    expect(numberToHalf(0.1)).toBe(0x2e66); // 0.0999755859375
    expect(halfToNumber(numberToHalf(0.1))).toBe(0.0999755859375);
    expect(numberToHalf(1 + 2 ** -10 + 2 ** -12)).toBe(0x3c01); // below the midpoint to 1+2^-9
    expect(numberToHalf(1 + 2 ** -11 + 2 ** -13)).toBe(0x3c01); // above the midpoint between 1 and 1+2^-10
  });

  it("overflows to infinity beyond the largest finite half (65520 rounds up to Inf)", () => {
    expect(numberToHalf(65520)).toBe(0x7c00);
    expect(numberToHalf(1e6)).toBe(0x7c00);
    expect(numberToHalf(-1e6)).toBe(0xfc00);
    expect(numberToHalf(65519)).toBe(0x7bff);
  });

  it("underflows to signed zero below half the smallest subnormal", () => {
    expect(numberToHalf(1e-9)).toBe(0x0000);
    expect(numberToHalf(-1e-9)).toBe(0x8000);
  });

  it("rounds subnormals to the nearest subnormal", () => {
    expect(numberToHalf(0.75 * 2 ** -24)).toBe(0x0001);
    expect(numberToHalf(1.25 * 2 ** -24)).toBe(0x0001);
    expect(numberToHalf(1.75 * 2 ** -24)).toBe(0x0002);
  });

  // IEEE 754's default rounding (and numpy, onnxruntime, the BF16 path here) breaks ties to even.
  it("breaks a tie between two halves to the even one (2049 -> 2048, as numpy.float16 does)", () => {
    expect(numberToHalf(2049)).toBe(0x6800);
    expect(halfToNumber(numberToHalf(2049))).toBe(2048);
  });

  it("breaks the tie 1 + 2^-11 to 1.0 (even), not to 1 + 2^-10", () => {
    expect(numberToHalf(1 + 2 ** -11)).toBe(0x3c00);
  });

  it("breaks subnormal ties to even too (2.5 * 2^-24 -> 2 * 2^-24)", () => {
    expect(numberToHalf(2.5 * 2 ** -24)).toBe(0x0002);
  });

  it("round-trips 1.0, -2.5, 65504, subnormals, NaN and Infinity through FP16 tensor storage", () => {
    const values = [1, -2.5, 65504, 2 ** -24, 5 * 2 ** -24, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    const back = toFlatValues(fromFlatValues([...values, Number.NaN], "FP16"), "FP16") as number[];
    expect(back.slice(0, values.length)).toEqual(values);
    expect(Number.isNaN(back[values.length])).toBe(true);
  });
});

describe("BF16 (bfloat16)", () => {
  const exact: [number, number][] = [
    [0, 0x0000],
    [1, 0x3f80],
    [-2.5, 0xc020],
    [0.5, 0x3f00],
    [65536, 0x4780],
    [2 ** -126, 0x0080], // smallest normal
    [2 ** -133, 0x0001], // smallest subnormal
    [Number.POSITIVE_INFINITY, 0x7f80],
    [Number.NEGATIVE_INFINITY, 0xff80],
  ];

  it.each(exact)("encodes %d as its bfloat16 bit pattern", (value, bits) => {
    expect(numberToBf16(value)).toBe(bits);
  });

  it.each(exact)("decodes the bit pattern of %d back to the same number", (value, bits) => {
    expect(bf16ToNumber(bits)).toBe(value);
  });

  it("decodes negative patterns (high bit set) as negative numbers", () => {
    expect(bf16ToNumber(0xbf80)).toBe(-1);
    expect(Object.is(bf16ToNumber(0x8000), -0)).toBe(true);
  });

  it("rounds 65504 (not representable with 8 mantissa bits) to 65536", () => {
    expect(numberToBf16(65504)).toBe(0x4780);
    expect(bf16ToNumber(numberToBf16(65504))).toBe(65536);
  });

  it("rounds to nearest, ties to even", () => {
    // 1 + 2^-8 is halfway between 1 (0x3f80, even) and 1 + 2^-7 (0x3f81, odd).
    expect(numberToBf16(1 + 2 ** -8)).toBe(0x3f80);
    // 1 + 3*2^-8 is halfway between 0x3f81 (odd) and 0x3f82 (even).
    expect(numberToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(numberToBf16(1 + 2 ** -8 + 2 ** -12)).toBe(0x3f81);
  });

  it("encodes NaN as a quiet NaN and decodes it as NaN", () => {
    const bits = numberToBf16(Number.NaN);
    expect(bits & 0x7f80).toBe(0x7f80);
    expect(bits & 0x007f).not.toBe(0);
    expect(Number.isNaN(bf16ToNumber(bits))).toBe(true);
  });

  it("round-trips 1.0, -2.5, subnormals, NaN and Infinity through BF16 tensor storage", () => {
    const values = [1, -2.5, 2 ** -133, 3 * 2 ** -133, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    const back = toFlatValues(fromFlatValues([...values, Number.NaN], "BF16"), "BF16") as number[];
    expect(back.slice(0, values.length)).toEqual(values);
    expect(Number.isNaN(back[values.length])).toBe(true);
  });
});
