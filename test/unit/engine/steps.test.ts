import { describe, expect, it } from "vitest";
import { runInSlices } from "../../../packages/server/src/engine/index.ts";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { v1 } from "../../../packages/server/src/protocol/index.ts";
import type { TensorMetadata } from "../../../packages/server/src/tensor/index.ts";

const wide: TensorMetadata[] = [{ name: "x", datatype: "FP32", shape: [-1, 256] }];

function rows(n: number, width = 256): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from({ length: width }, (_, j) => i + j / 1000));
}

describe("runInSlices", () => {
  it("returns a small conversion directly, without a promise", () => {
    const out = runInSlices(v1.v1ToInferRequestSteps({ instances: [[1, 2, 3, 4]] }, [{ name: "x", datatype: "FP32", shape: [-1, 4] }]));
    expect(out).not.toBeInstanceOf(Promise);
    expect(Array.from((out as v1.V1Request).request.inputs[0].data as Float32Array)).toEqual([1, 2, 3, 4]);
  });

  it("lets the event loop serve other work while it converts a large body, and gives the same tensor as the one-piece conversion", async () => {
    const body = { instances: rows(20_000) };
    let servedMeanwhile = 0;
    const pending = runInSlices(v1.v1ToInferRequestSteps(body, wide));
    expect(pending).toBeInstanceOf(Promise);
    // Work queued after the conversion started runs before it ends: the loop was not held for the whole body.
    const ticker = setInterval(() => servedMeanwhile++, 0);
    const sliced = await pending;
    clearInterval(ticker);
    expect(servedMeanwhile).toBeGreaterThan(0);
    const whole = v1.v1ToInferRequest(body, wide);
    expect(sliced.request.inputs[0].shape).toEqual([20_000, 256]);
    const bytes = (t: v1.V1Request) => Buffer.from((t.request.inputs[0].data as Float32Array).buffer);
    expect(bytes(sliced).equals(bytes(whole))).toBe(true);
    expect((sliced.request.inputs[0].data as Float32Array)[256 * 19_999 + 3]).toBeCloseTo(19_999.003, 2);
  });

  it("rejects a large body whose bad row comes after the first slice, naming the element, as the one-piece conversion does", async () => {
    const body = { instances: rows(20_000) };
    (body.instances[19_000] as unknown[])[7] = "oops";
    const sliced = runInSlices(v1.v1ToInferRequestSteps(body, wide));
    await expect(sliced).rejects.toBeInstanceOf(InvalidInput);
    await expect(sliced).rejects.toThrow(`element ${19_000 * 256 + 7} is a string, expected a number for FP32`);
    expect(() => v1.v1ToInferRequest(body, wide)).toThrow(`element ${19_000 * 256 + 7} is a string, expected a number for FP32`);
  });

  it("converts a large columnar ('inputs') body in slices too, checking that it is rectangular", async () => {
    const good = rows(20_000);
    const sliced = await runInSlices(v1.v1ToInferRequestSteps({ inputs: good }, wide));
    expect(sliced.format).toBe("columnar");
    expect(sliced.request.inputs[0].shape).toEqual([20_000, 256]);
    const ragged = rows(20_000);
    ragged[15_000] = ragged[15_000].slice(1);
    await expect(runInSlices(v1.v1ToInferRequestSteps({ inputs: ragged }, wide))).rejects.toThrow(/not rectangular: expected 256 elements at depth 1/);
  });
});
