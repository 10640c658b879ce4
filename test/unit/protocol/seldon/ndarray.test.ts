import { describe, expect, it } from "vitest";
import { isNDArray, NDArray } from "../../../../packages/server/src/protocol/seldon/ndarray.ts";

describe("NDArray.from: the X a component receives", () => {
  it("reads a rectangular nested array: shape, row-major data, int dtype", () => {
    const x = NDArray.from([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(x.shape).toEqual([2, 3]);
    expect(x.ndim).toBe(2);
    expect(x.size).toBe(6);
    expect(x.length).toBe(2);
    expect(x.dtype).toBe("int64");
    expect(x.isNumeric).toBe(true);
    expect(x.data).toBeInstanceOf(Float64Array);
    expect(Array.from(x.data as Float64Array)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("reads a 3-D array and indexes it", () => {
    const x = NDArray.from([
      [[1], [2]],
      [[3], [4]],
    ]);
    expect(x.shape).toEqual([2, 2, 1]);
    expect(x.get(1, 0, 0)).toBe(3);
    expect((x.get(1) as NDArray).shape).toEqual([2, 1]);
    expect((x.get(1) as NDArray).toArray()).toEqual([[3], [4]]);
  });

  it("infers dtypes like numpy: float when any value has a fraction, bool, string, mixed -> object", () => {
    expect(NDArray.from([1, 2.5]).dtype).toBe("float64");
    expect(NDArray.from([0, 1, 2, 3]).dtype).toBe("int64");
    expect(NDArray.from([[true, false]]).dtype).toBe("bool");
    expect(NDArray.from([["a", "b"]]).dtype).toBe("string");
    expect(NDArray.from([1, "a"]).dtype).toBe("object");
    expect(NDArray.from([{ a: 1 }, { b: 2 }]).dtype).toBe("object");
    expect(NDArray.from([true, false]).isNumeric).toBe(false);
    expect(NDArray.from(["x"]).isNumeric).toBe(false);
  });

  it("keeps strings and booleans as they are, in a plain array", () => {
    const s = NDArray.from([
      ["a", "b"],
      ["c", "d"],
    ]);
    expect(s.shape).toEqual([2, 2]);
    expect(s.get(1, 0)).toBe("c");
    expect(s.toArray()).toEqual([
      ["a", "b"],
      ["c", "d"],
    ]);
  });

  it("turns a ragged array into a 1-D object array of its rows", () => {
    const x = NDArray.from([[1, 2], [3]]);
    expect(x.shape).toEqual([2]);
    expect(x.dtype).toBe("object");
    expect(x.get(0)).toEqual([1, 2]);
    expect(x.get(1)).toEqual([3]);
    expect(x.toArray()).toEqual([[1, 2], [3]]);
  });

  it("a scalar is 0-D: toArray gives the scalar back", () => {
    const x = NDArray.from(5);
    expect(x.shape).toEqual([]);
    expect(x.ndim).toBe(0);
    expect(x.size).toBe(1);
    expect(x.toArray()).toBe(5);
  });

  it("empty arrays have shape [0] and [1, 0]", () => {
    expect(NDArray.from([]).shape).toEqual([0]);
    expect(NDArray.from([]).toArray()).toEqual([]);
    expect(NDArray.from([[]]).shape).toEqual([1, 0]);
    expect(NDArray.from([[]]).toArray()).toEqual([[]]);
  });

  it("reads typed arrays: float arrays are float, integer arrays are int", () => {
    const f = NDArray.from(new Float32Array([1.5, 2]));
    expect(f.shape).toEqual([2]);
    expect(f.dtype).toBe("float64");
    expect(f.toArray()).toEqual([1.5, 2]);
    const i = NDArray.from(new Int32Array([1, -2, 3]));
    expect(i.dtype).toBe("int64");
    expect(i.toArray()).toEqual([1, -2, 3]);
    const big = NDArray.from(new BigInt64Array([5n, -7n]));
    expect(big.dtype).toBe("int64");
    expect(big.toArray()).toEqual([5, -7]);
  });

  it("returns an NDArray given as it is", () => {
    const x = NDArray.from([1, 2]);
    expect(NDArray.from(x)).toBe(x);
    expect(isNDArray(x)).toBe(true);
    expect(isNDArray([1, 2])).toBe(false);
    expect(isNDArray({ shape: [2], data: [1, 2] })).toBe(false);
  });
});

describe("NDArray constructor", () => {
  it("infers int64 from integral Float64Array data and float64 otherwise", () => {
    expect(new NDArray(Float64Array.of(1, 2, 3)).dtype).toBe("int64");
    expect(new NDArray(Float64Array.of(1, 2.25)).dtype).toBe("float64");
    expect(new NDArray(Float64Array.of(1, 2), [2], "float64").dtype).toBe("float64");
  });

  it("rejects a shape that does not match the number of values", () => {
    expect(() => new NDArray(Float64Array.of(1, 2, 3), [2, 2])).toThrow(/needs 4 values, got 3/);
  });

  it("rejects negative or fractional dimensions", () => {
    expect(() => new NDArray(Float64Array.of(1, 2), [-1, -2])).toThrow(RangeError);
    expect(() => new NDArray(Float64Array.of(1, 2), [0.5, 4])).toThrow(RangeError);
  });
});

describe("NDArray.get", () => {
  const x = NDArray.from([
    [1, 2, 3],
    [4, 5, 6],
  ]);

  it("gives a scalar with every index and a row otherwise", () => {
    expect(x.get(0, 0)).toBe(1);
    expect(x.get(1, 2)).toBe(6);
    expect((x.get(1) as NDArray).toArray()).toEqual([4, 5, 6]);
    expect((x.at(0) as NDArray).toArray()).toEqual([1, 2, 3]);
  });

  it("counts negative indices from the end", () => {
    expect(x.get(-1, -1)).toBe(6);
    expect(x.get(-2, -3)).toBe(1);
    expect(x.get(0, -1)).toBe(3);
    expect((x.get(-1) as NDArray).toArray()).toEqual([4, 5, 6]);
  });

  it("rejects indices out of bounds and too many indices", () => {
    expect(() => x.get(2)).toThrow(/index 2 is out of bounds for axis 0 with size 2/);
    expect(() => x.get(0, -4)).toThrow(/out of bounds for axis 1/);
    expect(() => x.get(0, 1.5)).toThrow(RangeError);
    expect(() => x.get(0, 0, 0)).toThrow(/3 indices for a 2-D array/);
  });

  it("a row of a string array keeps its dtype", () => {
    const s = NDArray.from([
      ["a", "b"],
      ["c", "d"],
    ]);
    const row = s.get(-1) as NDArray;
    expect(row.dtype).toBe("string");
    expect(row.toArray()).toEqual(["c", "d"]);
  });
});

describe("NDArray.map, reshape, iteration and toArray", () => {
  it("map keeps the shape and re-infers the dtype", () => {
    const x = NDArray.from([
      [1, 2],
      [3, 4],
    ]);
    const doubled = x.map((v: number) => v * 2);
    expect(doubled.shape).toEqual([2, 2]);
    expect(doubled.dtype).toBe("int64");
    expect(doubled.toArray()).toEqual([
      [2, 4],
      [6, 8],
    ]);
    const halves = x.map((v: number) => v / 2);
    expect(halves.dtype).toBe("float64");
    expect(halves.toArray()).toEqual([
      [0.5, 1],
      [1.5, 2],
    ]);
    const big = x.map((v: number) => v > 2);
    expect(big.dtype).toBe("bool");
    expect(big.toArray()).toEqual([
      [false, false],
      [true, true],
    ]);
    expect(x.map((_v, i) => i).toArray()).toEqual([
      [0, 1],
      [2, 3],
    ]);
    // The original is untouched.
    expect(x.toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("reshape infers one -1 dimension", () => {
    const x = NDArray.from([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(x.reshape(-1).shape).toEqual([6]);
    expect(x.reshape(3, -1).toArray()).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(x.reshape(1, -1).toArray()).toEqual([[1, 2, 3, 4, 5, 6]]);
    expect(x.reshape(-1, 1).shape).toEqual([6, 1]);
    expect(x.reshape(6).dtype).toBe("int64");
  });

  it("reshape rejects sizes that do not fit and more than one unknown dimension", () => {
    const x = NDArray.from([1, 2, 3, 4, 5, 6]);
    expect(() => x.reshape(4, -1)).toThrow(/cannot reshape 6 values/);
    expect(() => x.reshape(5)).toThrow(RangeError);
    expect(() => x.reshape(-1, -1)).toThrow(RangeError);
    expect(() => x.reshape(-2, -3)).toThrow(RangeError);
  });

  it("iterates over rows like a numpy array", () => {
    const x = NDArray.from([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const rows = [...x].map((r) => (r as NDArray).toArray());
    expect(rows).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect([...NDArray.from([7, 8, 9])]).toEqual([7, 8, 9]);
    expect([...NDArray.from(5)]).toEqual([]);
  });

  it("toArray / tolist / toJSON round-trip nested input", () => {
    const inputs: unknown[] = [
      [
        [1, 2],
        [3, 4],
      ],
      [[[1.5]], [[2.5]]],
      ["a", "b", "c"],
      [
        [true, false],
        [false, true],
      ],
      [[1, "two"], [3]],
    ];
    for (const input of inputs) {
      const x = NDArray.from(input);
      expect(x.toArray()).toEqual(input);
      expect(x.tolist()).toEqual(input);
      expect(JSON.parse(JSON.stringify(x))).toEqual(input);
      expect(NDArray.from(x.toArray()).shape).toEqual(x.shape);
    }
  });
});
