import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { isInferRequest } from "../../../packages/server/src/protocol/index.ts";
import { decodeInferRequest } from "../../../packages/server/src/protocol/v2/index.ts";
import { fromUtf8 } from "../../../packages/server/src/tensor/index.ts";

const enc = new TextEncoder();

function jsonBody(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value));
}

/** Triton binary extension body: JSON header immediately followed by the blobs (no separators). */
function binaryBody(header: unknown, ...blobs: Uint8Array[]): { body: Uint8Array; headerLength: string } {
  const json = enc.encode(JSON.stringify(header));
  const total = json.byteLength + blobs.reduce((n, b) => n + b.byteLength, 0);
  const body = new Uint8Array(total);
  body.set(json, 0);
  let offset = json.byteLength;
  for (const b of blobs) {
    body.set(b, offset);
    offset += b.byteLength;
  }
  return { body, headerLength: String(json.byteLength) };
}

function leUint32(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (const [i, v] of values.entries()) view.setUint32(i * 4, v, true);
  return out;
}

function leFloat32(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (const [i, v] of values.entries()) view.setFloat32(i * 4, v, true);
  return out;
}

/** The InvalidInput (HTTP 400) thrown by decoding `body`. */
function decodeError(body: Uint8Array, headerLength?: string): InvalidInput {
  try {
    decodeInferRequest(body, headerLength);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).status).toBe(400);
    return err as InvalidInput;
  }
  throw new Error("expected decodeInferRequest to throw");
}

function input(name: string, datatype: string, shape: unknown, rest: Record<string, unknown> = {}) {
  return { name, datatype, shape, ...rest };
}

// The Open Inference Protocol inference-request example (with input1's data completed to its shape [3]).
const SPEC_REQUEST = {
  id: "42",
  inputs: [
    { name: "input0", shape: [2, 2], datatype: "UINT32", data: [1, 2, 3, 4] },
    { name: "input1", shape: [3], datatype: "BOOL", data: [true, false, true] },
  ],
  outputs: [{ name: "output0" }],
};

describe("decodeInferRequest: JSON", () => {
  it("decodes the spec example request", () => {
    const req = decodeInferRequest(jsonBody(SPEC_REQUEST));
    expect(req.id).toBe("42");
    expect(req.inputs).toHaveLength(2);
    const [a, b] = req.inputs;
    expect(a.name).toBe("input0");
    expect(a.datatype).toBe("UINT32");
    expect(a.shape).toEqual([2, 2]);
    expect(a.data).toEqual(new Uint32Array([1, 2, 3, 4]));
    expect(b.name).toBe("input1");
    expect(b.datatype).toBe("BOOL");
    expect(b.shape).toEqual([3]);
    expect(b.data).toEqual(new Uint8Array([1, 0, 1]));
    expect(req.outputs).toEqual([{ name: "output0" }]);
  });

  it("accepts nested data as equivalent to flat data", () => {
    const nested = structuredClone(SPEC_REQUEST);
    nested.inputs[0].data = [
      [1, 2],
      [3, 4],
    ] as unknown as number[];
    const a = decodeInferRequest(jsonBody(nested));
    const b = decodeInferRequest(jsonBody(SPEC_REQUEST));
    expect(a.inputs[0].data).toEqual(b.inputs[0].data);
    expect(a.inputs[0].shape).toEqual([2, 2]);
  });

  it("rejects the spec example's original input1 (shape [3] with one element)", () => {
    const bad = structuredClone(SPEC_REQUEST);
    bad.inputs[1].data = [true];
    const err = decodeError(jsonBody(bad));
    expect(err.message).toContain("'input1'");
  });

  it("is recognised by isInferRequest", () => {
    const req = decodeInferRequest(jsonBody(SPEC_REQUEST));
    expect(isInferRequest(req)).toBe(true);
    expect(isInferRequest(JSON.parse(JSON.stringify(SPEC_REQUEST)))).toBe(false);
  });

  it("passes id, request parameters, output parameters and input parameters through", () => {
    const req = decodeInferRequest(
      jsonBody({
        id: "req-7",
        parameters: { priority: 3, tag: "x", binary_data_output: true },
        inputs: [input("x", "FP32", [1], { data: [0.5], parameters: { custom: "yes" } })],
        outputs: [{ name: "probs", parameters: { binary_data: true } }, { name: "label" }],
      }),
    );
    expect(req.id).toBe("req-7");
    expect(req.parameters).toEqual({ priority: 3, tag: "x", binary_data_output: true });
    expect(req.outputs).toEqual([{ name: "probs", parameters: { binary_data: true } }, { name: "label" }]);
    expect(req.inputs[0].parameters).toEqual({ custom: "yes" });
  });

  it("leaves id, parameters and outputs unset when the request has none", () => {
    const req = decodeInferRequest(jsonBody({ inputs: [input("x", "INT32", [1], { data: [1] })] }));
    expect(req.id).toBeUndefined();
    expect(req.parameters).toBeUndefined();
    expect(req.outputs).toBeUndefined();
  });

  it("decodes every datatype from JSON", () => {
    const req = decodeInferRequest(
      jsonBody({
        inputs: [
          input("b", "BOOL", [2], { data: [true, false] }),
          input("u8", "UINT8", [1], { data: [255] }),
          input("i64", "INT64", [2], { data: [-1, "9007199254740993"] }),
          input("u64", "UINT64", [1], { data: [7] }),
          input("h", "FP16", [2], { data: [1, -2.5] }),
          input("bf", "BF16", [1], { data: [1] }),
          input("f64", "FP64", [1], { data: [0.1] }),
          input("s", "BYTES", [2], { data: ["ab", "é"] }),
        ],
      }),
    );
    const byName = Object.fromEntries(req.inputs.map((t) => [t.name, t.data]));
    expect(byName.b).toEqual(new Uint8Array([1, 0]));
    expect(byName.u8).toEqual(new Uint8Array([255]));
    expect(byName.i64).toEqual(new BigInt64Array([-1n, 9007199254740993n]));
    expect(byName.u64).toEqual(new BigUint64Array([7n]));
    expect(byName.h).toEqual(new Uint16Array([0x3c00, 0xc100]));
    expect(byName.bf).toEqual(new Uint16Array([0x3f80]));
    expect(byName.f64).toEqual(new Float64Array([0.1]));
    expect((byName.s as Uint8Array[]).map(fromUtf8)).toEqual(["ab", "é"]);
  });

  it("accepts a scalar tensor (shape []) with a bare value", () => {
    const req = decodeInferRequest(jsonBody({ inputs: [input("x", "FP32", [], { data: 2.5 })] }));
    expect(req.inputs[0].shape).toEqual([]);
    expect(req.inputs[0].data).toEqual(new Float32Array([2.5]));
  });

  it("accepts an empty tensor (shape [0])", () => {
    const req = decodeInferRequest(jsonBody({ inputs: [input("x", "FP32", [0], { data: [] })] }));
    expect((req.inputs[0].data as Float32Array).length).toBe(0);
  });
});

describe("decodeInferRequest: JSON errors (400 InvalidInput)", () => {
  it("rejects malformed JSON", () => {
    const err = decodeError(enc.encode('{"inputs": ['));
    expect(err.message).toMatch(/JSON/);
  });

  it("rejects an empty body", () => {
    decodeError(new Uint8Array(0));
  });

  it.each([
    ["an array", []],
    ["a string", "inputs"],
    ["a number", 5],
    ["null", null],
  ])("rejects a JSON body that is %s", (_what, value) => {
    const err = decodeError(jsonBody(value));
    expect(err.message).toMatch(/object/);
  });

  it("rejects a missing inputs list", () => {
    const err = decodeError(jsonBody({ id: "1" }));
    expect(err.message).toContain("inputs");
  });

  it("rejects inputs that is not a list", () => {
    const err = decodeError(jsonBody({ inputs: { name: "x" } }));
    expect(err.message).toContain("inputs");
  });

  it("rejects an empty inputs list", () => {
    const err = decodeError(jsonBody({ inputs: [] }));
    expect(err.message).toContain("inputs");
  });

  it("rejects an input that is not an object, naming its index", () => {
    const err = decodeError(jsonBody({ inputs: [input("a", "FP32", [1], { data: [1] }), 5] }));
    expect(err.message).toContain("inputs[1]");
  });

  it("rejects an input without a name", () => {
    const err = decodeError(jsonBody({ inputs: [{ datatype: "FP32", shape: [1], data: [1] }] }));
    expect(err.message).toContain("inputs[0]");
  });

  it("rejects a non-string id", () => {
    const err = decodeError(jsonBody({ id: 42, inputs: [input("x", "FP32", [1], { data: [1] })] }));
    expect(err.message).toContain("id");
  });

  it("rejects an unknown datatype, naming the input and the datatype", () => {
    const err = decodeError(jsonBody({ inputs: [input("pixels", "FLOAT32", [1], { data: [1] })] }));
    expect(err.message).toContain("'pixels'");
    expect(err.message).toContain("FLOAT32");
  });

  it("rejects a lower-case datatype (strings are case-sensitive)", () => {
    const err = decodeError(jsonBody({ inputs: [input("x", "fp32", [1], { data: [1] })] }));
    expect(err.message).toContain("'x'");
  });

  it.each([
    ["negative", [2, -1]],
    ["non-integer", [1.5]],
    ["string", ["2"]],
    ["not a list", 4],
    ["missing", undefined],
  ])("rejects a %s shape, naming the input", (_what, shape) => {
    const err = decodeError(jsonBody({ inputs: [input("x", "FP32", shape, { data: [1, 2] })] }));
    expect(err.message).toContain("'x'");
    expect(err.message).toContain("shape");
  });

  it("rejects data whose element count differs from the product of the shape", () => {
    const err = decodeError(jsonBody({ inputs: [input("x", "FP32", [2, 3], { data: [1, 2, 3, 4, 5] })] }));
    expect(err.message).toContain("'x'");
    expect(err.message).toContain("5");
    expect(err.message).toContain("6");
  });

  it("rejects nested data with too many elements", () => {
    const err = decodeError(
      jsonBody({
        inputs: [
          input("x", "INT32", [2, 2], {
            data: [
              [1, 2, 3],
              [4, 5, 6],
            ],
          }),
        ],
      }),
    );
    expect(err.message).toContain("'x'");
  });

  it("rejects wrong element types, naming the input", () => {
    for (const [datatype, bad] of [
      ["FP32", "1.0"],
      ["INT32", 1.5],
      ["UINT8", 300],
      ["UINT32", -1],
      ["BOOL", "true"],
      ["BYTES", 1],
    ] as const) {
      const err = decodeError(jsonBody({ inputs: [input("in_" + datatype, datatype, [1], { data: [bad] })] }));
      expect(err.message, datatype).toContain(`'in_${datatype}'`);
    }
  });

  it("rejects an INT64 digit string beyond the INT64 range", () => {
    const err = decodeError(jsonBody({ inputs: [input("ids", "INT64", [1], { data: ["9223372036854775808"] })] }));
    expect(err.message).toContain("'ids'");
  });

  it("rejects an input with both data and binary_data_size", () => {
    const { body, headerLength } = binaryBody(
      { inputs: [input("x", "UINT8", [1], { data: [1], parameters: { binary_data_size: 1 } })] },
      new Uint8Array([1]),
    );
    const err = decodeError(body, headerLength);
    expect(err.message).toContain("'x'");
    expect(err.message).toContain("binary_data_size");
  });

  it("rejects an input with neither data nor binary_data_size", () => {
    const err = decodeError(jsonBody({ inputs: [input("x", "FP32", [1])] }));
    expect(err.message).toContain("'x'");
  });

  it("rejects duplicate input names", () => {
    const err = decodeError(
      jsonBody({ inputs: [input("x", "FP32", [1], { data: [1] }), input("x", "FP32", [1], { data: [2] })] }),
    );
    expect(err.message).toContain("'x'");
  });

  it("rejects non-scalar parameter values, naming the input", () => {
    const err = decodeError(jsonBody({ inputs: [input("x", "FP32", [1], { data: [1], parameters: { a: [1] } })] }));
    expect(err.message).toContain("'x'");
  });

  it("rejects request parameters that are not an object", () => {
    decodeError(jsonBody({ parameters: "fast", inputs: [input("x", "FP32", [1], { data: [1] })] }));
  });

  it("rejects outputs that are not a list of named objects, or that repeat a name", () => {
    const inputs = [input("x", "FP32", [1], { data: [1] })];
    decodeError(jsonBody({ inputs, outputs: { name: "y" } }));
    expect(decodeError(jsonBody({ inputs, outputs: [{ nm: "y" }] })).message).toContain("outputs[0]");
    expect(decodeError(jsonBody({ inputs, outputs: [{ name: "y" }, { name: "y" }] })).message).toContain("'y'");
  });
});

describe("decodeInferRequest: binary tensor extension", () => {
  it("decodes the Triton example: UINT32 [2,2] and BOOL [3] as binary blobs", () => {
    const { body, headerLength } = binaryBody(
      {
        model_name: "mymodel",
        inputs: [
          input("input0", "UINT32", [2, 2], { parameters: { binary_data_size: 16 } }),
          input("input1", "BOOL", [3], { parameters: { binary_data_size: 3 } }),
        ],
        outputs: [{ name: "output0", parameters: { binary_data: true } }, { name: "output1" }],
      },
      leUint32(1, 2, 3, 0xdeadbeef),
      new Uint8Array([1, 0, 1]),
    );
    const req = decodeInferRequest(body, headerLength);
    expect(req.inputs[0].data).toEqual(new Uint32Array([1, 2, 3, 0xdeadbeef]));
    expect(req.inputs[1].data).toEqual(new Uint8Array([1, 0, 1]));
    expect(req.outputs).toEqual([{ name: "output0", parameters: { binary_data: true } }, { name: "output1" }]);
    expect(isInferRequest(req)).toBe(true);
  });

  it("mixes JSON and binary inputs, reading blobs in the order of the binary inputs", () => {
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          input("a", "FP32", [2], { parameters: { binary_data_size: 8 } }),
          input("j", "INT32", [3], { data: [7, 8, 9] }),
          input("b", "FP32", [1, 1], { parameters: { binary_data_size: 4 } }),
        ],
      },
      leFloat32(1.5, -2.25),
      leFloat32(42),
    );
    const req = decodeInferRequest(body, headerLength);
    expect(req.inputs.map((t) => t.name)).toEqual(["a", "j", "b"]);
    expect(req.inputs[0].data).toEqual(new Float32Array([1.5, -2.25]));
    expect(req.inputs[1].data).toEqual(new Int32Array([7, 8, 9]));
    expect(req.inputs[2].data).toEqual(new Float32Array([42]));
    expect(req.inputs[2].shape).toEqual([1, 1]);
  });

  it("does not expose binary_data_size as a tensor parameter but keeps the others", () => {
    const { body, headerLength } = binaryBody(
      { inputs: [input("a", "UINT8", [1], { parameters: { binary_data_size: 1, note: "n" } })] },
      new Uint8Array([9]),
    );
    const req = decodeInferRequest(body, headerLength);
    expect(req.inputs[0].parameters).toEqual({ note: "n" });
  });

  it("decodes a BYTES input from 4-byte little-endian length-prefixed elements", () => {
    const blob = new Uint8Array([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0, 3, 0, 0, 0, 0x78, 0x79, 0x7a]);
    const { body, headerLength } = binaryBody(
      { inputs: [input("s", "BYTES", [3], { parameters: { binary_data_size: blob.byteLength } })] },
      blob,
    );
    const req = decodeInferRequest(body, headerLength);
    expect((req.inputs[0].data as Uint8Array[]).map(fromUtf8)).toEqual(["ab", "", "xyz"]);
  });

  it("reads FP32 blobs correctly whatever their alignment in the body", () => {
    for (const pad of ["", " ", "  ", "   "]) {
      const json = enc.encode(
        JSON.stringify({ inputs: [input("x", "FP32", [2], { parameters: { binary_data_size: 8 } })] }) + pad,
      );
      const body = new Uint8Array(json.byteLength + 8);
      body.set(json);
      body.set(leFloat32(0.5, -3), json.byteLength);
      const req = decodeInferRequest(body, String(json.byteLength));
      expect(req.inputs[0].data, `header length ${json.byteLength}`).toEqual(new Float32Array([0.5, -3]));
    }
  });

  it("accepts binary_data_size 0 for an empty tensor", () => {
    const { body, headerLength } = binaryBody({
      inputs: [input("e", "FP32", [0, 3], { parameters: { binary_data_size: 0 } })],
    });
    const req = decodeInferRequest(body, headerLength);
    expect((req.inputs[0].data as Float32Array).length).toBe(0);
  });

  it("accepts a header length equal to the whole body (JSON only)", () => {
    const body = jsonBody({ inputs: [input("x", "INT8", [1], { data: [3] })] });
    const req = decodeInferRequest(body, String(body.byteLength));
    expect(req.inputs[0].data).toEqual(new Int8Array([3]));
  });

  it("rejects a header length larger than the body", () => {
    const { body } = binaryBody({ inputs: [input("x", "UINT8", [1], { parameters: { binary_data_size: 1 } })] });
    const err = decodeError(body, String(body.byteLength + 1));
    expect(err.message).toContain("Inference-Header-Content-Length");
  });

  it.each(["abc", "-5", "1.5", "", "12abc"])("rejects a non-numeric header length %j", (value) => {
    const err = decodeError(jsonBody({ inputs: [input("x", "INT8", [1], { data: [3] })] }), value);
    expect(err.message).toContain("Inference-Header-Content-Length");
  });

  it("rejects header length 0 (raw binary requests are not supported)", () => {
    const err = decodeError(new Uint8Array([1, 2, 3, 4]), "0");
    expect(err.message).toContain("Inference-Header-Content-Length");
  });

  it("rejects a header length that cuts the JSON short", () => {
    const body = jsonBody({ inputs: [input("x", "INT8", [1], { data: [3] })] });
    decodeError(body, String(body.byteLength - 3));
  });

  it("rejects a blob that is shorter than binary_data_size, naming the input", () => {
    const { body, headerLength } = binaryBody(
      {
        inputs: [
          input("a", "FP32", [1], { parameters: { binary_data_size: 4 } }),
          input("b", "FP32", [2], { parameters: { binary_data_size: 8 } }),
        ],
      },
      leFloat32(1),
      new Uint8Array(5),
    );
    const err = decodeError(body, headerLength);
    expect(err.message).toContain("'b'");
    expect(err.message).toContain("8");
  });

  it("rejects binary data declared without any bytes after the header", () => {
    const err = decodeError(jsonBody({ inputs: [input("x", "FP32", [1], { parameters: { binary_data_size: 4 } })] }));
    expect(err.message).toContain("'x'");
  });

  it("rejects bytes left over after the declared blobs", () => {
    const { body, headerLength } = binaryBody(
      { inputs: [input("x", "FP32", [1], { parameters: { binary_data_size: 4 } })] },
      leFloat32(1),
      new Uint8Array([0xaa, 0xbb, 0xcc]),
    );
    const err = decodeError(body, headerLength);
    expect(err.message).toContain("3");
  });

  it("rejects binary_data_size that does not match the shape and datatype, naming the input", () => {
    const { body, headerLength } = binaryBody(
      { inputs: [input("x", "FP32", [2], { parameters: { binary_data_size: 4 } })] },
      leFloat32(1),
    );
    const err = decodeError(body, headerLength);
    expect(err.message).toContain("'x'");
    expect(err.message).toContain("8");
  });

  it.each([-4, 1.5, "4"])("rejects binary_data_size %j, naming the input", (size) => {
    const { body, headerLength } = binaryBody(
      { inputs: [input("x", "FP32", [1], { parameters: { binary_data_size: size } })] },
      leFloat32(1),
    );
    const err = decodeError(body, headerLength);
    expect(err.message).toContain("'x'");
  });

  it("rejects a BYTES blob whose elements do not match the shape, naming the input", () => {
    const blob = new Uint8Array([1, 0, 0, 0, 0x61]);
    const { body, headerLength } = binaryBody(
      { inputs: [input("s", "BYTES", [2], { parameters: { binary_data_size: blob.byteLength } })] },
      blob,
    );
    const err = decodeError(body, headerLength);
    expect(err.message).toContain("'s'");
  });

  it("rejects a BYTES blob with a length prefix running past its end, naming the input", () => {
    const blob = new Uint8Array([9, 0, 0, 0, 0x61]);
    const { body, headerLength } = binaryBody(
      { inputs: [input("s", "BYTES", [1], { parameters: { binary_data_size: blob.byteLength } })] },
      blob,
    );
    const err = decodeError(body, headerLength);
    expect(err.message).toContain("'s'");
  });

  it("treats the whole body as JSON when the header length is absent", () => {
    const { body } = binaryBody(
      { inputs: [input("x", "FP32", [1], { parameters: { binary_data_size: 4 } })] },
      leFloat32(1),
    );
    decodeError(body);
  });
});
