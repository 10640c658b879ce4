import { describe, expect, it } from "vitest";
import { elementCount, formatShape, isBytesData, shapeMatches } from "../../../packages/server/src/tensor/index.ts";

describe("elementCount", () => {
  it("is the product of the dimensions", () => {
    expect(elementCount([2, 3])).toBe(6);
    expect(elementCount([2, 2, 2])).toBe(8);
    expect(elementCount([7])).toBe(7);
  });

  it("is 1 for a scalar shape []", () => {
    expect(elementCount([])).toBe(1);
  });

  it("is 0 when any dimension is 0", () => {
    expect(elementCount([2, 0])).toBe(0);
    expect(elementCount([0])).toBe(0);
    expect(elementCount([0, 5, 3])).toBe(0);
  });
});

describe("shapeMatches", () => {
  it("treats -1 in the pattern as any size", () => {
    expect(shapeMatches([5, 4], [-1, 4])).toBe(true);
    expect(shapeMatches([0, 4], [-1, 4])).toBe(true);
    expect(shapeMatches([5, 4], [-1, -1])).toBe(true);
  });

  it("rejects a different fixed dimension", () => {
    expect(shapeMatches([5, 3], [-1, 4])).toBe(false);
  });

  it("rejects a different rank", () => {
    expect(shapeMatches([5], [-1, 4])).toBe(false);
    expect(shapeMatches([1, 5, 4], [-1, 4])).toBe(false);
    expect(shapeMatches([], [-1])).toBe(false);
  });

  it("matches scalars", () => {
    expect(shapeMatches([], [])).toBe(true);
  });
});

describe("formatShape", () => {
  it("renders a shape as [a,b]", () => {
    expect(formatShape([2, 3])).toBe("[2,3]");
    expect(formatShape([])).toBe("[]");
    expect(formatShape([-1, 4])).toBe("[-1,4]");
  });
});

describe("isBytesData", () => {
  it("tells BYTES element lists from typed arrays", () => {
    expect(isBytesData([new Uint8Array([1])])).toBe(true);
    expect(isBytesData([])).toBe(true);
    expect(isBytesData(new Uint8Array([1, 2]))).toBe(false);
    expect(isBytesData(new Float32Array(2))).toBe(false);
  });
});
