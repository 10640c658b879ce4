/** Reading what a predictor asks for from its source: destructured parameter names and mentions of onnx. */
import { describe, expect, it } from "vitest";
import { destructuredNames, mentionsOnnx } from "../../../packages/server/src/runtime/openbayes/signature.ts";

describe("destructuredNames", () => {
  it("reads the names of a destructured first parameter, in every function form", () => {
    class P {
      predict({ json, params }: any) {
        return [json, params];
      }
      async asyncPredict({ data }: any) {
        return data;
      }
    }
    expect(destructuredNames(P.prototype.predict)).toEqual({ names: ["json", "params"], rest: false });
    expect(destructuredNames(P.prototype.asyncPredict)).toEqual({ names: ["data"], rest: false });
    expect(destructuredNames(({ headers }: any) => headers)).toEqual({ names: ["headers"], rest: false });
    expect(destructuredNames(function named({ request }: any) {
      return request;
    })).toEqual({ names: ["request"], rest: false });
  });

  it("handles renames, defaults (with brackets and strings inside), nested patterns, comments and rest", () => {
    const fn = new Function(
      "return function predict({ json: body, params = { a: [1, 2] }, headers: { host } = {}, /* data, */ payload = ')' , ...others }, extra) {}",
    )();
    expect(destructuredNames(fn)).toEqual({ names: ["json", "params", "headers", "payload"], rest: true });
  });

  it("is undefined when the first parameter is not an object pattern", () => {
    expect(destructuredNames((args: unknown) => args)).toBeUndefined();
    expect(destructuredNames(() => 1)).toBeUndefined();
    expect(destructuredNames(Math.max)).toBeUndefined();
    expect(destructuredNames("not a function")).toBeUndefined();
    expect(destructuredNames(new Function("return function ({ ['computed']: x }) {}")())).toBeUndefined();
  });
});

describe("mentionsOnnx", () => {
  it("finds onnx in the class or a class it extends, as a whole word", () => {
    class A {
      constructor({ onnx }: any) {
        void onnx;
      }
    }
    class Base {
      session: unknown;
      constructor(init: any) {
        this.session = init.onnx;
      }
    }
    class Derived extends Base {}
    class NotReally {
      onnxSession = 1;
      myonnx = 2;
    }
    expect(mentionsOnnx(A)).toBe(true);
    expect(mentionsOnnx(Derived)).toBe(true);
    expect(mentionsOnnx(NotReally)).toBe(false);
    expect(mentionsOnnx(class {})).toBe(false);
  });
});
