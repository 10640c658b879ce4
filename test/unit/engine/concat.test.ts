import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Batcher, concatRows, describeRequest, type RunBatch, splitRows } from "../../../packages/server/src/engine/index.ts";
import { InferenceError } from "../../../packages/server/src/errors/index.ts";
import type { Tensor } from "../../../packages/server/src/tensor/index.ts";

const fp32 = (rows: number, width: number, start: number, name = "x"): Tensor => ({
  name,
  datatype: "FP32",
  shape: [rows, width],
  data: Float32Array.from({ length: rows * width }, (_, i) => start + i),
});

describe("concatRows", () => {
  it("joins numeric parts into one fresh array and copies the first part's parameters", () => {
    const a = { ...fp32(1, 2, 0), parameters: { content_type: "np" } };
    const b = fp32(2, 2, 10);
    const joined = concatRows([a, b], 3);
    expect(joined).toMatchObject({ name: "x", datatype: "FP32", shape: [3, 2], parameters: { content_type: "np" } });
    expect(Array.from(joined.data as Float32Array)).toEqual([0, 1, 10, 11, 12, 13]);
    expect((joined.data as Float32Array).buffer).not.toBe((a.data as Float32Array).buffer);
    expect(joined.parameters).not.toBe(a.parameters);
    expect(a.shape).toEqual([1, 2]);
  });

  it("reads parts that are views into larger buffers (offsets honoured)", () => {
    const backing = new Float32Array([9, 9, 1, 2, 9]);
    const view: Tensor = { name: "x", datatype: "FP32", shape: [2], data: backing.subarray(2, 4) };
    const joined = concatRows([view, { name: "x", datatype: "FP32", shape: [1], data: new Float32Array([3]) }], 3);
    expect(Array.from(joined.data as Float32Array)).toEqual([1, 2, 3]);
  });
});

describe("splitRows", () => {
  it("cuts an output into each request's rows", () => {
    const out = fp32(3, 2, 0, "y");
    const [a, b] = splitRows(out, [1, 2], 3);
    expect(a.shape).toEqual([1, 2]);
    expect(Array.from(a.data as Float32Array)).toEqual([0, 1]);
    expect(b.shape).toEqual([2, 2]);
    expect(Array.from(b.data as Float32Array)).toEqual([2, 3, 4, 5]);
  });

  it("gives each caller its own BYTES array", () => {
    const e = (s: string) => new TextEncoder().encode(s);
    const out: Tensor = { name: "y", datatype: "BYTES", shape: [3], data: [e("a"), e("b"), e("c")] };
    const [a, b] = splitRows(out, [2, 1], 3);
    expect(a.data).toHaveLength(2);
    expect(b.data).toHaveLength(1);
    expect(a.data).not.toBe(out.data);
  });

  it("refuses an output that is not batch-major, or whose data does not fill its shape", () => {
    expect(() => splitRows(fp32(1, 4, 0, "logits"), [1, 1], 2)).toThrow(InferenceError);
    expect(() => splitRows(fp32(1, 4, 0, "logits"), [1, 1], 2)).toThrow(/'logits'.*maxBatchSize 0 or 1/s);
    const scalar: Tensor = { name: "s", datatype: "FP32", shape: [], data: new Float32Array(1) };
    expect(() => splitRows(scalar, [1], 1)).toThrow(/not batch-major/);
    const short: Tensor = { name: "y", datatype: "FP32", shape: [2, 2], data: new Float32Array(3) };
    expect(() => splitRows(short, [1, 1], 2)).toThrow(/holds 3 elements/);
  });
});

describe("describeRequest", () => {
  it("gives requests that differ only in rows, input order and output order the same key", () => {
    const one = describeRequest([fp32(1, 2, 0, "a"), fp32(1, 3, 0, "b")], ["p", "q"], 8);
    const two = describeRequest([fp32(4, 3, 0, "b"), fp32(4, 2, 0, "a")], ["q", "p"], 8);
    expect(one.rows).toBe(1);
    expect(two.rows).toBe(4);
    expect(one.key).toBeDefined();
    expect(one.key).toBe(two.key);
  });

  it("tells apart parameters, dims after the first and datatypes", () => {
    const base = describeRequest([fp32(1, 2, 0)], [], 8).key;
    expect(describeRequest([{ ...fp32(1, 2, 0), parameters: { content_type: "str" } }], [], 8).key).not.toBe(base);
    expect(describeRequest([fp32(1, 3, 0)], [], 8).key).not.toBe(base);
    const fp64: Tensor = { name: "x", datatype: "FP64", shape: [1, 2], data: new Float64Array(2) };
    expect(describeRequest([fp64], [], 8).key).not.toBe(base);
  });

  it("leaves unkeyed what must run alone", () => {
    expect(describeRequest([], [], 8).key).toBeUndefined();
    expect(describeRequest([fp32(9, 1, 0)], [], 8).key).toBeUndefined();
    expect(describeRequest([fp32(0, 1, 0)], [], 8).key).toBeUndefined();
    expect(describeRequest([fp32(1, 1, 0), fp32(1, 1, 0)], [], 8).key).toBeUndefined(); // repeated name
    const wrongStorage: Tensor = { name: "x", datatype: "FP32", shape: [1], data: new Float64Array(1) };
    expect(describeRequest([wrongStorage], [], 8).key).toBeUndefined();
    const short: Tensor = { name: "x", datatype: "FP32", shape: [2, 2], data: new Float32Array(3) };
    expect(describeRequest([short], [], 8).key).toBeUndefined();
    const unknown = { name: "x", datatype: "FP8", shape: [1], data: new Uint8Array(1) } as unknown as Tensor;
    expect(describeRequest([unknown], [], 8).key).toBeUndefined();
  });
});

describe("Batcher (property): every caller gets exactly its own rows", () => {
  it("holds for any mix of rows, widths, limits and concurrency", async () => {
    const request = fc.record({ rows: fc.integer({ min: 1, max: 6 }), width: fc.integer({ min: 1, max: 3 }) });
    await fc.assert(
      fc.asyncProperty(
        fc.array(request, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.subarray([1, 2, 3, 4, 5, 6, 7, 8]),
        async (requests, maxBatchSize, maxConcurrentRuns, preferred) => {
          const runs: Tensor[][] = [];
          const double: RunBatch = async (inputs) => {
            runs.push(inputs);
            await Promise.resolve();
            const x = inputs[0];
            return [{ name: "y", datatype: "FP32", shape: x.shape.slice(), data: (x.data as Float32Array).map((v) => 2 * v) }];
          };
          const batcher = new Batcher(double, {
            maxBatchSize,
            maxConcurrentRuns,
            preferredBatchSizes: preferred.filter((p) => p <= maxBatchSize),
          });
          let next = 0;
          const inputs = requests.map(({ rows, width }) => {
            const t = fp32(rows, width, next);
            next += rows * width;
            return t;
          });
          const answers = await Promise.all(inputs.map((t) => batcher.submit([t], ["y"])));
          answers.forEach(([y], i) => {
            expect(y.shape).toEqual(inputs[i].shape);
            expect(Array.from(y.data as Float32Array)).toEqual(Array.from(inputs[i].data as Float32Array, (v) => 2 * v));
          });
          for (const [x] of runs) {
            // A merged run never exceeds maxBatchSize; only a request that is too big alone may.
            if (x.shape[0] > maxBatchSize) expect(inputs).toContain(x);
          }
          expect(batcher.queued).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });
});
