import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import {
  DEFAULT_MAX_TENSOR_ELEMENTS,
  ElementBudget,
  elementBudget,
  resolveTensorLimits,
} from "../../../packages/server/src/tensor/index.ts";

function refusal(fn: () => unknown): InvalidInput {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    return err as InvalidInput;
  }
  throw new Error("expected InvalidInput");
}

describe("ElementBudget", () => {
  it("defaults to 64 Mi elements", () => {
    expect(DEFAULT_MAX_TENSOR_ELEMENTS).toBe(64 * 1024 * 1024);
    expect(new ElementBudget().limit).toBe(DEFAULT_MAX_TENSOR_ELEMENTS);
    expect(elementBudget({}).limit).toBe(DEFAULT_MAX_TENSOR_ELEMENTS);
  });

  it("returns the element count of a shape within the limit", () => {
    const b = new ElementBudget({ maxTensorElements: 100 });
    expect(b.shape([2, 3], "x")).toBe(6);
    expect(b.shape([], "scalar")).toBe(1);
    expect(b.used).toBe(7);
    expect(b.remaining).toBe(93);
  });

  it("refuses a shape over the limit with a 400 naming the limit and the flag", () => {
    const e = refusal(() => new ElementBudget({ maxTensorElements: 10 }).shape([300000000], "Input 'x'"));
    expect(e.status).toBe(400);
    expect(e.message).toContain("Input 'x'");
    expect(e.message).toContain("300000000");
    expect(e.message).toContain("limit of 10");
    expect(e.message).toContain("--max_tensor_elements");
  });

  it("counts every tensor of a request against one limit", () => {
    const b = new ElementBudget({ maxTensorElements: 10 });
    b.shape([6], "a");
    const e = refusal(() => b.shape([6], "b"));
    expect(e.message).toMatch(/already declare 6/);
  });

  it("charges the non-zero dimensions of an empty tensor (they still nest as JSON arrays)", () => {
    const b = new ElementBudget({ maxTensorElements: 1000 });
    expect(b.shape([10, 0], "ok")).toBe(0);
    const e = refusal(() => b.shape([1_000_000_000, 0], "x"));
    expect(e.message).toMatch(/no elements but nests 1000000000 empty arrays/);
  });

  it("refuses products past 2^53 without overflowing, and negative, fractional or non-number dimensions", () => {
    const e = refusal(() => new ElementBudget().shape([2 ** 40, 2 ** 40, 2 ** 40], "x"));
    expect(e.message).toMatch(/more than 9007199254740991 elements/);
    for (const bad of [[-1], [1.5], ["3"], [null], [Number.NaN], [2 ** 60]]) {
      expect(() => new ElementBudget().shape(bad, "x")).toThrow(InvalidInput);
    }
  });

  it("charges counts", () => {
    const b = new ElementBudget({ maxTensorElements: 5 });
    b.elements(5, "a");
    expect(() => b.elements(1, "b")).toThrow(/limit of 5/);
    expect(() => new ElementBudget().elements(-1, "c")).toThrow(InvalidInput);
  });

  it("shares a budget handed in instead of limits", () => {
    const b = new ElementBudget({ maxTensorElements: 3 });
    expect(elementBudget(b)).toBe(b);
  });
});

describe("resolveTensorLimits", () => {
  it("fills the default and refuses limits that are not positive integers", () => {
    expect(resolveTensorLimits()).toEqual({ maxTensorElements: DEFAULT_MAX_TENSOR_ELEMENTS });
    expect(resolveTensorLimits({ maxTensorElements: 5 })).toEqual({ maxTensorElements: 5 });
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => resolveTensorLimits({ maxTensorElements: bad })).toThrow(/--max_tensor_elements/);
    }
  });
});
