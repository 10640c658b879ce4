import { describe, expect, it } from "vitest";
import {
  flatten,
  flattenRectangular,
  fromFlatValues,
  inferShape,
  nest,
  TensorValueError,
  toFlatValues,
  toNested,
} from "../../../packages/server/src/tensor/index.ts";

/** Runs `fn` and returns the TensorValueError it throws (fails the test if it throws nothing or something else). */
function valueError(fn: () => unknown): TensorValueError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TensorValueError);
    return err as TensorValueError;
  }
  throw new Error("expected a TensorValueError, but nothing was thrown");
}

describe("flatten", () => {
  it("treats nested and flat data as the same tensor (OIP: [[1,2],[4,5]] == [1,2,4,5])", () => {
    const nested = flatten(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      "INT32",
      [2, 3],
    );
    const flat = flatten([1, 2, 3, 4, 5, 6], "INT32", [2, 3]);
    expect(nested).toEqual(flat);
    expect(nested).toEqual(new Int32Array([1, 2, 3, 4, 5, 6]));
  });

  it("keeps row-major order for 3-D nesting", () => {
    const data = flatten(
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
      "FP64",
      [2, 2, 2],
    );
    expect(Array.from(data as Float64Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("accepts a bare scalar for shape []", () => {
    expect(flatten(3.5, "FP32", [])).toEqual(new Float32Array([3.5]));
  });

  it("accepts empty data for a zero-sized shape", () => {
    const data = flatten([[], []], "FP32", [2, 0]);
    expect(data).toBeInstanceOf(Float32Array);
    expect((data as Float32Array).length).toBe(0);
  });

  it("rejects too few elements, naming the counts and the shape", () => {
    const err = valueError(() => flatten([1, 2, 3], "FP32", [2, 2]));
    expect(err.message).toContain("3");
    expect(err.message).toContain("[2,2]");
    expect(err.message).toContain("4");
  });

  it("rejects too many elements", () => {
    const err = valueError(() =>
      flatten(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        "INT32",
        [2, 2],
      ),
    );
    expect(err.message).toContain("6");
    expect(err.message).toContain("[2,2]");
  });

  it("rejects a list for a scalar shape", () => {
    valueError(() => flatten([1, 2], "FP32", []));
  });
});

describe("flattenRectangular", () => {
  it("flattens a rectangular array of the given shape", () => {
    const data = flattenRectangular(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      "INT16",
      [2, 3],
    );
    expect(data).toEqual(new Int16Array([1, 2, 3, 4, 5, 6]));
  });

  it("rejects a ragged row", () => {
    const err = valueError(() =>
      flattenRectangular(
        [
          [1, 2, 3],
          [4, 5],
        ],
        "FP32",
        [2, 3],
      ),
    );
    expect(err.message).toMatch(/rectangular/);
  });

  it("rejects a row that is longer than the first", () => {
    valueError(() =>
      flattenRectangular(
        [
          [1, 2],
          [3, 4, 5],
        ],
        "FP32",
        [2, 2],
      ),
    );
  });

  it("rejects a scalar where a row is expected", () => {
    valueError(() => flattenRectangular([[1, 2], 3], "FP32", [2, 2]));
  });

  it("rejects an array where a scalar is expected", () => {
    valueError(() =>
      flattenRectangular(
        [
          [1, [2]],
          [3, 4],
        ],
        "FP32",
        [2, 2],
      ),
    );
    valueError(() => flattenRectangular([1, 2], "FP32", []));
  });

  it("rejects flat data even when the element count matches (nesting is mandatory here)", () => {
    valueError(() => flattenRectangular([1, 2, 3, 4], "FP32", [2, 2]));
  });

  it("handles shape [] and zero-sized shapes", () => {
    expect(flattenRectangular(9, "INT8", [])).toEqual(new Int8Array([9]));
    expect((flattenRectangular([[], []], "FP32", [2, 0]) as Float32Array).length).toBe(0);
  });
});

describe("inferShape", () => {
  it("reads the shape from the first element along each axis", () => {
    expect(inferShape(5)).toEqual([]);
    expect(inferShape([1, 2, 3])).toEqual([3]);
    expect(
      inferShape([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ).toEqual([2, 3]);
    expect(inferShape([[], []])).toEqual([2, 0]);
    expect(inferShape([])).toEqual([0]);
  });
});

describe("fromFlatValues: element type checks", () => {
  it("rejects a string in FP32, naming the element and the datatype", () => {
    const err = valueError(() => fromFlatValues([1, "2.5"], "FP32"));
    expect(err.message).toContain("element 1");
    expect(err.message).toContain("FP32");
  });

  it("rejects booleans and null in float tensors", () => {
    valueError(() => fromFlatValues([true], "FP64"));
    valueError(() => fromFlatValues([null], "FP32"));
    valueError(() => fromFlatValues([{}], "FP16"));
  });

  it("accepts TF Serving's NaN/Infinity tokens sent as strings for floats", () => {
    const d = fromFlatValues(["NaN", "Infinity", "-Infinity"], "FP32") as Float32Array;
    expect(Number.isNaN(d[0])).toBe(true);
    expect(d[1]).toBe(Number.POSITIVE_INFINITY);
    expect(d[2]).toBe(Number.NEGATIVE_INFINITY);
  });

  it("rejects 1.5 in INT32", () => {
    const err = valueError(() => fromFlatValues([1, 2, 1.5], "INT32"));
    expect(err.message).toContain("element 2");
    expect(err.message).toContain("1.5");
    expect(err.message).toContain("INT32");
  });

  it("rejects 300 in UINT8 instead of wrapping it to 44", () => {
    const err = valueError(() => fromFlatValues([300], "UINT8"));
    expect(err.message).toContain("300");
    expect(err.message).toContain("UINT8");
  });

  it("rejects -1 in UINT32 instead of wrapping it to 4294967295", () => {
    const err = valueError(() => fromFlatValues([-1], "UINT32"));
    expect(err.message).toContain("-1");
    expect(err.message).toContain("UINT32");
  });

  it("accepts the exact integer range limits", () => {
    expect(fromFlatValues([0, 255], "UINT8")).toEqual(new Uint8Array([0, 255]));
    expect(fromFlatValues([-128, 127], "INT8")).toEqual(new Int8Array([-128, 127]));
    expect(fromFlatValues([-32768, 32767], "INT16")).toEqual(new Int16Array([-32768, 32767]));
    expect(fromFlatValues([0, 65535], "UINT16")).toEqual(new Uint16Array([0, 65535]));
    expect(fromFlatValues([-2147483648, 2147483647], "INT32")).toEqual(new Int32Array([-2147483648, 2147483647]));
    expect(fromFlatValues([0, 4294967295], "UINT32")).toEqual(new Uint32Array([0, 4294967295]));
  });

  it("rejects values one past each integer range", () => {
    valueError(() => fromFlatValues([256], "UINT8"));
    valueError(() => fromFlatValues([-129], "INT8"));
    valueError(() => fromFlatValues([128], "INT8"));
    valueError(() => fromFlatValues([65536], "UINT16"));
    valueError(() => fromFlatValues([-32769], "INT16"));
    valueError(() => fromFlatValues([2147483648], "INT32"));
    valueError(() => fromFlatValues([4294967296], "UINT32"));
  });

  it("rejects strings in integer tensors", () => {
    valueError(() => fromFlatValues(["1"], "INT32"));
    valueError(() => fromFlatValues(["7"], "UINT8"));
  });

  it("accepts true/false (and 1/0) for BOOL", () => {
    expect(fromFlatValues([true, false, 1, 0], "BOOL")).toEqual(new Uint8Array([1, 0, 1, 0]));
  });

  it("rejects anything else for BOOL", () => {
    for (const bad of ["true", 2, -1, null, 0.5]) {
      const err = valueError(() => fromFlatValues([true, bad], "BOOL"));
      expect(err.message).toContain("element 1");
      expect(err.message).toContain("BOOL");
    }
  });

  it("rejects numbers and null for BYTES", () => {
    const err = valueError(() => fromFlatValues(["ok", 5], "BYTES"));
    expect(err.message).toContain("element 1");
    expect(err.message).toContain("BYTES");
    valueError(() => fromFlatValues([null], "BYTES"));
  });
});

describe("fromFlatValues: INT64 / UINT64", () => {
  it("builds INT64 from JSON numbers", () => {
    const d = fromFlatValues([-3, 0, 42, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER], "INT64");
    expect(d).toBeInstanceOf(BigInt64Array);
    expect(Array.from(d as BigInt64Array)).toEqual([-3n, 0n, 42n, 9007199254740991n, -9007199254740991n]);
  });

  it("builds INT64 from digit strings, keeping values beyond 2^53 exact", () => {
    const d = fromFlatValues(["9223372036854775807", "-9223372036854775808", "9007199254740993"], "INT64");
    expect(Array.from(d as BigInt64Array)).toEqual([2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n]);
  });

  it("builds UINT64 from digit strings up to 2^64-1", () => {
    const d = fromFlatValues(["18446744073709551615", "0"], "UINT64");
    expect(d).toBeInstanceOf(BigUint64Array);
    expect(Array.from(d as BigUint64Array)).toEqual([2n ** 64n - 1n, 0n]);
  });

  it("rejects non-integers and non-digit strings", () => {
    valueError(() => fromFlatValues([1.5], "INT64"));
    valueError(() => fromFlatValues(["1.5"], "INT64"));
    valueError(() => fromFlatValues(["12abc"], "INT64"));
    valueError(() => fromFlatValues(["0x10"], "INT64"));
    valueError(() => fromFlatValues([true], "INT64"));
    valueError(() => fromFlatValues([-1], "UINT64"));
  });

  // The INT64/UINT64 ranges are checked for JSON numbers but not for digit strings: an out-of-range string is
  // silently wrapped modulo 2^64 (BigInt64Array assignment) instead of being rejected like 300 in UINT8.
  it("rejects an INT64 digit string above 2^63-1 instead of wrapping it to a negative value", () => {
    valueError(() => fromFlatValues(["9223372036854775808"], "INT64"));
  });

  it("rejects an INT64 digit string below -2^63 instead of wrapping it", () => {
    valueError(() => fromFlatValues(["-9223372036854775809"], "INT64"));
  });

  it("rejects a negative UINT64 digit string instead of wrapping -1 to 2^64-1", () => {
    valueError(() => fromFlatValues(["-1"], "UINT64"));
  });

  it("rejects a UINT64 digit string of 2^64 instead of wrapping it to 0", () => {
    valueError(() => fromFlatValues(["18446744073709551616"], "UINT64"));
  });
});

describe("toFlatValues", () => {
  it("turns BOOL bytes into booleans", () => {
    expect(toFlatValues(new Uint8Array([1, 0, 1]), "BOOL")).toEqual([true, false, true]);
  });

  it("turns INT64/UINT64 into JSON numbers", () => {
    expect(toFlatValues(new BigInt64Array([-5n, 7n]), "INT64")).toEqual([-5, 7]);
    expect(toFlatValues(new BigUint64Array([5n]), "UINT64")).toEqual([5]);
  });

  it("decodes FP16 and BF16 bit patterns into numbers", () => {
    expect(toFlatValues(new Uint16Array([0x3c00, 0xc100]), "FP16")).toEqual([1, -2.5]);
    expect(toFlatValues(new Uint16Array([0x3f80, 0xc020]), "BF16")).toEqual([1, -2.5]);
  });

  it("decodes BYTES elements as UTF-8 strings", () => {
    expect(
      toFlatValues([new Uint8Array([0x68, 0x69]), new Uint8Array([0xc3, 0xa9]), new Uint8Array(0)], "BYTES"),
    ).toEqual(["hi", "é", ""]);
  });

  it("round-trips every numeric datatype through fromFlatValues", () => {
    const cases: [Parameters<typeof fromFlatValues>[1], unknown[]][] = [
      ["BOOL", [true, false]],
      ["UINT8", [0, 255]],
      ["UINT16", [0, 65535]],
      ["UINT32", [0, 4294967295]],
      ["UINT64", [0, 12345]],
      ["INT8", [-128, 127]],
      ["INT16", [-32768, 32767]],
      ["INT32", [-2147483648, 2147483647]],
      ["INT64", [-12345, 12345]],
      ["FP16", [1, -2.5, 0.5]],
      ["BF16", [1, -2.5, 0.5]],
      ["FP32", [1.5, -0.25]],
      ["FP64", [0.1, -1e300]],
      ["BYTES", ["a", "", "ü"]],
    ];
    for (const [datatype, values] of cases) {
      expect(toFlatValues(fromFlatValues(values, datatype), datatype), datatype).toEqual(values);
    }
  });
});

describe("nest / toNested", () => {
  it("shape [] gives the single value, not a list", () => {
    expect(nest([42], [])).toBe(42);
    expect(toNested(new Float32Array([1.5]), "FP32", [])).toBe(1.5);
  });

  it("shape [3] gives a flat list", () => {
    expect(nest([1, 2, 3], [3])).toEqual([1, 2, 3]);
  });

  it("shape [2,3] gives two rows of three", () => {
    expect(nest([1, 2, 3, 4, 5, 6], [2, 3])).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it("shape [2,0] gives two empty rows", () => {
    expect(nest([], [2, 0])).toEqual([[], []]);
  });

  it("shape [0,3] gives an empty list", () => {
    expect(nest([], [0, 3])).toEqual([]);
  });

  it("shape [2,2,2] nests row-major", () => {
    expect(nest([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2])).toEqual([
      [
        [1, 2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, 8],
      ],
    ]);
  });

  it("does not alias the caller's array for shape [n]", () => {
    const flat = [1, 2];
    const out = nest(flat, [2]) as number[];
    out[0] = 99;
    expect(flat[0]).toBe(1);
  });

  it("toNested converts storage to JSON values before nesting", () => {
    expect(toNested(new Uint8Array([1, 0, 0, 1]), "BOOL", [2, 2])).toEqual([
      [true, false],
      [false, true],
    ]);
    expect(toNested(new BigInt64Array([1n, 2n, 3n, 4n, 5n, 6n]), "INT64", [3, 2])).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
  });

  it("toNested inverts flatten for a nested value", () => {
    const value = [
      [
        [1, -2],
        [3, 4],
      ],
      [
        [5, 6],
        [7, -8],
      ],
    ];
    expect(toNested(flatten(value, "INT32", [2, 2, 2]), "INT32", [2, 2, 2])).toEqual(value);
  });
});
