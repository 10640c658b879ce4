import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { isInferRequest } from "../../../packages/server/src/protocol/index.ts";
import { tensorsToV1, v1ToInferRequest } from "../../../packages/server/src/protocol/v1/index.ts";
import { fromUtf8, type Tensor, type TensorMetadata, utf8 } from "../../../packages/server/src/tensor/index.ts";

const IRIS: TensorMetadata[] = [{ name: "input", datatype: "FP32", shape: [-1, 4] }];
const TWO_INPUTS: TensorMetadata[] = [
  { name: "features", datatype: "FP32", shape: [-1, 2] },
  { name: "tag", datatype: "BYTES", shape: [-1] },
];

function v1Error(body: unknown, inputs: TensorMetadata[]): InvalidInput {
  try {
    v1ToInferRequest(body, inputs);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).status).toBe(400);
    return err as InvalidInput;
  }
  throw new Error("expected v1ToInferRequest to throw");
}

function strings(t: Tensor): string[] {
  return (t.data as Uint8Array[]).map(fromUtf8);
}

describe("v1ToInferRequest: row format (instances)", () => {
  it("stacks rows along a new axis 0: two rows of 4 -> shape [2,4]", () => {
    const { request, format } = v1ToInferRequest(
      {
        instances: [
          [6.8, 2.8, 4.8, 1.4],
          [6.0, 3.4, 4.5, 1.6],
        ],
      },
      IRIS,
    );
    expect(format).toBe("row");
    expect(request.inputs).toHaveLength(1);
    const t = request.inputs[0];
    expect(t.name).toBe("input");
    expect(t.datatype).toBe("FP32");
    expect(t.shape).toEqual([2, 4]);
    expect(t.data).toEqual(new Float32Array([6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6]));
  });

  it("is recognised by isInferRequest", () => {
    const { request } = v1ToInferRequest({ instances: [[1, 2, 3, 4]] }, IRIS);
    expect(isInferRequest(request)).toBe(true);
  });

  it("turns scalar instances into shape [n]", () => {
    const { request } = v1ToInferRequest({ instances: [1, 2, 3] }, [{ name: "x", datatype: "INT32", shape: [-1] }]);
    expect(request.inputs[0].shape).toEqual([3]);
    expect(request.inputs[0].data).toEqual(new Int32Array([1, 2, 3]));
  });

  it("stacks 2-D instances into a 3-D tensor", () => {
    const { request } = v1ToInferRequest(
      {
        instances: [
          [
            [1, 2],
            [3, 4],
          ],
          [
            [5, 6],
            [7, 8],
          ],
          [
            [9, 10],
            [11, 12],
          ],
        ],
      },
      [{ name: "img", datatype: "UINT8", shape: [-1, 2, 2] }],
    );
    expect(request.inputs[0].shape).toEqual([3, 2, 2]);
    expect(Array.from(request.inputs[0].data as Uint8Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it("splits named instances (list of objects) into one tensor per input, in metadata order", () => {
    const { request } = v1ToInferRequest(
      {
        instances: [
          { tag: "a", features: [1, 2] },
          { tag: "bb", features: [3, 4] },
        ],
      },
      TWO_INPUTS,
    );
    expect(request.inputs.map((t) => t.name)).toEqual(["features", "tag"]);
    const [features, tag] = request.inputs;
    expect(features.shape).toEqual([2, 2]);
    expect(features.data).toEqual(new Float32Array([1, 2, 3, 4]));
    expect(tag.shape).toEqual([2]);
    expect(strings(tag)).toEqual(["a", "bb"]);
  });

  it("accepts named instances for a single-input model", () => {
    const { request } = v1ToInferRequest({ instances: [{ input: [1, 2, 3, 4] }, { input: [5, 6, 7, 8] }] }, IRIS);
    expect(request.inputs[0].shape).toEqual([2, 4]);
    expect(Array.from(request.inputs[0].data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('decodes {"b64": ...} values for a BYTES input into raw bytes', () => {
    const { request } = v1ToInferRequest({ instances: [{ b64: "AAEC/w==" }, { b64: "aGk=" }] }, [
      { name: "image_bytes", datatype: "BYTES", shape: [-1] },
    ]);
    const t = request.inputs[0];
    expect(t.shape).toEqual([2]);
    const elements = t.data as Uint8Array[];
    expect(Array.from(elements[0])).toEqual([0x00, 0x01, 0x02, 0xff]);
    expect(fromUtf8(elements[1])).toBe("hi");
  });

  it('decodes {"b64": ...} inside named instances', () => {
    const { request } = v1ToInferRequest({ instances: [{ features: [0, 0], tag: { b64: "eHl6" } }] }, TWO_INPUTS);
    expect(strings(request.inputs[1])).toEqual(["xyz"]);
    expect(request.inputs[1].shape).toEqual([1]);
  });

  it("accepts plain strings for a BYTES input", () => {
    const { request } = v1ToInferRequest({ instances: ["hello", "wörld"] }, [
      { name: "text", datatype: "BYTES", shape: [-1] },
    ]);
    expect(strings(request.inputs[0])).toEqual(["hello", "wörld"]);
  });
});

describe("v1ToInferRequest: columnar format (inputs)", () => {
  it("takes a single tensor as it is", () => {
    const { request, format } = v1ToInferRequest(
      {
        inputs: [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
        ],
      },
      IRIS,
    );
    expect(format).toBe("columnar");
    expect(request.inputs[0].shape).toEqual([2, 4]);
    expect(Array.from(request.inputs[0].data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("takes a scalar as shape []", () => {
    const { request } = v1ToInferRequest({ inputs: 7 }, [{ name: "k", datatype: "INT64", shape: [] }]);
    expect(request.inputs[0].shape).toEqual([]);
    expect(request.inputs[0].data).toEqual(new BigInt64Array([7n]));
  });

  it("takes a named object, with no batch-size constraint between inputs", () => {
    const { request } = v1ToInferRequest({ inputs: { tag: ["x", "y", "z"], features: [[1, 2]] } }, TWO_INPUTS);
    expect(request.inputs.map((t) => t.name)).toEqual(["features", "tag"]);
    expect(request.inputs[0].shape).toEqual([1, 2]);
    expect(request.inputs[1].shape).toEqual([3]);
    expect(strings(request.inputs[1])).toEqual(["x", "y", "z"]);
  });

  it('decodes {"b64": ...} values in columnar BYTES inputs', () => {
    const { request } = v1ToInferRequest({ inputs: [{ b64: "/w==" }, { b64: "AA==" }] }, [
      { name: "blob", datatype: "BYTES", shape: [-1] },
    ]);
    expect(request.inputs[0].shape).toEqual([2]);
    expect((request.inputs[0].data as Uint8Array[]).map((b) => Array.from(b))).toEqual([[0xff], [0x00]]);
  });

  it("rejects a multi-input model given a bare tensor", () => {
    const err = v1Error({ inputs: [[1, 2]] }, TWO_INPUTS);
    expect(err.message).toContain("features");
    expect(err.message).toContain("tag");
  });

  it("rejects a named object that misses an input, naming it (TF Serving's message)", () => {
    const err = v1Error({ inputs: { features: [[1, 2]] } }, TWO_INPUTS);
    expect(err.message).toBe("Missing named input: tag in 'inputs' object.");
  });

  it("rejects a ragged columnar tensor, naming the input", () => {
    const err = v1Error({ inputs: [[1, 2, 3, 4], [5]] }, IRIS);
    expect(err.message).toContain("'input'");
  });
});

describe("v1ToInferRequest: errors (400 InvalidInput)", () => {
  it("rejects a body with both instances and inputs", () => {
    const err = v1Error({ instances: [[1, 2, 3, 4]], inputs: [[1, 2, 3, 4]] }, IRIS);
    expect(err.message).toMatch(/only one of 'inputs' or 'instances'/i);
  });

  it("rejects a body with neither instances nor inputs", () => {
    const err = v1Error({ signature_name: "serving_default" }, IRIS);
    expect(err.message).toMatch(/Missing 'inputs' or 'instances' key/);
  });

  it.each([
    ["an array", [[1, 2, 3, 4]]],
    ["a string", "instances"],
    ["null", null],
  ])("rejects a body that is %s", (_what, body) => {
    v1Error(body, IRIS);
  });

  // Changed deliberately: TF Serving's wording (json_tensor.cc), with its "Excepting … an list" typo fixed.
  it("rejects instances that is not a list", () => {
    const err = v1Error({ instances: { input: [1, 2, 3, 4] } }, IRIS);
    expect(err.message).toBe("Expecting 'instances' to be a list/array");
  });

  it("rejects empty instances", () => {
    const err = v1Error({ instances: [] }, IRIS);
    expect(err.message).toBe("No values in 'instances' array");
  });

  it("rejects ragged rows, naming the input", () => {
    const err = v1Error(
      {
        instances: [
          [1, 2, 3, 4],
          [5, 6, 7],
        ],
      },
      IRIS,
    );
    expect(err.message).toContain("'input'");
  });

  it("rejects a longer later row too", () => {
    const err = v1Error(
      {
        instances: [
          [1, 2],
          [3, 4, 5],
        ],
      },
      [{ name: "x", datatype: "FP32", shape: [-1, -1] }],
    );
    expect(err.message).toContain("'x'");
  });

  it("rejects mixing scalars and lists in instances", () => {
    const err = v1Error({ instances: [[1, 2, 3, 4], 5] }, IRIS);
    expect(err.message).toContain("'input'");
  });

  it("rejects a named instance that misses an input, naming the input and the instance", () => {
    const err = v1Error(
      {
        instances: [{ features: [1, 2], tag: "a" }, { features: [3, 4] }],
      },
      TWO_INPUTS,
    );
    expect(err.message).toBe(
      "Failed to process element: 1 of 'instances' list. JSON object keys must be equal to: features,tag (missing 'tag')",
    );
  });

  it("rejects a multi-input model given unnamed rows", () => {
    const err = v1Error({ instances: [[1, 2]] }, TWO_INPUTS);
    expect(err.message).toBe(
      "instances is a plain list, but expecting list of objects as multiple input tensors are required (features,tag)",
    );
  });

  it("rejects a named instance whose rows differ in shape", () => {
    const err = v1Error(
      {
        instances: [
          { features: [1, 2], tag: "a" },
          { features: [3], tag: "b" },
        ],
      },
      TWO_INPUTS,
    );
    expect(err.message).toBe(
      "Failed to process element: 1 key: features of 'instances' list. Error: Expecting tensor size: 2 but got: 1",
    );
  });

  it("rejects a wrong element type, naming the input", () => {
    const err = v1Error({ instances: [[1, 2, "three", 4]] }, IRIS);
    expect(err.message).toContain("'input'");
    expect(err.message).toContain("FP32");
  });

  it("rejects a non-integer for an integer input", () => {
    const err = v1Error({ instances: [1, 2.5] }, [{ name: "ids", datatype: "INT32", shape: [-1] }]);
    expect(err.message).toContain("'ids'");
  });

  it("rejects a number for a BYTES input", () => {
    const err = v1Error({ instances: [1] }, [{ name: "text", datatype: "BYTES", shape: [-1] }]);
    expect(err.message).toContain("'text'");
  });
});

const probs: Tensor = {
  name: "probs",
  datatype: "FP32",
  shape: [2, 3],
  data: new Float32Array([0.5, 0.25, 0.25, 0, 1, 0]),
};
const classes: Tensor = { name: "classes", datatype: "INT64", shape: [2], data: new BigInt64Array([0n, 1n]) };

describe("tensorsToV1: row format responses", () => {
  it('a single output becomes {"predictions": [...rows]}', () => {
    expect(tensorsToV1([probs], "row")).toEqual({
      predictions: [
        [0.5, 0.25, 0.25],
        [0, 1, 0],
      ],
    });
  });

  it("a single 1-D output becomes a list of values", () => {
    expect(tensorsToV1([classes], "row")).toEqual({ predictions: [0, 1] });
  });

  it("several outputs become a list of per-row objects", () => {
    expect(tensorsToV1([probs, classes], "row")).toEqual({
      predictions: [
        { probs: [0.5, 0.25, 0.25], classes: 0 },
        { probs: [0, 1, 0], classes: 1 },
      ],
    });
  });

  it("rejects several outputs with different batch sizes", () => {
    const odd: Tensor = { name: "odd", datatype: "INT32", shape: [3], data: new Int32Array([1, 2, 3]) };
    expect(() => tensorsToV1([probs, odd], "row")).toThrow(InvalidInput);
  });

  // TF Serving (MakeRowFormatJsonFromTensors) rejects a scalar output in row format ("has no shape information");
  // here the scalar's value silently disappears from every row instead.
  it("does not silently drop a scalar output when there are several outputs", () => {
    const count: Tensor = { name: "count", datatype: "INT32", shape: [], data: new Int32Array([7]) };
    const one: Tensor = { name: "one", datatype: "FP32", shape: [1, 2], data: new Float32Array([1, 2]) };
    let result: Record<string, unknown>;
    try {
      result = tensorsToV1([one, count], "row");
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidInput);
      return;
    }
    const rows = result.predictions as Record<string, unknown>[];
    expect(rows[0].count).toBe(7);
  });

  it("writes BOOL as booleans and BYTES as strings", () => {
    const ok: Tensor = { name: "ok", datatype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) };
    const words: Tensor = { name: "words", datatype: "BYTES", shape: [2], data: [utf8("yes"), utf8("nö")] };
    expect(tensorsToV1([ok, words], "row")).toEqual({
      predictions: [
        { ok: true, words: "yes" },
        { ok: false, words: "nö" },
      ],
    });
  });

  it('writes a BYTES output whose name ends in _bytes as {"b64": ...}', () => {
    const img: Tensor = {
      name: "image_bytes",
      datatype: "BYTES",
      shape: [2],
      data: [new Uint8Array([0x00, 0x01, 0x02, 0xff]), utf8("hi")],
    };
    expect(tensorsToV1([img], "row")).toEqual({ predictions: [{ b64: "AAEC/w==" }, { b64: "aGk=" }] });
  });

  it("uses b64 only for BYTES outputs ending in _bytes, per output", () => {
    const img: Tensor = { name: "out_bytes", datatype: "BYTES", shape: [1], data: [utf8("x")] };
    const txt: Tensor = { name: "out_text", datatype: "BYTES", shape: [1], data: [utf8("x")] };
    expect(tensorsToV1([img, txt], "row")).toEqual({ predictions: [{ out_bytes: { b64: "eA==" }, out_text: "x" }] });
  });
});

describe("tensorsToV1: columnar format responses", () => {
  it('a single output becomes {"outputs": value}', () => {
    expect(tensorsToV1([probs], "columnar")).toEqual({
      outputs: [
        [0.5, 0.25, 0.25],
        [0, 1, 0],
      ],
    });
  });

  it("a scalar single output becomes the bare value", () => {
    const s: Tensor = { name: "s", datatype: "FP64", shape: [], data: new Float64Array([2.5]) };
    expect(tensorsToV1([s], "columnar")).toEqual({ outputs: 2.5 });
  });

  it("several outputs become an object keyed by output name, without a batch constraint", () => {
    const odd: Tensor = { name: "odd", datatype: "INT32", shape: [3], data: new Int32Array([1, 2, 3]) };
    expect(tensorsToV1([probs, odd], "columnar")).toEqual({
      outputs: {
        probs: [
          [0.5, 0.25, 0.25],
          [0, 1, 0],
        ],
        odd: [1, 2, 3],
      },
    });
  });

  it('writes _bytes BYTES outputs as {"b64": ...} in columnar too', () => {
    const img: Tensor = { name: "x_bytes", datatype: "BYTES", shape: [1, 1], data: [new Uint8Array([0xff])] };
    expect(tensorsToV1([img], "columnar")).toEqual({ outputs: [[{ b64: "/w==" }]] });
  });
});

describe("V1 round trip", () => {
  it("a row request for a model that echoes its input gives back the instances", () => {
    const instances = [
      [1.5, 2, 3, 4],
      [5, 6, 7, -8.25],
    ];
    const { request, format } = v1ToInferRequest({ instances }, IRIS);
    expect(tensorsToV1(request.inputs, format)).toEqual({ predictions: instances });
  });
});
