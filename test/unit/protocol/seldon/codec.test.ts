import { describe, expect, it } from "vitest";
import {
  buildMeta,
  buildResponse,
  dataToArray,
  isSeldonResponse,
  messageNames,
  messagePayload,
  payloadKind,
  SeldonResponse,
} from "../../../../packages/server/src/protocol/seldon/codec.ts";
import { SeldonError } from "../../../../packages/server/src/protocol/seldon/errors.ts";
import { NDArray } from "../../../../packages/server/src/protocol/seldon/ndarray.ts";
import { parseSeldonMessage } from "../../../../packages/server/src/protocol/seldon/request.ts";
import { arrayToTfTensor, tfTensorToArray } from "../../../../packages/server/src/protocol/seldon/tftensor.ts";
import type { SeldonMessage, TfTensor } from "../../../../packages/server/src/protocol/seldon/types.ts";

function seldonError(fn: () => unknown): SeldonError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SeldonError);
    return err as SeldonError;
  }
  throw new Error("expected a SeldonError");
}

const NDARRAY_REQ: SeldonMessage = { data: { ndarray: [[1, 2]] } };
const TENSOR_REQ: SeldonMessage = { data: { tensor: { shape: [1, 2], values: [1, 2] } } };
const TFTENSOR_REQ: SeldonMessage = {
  data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 1 }, { size: 2 }] }, float_val: [1, 2] } },
};
const STR_REQ: SeldonMessage = { strData: "hello" };
const BIN_REQ: SeldonMessage = { binData: Buffer.from("hi").toString("base64") };
const JSON_REQ: SeldonMessage = { jsonData: { a: 1 } };

describe("payloadKind and messagePayload: what the component receives", () => {
  it("names the payload field a message carries", () => {
    expect(payloadKind(NDARRAY_REQ)).toBe("ndarray");
    expect(payloadKind(TENSOR_REQ)).toBe("tensor");
    expect(payloadKind(TFTENSOR_REQ)).toBe("tftensor");
    expect(payloadKind(STR_REQ)).toBe("strData");
    expect(payloadKind(BIN_REQ)).toBe("binData");
    expect(payloadKind(JSON_REQ)).toBe("jsonData");
    expect(payloadKind({ data: { names: ["a"] } })).toBe("ndarray");
    expect(payloadKind({})).toBe("none");
    expect(payloadKind(undefined)).toBe("none");
  });

  it("data.tensor is reshaped into an NDArray", () => {
    const x = messagePayload({ data: { tensor: { shape: [2, 3], values: [1, 2, 3, 4, 5, 6] } } }) as NDArray;
    expect(x).toBeInstanceOf(NDArray);
    expect(x.shape).toEqual([2, 3]);
    expect(x.get(1, 0)).toBe(4);
  });

  it("data.ndarray is given as it is; ints stay ints", () => {
    const x = messagePayload({ data: { ndarray: [[1, 2], [3, 4]] } }) as NDArray;
    expect(x.shape).toEqual([2, 2]);
    expect(x.dtype).toBe("int64");
    expect(x.toArray()).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it("data without tensor, ndarray or tftensor is an empty array", () => {
    const x = messagePayload({ data: { names: ["a", "b"] } }) as NDArray;
    expect(x.shape).toEqual([0]);
    expect(x.size).toBe(0);
  });

  it("strData is a string, binData decoded bytes, jsonData the parsed value", () => {
    expect(messagePayload(STR_REQ)).toBe("hello");
    const bytes = messagePayload({ binData: Buffer.from([0, 1, 255]).toString("base64") });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([...(bytes as Uint8Array)]).toEqual([0, 1, 255]);
    expect(messagePayload({ jsonData: { a: [1, 2] } })).toEqual({ a: [1, 2] });
    expect(messagePayload({ jsonData: [1, "x"] })).toEqual([1, "x"]);
  });

  it("a message with no payload field is 400 Invalid request data type", () => {
    const err = seldonError(() => messagePayload({ meta: { puid: "p" } }));
    expect(err.status).toBe(400);
    expect(err.reason).toBe("MICROSERVICE_BAD_DATA");
    expect(err.message).toMatch(/Invalid request data type/);
  });

  it("messageNames reads data.names, or []", () => {
    expect(messageNames({ data: { names: ["a", "b"], ndarray: [[1, 2]] } })).toEqual(["a", "b"]);
    expect(messageNames(STR_REQ)).toEqual([]);
    expect(messageNames(undefined)).toEqual([]);
  });

  it("a tensor whose shape does not match its values is a 400", () => {
    const err = seldonError(() => dataToArray({ tensor: { shape: [2, 2], values: [1, 2, 3] } }));
    expect(err.status).toBe(400);
    expect(err.reason).toBe("MICROSERVICE_BAD_DATA");
    expect(err.message).toMatch(/data\.tensor/);
    expect(err.message).toMatch(/4 values, got 3/);
  });
});

describe("buildResponse: Seldon's construct_response_json", () => {
  const rules: { what: string; result: unknown; request: SeldonMessage | undefined; expected: SeldonMessage }[] = [
    {
      what: "a dict -> jsonData",
      result: { label: "cat", p: 0.9 },
      request: NDARRAY_REQ,
      expected: { jsonData: { label: "cat", p: 0.9 }, meta: {} },
    },
    {
      what: "bytes -> base64 binData",
      result: new Uint8Array([0, 1, 254, 255]),
      request: BIN_REQ,
      expected: { binData: Buffer.from([0, 1, 254, 255]).toString("base64"), meta: {} },
    },
    {
      what: "a Buffer view -> only its own bytes as binData",
      result: Buffer.from("xxhelloxx").subarray(2, 7),
      request: BIN_REQ,
      expected: { binData: Buffer.from("hello").toString("base64"), meta: {} },
    },
    {
      what: "a string -> strData",
      result: "hello back",
      request: STR_REQ,
      expected: { strData: "hello back", meta: {} },
    },
    {
      what: "ndarray in, 2-D ints out -> ndarray with ints and t:i names",
      result: [
        [1, 2],
        [3, 4],
      ],
      request: NDARRAY_REQ,
      expected: {
        data: {
          names: ["t:0", "t:1"],
          ndarray: [
            [1, 2],
            [3, 4],
          ],
        },
        meta: {},
      },
    },
    {
      what: "tensor in, numbers out -> tensor with the result's shape",
      result: [
        [0.5, 1.5, 2.5],
        [3, 4, 5],
      ],
      request: TENSOR_REQ,
      expected: {
        data: { names: ["t:0", "t:1", "t:2"], tensor: { shape: [2, 3], values: [0.5, 1.5, 2.5, 3, 4, 5] } },
        meta: {},
      },
    },
    {
      what: "tensor in, strings out -> ndarray (non-numeric results never become tensors)",
      result: [["a", "b"]],
      request: TENSOR_REQ,
      expected: { data: { names: ["t:0", "t:1"], ndarray: [["a", "b"]] }, meta: {} },
    },
    {
      what: "tensor in, booleans out -> ndarray",
      result: [true, false],
      request: TENSOR_REQ,
      expected: { data: { names: [], ndarray: [true, false] }, meta: {} },
    },
    {
      what: "strData in, numbers out -> tensor",
      result: [1, 2, 3],
      request: STR_REQ,
      expected: { data: { names: [], tensor: { shape: [3], values: [1, 2, 3] } }, meta: {} },
    },
    {
      what: "binData in, numbers out -> tensor",
      result: [[7]],
      request: BIN_REQ,
      expected: { data: { names: ["t:0"], tensor: { shape: [1, 1], values: [7] } }, meta: {} },
    },
    {
      what: "no request (health status), numbers out -> tensor",
      result: [1, 2],
      request: undefined,
      expected: { data: { names: [], tensor: { shape: [2], values: [1, 2] } }, meta: {} },
    },
    {
      what: "ndarray in, 1-D out -> names []",
      result: [0.1, 0.9],
      request: NDARRAY_REQ,
      expected: { data: { names: [], ndarray: [0.1, 0.9] }, meta: {} },
    },
    {
      what: "an NDArray result is serialised with its shape",
      result: new NDArray(Float64Array.of(1, 2, 3, 4), [2, 2]),
      request: TENSOR_REQ,
      expected: { data: { names: ["t:0", "t:1"], tensor: { shape: [2, 2], values: [1, 2, 3, 4] } }, meta: {} },
    },
    {
      what: "a Float32Array result -> data",
      result: new Float32Array([0.5, 0.25]),
      request: NDARRAY_REQ,
      expected: { data: { names: [], ndarray: [0.5, 0.25] }, meta: {} },
    },
    {
      what: "an empty list -> empty ndarray",
      result: [],
      request: NDARRAY_REQ,
      expected: { data: { names: [], ndarray: [] }, meta: {} },
    },
  ];

  for (const rule of rules) {
    it(rule.what, () => {
      expect(buildResponse(rule.result, rule.request)).toEqual(rule.expected);
    });
  }

  it("class names replace t:i for 2-D results only", () => {
    const two = buildResponse([[0.1, 0.9]], NDARRAY_REQ, { classNames: ["cat", "dog"] });
    expect(two.data?.names).toEqual(["cat", "dog"]);
    const one = buildResponse([0.1, 0.9], NDARRAY_REQ, { classNames: ["cat", "dog"] });
    expect(one.data?.names).toEqual([]);
  });

  it("tftensor in, numbers out -> tftensor keeping the request's float dtype, in Seldon's camelCase JSON", () => {
    const ints = buildResponse([[1, 2]], TFTENSOR_REQ);
    expect(ints.data?.tftensor).toEqual({ dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "1" }, { size: "2" }] }, floatVal: [1, 2] });
    const floats = buildResponse([[1.5, 0.1 + 0.2]], TFTENSOR_REQ);
    // float32 values written as float32 prints them (0.3, not 0.30000001192092896), as MessageToJson does
    expect(floats.data?.tftensor).toEqual({ dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "1" }, { size: "2" }] }, floatVal: [1.5, 0.3] });
    expect(floats.data?.names).toEqual(["t:0", "t:1"]);
  });

  it("a DT_DOUBLE request answers DT_DOUBLE; an integer request keeps its dtype while the values fit it", () => {
    const tf = (dtype: string, field: string, values: unknown[]): SeldonMessage =>
      ({ data: { tftensor: { dtype, tensorShape: { dim: [{ size: String(values.length) }] }, [field]: values } } }) as SeldonMessage;
    expect(buildResponse([3, 4], tf("DT_DOUBLE", "doubleVal", [1, 2])).data?.tftensor).toEqual({
      dtype: "DT_DOUBLE",
      tensorShape: { dim: [{ size: "2" }] },
      doubleVal: [3, 4],
    });
    expect(buildResponse([3, -4], tf("DT_INT32", "intVal", [1, 2])).data?.tftensor).toEqual({
      dtype: "DT_INT32",
      tensorShape: { dim: [{ size: "2" }] },
      intVal: [3, -4],
    });
    // -4 does not fit DT_UINT8, and 1.5 is no integer: numpy's defaults then
    expect(buildResponse([3, -4], tf("DT_UINT8", "intVal", [1, 2])).data?.tftensor).toMatchObject({ dtype: "DT_INT64", int64Val: ["3", "-4"] });
    expect(buildResponse([1.5], tf("DT_INT64", "int64Val", ["1"])).data?.tftensor).toMatchObject({ dtype: "DT_DOUBLE", doubleVal: [1.5] });
    // non-finite floats as proto3 JSON writes them
    expect(buildResponse([Number.NaN, Number.NEGATIVE_INFINITY], tf("DT_DOUBLE", "doubleVal", [1, 2])).data?.tftensor?.doubleVal).toEqual(["NaN", "-Infinity"]);
  });

  it("a float tftensor passed through stays a float tftensor", () => {
    const x = messagePayload(TFTENSOR_REQ);
    const out = buildResponse(x, TFTENSOR_REQ);
    expect(out.data?.tftensor?.dtype).toBe("DT_FLOAT");
    expect(tfTensorToArray(out.data!.tftensor!).toArray()).toEqual([[1, 2]]);
  });

  for (const [what, value] of [
    ["a number", 42],
    ["undefined", undefined],
    ["null", null],
    ["a boolean", true],
    ["a Map", new Map([["a", 1]])],
    ["a class instance", new (class Prediction {})()],
  ] as const) {
    it(`${what} is 400 Unknown data type returned as payload`, () => {
      const err = seldonError(() => buildResponse(value, NDARRAY_REQ));
      expect(err.status).toBe(400);
      expect(err.reason).toBe("MICROSERVICE_BAD_DATA");
      expect(err.message).toMatch(/^Unknown data type returned as payload \(must be list or np array\)/);
    });
  }
});

describe("buildMeta: puid, tags, metrics, requestPath", () => {
  const requestMeta = {
    puid: "abc",
    tags: { from: "request", shared: "request" },
    metrics: [{ key: "upstream", type: "COUNTER" as const, value: 1 }],
    requestPath: { upstream: "img:1" },
  };

  it("copies the puid and merges tags: request, then tags(), then runtime tags", () => {
    const meta = buildMeta(requestMeta, {
      tags: [{ static: "tag", shared: "static" }, { runtime: "tag", shared: "runtime" }],
    });
    expect(meta.puid).toBe("abc");
    expect(meta.tags).toEqual({ from: "request", static: "tag", runtime: "tag", shared: "runtime" });
  });

  it("puts the request's metrics first, then the component's", () => {
    const meta = buildMeta(requestMeta, {
      metrics: [
        { key: "mine", type: "GAUGE", value: 2 },
        { key: "runtime", type: "COUNTER", value: 3 },
      ],
    });
    expect(meta.metrics?.map((m) => m.key)).toEqual(["upstream", "mine", "runtime"]);
  });

  it("keeps only the request's metrics when includeMetrics is false", () => {
    const meta = buildMeta(requestMeta, { metrics: [{ key: "mine", type: "GAUGE", value: 2 }], includeMetrics: false });
    expect(meta.metrics).toEqual(requestMeta.metrics);
  });

  it("adds this unit to requestPath; incoming entries win", () => {
    expect(buildMeta(requestMeta, { requestPath: { me: "my-image:2" } }).requestPath).toEqual({ upstream: "img:1", me: "my-image:2" });
    expect(buildMeta({ requestPath: { me: "theirs" } }, { requestPath: { me: "mine" } }).requestPath).toEqual({ me: "theirs" });
  });

  it("echoes only the puid for route answers", () => {
    expect(buildMeta(requestMeta, { puidOnly: true, tags: [{ a: 1 }] })).toEqual({ puid: "abc" });
  });

  it("is {} when there is nothing to say", () => {
    expect(buildMeta(undefined, {})).toEqual({});
    expect(buildMeta({}, { tags: [undefined, {}], metrics: [] })).toEqual({});
  });
});

describe("tftensor", () => {
  it("reads float, int, bool and string tensors", () => {
    const f = tfTensorToArray({ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 2 }, { size: 2 }] }, float_val: [1, 2.5, 3, 4] });
    expect(f.shape).toEqual([2, 2]);
    expect(f.toArray()).toEqual([
      [1, 2.5],
      [3, 4],
    ]);
    const i = tfTensorToArray({ dtype: "DT_INT64", tensor_shape: { dim: [{ size: "3" }] }, int64_val: ["1", "-2", "3"] });
    expect(i.dtype).toBe("int64");
    expect(i.toArray()).toEqual([1, -2, 3]);
    const b = tfTensorToArray({ dtype: "DT_BOOL", tensor_shape: { dim: [{ size: 2 }] }, bool_val: [true, false] });
    expect(b.toArray()).toEqual([true, false]);
    const s = tfTensorToArray({
      dtype: "DT_STRING",
      tensor_shape: { dim: [{ size: 2 }] },
      string_val: [Buffer.from("héllo").toString("base64"), Buffer.from("x").toString("base64")],
    });
    expect(s.toArray()).toEqual(["héllo", "x"]);
  });

  it("keeps the float/int kind of the dtype, whatever the values", () => {
    expect(tfTensorToArray({ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 2 }] }, float_val: [1, 2] }).dtype).toBe("float64");
    expect(tfTensorToArray({ dtype: "DT_INT32", tensor_shape: { dim: [{ size: 2 }] }, int_val: [1, 2] }).dtype).toBe("int64");
  });

  it("repeats a single value over the whole shape, as TensorProto does", () => {
    const x = tfTensorToArray({ dtype: "DT_DOUBLE", tensor_shape: { dim: [{ size: 2 }, { size: 3 }] }, double_val: [7] });
    expect(x.toArray()).toEqual([
      [7, 7, 7],
      [7, 7, 7],
    ]);
  });

  it("reads the lowerCamelCase proto3 JSON that Seldon's Python client (MessageToJson) sends", () => {
    const t = { dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "1" }, { size: "3" }] }, floatVal: [0.5, 1, 2] } as unknown as TfTensor;
    expect(tfTensorToArray(t).toArray()).toEqual([[0.5, 1, 2]]);
  });

  it("round-trips through arrayToTfTensor for every dtype", () => {
    const arrays = [
      NDArray.from([
        [1, 2],
        [3, 4],
      ]),
      NDArray.from([[1.25, -2.5, 3]]),
      NDArray.from([true, false, true]),
      NDArray.from([["a", "ß"], ["c", "d"]]),
    ];
    for (const a of arrays) {
      const t = arrayToTfTensor(a);
      expect(t.tensorShape?.dim?.map((d) => d.size)).toEqual(a.shape.map(String));
      const back = tfTensorToArray(JSON.parse(JSON.stringify(t)));
      expect(back.shape).toEqual(a.shape);
      expect(back.toArray()).toEqual(a.toArray());
    }
    expect(arrayToTfTensor(NDArray.from([1, 2])).dtype).toBe("DT_INT64");
    expect(arrayToTfTensor(NDArray.from([1.5])).dtype).toBe("DT_DOUBLE");
    expect(arrayToTfTensor(NDArray.from([true])).dtype).toBe("DT_BOOL");
    expect(arrayToTfTensor(NDArray.from(["s"])).dtype).toBe("DT_STRING");
    // a scalar has a shape with no dims; an empty array no values, as MessageToJson leaves them out
    expect(arrayToTfTensor(NDArray.from(7))).toEqual({ dtype: "DT_INT64", tensorShape: {}, int64Val: ["7"] });
    expect(arrayToTfTensor(NDArray.from([]))).toEqual({ dtype: "DT_DOUBLE", tensorShape: { dim: [{ size: "0" }] } });
  });

  it("reads tensor_content, where tensorflow's make_tensor_proto puts more than one value", () => {
    const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
    const floats = { dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "2" }, { size: "2" }] }, tensorContent: b64(Float32Array.of(1.5, 2.25, -3, 0.5)) };
    expect(tfTensorToArray(floats as TfTensor).toArray()).toEqual([
      [1.5, 2.25],
      [-3, 0.5],
    ]);
    const ints = { dtype: "DT_INT64", tensor_shape: { dim: [{ size: "2" }] }, tensor_content: b64(BigInt64Array.of(1n, -2n)) };
    const a = tfTensorToArray(ints as TfTensor);
    expect([a.dtype, a.toArray()]).toEqual(["int64", [1, -2]]);
    const half = { dtype: "DT_HALF", tensorShape: { dim: [{ size: "2" }] }, tensorContent: b64(Uint16Array.of(0x3e00, 0xc000)) };
    expect(tfTensorToArray(half as TfTensor).toArray()).toEqual([1.5, -2]);
    const bools = { dtype: "DT_BOOL", tensorShape: { dim: [{ size: "3" }] }, tensorContent: b64(Uint8Array.of(1, 0, 1)) };
    expect(tfTensorToArray(bools as TfTensor).toArray()).toEqual([true, false, true]);
  });

  it("refuses tensor_content that does not hold the shape's values, with 400", () => {
    const b64 = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");
    const cases: [unknown, RegExp][] = [
      [{ dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "3" }] }, tensorContent: b64(Float32Array.of(1, 2)) }, /holds 2 values, but shape \[3\] needs 3/],
      [{ dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "4" }] }, tensorContent: b64(Float32Array.of(1)) }, /holds 1 value, but shape \[4\] needs 4/],
      [{ dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "1" }] }, tensorContent: b64(Uint8Array.of(1, 2, 3)) }, /3 bytes is not a whole number of DT_FLOAT values/],
      [{ dtype: "DT_STRING", tensorShape: { dim: [{ size: "1" }] }, tensorContent: "aGk=" }, /cannot hold DT_STRING/],
      [{ dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "1" }] }, tensorContent: 5 }, /tensor_content: must be a base64 string/],
    ];
    for (const [tftensor, message] of cases) {
      const e = seldonError(() => parseSeldonMessage({ data: { tftensor } }));
      expect(e.status).toBe(400);
      expect(e.message).toMatch(message);
    }
  });

  it("rejects unknown dtypes and shape/value mismatches with 400", () => {
    const unknown = seldonError(() => tfTensorToArray({ dtype: "DT_COMPLEX64", tensor_shape: { dim: [{ size: 1 }] } }));
    expect(unknown.status).toBe(400);
    expect(unknown.message).toMatch(/unsupported dtype "DT_COMPLEX64"/);
    const mismatch = seldonError(() =>
      tfTensorToArray({ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 2 }, { size: 2 }] }, float_val: [1, 2, 3] }),
    );
    expect(mismatch.status).toBe(400);
    expect(mismatch.message).toMatch(/needs 4 values, got 3/);
    const negative = seldonError(() => tfTensorToArray({ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: -1 }] }, float_val: [1] }));
    expect(negative.status).toBe(400);
  });
});

describe("SeldonResponse", () => {
  it("carries data, tags and metrics and is recognised by its mark", () => {
    const r = new SeldonResponse([[1]], { a: "b" }, [{ type: "COUNTER", key: "k", value: 1 }]);
    expect(isSeldonResponse(r)).toBe(true);
    expect(r.data).toEqual([[1]]);
    expect(r.tags).toEqual({ a: "b" });
    expect(isSeldonResponse(SeldonResponse.create("x"))).toBe(true);
    expect(isSeldonResponse({ data: [[1]], tags: {}, metrics: [] })).toBe(false);
  });
});
