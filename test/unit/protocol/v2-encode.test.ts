import { describe, expect, it } from "vitest";
import type { InferRequest, InferResponse } from "../../../packages/server/src/protocol/index.ts";
import { type EncodedBody, encodeInferResponse } from "../../../packages/server/src/protocol/v2/index.ts";
import { type Tensor, utf8 } from "../../../packages/server/src/tensor/index.ts";

interface JsonOutput {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: Record<string, unknown>;
}

interface JsonResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: JsonOutput[];
}

/** Splits an encoded body the way a Triton client does: JSON header, then the binary blobs. */
function parse(encoded: EncodedBody): { json: JsonResponse; rest: Uint8Array } {
  const bytes = new Uint8Array(encoded.body.buffer, encoded.body.byteOffset, encoded.body.byteLength);
  const headerLength = encoded.inferenceHeaderContentLength ?? bytes.byteLength;
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(0, headerLength))) as JsonResponse;
  return { json, rest: bytes.subarray(headerLength) };
}

function request(partial: Partial<InferRequest>): InferRequest {
  return { inputs: [], ...partial };
}

const probs: Tensor = { name: "probs", datatype: "FP32", shape: [2, 2], data: new Float32Array([0.25, 0.75, 1, -1]) };
const label: Tensor = { name: "label", datatype: "INT32", shape: [2], data: new Int32Array([1, -7]) };

function response(outputs: Tensor[], extra: Partial<InferResponse> = {}): InferResponse {
  return { modelName: "m", outputs, ...extra };
}

function outputByName(json: JsonResponse, name: string): JsonOutput {
  const o = json.outputs.find((x) => x.name === name);
  if (!o) throw new Error(`no output ${name}`);
  return o;
}

describe("encodeInferResponse: JSON", () => {
  it("writes the spec response: model_name, model_version, id and outputs with flat data", () => {
    const out: Tensor = {
      name: "output0",
      datatype: "FP32",
      shape: [3, 2],
      data: new Float32Array([1.0, 1.1, 2.0, 2.1, 3.0, 3.1]),
    };
    const encoded = encodeInferResponse({ modelName: "mymodel", modelVersion: "1", id: "42", outputs: [out] });
    expect(encoded.contentType).toBe("application/json");
    expect(encoded.inferenceHeaderContentLength).toBeUndefined();
    const json = JSON.parse(encoded.body.toString("utf8"));
    expect(json).toEqual({
      model_name: "mymodel",
      model_version: "1",
      id: "42",
      outputs: [
        {
          name: "output0",
          datatype: "FP32",
          shape: [3, 2],
          data: [1.0, 1.1, 2.0, 2.1, 3.0, 3.1].map(Math.fround),
        },
      ],
    });
  });

  it("omits model_version and id when the response has none", () => {
    const { json } = parse(encodeInferResponse(response([label])));
    expect(json.model_name).toBe("m");
    expect("model_version" in json).toBe(false);
    expect("id" in json).toBe(false);
  });

  it("includes response parameters", () => {
    const { json } = parse(encodeInferResponse(response([label], { parameters: { took_ms: 3 } })));
    expect(json.parameters).toEqual({ took_ms: 3 });
  });

  it("keeps the output order", () => {
    const { json } = parse(encodeInferResponse(response([label, probs])));
    expect(json.outputs.map((o) => o.name)).toEqual(["label", "probs"]);
  });

  it("writes BOOL as true/false, INT64 as numbers and FP16 as decoded numbers", () => {
    const outputs: Tensor[] = [
      { name: "flags", datatype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
      { name: "ids", datatype: "INT64", shape: [2], data: new BigInt64Array([-5n, 9007199254740991n]) },
      { name: "half", datatype: "FP16", shape: [2], data: new Uint16Array([0x3c00, 0xc100]) },
      { name: "bf", datatype: "BF16", shape: [1], data: new Uint16Array([0x3f80]) },
      { name: "text", datatype: "BYTES", shape: [2], data: [utf8("hé"), utf8("")] },
    ];
    const body = encodeInferResponse(response(outputs)).body.toString("utf8");
    const { json } = parse(encodeInferResponse(response(outputs)));
    expect(outputByName(json, "flags").data).toEqual([true, false, true]);
    expect(outputByName(json, "ids").data).toEqual([-5, 9007199254740991]);
    expect(outputByName(json, "half").data).toEqual([1, -2.5]);
    expect(outputByName(json, "bf").data).toEqual([1]);
    expect(outputByName(json, "text").data).toEqual(["hé", ""]);
    expect(body).not.toMatch(/\d+n\b/); // no BigInt leaks into the JSON text
  });

  it("writes output parameters on JSON outputs", () => {
    const t: Tensor = { ...label, parameters: { unit: "class" } };
    const { json } = parse(encodeInferResponse(response([t])));
    expect(json.outputs[0].parameters).toEqual({ unit: "class" });
    expect(json.outputs[0].data).toEqual([1, -7]);
  });

  it("uses JSON when the request asks for nothing binary", () => {
    const encoded = encodeInferResponse(response([probs]), request({ outputs: [{ name: "probs" }] }));
    expect(encoded.contentType).toBe("application/json");
    expect(parse(encoded).json.outputs[0].data).toHaveLength(4);
  });
});

describe("encodeInferResponse: binary tensor extension", () => {
  it("request binary_data_output:true makes every output binary", () => {
    const encoded = encodeInferResponse(
      response([probs, label]),
      request({ parameters: { binary_data_output: true } }),
    );
    expect(encoded.contentType).toBe("application/octet-stream");
    const { json, rest } = parse(encoded);
    for (const o of json.outputs) {
      expect(o.data).toBeUndefined();
      expect(typeof o.parameters?.binary_data_size).toBe("number");
    }
    expect(outputByName(json, "probs").parameters?.binary_data_size).toBe(16);
    expect(outputByName(json, "label").parameters?.binary_data_size).toBe(8);
    expect(rest.byteLength).toBe(24);
  });

  it("a per-output binary_data:false overrides the request default", () => {
    const { json, rest } = parse(
      encodeInferResponse(
        response([probs, label]),
        request({
          parameters: { binary_data_output: true },
          outputs: [{ name: "label", parameters: { binary_data: false } }, { name: "probs" }],
        }),
      ),
    );
    expect(outputByName(json, "label").data).toEqual([1, -7]);
    expect(outputByName(json, "label").parameters).toBeUndefined();
    expect(outputByName(json, "probs").data).toBeUndefined();
    expect(outputByName(json, "probs").parameters).toEqual({ binary_data_size: 16 });
    expect(rest.byteLength).toBe(16);
  });

  it("a per-output binary_data:true applies without a request default", () => {
    const encoded = encodeInferResponse(
      response([probs, label]),
      request({ outputs: [{ name: "probs" }, { name: "label", parameters: { binary_data: true } }] }),
    );
    expect(encoded.contentType).toBe("application/octet-stream");
    const { json, rest } = parse(encoded);
    expect(outputByName(json, "probs").data).toEqual([0.25, 0.75, 1, -1]);
    expect(outputByName(json, "label").data).toBeUndefined();
    expect(outputByName(json, "label").parameters).toEqual({ binary_data_size: 8 });
    const view = new DataView(rest.buffer, rest.byteOffset, rest.byteLength);
    expect(view.getInt32(0, true)).toBe(1);
    expect(view.getInt32(4, true)).toBe(-7);
  });

  it("inferenceHeaderContentLength is the JSON byte length (not character count)", () => {
    const encoded = encodeInferResponse(
      response([label], { id: "réquête-✓", modelName: "modèle" }),
      request({ parameters: { binary_data_output: true } }),
    );
    const bytes = new Uint8Array(encoded.body);
    const headerLength = encoded.inferenceHeaderContentLength!;
    expect(headerLength).toBeGreaterThan(0);
    const headerText = new TextDecoder().decode(bytes.subarray(0, headerLength));
    expect(Buffer.byteLength(headerText)).toBe(headerLength);
    expect(headerText.length).toBeLessThan(headerLength);
    const json = JSON.parse(headerText) as JsonResponse;
    expect(json.id).toBe("réquête-✓");
    expect(json.model_name).toBe("modèle");
    expect(bytes.byteLength).toBe(headerLength + 8);
  });

  it("appends the raw little-endian tensors in output order after the JSON", () => {
    const wide: Tensor = { name: "wide", datatype: "INT64", shape: [1], data: new BigInt64Array([-(2n ** 62n)]) };
    const half: Tensor = { name: "half", datatype: "FP16", shape: [1], data: new Uint16Array([0x3c00]) };
    const { json, rest } = parse(
      encodeInferResponse(response([label, wide, probs, half]), request({ parameters: { binary_data_output: true } })),
    );
    expect(json.outputs.map((o) => o.parameters?.binary_data_size)).toEqual([8, 8, 16, 2]);
    const view = new DataView(rest.buffer, rest.byteOffset, rest.byteLength);
    expect(rest.byteLength).toBe(34);
    expect([view.getInt32(0, true), view.getInt32(4, true)]).toEqual([1, -7]);
    expect(view.getBigInt64(8, true)).toBe(-(2n ** 62n));
    expect([16, 20, 24, 28].map((o) => view.getFloat32(o, true))).toEqual([0.25, 0.75, 1, -1]);
    expect(view.getUint16(32, true)).toBe(0x3c00);
  });

  it("writes BOOL as one byte per element (1 or 0)", () => {
    const flags: Tensor = { name: "flags", datatype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) };
    const { json, rest } = parse(
      encodeInferResponse(
        response([flags]),
        request({ outputs: [{ name: "flags", parameters: { binary_data: true } }] }),
      ),
    );
    expect(json.outputs[0].parameters).toEqual({ binary_data_size: 3 });
    expect(Array.from(rest)).toEqual([1, 0, 1]);
  });

  it("writes BYTES outputs with 4-byte little-endian length prefixes", () => {
    const text: Tensor = { name: "text", datatype: "BYTES", shape: [2], data: [utf8("ab"), utf8("")] };
    const { json, rest } = parse(
      encodeInferResponse(response([text]), request({ parameters: { binary_data_output: true } })),
    );
    expect(json.outputs[0].parameters).toEqual({ binary_data_size: 10 });
    expect(Array.from(rest)).toEqual([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0]);
  });

  it("zero-byte outputs get binary_data_size 0 and contribute no bytes", () => {
    const empty: Tensor = { name: "empty", datatype: "FP32", shape: [0, 3], data: new Float32Array(0) };
    const { json, rest } = parse(
      encodeInferResponse(response([empty, label]), request({ parameters: { binary_data_output: true } })),
    );
    expect(outputByName(json, "empty").parameters).toEqual({ binary_data_size: 0 });
    expect(outputByName(json, "empty").data).toBeUndefined();
    expect(rest.byteLength).toBe(8);
    const view = new DataView(rest.buffer, rest.byteOffset, rest.byteLength);
    expect(view.getInt32(0, true)).toBe(1);
  });

  it("keeps an output's own parameters next to binary_data_size", () => {
    const t: Tensor = { ...label, parameters: { unit: "class" } };
    const { json } = parse(encodeInferResponse(response([t]), request({ parameters: { binary_data_output: true } })));
    expect(json.outputs[0].parameters).toEqual({ unit: "class", binary_data_size: 8 });
  });

  it("does not treat a string 'true' binary_data_output as a request for binary", () => {
    const encoded = encodeInferResponse(response([label]), request({ parameters: { binary_data_output: "true" } }));
    expect(encoded.contentType).toBe("application/json");
  });

  it("writes only the viewed part of a typed array that is a window into a larger buffer", () => {
    const backing = new Int32Array([111, 1, -7, 222]);
    const windowed: Tensor = { name: "label", datatype: "INT32", shape: [2], data: backing.subarray(1, 3) };
    const { rest } = parse(
      encodeInferResponse(response([windowed]), request({ parameters: { binary_data_output: true } })),
    );
    expect(rest.byteLength).toBe(8);
    const view = new DataView(rest.buffer, rest.byteOffset, rest.byteLength);
    expect([view.getInt32(0, true), view.getInt32(4, true)]).toEqual([1, -7]);
  });
});

describe("encodeInferResponse: values JSON numbers cannot carry", () => {
  it("writes NaN and ±Infinity as TF Serving tokens, not null", () => {
    const out: Tensor = { name: "y", datatype: "FP32", shape: [4], data: new Float32Array([1.5, Number.NaN, Infinity, -Infinity]) };
    const json = JSON.parse(encodeInferResponse({ modelName: "m", outputs: [out] }).body.toString()) as JsonResponse;
    expect(json.outputs[0].data).toEqual([1.5, "NaN", "Infinity", "-Infinity"]);
  });

  it("writes INT64 values beyond 2^53 as exact digit strings", () => {
    const big = 2n ** 62n + 1n;
    const out: Tensor = { name: "y", datatype: "INT64", shape: [2], data: new BigInt64Array([7n, big]) };
    const json = JSON.parse(encodeInferResponse({ modelName: "m", outputs: [out] }).body.toString()) as JsonResponse;
    expect(json.outputs[0].data).toEqual([7, big.toString()]);
  });
});
