/**
 * TF Serving's REST dialect on the V1 codec (reference: protocols.md §3, TF Serving's util/json_tensor.cc):
 * every 400 message, row/columnar with several inputs and outputs, b64 both ways, NaN/Infinity tokens,
 * signature_name, metadata and status documents, and :classify / :regress.
 */
import { describe, expect, it } from "vitest";
import { InferenceError, InvalidInput, type TServeError } from "../../../packages/server/src/errors/index.ts";
import { parseModelSettings } from "../../../packages/server/src/model/settings.ts";
import type { ModelMetadata } from "../../../packages/server/src/protocol/index.ts";
import {
  classifyResults,
  type ExamplesPlan,
  examplesToInferRequest,
  modelMetadataToTfServing,
  modelVersionStatus,
  NonFiniteNumber,
  parseExamplesRequest,
  parseV1Json,
  planExamples,
  regressResults,
  stringifyV1,
  tensorsToV1,
  v1ToInferRequest,
} from "../../../packages/server/src/protocol/v1/index.ts";
import { fromUtf8, type Tensor, type TensorMetadata, utf8 } from "../../../packages/server/src/tensor/index.ts";

const IRIS: TensorMetadata[] = [{ name: "input", datatype: "FP32", shape: [-1, 4] }];
const TWO: TensorMetadata[] = [
  { name: "x", datatype: "FP32", shape: [-1, 2] },
  { name: "text", datatype: "BYTES", shape: [-1] },
];
const BLOB: TensorMetadata[] = [{ name: "blob", datatype: "BYTES", shape: [-1] }];

function error(fn: () => unknown, status = 400): TServeError {
  try {
    fn();
  } catch (err) {
    expect((err as TServeError).status).toBe(status);
    return err as TServeError;
  }
  throw new Error("expected an error");
}

function predictError(body: unknown, inputs: TensorMetadata[] = IRIS): string {
  const err = error(() => v1ToInferRequest(body, inputs));
  expect(err).toBeInstanceOf(InvalidInput);
  return err.message;
}

describe("predict requests: every 400 message", () => {
  it.each([
    ["a list body", [[1, 2, 3, 4]], /^Is not object: .* got list$/],
    ["a string body", "x", /^Is not object: .* got string$/],
    ["both keys", { instances: [[1, 2, 3, 4]], inputs: [[1, 2, 3, 4]] }, /^Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist$/],
    ["neither key", { rows: [] }, /^Missing 'inputs' or 'instances' key$/],
    ["a non-string signature_name", { signature_name: 7, instances: [[1, 2, 3, 4]] }, /'signature_name' key must be a string value\.$/],
    ["an unknown signature", { signature_name: "classify_x", instances: [[1, 2, 3, 4]] }, /^Serving signature name: "classify_x" not found in signature def; the only signature is "serving_default"$/],
    ["instances that is not a list", { instances: 5 }, /^Expecting 'instances' to be a list\/array$/],
    ["empty instances", { instances: [] }, /^No values in 'instances' array$/],
    ["a plain row after a named one", { instances: [{ input: [1, 2, 3, 4] }, [1, 2, 3, 4]] }, /^Expecting object but got list at item 1 of input list$/],
    ["a named row after a plain one", { instances: [[1, 2, 3, 4], { input: [1, 2, 3, 4] }] }, /^Expecting value\/list but got object at item 1 of input list$/],
    ["rows of different sizes", { instances: [[1, 2, 3, 4], [1, 2, 3]] }, /^Failed to process element: 1 of 'instances' list\. Error: Expecting tensor size: 4 but got: 3 \(input 'input'\)$/],
    ["a named row with an unknown key", { instances: [{ input: [1, 2, 3, 4], extra: 1 }] }, /^Failed to process element: 0 key: extra of 'instances' list\. Error: JSON object: does not have named input: extra \(inputs: input\)$/],
  ])("%s", (_what, body, message) => {
    expect(predictError(body)).toMatch(message);
  });

  it("rows whose shapes differ at the same size", () => {
    const m = predictError({ instances: [[[1, 2], [3, 4]], [[1, 2, 3, 4]]] }, [{ name: "img", datatype: "FP32", shape: [-1, -1, -1] }]);
    expect(m).toBe("Failed to process element: 1 of 'instances' list. Error: Expecting shape [2,2] but got: [1,4] (input 'img')");
  });

  it("a plain list for a model with several inputs", () => {
    expect(predictError({ instances: [[1, 2]] }, TWO)).toBe(
      "instances is a plain list, but expecting list of objects as multiple input tensors are required (text,x)",
    );
  });

  it("a named row that misses an input", () => {
    expect(predictError({ instances: [{ x: [1, 2], text: "a" }, { x: [1, 2] }] }, TWO)).toBe(
      "Failed to process element: 1 of 'instances' list. JSON object keys must be equal to: text,x (missing 'text')",
    );
  });

  it("named rows whose values differ in size for one input", () => {
    expect(predictError({ instances: [{ x: [1, 2], text: "a" }, { x: [1, 2, 3], text: "b" }] }, TWO)).toBe(
      "Failed to process element: 1 key: x of 'instances' list. Error: Expecting tensor size: 2 but got: 3",
    );
  });

  it("a plain columnar value for a model with several inputs", () => {
    expect(predictError({ inputs: [[1, 2]] }, TWO)).toBe(
      "inputs is a plain value/list, but expecting an object as multiple input tensors are required (text,x)",
    );
  });

  it("a columnar object that misses an input", () => {
    expect(predictError({ inputs: { x: [[1, 2]] } }, TWO)).toBe("Missing named input: text in 'inputs' object.");
    // One input: an object that does not name it is not the tensor itself.
    expect(predictError({ inputs: { features: [[1, 2, 3, 4]] } })).toBe("Missing named input: input in 'inputs' object.");
  });

  it("a b64 value that is not base64", () => {
    expect(predictError({ instances: [{ b64: "not base64!" }] }, BLOB)).toMatch(/^Unable to base64 decode/);
    expect(predictError({ inputs: [{ b64: "abcde" }] }, BLOB)).toMatch(/^Unable to base64 decode/);
  });

  it('an object with "b64" and another key is not a binary value (it names inputs)', () => {
    expect(predictError({ instances: [{ b64: "aGk=", x: 1 }] }, BLOB)).toMatch(/does not have named input: b64/);
  });

  it("a b64 value for a numeric input", () => {
    expect(predictError({ instances: [[{ b64: "aGk=" }, 1, 2, 3]] })).toMatch(/^Input 'input' \(FP32 \[-1,4\]\) element 0 is a object/);
  });

  it("a model without inputs", () => {
    expect(predictError({ instances: [1] }, [])).toMatch(/declares no inputs/);
  });
});

describe("predict requests: accepted shapes", () => {
  it('signature_name "serving_default" and "" are the default signature', () => {
    for (const signature_name of ["serving_default", ""]) {
      const { request } = v1ToInferRequest({ signature_name, instances: [[1, 2, 3, 4]] }, IRIS);
      expect(request.inputs[0].shape).toEqual([1, 4]);
    }
  });

  it("row format with several inputs: one object per instance, batched along axis 0", () => {
    const { request, format } = v1ToInferRequest(
      { instances: [{ text: { b64: "AP8=" }, x: [1, 2] }, { x: [3, 4], text: "hé" }] },
      TWO,
    );
    expect(format).toBe("row");
    expect(request.inputs.map((t) => [t.name, t.shape])).toEqual([
      ["x", [2, 2]],
      ["text", [2]],
    ]);
    const text = request.inputs[1].data as Uint8Array[];
    expect(Array.from(text[0])).toEqual([0x00, 0xff]);
    expect(fromUtf8(text[1])).toBe("hé");
  });

  it("columnar format: inputs with different 0th dimensions", () => {
    const { request, format } = v1ToInferRequest({ inputs: { x: [[1, 2]], text: ["a", { b64: "Yg==" }, "c"] } }, TWO);
    expect(format).toBe("columnar");
    expect(request.inputs.map((t) => t.shape)).toEqual([[1, 2], [3]]);
    expect((request.inputs[1].data as Uint8Array[]).map(fromUtf8)).toEqual(["a", "b", "c"]);
  });

  it("columnar format: a single b64 value is the single input's scalar", () => {
    const { request } = v1ToInferRequest({ inputs: { b64: "aGk=" } }, BLOB);
    expect(request.inputs[0].shape).toEqual([]);
    expect(fromUtf8((request.inputs[0].data as Uint8Array[])[0])).toBe("hi");
  });

  it("URL-safe and unpadded base64 decode too", () => {
    const { request } = v1ToInferRequest({ instances: [{ b64: "_-8" }] }, BLOB);
    expect(Array.from((request.inputs[0].data as Uint8Array[])[0])).toEqual([0xff, 0xef]);
  });

  it("NaN / Infinity tokens reach float inputs as those values", () => {
    const body = parseV1Json('{"instances": [[NaN, Infinity, -Infinity, 1.5]]}');
    const { request } = v1ToInferRequest(body, IRIS);
    expect(Array.from(request.inputs[0].data as Float32Array)).toEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1.5,
    ]);
  });
});

describe("parseV1Json: TF Serving's JSON (rapidjson kParseNanAndInfFlag)", () => {
  it("standard JSON parses as JSON.parse does", () => {
    expect(parseV1Json('{"a": [1, "NaN", null]}')).toEqual({ a: [1, "NaN", null] });
  });

  it("reads NaN, Infinity, -Infinity, Inf and -Inf tokens outside strings", () => {
    const v = parseV1Json('{"v": [NaN, Infinity, -Infinity, Inf, -Inf, -1e3]}') as { v: number[] };
    expect(v.v).toEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -1000,
    ]);
  });

  it("leaves the same words inside strings alone, escapes included", () => {
    const v = parseV1Json('{"s": "NaN \\" Infinity", "t": ["-Infinity"], "n": NaN}') as Record<string, unknown>;
    expect(v).toEqual({ s: 'NaN " Infinity', t: ["-Infinity"], n: Number.NaN });
  });

  it.each([
    ["broken JSON", "{instances: [1]}"],
    ["a longer identifier", '{"v": NaNa}'],
    ["a token in broken JSON", '{"v": NaN'],
  ])("%s is a 400 JSON Parse error", (_what, text) => {
    expect(error(() => parseV1Json(text)).message).toMatch(/^JSON Parse error: /);
  });

  it("an empty body is TF Serving's empty-document error", () => {
    expect(error(() => parseV1Json(new Uint8Array(0))).message).toBe("JSON Parse error: The document is empty");
  });
});

const f32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: "FP32",
  shape,
  data: Float32Array.from(values),
});

describe("predict responses", () => {
  it("several outputs: a list of objects (row) and an object of tensors (columnar)", () => {
    const doubled = f32("doubled", [2, 2], [2, 4, 6, 8]);
    const total = f32("total", [2], [3, 7]);
    const words: Tensor = { name: "words", datatype: "BYTES", shape: [2], data: [utf8("a"), utf8("b")] };
    expect(tensorsToV1([doubled, total, words], "row")).toEqual({
      predictions: [
        { doubled: [2, 4], total: 3, words: "a" },
        { doubled: [6, 8], total: 7, words: "b" },
      ],
    });
    expect(tensorsToV1([doubled, total, words], "columnar")).toEqual({
      outputs: { doubled: [[2, 4], [6, 8]], total: [3, 7], words: ["a", "b"] },
    });
  });

  it("row format refuses outputs of different batch sizes, with TF Serving's message", () => {
    const err = error(() => tensorsToV1([f32("a", [2], [1, 2]), f32("b", [3], [1, 2, 3])], "row"));
    expect(err.message).toMatch(/^Tensor name: b has inconsistent batch size: 3 expecting: 2/);
  });

  it("row format refuses a scalar among several outputs", () => {
    const err = error(() => tensorsToV1([f32("a", [1], [1]), f32("s", [], [1])], "row"));
    expect(err.message).toMatch(/^Tensor name: s has no shape information/);
  });

  it("no outputs at all is TF Serving's error", () => {
    expect(error(() => tensorsToV1([], "row")).message).toBe("Cannot convert empty tensor map to JSON");
  });

  it("non-finite floats go out as bare NaN / Infinity tokens", () => {
    const body = tensorsToV1([f32("y", [4], [1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])], "row");
    expect(stringifyV1(body)).toBe('{"predictions":[1.5,NaN,Infinity,-Infinity]}');
    expect(stringifyV1(tensorsToV1([f32("y", [1], [Number.NaN]), f32("z", [1], [2])], "columnar"))).toBe(
      '{"outputs":{"y":[NaN],"z":[2]}}',
    );
    // In-process consumers that use JSON.stringify (graph steps) keep getting strings a float input reads back.
    expect(JSON.stringify(body)).toBe('{"predictions":[1.5,"NaN","Infinity","-Infinity"]}');
  });

  it("a string that happens to spell NaN stays a string", () => {
    const words: Tensor = { name: "w", datatype: "BYTES", shape: [2], data: [utf8("NaN"), utf8("Infinity")] };
    expect(stringifyV1(tensorsToV1([words, f32("y", [2], [Number.NaN, 1])], "row"))).toBe(
      '{"predictions":[{"w":"NaN","y":NaN},{"w":"Infinity","y":1}]}',
    );
  });

  it("answers without non-finite values are plain JSON", () => {
    expect(stringifyV1({ predictions: [1, 2] })).toBe('{"predictions":[1,2]}');
    expect(stringifyV1(tensorsToV1([f32("y", [1], [0.5])], "row"))).toBe('{"predictions":[0.5]}');
  });

  it("_bytes outputs are b64 in both formats; other BYTES outputs are strings", () => {
    const raw: Tensor = { name: "img_bytes", datatype: "BYTES", shape: [1], data: [new Uint8Array([0, 255])] };
    const txt: Tensor = { name: "label", datatype: "BYTES", shape: [1], data: [utf8("cat")] };
    expect(tensorsToV1([raw, txt], "row")).toEqual({ predictions: [{ img_bytes: { b64: "AP8=" }, label: "cat" }] });
    expect(tensorsToV1([raw, txt], "columnar")).toEqual({ outputs: { img_bytes: [{ b64: "AP8=" }], label: ["cat"] } });
  });

  it("64-bit integers beyond 2^53 go out as exact digit strings", () => {
    const big: Tensor = { name: "id", datatype: "INT64", shape: [2], data: new BigInt64Array([2n ** 60n, 5n]) };
    expect(tensorsToV1([big], "row")).toEqual({ predictions: ["1152921504606846976", 5] });
  });
});

describe("metadata and status documents", () => {
  const meta: ModelMetadata = {
    name: "mixed",
    platform: "onnx_onnxv1",
    inputs: [
      { name: "x", datatype: "FP32", shape: [-1, 2] },
      { name: "text", datatype: "BYTES", shape: [-1] },
    ],
    outputs: [{ name: "n", datatype: "INT64", shape: [] }],
  };

  it("GetModelMetadataResponse: serving_default with TF dtypes and -1 for dynamic dims", () => {
    expect(modelMetadataToTfServing(meta, "3")).toEqual({
      model_spec: { name: "mixed", signature_name: "", version: "3" },
      metadata: {
        signature_def: {
          signature_def: {
            serving_default: {
              inputs: {
                x: {
                  dtype: "DT_FLOAT",
                  tensor_shape: { dim: [{ size: "-1", name: "" }, { size: "2", name: "" }], unknown_rank: false },
                  name: "x",
                },
                text: { dtype: "DT_STRING", tensor_shape: { dim: [{ size: "-1", name: "" }], unknown_rank: false }, name: "text" },
              },
              outputs: { n: { dtype: "DT_INT64", tensor_shape: { dim: [], unknown_rank: false }, name: "n" } },
              method_name: "tensorflow/serving/predict",
              defaults: {},
            },
          },
        },
      },
    });
  });

  it("an unversioned model's model_spec has no version", () => {
    expect((modelMetadataToTfServing(meta, undefined).model_spec as object)).toEqual({ name: "mixed", signature_name: "" });
  });

  it("model_version_status maps the repository's states", () => {
    const ok = { error_code: "OK", error_message: "" };
    expect(
      modelVersionStatus([
        { name: "m", version: "1", state: "UNAVAILABLE", reason: "unloaded" },
        { name: "m", version: "2", state: "READY", reason: "" },
        { name: "m", version: "3", state: "LOADING", reason: "" },
        { name: "m", version: "4", state: "UNLOADING", reason: "" },
        { name: "m", version: "5", state: "UNAVAILABLE", reason: "Load model from /x failed: protobuf parsing failed" },
        { name: "m", version: "6", state: "UNKNOWN", reason: "" },
        { name: "m", state: "READY", reason: "" },
      ]),
    ).toEqual([
      { version: "1", state: "END", status: ok },
      { version: "2", state: "AVAILABLE", status: ok },
      { version: "3", state: "LOADING", status: ok },
      { version: "4", state: "UNLOADING", status: ok },
      { version: "5", state: "END", status: { error_code: "UNKNOWN", error_message: "Load model from /x failed: protobuf parsing failed" } },
      { version: "6", state: "UNKNOWN", status: ok },
    ]);
  });
});

describe(":classify / :regress requests: every 400 message", () => {
  it.each([
    ["a list body", [], /^Is not object: /],
    ["an unknown signature", { signature_name: "predict", examples: [{}] }, /^Serving signature name: "predict" not found/],
    ["a context that is not an object", { context: [1], examples: [{}] }, /^Example must be JSON object but got JSON Array \('context'\)$/],
    ["no examples", { context: {} }, /^When method is classify, key 'examples' is expected and was not found$/],
    ["examples that is not a list", { examples: {} }, /^Expecting 'examples' value to be a list\/array$/],
    ["empty examples", { examples: [] }, /^'examples' value is an empty array$/],
    ["an example that is not an object", { examples: [{ a: 1 }, 3] }, /^Example must be JSON object but got JSON Number \(examples\[1\]\)$/],
    ["a null feature", { examples: [{ a: null }] }, /^Feature: a has element with unexpected JSON type: Null$/],
    ["a nested list", { examples: [{ a: [[1]] }] }, /^Feature: a has element with unexpected JSON type: Array$/],
    ["an object that is not b64", { examples: [{ a: { x: 1 } }] }, /^Feature: a has element with unexpected JSON type: Object$/],
    ["numbers mixed with strings", { examples: [{ a: [1, "x"] }] }, /^Unexpected element type in feature: a expecting type: float$/],
    ["strings mixed with numbers", { examples: [{ a: ["x", 1] }] }, /^Unexpected element type in feature: a expecting type: bytes$/],
    ["a feature in both context and an example", { context: { a: 1 }, examples: [{ b: 1 }, { a: 2 }] }, /^Feature: a of examples\[1\] also appears in 'context'/],
  ])("%s", (_what, body, message) => {
    expect(error(() => parseExamplesRequest(body, "classify")).message).toMatch(message);
  });

  it("names the method in the missing-examples message", () => {
    expect(error(() => parseExamplesRequest({}, "regress")).message).toBe(
      "When method is regress, key 'examples' is expected and was not found",
    );
  });

  it("merges the context into every example; booleans are numbers, strings and b64 are bytes", () => {
    const r = parseExamplesRequest(
      { context: { c: [1, 2] }, examples: [{ a: true, s: "hi", b: { b64: "AP8=" } }, { a: 0.5 }] },
      "regress",
    );
    expect(r.examples).toHaveLength(2);
    expect(r.examples[0].a).toEqual({ kind: "number", values: [1] });
    expect(r.examples[0].c).toEqual({ kind: "number", values: [1, 2] });
    expect(r.examples[0].s.kind).toBe("bytes");
    expect(Array.from(r.examples[0].b.values[0] as Uint8Array)).toEqual([0, 255]);
    expect(r.examples[1]).toEqual({ a: { kind: "number", values: [0.5] }, c: { kind: "number", values: [1, 2] } });
  });
});

const IRIS_META = {
  name: "iris",
  inputs: IRIS,
  outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, 3] }] as TensorMetadata[],
};
const LINEAR_META = {
  name: "linear",
  inputs: [{ name: "x", datatype: "FP32", shape: [-1, 3] }] as TensorMetadata[],
  outputs: [{ name: "y", datatype: "FP32", shape: [-1, 1] }] as TensorMetadata[],
};

describe("planExamples: which models fit :classify / :regress", () => {
  const unfit = (meta: typeof IRIS_META, method: "classify" | "regress", options = {}) =>
    error(() => planExamples(meta, options, method)).message;

  it("iris fits :classify (one [N, 4] float input, a [N, 3] float output)", () => {
    const plan = planExamples(IRIS_META, {}, "classify");
    expect(plan.output.name).toBe("probabilities");
    expect(plan.width).toBe(4);
  });

  it("a linear model fits :regress ([N, 1] output); a [N] output does too", () => {
    expect(planExamples(LINEAR_META, {}, "regress").output.name).toBe("y");
    const scale = {
      name: "scale",
      inputs: [{ name: "x", datatype: "FP32", shape: [-1] }] as TensorMetadata[],
      outputs: [{ name: "y", datatype: "FP32", shape: [-1] }] as TensorMetadata[],
    };
    expect(planExamples(scale, {}, "regress").width).toBe(1);
  });

  it("prefers a probability-like output among several [N, C] ones", () => {
    const meta = {
      ...IRIS_META,
      outputs: [
        { name: "logits", datatype: "FP32", shape: [-1, 3] },
        { name: "output_probability", datatype: "FP32", shape: [-1, 3] },
      ] as TensorMetadata[],
    };
    expect(planExamples(meta, {}, "classify").output.name).toBe("output_probability");
  });

  it.each([
    ["two inputs", { ...IRIS_META, inputs: TWO }, "classify", /^Model iris cannot serve :classify: it needs exactly one float input \[N, F\], and the model's inputs are: x \(FP32 \[-1,2\]\), text \(BYTES \[-1\]\)$/],
    ["an integer input", { ...IRIS_META, inputs: [{ name: "ids", datatype: "INT64", shape: [-1, 4] }] }, "classify", /its input ids \(INT64 \[-1,4\]\) is not FP32 or FP64$/],
    ["a rank-3 input", { ...IRIS_META, inputs: [{ name: "img", datatype: "FP32", shape: [-1, 2, 2] }] }, "classify", /is not \[N, F\] or \[N\]$/],
    ["no [N, C] output", { ...IRIS_META, outputs: [{ name: "label", datatype: "INT64", shape: [-1] }] }, "classify", /it needs a float output \[N, C\] of class scores, and the model's outputs are: label \(INT64 \[-1\]\)$/],
    ["no [N] or [N, 1] output", IRIS_META, "regress", /^Model iris cannot serve :regress: it needs a float output \[N\] or \[N, 1\], and the model's outputs are: probabilities \(FP32 \[-1,3\]\)$/],
  ] as const)("%s is a 400 explaining why", (_what, meta, method, message) => {
    expect(unfit(meta as typeof IRIS_META, method)).toMatch(message);
  });

  it("settings that disagree with the model are a 400", () => {
    expect(unfit(IRIS_META, "classify", { features: ["a", "b"] })).toMatch(
      /'features' names 2 features, but input 'input' has 4$/,
    );
    expect(unfit(IRIS_META, "classify", { classLabels: ["a", "b"] })).toMatch(
      /'classLabels' has 2 labels, but output 'probabilities' has 3 classes$/,
    );
  });
});

describe("examplesToInferRequest", () => {
  const plan = (options = {}, meta = LINEAR_META): ExamplesPlan => planExamples(meta, options, "regress");
  const build = (body: unknown, p: ExamplesPlan) => examplesToInferRequest(parseExamplesRequest(body, "regress"), p);

  it("with 'features', column j is feature j, whatever order the example lists them in; context fills in", () => {
    const request = build(
      { context: { c: 3 }, examples: [{ b: 2, a: 1 }, { a: [4], b: 5 }] },
      plan({ features: ["a", "b", "c"] }),
    );
    expect(request.inputs[0]).toMatchObject({ name: "x", datatype: "FP32", shape: [2, 3] });
    expect(Array.from(request.inputs[0].data as Float32Array)).toEqual([1, 2, 3, 4, 5, 3]);
    expect(request.outputs).toEqual([{ name: "y" }]);
  });

  it("without 'features', an example holds the input's values under the input's name", () => {
    const request = build({ examples: [{ x: [1, 2, 3] }] }, plan());
    expect(Array.from(request.inputs[0].data as Float32Array)).toEqual([1, 2, 3]);
  });

  it("a dynamic width is taken from the first example; FP64 inputs get Float64Array", () => {
    const meta = { ...LINEAR_META, inputs: [{ name: "x", datatype: "FP64", shape: [-1, -1] }] as TensorMetadata[] };
    const request = build({ examples: [{ x: [1, 2] }, { x: [3, 4] }] }, plan({}, meta));
    expect(request.inputs[0].shape).toEqual([2, 2]);
    expect(request.inputs[0].data).toBeInstanceOf(Float64Array);
    expect(error(() => build({ examples: [{ x: [1, 2] }, { x: [3] }] }, plan({}, meta))).message).toMatch(
      /^Feature: x of examples\[1\] has 1 values, expecting 2/,
    );
  });

  it("a rank-1 input takes one value per example, shape [N]", () => {
    const meta = { ...LINEAR_META, inputs: [{ name: "x", datatype: "FP32", shape: [-1] }] as TensorMetadata[] };
    const request = build({ examples: [{ x: 1 }, { x: 2.5 }] }, plan({}, meta));
    expect(request.inputs[0].shape).toEqual([2]);
    expect(Array.from(request.inputs[0].data as Float32Array)).toEqual([1, 2.5]);
  });

  it.each([
    ["an unknown feature", { examples: [{ a: 1, b: 2, c: 3, d: 4 }] }, { features: ["a", "b", "c"] }, /^examples\[0\] has feature 'd', which is not one of the model's features \(a, b, c\)$/],
    ["a missing feature", { examples: [{ a: 1, c: 3 }] }, { features: ["a", "b", "c"] }, /^examples\[0\] is missing feature 'b' \(features: a, b, c\)$/],
    ["a feature with several values", { examples: [{ a: [1, 2], b: 2, c: 3 }] }, { features: ["a", "b", "c"] }, /^Feature: a of examples\[0\] must hold one number, got 2 values$/],
    ["a bytes feature", { examples: [{ a: "x", b: 2, c: 3 }] }, { features: ["a", "b", "c"] }, /^Feature: a of examples\[0\] holds bytes; the model's input is numeric$/],
    ["other features without 'features'", { examples: [{ a: 1, b: 2, c: 3 }] }, {}, /^examples\[0\] must hold exactly one feature, 'x', with the input's values \(got 'a', 'b', 'c'\)/],
    ["the wrong number of values", { examples: [{ x: [1, 2] }] }, {}, /^Feature: x of examples\[0\] has 2 values, expecting 3/],
  ])("%s is a 400", (_what, body, options, message) => {
    expect(error(() => build(body, plan(options))).message).toMatch(message);
  });
});

describe("classify / regress results", () => {
  const probs = f32("probabilities", [2, 3], [0.1, 0.7, 0.2, Number.NaN, 0, 1]);

  it('classify: [[label, score], …] per example, labels "0".."C-1" by default', () => {
    const plan = planExamples(IRIS_META, {}, "classify");
    const body = classifyResults([probs], plan, 2);
    expect(stringifyV1(body)).toBe(
      `{"results":[[["0",${Math.fround(0.1)}],["1",${Math.fround(0.7)}],["2",${Math.fround(0.2)}]],[["0",NaN],["1",0],["2",1]]]}`,
    );
    expect((body.results as unknown[][][])[1][0][1]).toBeInstanceOf(NonFiniteNumber);
  });

  it("classify: labels from classLabels", () => {
    const plan = planExamples(IRIS_META, { classLabels: ["setosa", "versicolor", "virginica"] }, "classify");
    const results = classifyResults([f32("probabilities", [1, 3], [0, 1, 0])], plan, 1).results;
    expect(results).toEqual([[["setosa", 0], ["versicolor", 1], ["virginica", 0]]]);
  });

  it("classify: labels that do not match the classes the model returned are a 400", () => {
    const plan = planExamples({ ...IRIS_META, outputs: [{ name: "p", datatype: "FP32", shape: [-1, -1] }] }, { classLabels: ["a", "b"] }, "classify");
    expect(error(() => classifyResults([f32("p", [1, 3], [0, 1, 0])], plan, 1)).message).toMatch(/'classLabels' has 2 labels/);
  });

  it("regress: one value per example from [N, 1] or [N]", () => {
    const plan = planExamples(LINEAR_META, {}, "regress");
    expect(regressResults([f32("y", [2, 1], [14.5, -1])], plan, 2)).toEqual({ results: [14.5, -1] });
    expect(stringifyV1(regressResults([f32("y", [2], [Number.POSITIVE_INFINITY, 3])], plan, 2))).toBe(
      '{"results":[Infinity,3]}',
    );
  });

  it("an answer for the wrong number of examples is the model's fault: 500", () => {
    const plan = planExamples(LINEAR_META, {}, "regress");
    const err = error(() => regressResults([f32("y", [3, 1], [1, 2, 3])], plan, 2), 500);
    expect(err).toBeInstanceOf(InferenceError);
    expect(err.message).toMatch(/returned output 'y' with shape \[3,1\] for 2 examples/);
  });
});

describe("model-settings.json keys for the TF Serving dialect", () => {
  it("reads versionLabels (or version_labels), features and classLabels (or class_labels)", () => {
    expect(
      parseModelSettings({ versionLabels: { stable: 1, canary: "2" }, features: ["a", "b"], class_labels: ["no", "yes"] }),
    ).toEqual({ versionLabels: { stable: 1, canary: 2 }, features: ["a", "b"], classLabels: ["no", "yes"] });
    expect(parseModelSettings({ version_labels: { prod: 3 } }).versionLabels).toEqual({ prod: 3 });
  });

  it.each([
    [{ versionLabels: [1] }, /'versionLabels' must be an object/],
    [{ versionLabels: { stable: 0 } }, /versionLabels.stable must be a version number/],
    [{ versionLabels: { "a/b": 1 } }, /may not be empty or contain '\/' or ':'/],
    [{ features: "a" }, /'features' must be a list of strings/],
    [{ features: ["a", "a"] }, /'features' must list distinct, non-empty feature names/],
    [{ classLabels: [1, 2] }, /'classLabels' must be a list of strings/],
  ])("rejects %j", (raw, message) => {
    expect(error(() => parseModelSettings(raw)).message).toMatch(message);
  });
});
