import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { encodeModelStatistics, tritonModelConfig, v2 } from "../../../packages/server/src/protocol/index.ts";
import { fromUtf8, type Tensor } from "../../../packages/server/src/tensor/index.ts";

const strings = (t: Tensor) => (t.data as Uint8Array[]).map(fromUtf8);

describe("classification scores print as printf's %f (C++ std::to_string)", () => {
  // Expected strings are what C's printf("%f", x) prints for these doubles (glibc: exact value, half to even).
  const cases: [number, string][] = [
    [0.0078125, "0.007812"],
    [1.5e-6, "0.000002"],
    [5e-7, "0.000000"],
    [0.1, "0.100000"],
    [1 / 3, "0.333333"],
    [0.8015484809875488, "0.801548"],
    [0.9999995, "1.000000"],
    [-1.0000005, "-1.000001"],
    [2.0000005, "2.000001"],
    [-0, "-0.000000"],
    [-1e-9, "-0.000000"],
    [123456789.125, "123456789.125000"],
    [1e22, "10000000000000000000000.000000"],
    [3.4028234663852886e38, "340282346638528859811704183484516925440.000000"],
    [5e-324, "0.000000"],
    [Number.POSITIVE_INFINITY, "inf"],
    [Number.NEGATIVE_INFINITY, "-inf"],
    [Number.NaN, "nan"],
  ];
  it.each(cases)("%d -> %s", (x, expected) => {
    expect(v2.formatFixed6(x)).toBe(expected);
  });
});

describe("classify", () => {
  const fp32 = (shape: number[], values: number[]): Tensor => ({ name: "p", datatype: "FP32", shape, data: Float32Array.from(values) });

  it("takes the top N of each batch entry, best first, equal scores in index order, labels when there are", () => {
    const t = v2.classify(fp32([2, 3], [0.1, 0.7, 0.2, 0.4, 0.4, 0.2]), 2, true, ["a", "b"]);
    expect(t).toMatchObject({ name: "p", datatype: "BYTES", shape: [2, 2] });
    // Index 2 has no label in the list: "score:index" only.
    expect(strings(t)).toEqual(["0.700000:1:b", "0.200000:2", "0.400000:0:a", "0.400000:1:b"]);
  });

  it("without a batch dimension the whole tensor is one entry; N is capped at its size", () => {
    const t = v2.classify(fp32([2, 2], [1, 4, 3, 2]), 9, false);
    expect(t.shape).toEqual([4]);
    expect(strings(t)).toEqual(["4.000000:1", "3.000000:2", "2.000000:3", "1.000000:0"]);
  });

  it("integers print as integers (64-bit ones exactly); NaN sorts last", () => {
    const big: Tensor = { name: "c", datatype: "INT64", shape: [3], data: BigInt64Array.from([1n, 9007199254740993n, -5n]) };
    expect(strings(v2.classify(big, 2, false))).toEqual(["9007199254740993:1", "1:0"]);
    expect(strings(v2.classify(fp32([3], [Number.NaN, 0.5, 1]), 3, false))).toEqual(["1.000000:2", "0.500000:1", "nan:0"]);
  });

  it("refuses types Triton cannot score (BOOL, FP16, BYTES)", () => {
    for (const t of [
      { name: "b", datatype: "BOOL", shape: [2], data: Uint8Array.from([1, 0]) },
      { name: "h", datatype: "FP16", shape: [1], data: Uint16Array.from([0x3c00]) },
      { name: "s", datatype: "BYTES", shape: [1], data: [Uint8Array.from([97])] },
    ] as Tensor[]) {
      expect(() => v2.classify(t, 1, false)).toThrow(InvalidInput);
    }
  });

  it("classifyOutputs changes only the outputs that ask, and decides the batch dimension from the model", () => {
    const outputs = [fp32([1, 2], [0.3, 0.6]), { ...fp32([2], [1, 2]), name: "q" }];
    const requested = [{ name: "p", parameters: { classification: 1 } }, { name: "q" }];
    const out = v2.classifyOutputs(outputs, requested, { batching: false, outputs: [{ name: "p", datatype: "FP32", shape: [-1, 2] }] });
    expect(out[0].shape).toEqual([1, 1]);
    expect(out[1]).toBe(outputs[1]);
    // A fixed first dimension on an unbatched model is not a batch.
    const fixed = v2.classifyOutputs(outputs, requested, { batching: false, outputs: [{ name: "p", datatype: "FP32", shape: [1, 2] }] });
    expect(fixed[0].shape).toEqual([1]);
    // Nothing asked for: the same array back.
    expect(v2.classifyOutputs(outputs, [{ name: "p" }], { batching: true })).toBe(outputs);
  });
});

describe("Triton's request parameters", () => {
  const request = (parameters?: Record<string, string | number | boolean | bigint>) => ({ inputs: [], parameters });

  it("refuses sequence_id, sequence_start, sequence_end and priority that ask for something, naming them", () => {
    for (const [key, value] of [
      ["sequence_id", 42],
      ["sequence_id", "corr-1"],
      ["sequence_start", true],
      ["sequence_end", true],
      ["priority", 2],
      ["priority", 1n],
    ] as const) {
      expect(() => v2.tritonRequestOptions(request({ [key]: value }))).toThrow(new RegExp(`'${key}'`));
    }
  });

  it("lets their defaults pass (what a client that does not use them may send)", () => {
    expect(v2.tritonRequestOptions(request({ sequence_id: 0, sequence_start: false, sequence_end: false, priority: 0 }))).toEqual({});
  });

  it("reads timeout in µs; 0 means none; anything but a non-negative integer is refused", () => {
    expect(v2.tritonRequestOptions(request({ timeout: 1500 }))).toEqual({ timeoutMicroseconds: 1500 });
    expect(v2.tritonRequestOptions(request({ timeout: 2000n }))).toEqual({ timeoutMicroseconds: 2000 });
    expect(v2.tritonRequestOptions(request({ timeout: 0 }))).toEqual({});
    for (const bad of [-1, 1.5, "10", true]) expect(() => v2.tritonRequestOptions(request({ timeout: bad }))).toThrow(/'timeout'/);
  });

  it("checks each requested output's classification count before the model runs", () => {
    expect(() => v2.tritonRequestOptions({ inputs: [], outputs: [{ name: "o", parameters: { classification: 1.5 } }] })).toThrow(/'classification'/);
    expect(() => v2.tritonRequestOptions({ inputs: [], outputs: [{ name: "o", parameters: { class_count: "3" } }] })).toThrow(/'class_count'/);
  });

  it("refuses load overrides: config and file:…", () => {
    expect(() => v2.checkLoadParameters({ config: "{}" })).toThrow(/'config'/);
    expect(() => v2.checkLoadParameters({ "file:1/model.onnx": "AAAA" })).toThrow(/'file:1\/model.onnx'/);
    expect(() => v2.checkLoadParameters({ unload_dependents: true })).not.toThrow();
    expect(() => v2.checkLoadParameters(undefined)).not.toThrow();
  });
});

describe("tritonModelConfig", () => {
  const base = {
    name: "m",
    platform: "onnx_onnxv1",
    inputs: [{ name: "x", datatype: "FP32" as const, shape: [-1, 4] }],
    outputs: [{ name: "y", datatype: "BYTES" as const, shape: [-1] }],
  };

  it("without batching: max_batch_size 0, full dims, no dynamic_batching, one CPU instance, the latest version", () => {
    const c = tritonModelConfig(base);
    expect(c).toMatchObject({
      name: "m",
      backend: "onnxruntime",
      max_batch_size: 0,
      version_policy: { latest: { num_versions: 1 } },
      input: [{ dims: [-1, 4], data_type: "TYPE_FP32" }],
      output: [{ dims: [-1], data_type: "TYPE_STRING", label_filename: "" }],
      instance_group: [{ name: "m", kind: "KIND_CPU", count: 1 }],
      parameters: {},
    });
    expect(c).not.toHaveProperty("dynamic_batching");
  });

  it("with batching (maxBatchSize > 1): dims without the batch dimension and the batcher's settings", () => {
    const c = tritonModelConfig({
      ...base,
      runtime: "module",
      maxBatchSize: 16,
      preferredBatchSizes: [4, 8],
      maxQueueDelayMicroseconds: 500,
      maxQueueSize: 10,
      instanceCount: 3,
      versionPolicy: { specific: { versions: [1, 3] } },
      labelFilenames: { y: "labels.txt" },
      parameters: { a: "x", b: 2, c: { d: true } },
    });
    expect(c).toMatchObject({
      backend: "module",
      max_batch_size: 16,
      version_policy: { specific: { versions: [1, 3] } },
      input: [{ dims: [4] }],
      output: [{ dims: [], label_filename: "labels.txt" }],
      dynamic_batching: { preferred_batch_size: [4, 8], max_queue_delay_microseconds: 500, default_queue_policy: { max_queue_size: 10 } },
      instance_group: [{ count: 3 }],
      parameters: { a: { string_value: "x" }, b: { string_value: "2" }, c: { string_value: '{"d":true}' } },
    });
    // tserve's maxBatchSize 1 means no batching: Triton's 0.
    expect(tritonModelConfig({ ...base, maxBatchSize: 1 }).max_batch_size).toBe(0);
  });
});

describe("encodeModelStatistics", () => {
  it("writes Triton's field names in Triton's order", () => {
    const d = (count: number, ns: number) => ({ count, ns });
    const out = encodeModelStatistics([
      {
        name: "m",
        version: "2",
        lastInference: 5,
        inferenceCount: 4,
        executionCount: 3,
        inferenceStats: {
          success: d(2, 10),
          fail: d(1, 1),
          queue: d(2, 2),
          computeInput: d(2, 3),
          computeInfer: d(2, 4),
          computeOutput: d(2, 5),
          cacheHit: d(0, 0),
          cacheMiss: d(0, 0),
        },
        batchStats: [{ batchSize: 2, computeInput: d(2, 3), computeInfer: d(2, 4), computeOutput: d(2, 5) }],
      },
    ]);
    const s = out.model_stats[0];
    expect(Object.keys(s)).toEqual([
      "name",
      "version",
      "last_inference",
      "inference_count",
      "execution_count",
      "inference_stats",
      "response_stats",
      "batch_stats",
      "memory_usage",
    ]);
    expect(Object.keys(s.inference_stats as object)).toEqual([
      "success",
      "fail",
      "queue",
      "compute_input",
      "compute_infer",
      "compute_output",
      "cache_hit",
      "cache_miss",
    ]);
    expect(s.batch_stats).toEqual([{ batch_size: 2, compute_input: d(2, 3), compute_infer: d(2, 4), compute_output: d(2, 5) }]);
  });
});
