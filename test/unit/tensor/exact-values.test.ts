import { describe, expect, it } from "vitest";
import {
  exactUtf8,
  fromFlatValues,
  fromUtf8,
  InexactIntegerError,
  TensorValueError,
  toJsonValues,
  utf8,
} from "../../../packages/server/src/tensor/index.ts";

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error, but nothing was thrown");
}

describe("BYTES text", () => {
  it("fromUtf8 keeps a leading U+FEFF: it is part of the element, not a marker to drop", () => {
    expect(fromUtf8(utf8("\ufeffab"))).toBe("\ufeffab");
  });

  it("exactUtf8 gives the text only when utf8() of it is the same bytes", () => {
    expect(exactUtf8(utf8("héllo ✓ \ufeff"))).toBe("héllo ✓ \ufeff");
    expect(exactUtf8(new Uint8Array([0xff, 0xfe, 0x61]))).toBeUndefined();
    expect(exactUtf8(new Uint8Array([0xed, 0xa0, 0x80]))).toBeUndefined(); // an encoded surrogate
    expect(exactUtf8(new Uint8Array([0x61, 0x00, 0x62]))).toBe("a\u0000b");
  });

  it("a string with a lone surrogate is refused for BYTES instead of written as U+FFFD", () => {
    const err = thrown(() => fromFlatValues(["ok", "a\ud800b"], "BYTES"));
    expect(err).toBeInstanceOf(TensorValueError);
    expect(err.message).toContain("element 1");
    expect(err.message).toContain("surrogate");
    expect(fromFlatValues(["🎉"], "BYTES")).toEqual([utf8("🎉")]);
  });
});

describe("64-bit integers", () => {
  it("bigints and digit strings fill INT64/UINT64 exactly, up to each type's limits", () => {
    const i64 = fromFlatValues([-(2n ** 63n), "9223372036854775807", 5], "INT64");
    expect(Array.from(i64 as BigInt64Array)).toEqual([-(2n ** 63n), 2n ** 63n - 1n, 5n]);
    const u64 = fromFlatValues([2n ** 64n - 1n], "UINT64");
    expect(Array.from(u64 as BigUint64Array)).toEqual([2n ** 64n - 1n]);
    expect(thrown(() => fromFlatValues([2n ** 63n], "INT64")).message).toContain("element 0 is 9223372036854775808");
  });

  it("a number beyond ±2^53 is an InexactIntegerError (it may be a rounded literal), still a TensorValueError", () => {
    const err = thrown(() => fromFlatValues([1, -(2 ** 63)], "INT64"));
    expect(err).toBeInstanceOf(InexactIntegerError);
    expect(err).toBeInstanceOf(TensorValueError);
    expect(err.message).toContain("element 1");
    expect(err.message).toContain("digit strings");
    // Not an integer at all: an ordinary value error.
    const frac = thrown(() => fromFlatValues([1.5], "INT64"));
    expect(frac).not.toBeInstanceOf(InexactIntegerError);
  });

  it("a bigint (an integer literal read exactly) is the number JSON.parse gives for a float tensor", () => {
    const f32 = fromFlatValues([12345678901234567890n, -(2n ** 63n)], "FP32") as Float32Array;
    expect(Array.from(f32)).toEqual([Math.fround(JSON.parse("12345678901234567890")), -(2 ** 63)]);
    const f64 = fromFlatValues([9007199254740993n], "FP64") as Float64Array;
    expect(f64[0]).toBe(JSON.parse("9007199254740993"));
  });

  it("a bigint for a narrower integer or BOOL is refused quoting the value as sent", () => {
    expect(thrown(() => fromFlatValues([12345678901234567890n], "INT32")).message).toContain("element 0 is 12345678901234567890");
    expect(thrown(() => fromFlatValues([12345678901234567890n], "BOOL")).message).toContain("a number");
    expect(thrown(() => fromFlatValues([12345678901234567890n], "BYTES")).message).toContain("a number");
  });

  it("JSON values: INT64/UINT64 beyond ±2^53 go out as digit strings, the rest as numbers", () => {
    const data = BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n, 2n ** 53n - 1n]);
    expect(toJsonValues(data, "INT64")).toEqual(["-9223372036854775808", "9223372036854775807", "9007199254740992", 9007199254740991]);
    expect(toJsonValues(BigUint64Array.from([2n ** 64n - 1n]), "UINT64")).toEqual(["18446744073709551615"]);
  });
});
