import { describe, expect, it } from "vitest";
import {
  InferenceConnectionError,
  InferenceServerError,
  InferenceTimeoutError,
  InferInput,
  InferRequestedOutput,
  InferResult,
  isRetryable,
} from "../../../packages/server/src/client/index.ts";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import type { InferRequest, InferResponse } from "../../../packages/server/src/protocol/index.ts";
import {
  decodeInferRequest,
  decodeInferResponse,
  encodeInferRequest,
  encodeInferResponse,
} from "../../../packages/server/src/protocol/v2/index.ts";
import { DATATYPES, type Datatype, numberToHalf, type Tensor, utf8 } from "../../../packages/server/src/tensor/index.ts";

/** One tensor per datatype, with edge values each wire form must carry exactly. */
function sample(datatype: Datatype, forJson = false): Tensor {
  const name = `t_${datatype.toLowerCase()}`;
  const t = (shape: number[], data: Tensor["data"]): Tensor => ({ name, datatype, shape, data });
  switch (datatype) {
    case "BOOL":
      return t([2, 2], Uint8Array.of(1, 0, 0, 1));
    case "UINT8":
      return t([3], Uint8Array.of(0, 128, 255));
    case "UINT16":
      return t([2], Uint16Array.of(0, 65535));
    case "UINT32":
      return t([2], Uint32Array.of(1, 4294967295));
    case "UINT64":
      return t([2], BigUint64Array.of(7n, forJson ? 2n ** 53n - 1n : 2n ** 64n - 1n));
    case "INT8":
      return t([3], Int8Array.of(-128, 0, 127));
    case "INT16":
      return t([2], Int16Array.of(-32768, 32767));
    case "INT32":
      return t([2, 1], Int32Array.of(-2147483648, 2147483647));
    case "INT64":
      return t([3], BigInt64Array.of(-(2n ** 53n) + 1n, 5n, forJson ? 2n ** 53n - 1n : 2n ** 63n - 1n));
    case "FP16":
      return t([3], Uint16Array.of(0x3c00, 0xc000, 0x7bff)); // 1, -2, 65504
    case "BF16":
      return t([2], Uint16Array.of(0x3f80, 0xc0a0)); // 1, -5
    case "FP32":
      return t([2, 2], Float32Array.of(0.1, -2.5, 3.4028234663852886e38, 1e-45));
    case "FP64":
      return t([2], Float64Array.of(0.1, -1e300));
    case "BYTES":
      return t([3], [utf8("héllo ✓"), utf8(""), forJson ? utf8("x") : Uint8Array.of(0xff, 0, 1)]);
  }
}

function decodeOnServer(encoded: { body: Uint8Array; headers: Record<string, string> }): InferRequest {
  // A plain view, as the server's BYTES elements are views of the body it is given.
  const body = new Uint8Array(encoded.body.buffer, encoded.body.byteOffset, encoded.body.byteLength);
  return decodeInferRequest(body, encoded.headers["Inference-Header-Content-Length"]);
}

function clientDecode(encoded: ReturnType<typeof encodeInferResponse>): InferResponse {
  const length = encoded.inferenceHeaderContentLength;
  return decodeInferResponse(encoded.body, length === undefined ? undefined : String(length));
}

/** The JSON header of a client-encoded request. */
function header(encoded: { body: Uint8Array; headers: Record<string, string> }): any {
  const length = Number(encoded.headers["Inference-Header-Content-Length"] ?? encoded.body.byteLength);
  return JSON.parse(new TextDecoder().decode(encoded.body.subarray(0, length)));
}

const probs: Tensor = { name: "probs", datatype: "FP32", shape: [1, 3], data: Float32Array.of(0.25, 0.5, 0.25) };

describe("encodeInferRequest", () => {
  it("writes plain JSON with application/json and no header length", () => {
    const encoded = encodeInferRequest(
      { id: "r1", parameters: { priority: 1 }, inputs: [probs] },
      { binaryInputs: false, binaryOutputs: false },
    );
    expect(encoded.headers).toEqual({ "Content-Type": "application/json" });
    expect(encoded.body).not.toBeInstanceOf(Buffer); // a plain Uint8Array: the REST client runs outside Node too
    expect(JSON.parse(new TextDecoder().decode(encoded.body))).toEqual({
      id: "r1",
      parameters: { priority: 1 },
      inputs: [{ name: "probs", shape: [1, 3], datatype: "FP32", data: [0.25, 0.5, 0.25] }],
    });
  });

  it("writes the JSON header then raw tensors, in input order, with binary_data_size and the header length", () => {
    const text: Tensor = { name: "text", datatype: "BYTES", shape: [2], data: [utf8("ab"), utf8("")] };
    const encoded = encodeInferRequest({ inputs: [probs, text] }, { binaryInputs: true });
    expect(encoded.headers["Content-Type"]).toBe("application/octet-stream");
    const length = Number(encoded.headers["Inference-Header-Content-Length"]);
    const json = header(encoded);
    expect(json.inputs).toEqual([
      { name: "probs", shape: [1, 3], datatype: "FP32", parameters: { binary_data_size: 12 } },
      { name: "text", shape: [2], datatype: "BYTES", parameters: { binary_data_size: 4 + 2 + 4 } },
    ]);
    expect(json.inputs[0]).not.toHaveProperty("data");
    const rest = encoded.body.subarray(length);
    expect(rest.byteLength).toBe(22);
    expect(Array.from(new Float32Array(rest.buffer.slice(rest.byteOffset, rest.byteOffset + 12)))).toEqual([
      0.25, 0.5, 0.25,
    ]);
    expect([...rest.subarray(12)]).toEqual([2, 0, 0, 0, 97, 98, 0, 0, 0, 0]);
  });

  it("decides binary per input when given a function", () => {
    const other: Tensor = { ...probs, name: "other" };
    const json = header(encodeInferRequest({ inputs: [probs, other] }, { binaryInputs: (t) => t.name === "other" }));
    expect(json.inputs[0].data).toEqual([0.25, 0.5, 0.25]);
    expect(json.inputs[1].parameters).toEqual({ binary_data_size: 12 });
  });

  it("asks for binary outputs: binary_data on each requested output unless it says otherwise", () => {
    const json = header(
      encodeInferRequest(
        { inputs: [probs], outputs: [{ name: "a" }, { name: "b", parameters: { binary_data: false } }, { name: "c" }] },
        { binaryInputs: false, binaryOutputs: true },
      ),
    );
    expect(json.outputs).toEqual([
      { name: "a", parameters: { binary_data: true } },
      { name: "b", parameters: { binary_data: false } },
      { name: "c", parameters: { binary_data: true } },
    ]);
    expect(json.parameters).toBeUndefined();
  });

  it("sets binary_data_output when no outputs are named", () => {
    const json = header(encodeInferRequest({ inputs: [probs] }, { binaryInputs: false, binaryOutputs: true }));
    expect(json.parameters).toEqual({ binary_data_output: true });
    expect(json).not.toHaveProperty("outputs");
    const plain = header(encodeInferRequest({ inputs: [probs] }, { binaryInputs: false }));
    expect(plain).not.toHaveProperty("parameters");
  });

  it("keeps INT64 beyond 2^53 exact in JSON (digit strings) and sends NaN/Infinity as tokens", () => {
    const big: Tensor = { name: "big", datatype: "INT64", shape: [2], data: BigInt64Array.of(2n ** 60n + 3n, -4n) };
    const odd: Tensor = {
      name: "odd",
      datatype: "FP32",
      shape: [3],
      data: Float32Array.of(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    };
    const encoded = encodeInferRequest({ inputs: [big, odd] }, { binaryInputs: false });
    expect(header(encoded).inputs[0].data).toEqual(["1152921504606846979", -4]);
    expect(header(encoded).inputs[1].data).toEqual(["NaN", "Infinity", "-Infinity"]);
    const decoded = decodeOnServer(encoded);
    expect(decoded.inputs[0].data).toEqual(big.data);
    expect(Array.from(decoded.inputs[1].data as Float32Array)).toEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
  });

  it("refuses BYTES that are not UTF-8 in JSON, pointing at binary", () => {
    const raw: Tensor = { name: "raw", datatype: "BYTES", shape: [1], data: [Uint8Array.of(0xff)] };
    expect(() => encodeInferRequest({ inputs: [raw] }, { binaryInputs: false })).toThrow(
      /Input 'raw' element 0 is not valid UTF-8; send BYTES as binary/,
    );
    expect(() => encodeInferRequest({ inputs: [raw] }, { binaryInputs: true })).not.toThrow();
  });

  it("checks each tensor: storage class, element count, duplicates, at least one input", () => {
    const wrongClass = { name: "x", datatype: "FP32", shape: [2], data: Float64Array.of(1, 2) } as Tensor;
    expect(() => encodeInferRequest({ inputs: [wrongClass] }, { binaryInputs: true })).toThrow(
      "Input 'x' is FP32, so its data must be a Float32Array, not a Float64Array",
    );
    const wrongCount: Tensor = { name: "y", datatype: "INT32", shape: [2, 2], data: Int32Array.of(1, 2, 3) };
    expect(() => encodeInferRequest({ inputs: [wrongCount] }, { binaryInputs: true })).toThrow(
      "Input 'y' has 3 elements, but shape [2,2] needs 4",
    );
    const bytes = { name: "z", datatype: "BYTES", shape: [1], data: ["s"] } as unknown as Tensor;
    expect(() => encodeInferRequest({ inputs: [bytes] }, { binaryInputs: true })).toThrow(
      /Input 'z' is BYTES, so its data must be an array of Uint8Array/,
    );
    expect(() => encodeInferRequest({ inputs: [probs, probs] }, { binaryInputs: true })).toThrow(
      "Input 'probs' appears more than once",
    );
    expect(() => encodeInferRequest({ inputs: [] }, { binaryInputs: true })).toThrow(InvalidInput);
  });
});

describe("client request -> server decodeInferRequest round trip", () => {
  for (const binary of [true, false]) {
    it(`every datatype survives ${binary ? "binary" : "JSON"} unchanged`, () => {
      const inputs = DATATYPES.map((d) => sample(d, !binary));
      const request: InferRequest = {
        id: "rt",
        parameters: { p: "v" },
        inputs,
        outputs: [{ name: "o1" }, { name: "o2", parameters: { k: 1 } }],
      };
      const decoded = decodeOnServer(encodeInferRequest(request, { binaryInputs: binary, binaryOutputs: binary }));
      expect(decoded.id).toBe("rt");
      expect(decoded.parameters).toEqual({ p: "v" });
      expect(decoded.inputs).toEqual(inputs);
      expect(decoded.outputs).toEqual([
        binary ? { name: "o1", parameters: { binary_data: true } } : { name: "o1" },
        { name: "o2", parameters: binary ? { k: 1, binary_data: true } : { k: 1 } },
      ]);
    });
  }

  it("keeps input parameters other than binary_data_size", () => {
    const withParams: Tensor = { ...probs, parameters: { content_type: "np" } };
    for (const binaryInputs of [true, false]) {
      const decoded = decodeOnServer(encodeInferRequest({ inputs: [withParams] }, { binaryInputs }));
      expect(decoded.inputs[0].parameters).toEqual({ content_type: "np" });
    }
  });

  it("sends zero-element tensors", () => {
    const empty: Tensor = { name: "e", datatype: "FP32", shape: [0, 4], data: new Float32Array(0) };
    const decoded = decodeOnServer(encodeInferRequest({ inputs: [empty, probs] }, { binaryInputs: true }));
    expect(decoded.inputs).toEqual([empty, probs]);
  });
});

describe("server encodeInferResponse -> client decodeInferResponse round trip", () => {
  for (const binary of [true, false]) {
    it(`every datatype survives ${binary ? "binary" : "JSON"} unchanged`, () => {
      const outputs = DATATYPES.map((d) => sample(d, !binary));
      const response: InferResponse = { modelName: "types", modelVersion: "3", id: "abc", outputs };
      const encoded = encodeInferResponse(response, { inputs: [], parameters: { binary_data_output: binary } });
      expect(encoded.inferenceHeaderContentLength !== undefined).toBe(binary);
      expect(clientDecode(encoded)).toEqual(response);
    });
  }

  it("reads a mix of binary and JSON outputs, and response parameters", () => {
    const label: Tensor = { name: "label", datatype: "BYTES", shape: [1], data: [utf8("setosa")] };
    const response: InferResponse = { modelName: "m", parameters: { took_ms: 3 }, outputs: [probs, label] };
    const encoded = encodeInferResponse(response, {
      inputs: [],
      outputs: [{ name: "probs", parameters: { binary_data: true } }, { name: "label" }],
    });
    expect(clientDecode(encoded)).toEqual(response);
  });

  it("what the client sends and the server answers round-trips through both codecs", () => {
    const request: InferRequest = { inputs: [sample("FP16"), sample("BYTES")] };
    const onServer = decodeOnServer(encodeInferRequest(request, { binaryInputs: true, binaryOutputs: true }));
    const answer = encodeInferResponse({ modelName: "echo", outputs: onServer.inputs }, onServer);
    expect(clientDecode(answer).outputs).toEqual(request.inputs);
  });
});

describe("decodeInferResponse: validation", () => {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const out = (extra: Record<string, unknown>) => ({ model_name: "m", outputs: [{ name: "y", ...extra }] });

  it.each([
    ["not JSON", Buffer.from("<html>"), undefined, "The inference response is not valid JSON"],
    ["not an object", json([1]), undefined, "must be a JSON object"],
    ["no model_name", json({ outputs: [] }), undefined, "no string 'model_name'"],
    ["no outputs", json({ model_name: "m" }), undefined, "no 'outputs' list"],
    ["bad id", json({ model_name: "m", id: 3, outputs: [] }), undefined, "'id' of the inference response"],
    ["header length not a number", json({ model_name: "m", outputs: [] }), "x", "non-negative integer, got 'x'"],
    ["header length too large", json({ model_name: "m", outputs: [] }), "999", "larger than the response body"],
    [
      "unknown datatype",
      json(out({ datatype: "FP128", shape: [1], data: [1] })),
      undefined,
      "Output 'y' has unknown datatype",
    ],
    [
      "bad shape",
      json(out({ datatype: "FP32", shape: [-1], data: [1] })),
      undefined,
      "Output 'y' has an invalid shape",
    ],
    [
      "count mismatch",
      json(out({ datatype: "FP32", shape: [3], data: [1, 2] })),
      undefined,
      "Output 'y' data has 2 elements, but shape [3] needs 3",
    ],
    [
      "wrong element type",
      json(out({ datatype: "BOOL", shape: [1], data: ["yes"] })),
      undefined,
      "Output 'y' data element 0 is a string, expected true or false for BOOL",
    ],
    [
      "neither data nor binary",
      json(out({ datatype: "FP32", shape: [1] })),
      undefined,
      "Output 'y' has neither 'data' nor parameters.binary_data_size",
    ],
  ])("%s", (_what, body, length, message) => {
    expect(() => decodeInferResponse(body, length)).toThrow(InvalidInput);
    expect(() => decodeInferResponse(body, length)).toThrow(message);
  });

  function binaryResponse(outputs: unknown[], blob: Uint8Array): { body: Buffer; length: string } {
    const head = json({ model_name: "m", outputs });
    return { body: Buffer.concat([head, blob]), length: String(head.byteLength) };
  }

  it("rejects binary outputs that are short, the wrong size, or followed by extra bytes", () => {
    const declared = (size: number, datatype = "FP32", shape = [2]) => [
      { name: "y", datatype, shape, parameters: { binary_data_size: size } },
    ];
    const short = binaryResponse(declared(8), new Uint8Array(4));
    expect(() => decodeInferResponse(short.body, short.length)).toThrow(
      "Output 'y': expecting 8 bytes of binary data but only 4 remain in the response body",
    );
    const wrongSize = binaryResponse(declared(4), new Uint8Array(4));
    expect(() => decodeInferResponse(wrongSize.body, wrongSize.length)).toThrow(
      "Output 'y': binary data has 4 bytes, but shape [2] of FP32 needs 8",
    );
    const extra = binaryResponse(declared(8), new Uint8Array(10));
    expect(() => decodeInferResponse(extra.body, extra.length)).toThrow("2 unexpected bytes after the binary data");
    const truncatedBytes = binaryResponse(declared(6, "BYTES", [1]), Uint8Array.of(9, 0, 0, 0, 1, 2));
    expect(() => decodeInferResponse(truncatedBytes.body, truncatedBytes.length)).toThrow(
      "Output 'y': binary data element 0 declares 9 bytes but only 2 remain",
    );
  });

  it("reads BYTES outputs as length-prefixed elements, and keeps only scalar response parameters", () => {
    const blob = Uint8Array.of(1, 0, 0, 0, 65, 0, 0, 0, 0);
    const head = json({
      model_name: "m",
      model_version: 2,
      parameters: { content_type: "str", headers: { a: "b" } },
      outputs: [{ name: "s", datatype: "BYTES", shape: [2], parameters: { binary_data_size: 9 } }],
    });
    const decoded = decodeInferResponse(Buffer.concat([head, blob]), String(head.byteLength));
    expect(decoded.modelVersion).toBe("2");
    expect(decoded.parameters).toEqual({ content_type: "str" });
    expect(decoded.outputs[0].data).toEqual([utf8("A"), utf8("")]);
  });
});

describe("InferInput", () => {
  it("takes typed arrays of the datatype's class as they are", () => {
    const data = Float32Array.of(1, 2, 3, 4);
    const input = new InferInput("x", [2, 2], "FP32", data);
    expect(input.toTensor()).toEqual({ name: "x", datatype: "FP32", shape: [2, 2], data });
    expect(input.toTensor().data).toBe(data);
    expect(input.binary).toBeUndefined();
  });

  it("rejects a typed array of the wrong class, naming the input", () => {
    const input = new InferInput("pixels", [2], "FP32");
    expect(() => input.setData(Float64Array.of(1, 2))).toThrow(
      "InferInput 'pixels' is FP32, so its data must be a Float32Array, not a Float64Array",
    );
    expect(() => new InferInput("ids", [2], "INT64", Int32Array.of(1, 2))).toThrow(
      "InferInput 'ids' is INT64, so its data must be a BigInt64Array, not an Int32Array",
    );
    expect(() => new InferInput("s", [1], "BYTES", Uint8Array.of(1))).toThrow(
      "InferInput 's' is BYTES, so its data must be strings or Uint8Array elements",
    );
  });

  it("checks the element count against product(shape)", () => {
    expect(() => new InferInput("x", [2, 3], "INT32", Int32Array.of(1, 2, 3))).toThrow(
      "InferInput 'x' has 3 elements, but shape [2,3] needs 6",
    );
    expect(() => new InferInput("x", [2, 3], "FP32", [[1, 2, 3]])).toThrow(
      "InferInput 'x' data has 3 elements, but shape [2,3] needs 6",
    );
  });

  it("converts nested arrays, booleans, bigints and strings to the datatype's storage", () => {
    expect(
      new InferInput("a", [2, 2], "FP32", [
        [1, 2],
        [3, 4],
      ]).toTensor().data,
    ).toEqual(Float32Array.of(1, 2, 3, 4));
    expect(new InferInput("b", [3], "BOOL", [true, false, true]).toTensor().data).toEqual(Uint8Array.of(1, 0, 1));
    expect(new InferInput("c", [2], "INT64", [2n ** 62n, -1]).toTensor().data).toEqual(
      BigInt64Array.of(2n ** 62n, -1n),
    );
    expect(new InferInput("d", [2], "BYTES", ["hé", "x"]).toTensor().data).toEqual([utf8("hé"), utf8("x")]);
    const raw = [Uint8Array.of(0, 255)];
    expect(new InferInput("e", [1], "BYTES", raw).toTensor().data).toEqual(raw);
    expect(new InferInput("f", [2], "FP16", [1.5, -4]).toTensor().data).toEqual(Uint16Array.of(0x3e00, 0xc400));
  });

  it("rejects values that do not fit the datatype", () => {
    expect(() => new InferInput("u", [2], "UINT8", [1, 256])).toThrow(
      "InferInput 'u' data element 1 is 256, expected an integer in [0, 255] for UINT8",
    );
    expect(() => new InferInput("b", [1], "BOOL", ["yes"])).toThrow("InferInput 'b' data element 0 is a string");
    expect(() => new InferInput("s", [1], "BYTES", [3])).toThrow("expected a string for BYTES");
  });

  it("takes FP16/BF16 as raw bits (Uint16Array) or float values (Float32Array)", () => {
    const bits = Uint16Array.of(numberToHalf(0.5));
    expect(new InferInput("h", [1], "FP16", bits).toTensor().data).toBe(bits);
    expect(new InferInput("h", [2], "FP16", Float32Array.of(0.5, -2)).toTensor().data).toEqual(
      Uint16Array.of(0x3800, 0xc000),
    );
    expect(new InferInput("b", [1], "BF16", Float64Array.of(1)).toTensor().data).toEqual(Uint16Array.of(0x3f80));
  });

  it("remembers the binary choice, parameters and shape changes", () => {
    const input = new InferInput("x", [1], "INT32").setData([1], { binary: false }).setParameters({ p: 1 });
    expect(input.binary).toBe(false);
    expect(input.toTensor().parameters).toEqual({ p: 1 });
    input.setShape([2]);
    expect(() => input.toTensor()).toThrow("InferInput 'x' has 1 elements, but shape [2] needs 2");
    input.setData(Int32Array.of(1, 2));
    expect(input.toTensor().shape).toEqual([2]);
    expect(input.binary).toBe(false);
  });

  it("refuses to build a tensor without data, a bad shape or datatype", () => {
    expect(() => new InferInput("x", [1], "FP32").toTensor()).toThrow("InferInput 'x' has no data; call setData()");
    expect(() => new InferInput("x", [1.5], "FP32")).toThrow("InferInput 'x' has an invalid shape");
    expect(() => new InferInput("x", [1], "FLOAT" as Datatype)).toThrow("InferInput 'x' has unknown datatype");
  });
});

describe("InferRequestedOutput", () => {
  it("turns its binary choice into the binary_data parameter", () => {
    expect(new InferRequestedOutput("y").toRequestedOutput()).toEqual({ name: "y" });
    expect(new InferRequestedOutput("y", { binary: false, parameters: { k: "v" } }).toRequestedOutput()).toEqual({
      name: "y",
      parameters: { k: "v", binary_data: false },
    });
  });
});

describe("InferResult", () => {
  const result = new InferResult({
    modelName: "m",
    modelVersion: "1",
    id: "req",
    outputs: [
      probs,
      { name: "label", datatype: "BYTES", shape: [2], data: [utf8("setosa"), utf8("virginica")] },
      { name: "half", datatype: "FP16", shape: [2], data: Uint16Array.of(0x3e00, 0xc400) },
      { name: "flag", datatype: "BOOL", shape: [1, 2], data: Uint8Array.of(1, 0) },
      { name: "ids", datatype: "INT64", shape: [2], data: BigInt64Array.of(2n ** 60n, 1n) },
    ],
  });

  it("exposes the response fields", () => {
    expect(result.modelName).toBe("m");
    expect(result.modelVersion).toBe("1");
    expect(result.id).toBe("req");
    expect(result.outputs.map((o) => o.name)).toEqual(["probs", "label", "half", "flag", "ids"]);
    expect(result.output("probs")).toBe(probs);
  });

  it("lists the available outputs for an unknown name", () => {
    expect(() => result.output("nope")).toThrow(
      "The response of model 'm' has no output 'nope'; available outputs: 'probs', 'label', 'half', 'flag', 'ids'",
    );
    expect(() => result.asTypedArray("nope")).toThrow(InvalidInput);
  });

  it("asTypedArray: storage for numeric types, Float32Array for FP16, elements for BYTES", () => {
    expect(result.asTypedArray("probs")).toBe(probs.data);
    expect(result.asTypedArray("half")).toEqual(Float32Array.of(1.5, -4));
    expect(result.asTypedArray("ids")).toEqual(BigInt64Array.of(2n ** 60n, 1n));
    expect(result.asTypedArray("label")).toEqual([utf8("setosa"), utf8("virginica")]);
  });

  it("asNested: nested arrays by shape, booleans for BOOL, strings for BYTES", () => {
    expect(result.asNested("probs")).toEqual([[0.25, 0.5, 0.25]]);
    expect(result.asNested("flag")).toEqual([[true, false]]);
    expect(result.asNested("label")).toEqual(["setosa", "virginica"]);
    expect(result.asNested("half")).toEqual([1.5, -4]);
  });

  it("asStrings decodes BYTES and refuses other types", () => {
    expect(result.asStrings("label")).toEqual(["setosa", "virginica"]);
    expect(() => result.asStrings("probs")).toThrow("Output 'probs' is FP32, not BYTES");
  });
});

describe("client errors and isRetryable", () => {
  it("keeps status, code and body, and the server's message", () => {
    const err = new InferenceServerError("Model with name x does not exist.", {
      status: 404,
      body: { error: "Model with name x does not exist." },
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("InferenceServerError");
    expect(err.message).toBe("Model with name x does not exist.");
    expect(err.status).toBe(404);
    expect(err.code).toBeUndefined();
    expect(err.body).toEqual({ error: "Model with name x does not exist." });
    const timeout = new InferenceTimeoutError("too slow", 50);
    expect(timeout).toBeInstanceOf(InferenceServerError);
    expect([timeout.status, timeout.timeoutMs, timeout.name]).toEqual([504, 50, "InferenceTimeoutError"]);
    const refused = new InferenceConnectionError("no", "ECONNREFUSED");
    expect([refused.status, refused.systemCode]).toEqual([503, "ECONNREFUSED"]);
  });

  it.each([
    [new InferenceConnectionError("refused", "ECONNREFUSED"), true],
    [new InferenceConnectionError("reset", "ECONNRESET"), true],
    [new InferenceConnectionError("dns", "ENOTFOUND"), false],
    [new InferenceServerError("bad gateway", { status: 502 }), true],
    [new InferenceServerError("unavailable", { status: 503 }), true],
    [new InferenceServerError("bad input", { status: 400 }), false],
    [new InferenceServerError("boom", { status: 500 }), false],
    [new InferenceServerError("grpc unavailable", { status: 503, code: 14 }), true],
    [new InferenceServerError("grpc exhausted", { status: 503, code: 8 }), false],
    [new InferenceTimeoutError("slow", 10), false],
    [Object.assign(new Error("raw"), { code: "ECONNREFUSED" }), true],
    [Object.assign(new Error("raw grpc"), { code: 14 }), true],
    [new Error("plain"), false],
    ["a string", false],
  ])("isRetryable(%s) is %s", (err, expected) => {
    expect(isRetryable(err)).toBe(expected);
  });
});
