/**
 * The same request through REST JSON, REST binary (Triton's binary tensor extension), gRPC raw contents and,
 * where the datatypes allow, gRPC typed contents must give identical tensors, bit for bit; and the same failure
 * must map to corresponding statuses (404 <-> NOT_FOUND, 400 <-> INVALID_ARGUMENT, 503 <-> UNAVAILABLE,
 * 500 <-> INTERNAL) with the same message.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { numberToHalf } from "../../packages/server/src/tensor/index.ts";
import DoublerModel from "../fixtures/modules/doubler.ts";
import StrictModel from "../fixtures/modules/strict.ts";
import ThrowingModel from "../fixtures/modules/thrower.ts";
import {
  bool,
  bytesRaw,
  Code,
  decodeRaw,
  f16Bits,
  f32,
  f64,
  type GrpcClient,
  grpcClient,
  i32,
  i64,
  type ModelInferRequestMessage,
  type ModelInferResponseMessage,
  u8,
} from "./grpc-util.ts";
import {
  binaryBody,
  FIXTURES,
  get,
  IRIS_DIR,
  MULTI_IO_DIR,
  post,
  postBytes,
  type Reply,
  type Running,
  readJson,
  SCALE_ALL_DIR,
  splitBinaryResponse,
  startWith,
  TYPES_DIR,
} from "./util.ts";

type Value = number | bigint | boolean | string;

interface InputCase {
  name: string;
  datatype: string;
  shape: number[];
  values: Value[];
}

interface InferCase {
  label: string;
  model: string;
  version?: string;
  inputs: InputCase[];
  outputs?: string[];
}

/** A tensor reduced to what must match across protocols: bytes as hex (bit-exact), BYTES as their elements. */
interface Normalized {
  name: string;
  datatype: string;
  shape: number[];
  data: string | string[];
}

function toHex(bytes: ArrayBufferView): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Raw little-endian bytes of a tensor's values (BYTES length-prefixed), as every binary protocol carries them. */
function rawOf(datatype: string, values: Value[]): Buffer {
  switch (datatype) {
    case "FP32":
      return f32(values as number[]);
    case "FP64":
      return f64(values as number[]);
    case "FP16":
      return f16Bits((values as number[]).map(numberToHalf));
    case "INT32":
      return i32(values as number[]);
    case "INT64":
      return i64(values as (number | bigint)[]);
    case "UINT8":
      return u8(values as number[]);
    case "BOOL":
      return bool(values as boolean[]);
    case "BYTES":
      return bytesRaw(values as string[]);
    default:
      throw new Error(`no encoder for ${datatype} in this test`);
  }
}

/** JSON `data` for REST: INT64 as numbers (the cases keep them below 2^53). */
function jsonOf(datatype: string, values: Value[]): unknown[] {
  if (datatype === "INT64") {
    return values.map((v) => {
      const n = Number(v);
      expect(Number.isSafeInteger(n)).toBe(true);
      return n;
    });
  }
  return values;
}

/** JSON output data -> the bytes it stands for. */
function normalizeJsonData(datatype: string, data: unknown[]): string | string[] {
  if (datatype === "BYTES") return data as string[];
  if (datatype === "INT64") return toHex(BigInt64Array.from((data as number[]).map((v) => BigInt(v))));
  if (datatype === "BOOL") return toHex(Uint8Array.from((data as boolean[]).map((v) => (v ? 1 : 0))));
  return toHex(rawOf(datatype, data as Value[]));
}

function normalizeRaw(datatype: string, bytes: Uint8Array): string | string[] {
  return datatype === "BYTES" ? (decodeRaw("BYTES", bytes) as string[]) : toHex(bytes);
}

const TYPED_FIELD: Record<string, string> = {
  FP32: "fp32_contents",
  FP64: "fp64_contents",
  INT32: "int_contents",
  INT64: "int64_contents",
  UINT8: "uint_contents",
  BOOL: "bool_contents",
  BYTES: "bytes_contents",
};

function typedOf(datatype: string, values: Value[]): unknown[] {
  if (datatype === "INT64") return values.map((v) => String(v));
  if (datatype === "BYTES") return values.map((v) => Buffer.from(v as string, "utf8"));
  return values;
}

const TYPES_A: InputCase[] = [
  { name: "i64", datatype: "INT64", shape: [3], values: [1, -2, 4_000_000_000] },
  { name: "i32", datatype: "INT32", shape: [2], values: [-7, 2147483646] },
  { name: "u8", datatype: "UINT8", shape: [4], values: [0, 1, 128, 255] },
  { name: "f64", datatype: "FP64", shape: [2], values: [3, -0.1] },
  { name: "flag", datatype: "BOOL", shape: [3], values: [true, false, true] },
  { name: "f16", datatype: "FP16", shape: [3], values: [1.5, -0.25, 1000] },
  { name: "text", datatype: "BYTES", shape: [3], values: ["hello", "wörld ✓", ""] },
];

const TYPES_B: InputCase[] = [
  { name: "i64", datatype: "INT64", shape: [4], values: [0, -4503599627370496, 4503599627370495, 7] },
  { name: "i32", datatype: "INT32", shape: [3], values: [-2147483648, 0, 65535] },
  { name: "u8", datatype: "UINT8", shape: [1], values: [42] },
  { name: "f64", datatype: "FP64", shape: [4], values: [1e-300, -123456.789, 1 / 3, 5e-324] },
  { name: "flag", datatype: "BOOL", shape: [1], values: [false] },
  { name: "f16", datatype: "FP16", shape: [4], values: [0.5, -2.75, 2 ** -13, 0.0999755859375] },
  { name: "text", datatype: "BYTES", shape: [2], values: ['{"json": [1, 2]}', "日本語 \t tab \u00ff"] },
];

describe("REST JSON, REST binary and gRPC give identical tensors", () => {
  let running: Running;
  let client: GrpcClient;
  let irisRows: number[][];

  beforeAll(async () => {
    running = await startWith({ dirs: [IRIS_DIR, MULTI_IO_DIR, TYPES_DIR, SCALE_ALL_DIR], modelControlMode: "explicit" });
    client = grpcClient(running.server.grpcPort!);
    irisRows = (await readJson<{ inputs: number[][] }>(join(FIXTURES, "iris-expected.json"))).inputs;
  });
  afterAll(async () => {
    client?.close();
    await running?.server.stop();
  });

  function inferPath(c: InferCase): string {
    return c.version ? `/v2/models/${c.model}/versions/${c.version}/infer` : `/v2/models/${c.model}/infer`;
  }

  async function viaJson(c: InferCase): Promise<Normalized[]> {
    const body: Record<string, unknown> = {
      id: "parity",
      inputs: c.inputs.map((t) => ({
        name: t.name,
        shape: t.shape,
        datatype: t.datatype,
        data: jsonOf(t.datatype, t.values),
      })),
    };
    if (c.outputs) body.outputs = c.outputs.map((name) => ({ name }));
    const r = await post(`${running.url}${inferPath(c)}`, body);
    expect(r.status, r.text).toBe(200);
    expect(r.json.model_name).toBe(c.model);
    expect(r.json.id).toBe("parity");
    return (r.json.outputs as { name: string; datatype: string; shape: number[]; data: unknown[] }[]).map((o) => ({
      name: o.name,
      datatype: o.datatype,
      shape: o.shape,
      data: normalizeJsonData(o.datatype, o.data),
    }));
  }

  async function viaBinary(c: InferCase): Promise<Normalized[]> {
    const blobs = c.inputs.map((t) => rawOf(t.datatype, t.values));
    const header: Record<string, unknown> = {
      id: "parity",
      parameters: { binary_data_output: true },
      inputs: c.inputs.map((t, i) => ({
        name: t.name,
        shape: t.shape,
        datatype: t.datatype,
        parameters: { binary_data_size: blobs[i].byteLength },
      })),
    };
    if (c.outputs) header.outputs = c.outputs.map((name) => ({ name, parameters: { binary_data: true } }));
    const { body, headerLength } = binaryBody(header, blobs);
    const r = await postBytes(`${running.url}${inferPath(c)}`, body, {
      "inference-header-content-length": String(headerLength),
    });
    expect(r.status, r.bytes.toString()).toBe(200);
    const length = r.headers.get("inference-header-content-length");
    const { header: json, blobs: out } = length
      ? splitBinaryResponse(r.bytes, Number(length))
      : { header: JSON.parse(r.bytes.toString("utf8")), blobs: {} as Record<string, Buffer> };
    expect(json.model_name).toBe(c.model);
    expect(json.id).toBe("parity");
    return (json.outputs as { name: string; datatype: string; shape: number[]; data?: unknown[] }[]).map((o) => ({
      name: o.name,
      datatype: o.datatype,
      shape: o.shape,
      // A zero-size output may come back as JSON (no blob); it is empty either way.
      data: out[o.name] ? normalizeRaw(o.datatype, out[o.name]) : normalizeJsonData(o.datatype, o.data ?? []),
    }));
  }

  function fromGrpc(res: ModelInferResponseMessage, c: InferCase): Normalized[] {
    expect(res.model_name).toBe(c.model);
    expect(res.id).toBe("parity");
    const raw = res.raw_output_contents ?? [];
    expect(raw).toHaveLength(res.outputs?.length ?? 0);
    return (res.outputs ?? []).map((o, i) => ({
      name: o.name ?? "",
      datatype: o.datatype ?? "",
      shape: (o.shape ?? []).map(Number),
      data: normalizeRaw(o.datatype ?? "", raw[i]),
    }));
  }

  function grpcRequest(c: InferCase, typed: boolean): ModelInferRequestMessage {
    const msg: ModelInferRequestMessage = { model_name: c.model, id: "parity" };
    if (c.version) msg.model_version = c.version;
    if (typed) {
      msg.inputs = c.inputs.map((t) => ({
        name: t.name,
        datatype: t.datatype,
        shape: t.shape,
        contents: { [TYPED_FIELD[t.datatype]]: typedOf(t.datatype, t.values) },
      }));
    } else {
      msg.inputs = c.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape }));
      msg.raw_input_contents = c.inputs.map((t) => rawOf(t.datatype, t.values));
    }
    if (c.outputs) msg.outputs = c.outputs.map((name) => ({ name }));
    return msg;
  }

  async function expectParity(c: InferCase): Promise<Normalized[]> {
    const json = await viaJson(c);
    const binary = await viaBinary(c);
    const grpcRaw = fromGrpc(await client.infer(grpcRequest(c, false)), c);
    expect(binary, "REST binary vs REST JSON").toEqual(json);
    expect(grpcRaw, "gRPC raw vs REST JSON").toEqual(json);
    if (c.inputs.every((t) => TYPED_FIELD[t.datatype])) {
      const grpcTyped = fromGrpc(await client.infer(grpcRequest(c, true)), c);
      expect(grpcTyped, "gRPC typed contents vs REST JSON").toEqual(json);
    }
    if (c.outputs) expect(json.map((o) => o.name)).toEqual(c.outputs);
    return json;
  }

  it("iris: seven rows", async () => {
    const out = await expectParity({
      label: "iris",
      model: "iris",
      inputs: [{ name: "input", datatype: "FP32", shape: [irisRows.length, 4], values: irisRows.flat() }],
    });
    expect(out).toHaveLength(1);
    expect(out[0].shape).toEqual([irisRows.length, 3]);
  });

  it("iris: values that are not exact in float32, one row and many", async () => {
    const rows = Array.from({ length: 64 }, (_, k) => [0.1 * k, 1 / 3 + k, Math.PI, -k / 7]);
    await expectParity({
      label: "iris-many",
      model: "iris",
      inputs: [{ name: "input", datatype: "FP32", shape: [rows.length, 4], values: rows.flat() }],
    });
    await expectParity({
      label: "iris-one",
      model: "iris",
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], values: [6.8, 2.8, 4.8, 1.4] }],
      outputs: ["probabilities"],
    });
  });

  it("multi_io: both outputs, then reversed and filtered", async () => {
    const inputs: InputCase[] = [
      { name: "a", datatype: "FP32", shape: [2, 2], values: [0.1, 0.2, -3.5, 1e-7] },
      { name: "b", datatype: "FP32", shape: [2, 2], values: [1 / 3, 0.7, 2.25, -1e7] },
    ];
    const all = await expectParity({ label: "multi_io", model: "multi_io", inputs });
    expect(all.map((o) => o.name)).toEqual(["sum", "diff"]);
    await expectParity({ label: "multi_io-rev", model: "multi_io", inputs, outputs: ["diff", "sum"] });
    await expectParity({ label: "multi_io-diff", model: "multi_io", inputs, outputs: ["diff"] });
  });

  it("multi_io: zero-row tensors", async () => {
    const out = await expectParity({
      label: "multi_io-empty",
      model: "multi_io",
      inputs: [
        { name: "a", datatype: "FP32", shape: [0, 2], values: [] },
        { name: "b", datatype: "FP32", shape: [0, 2], values: [] },
      ],
    });
    for (const o of out) {
      expect(o.shape).toEqual([0, 2]);
      expect(o.data).toBe("");
    }
  });

  it("types: every datatype (INT64, INT32, UINT8, FP64, BOOL, FP16, BYTES), first value set", async () => {
    const out = await expectParity({ label: "types-a", model: "types", inputs: TYPES_A });
    const byName = Object.fromEntries(out.map((o) => [o.name, o]));
    expect(Object.keys(byName).sort()).toEqual(
      ["f16_out", "f64_out", "flag_out", "i32_out", "i64_out", "text_out", "u8_out"].sort(),
    );
    // Spot-check the shared answer against known values.
    expect(byName.f16_out.data).toBe(toHex(f16Bits([0x4200, 0xb800, 0x67d0]))); // 3, -0.5, 2000
    expect(byName.text_out.data).toEqual(["hello", "wörld ✓", ""]);
    expect(byName.i64_out.data).toBe(toHex(i64([2, -4, 8_000_000_000])));
  });

  it("types: every datatype, second value set", async () => {
    await expectParity({ label: "types-b", model: "types", inputs: TYPES_B });
  });

  it("types: a subset of outputs in a chosen order", async () => {
    await expectParity({
      label: "types-subset",
      model: "types",
      inputs: TYPES_A,
      outputs: ["text_out", "f16_out", "i64_out", "flag_out"],
    });
  });

  it("types: each datatype one at a time", async () => {
    for (const name of ["i64_out", "i32_out", "u8_out", "f64_out", "flag_out", "f16_out", "text_out"]) {
      await expectParity({ label: `types-${name}`, model: "types", inputs: TYPES_B, outputs: [name] });
    }
  });

  it("scale: each version, and the latest without one", async () => {
    for (const version of ["1", "2", "3", undefined]) {
      await expectParity({
        label: `scale-${version}`,
        model: "scale",
        version,
        inputs: [{ name: "x", datatype: "FP32", shape: [4], values: [0.1, -2, 3.3, 1e30] }],
      });
    }
  });

  it("gRPC and REST binary agree bit for bit on INT64 beyond 2^53 and FP16 bit patterns", async () => {
    const big = [2n ** 60n + 3n, -(2n ** 62n), 9007199254740993n];
    const inputs: InputCase[] = TYPES_A.map((t) =>
      t.name === "i64" ? { ...t, values: big } : t.name === "f16" ? { ...t, values: [65504, -(2 ** -14), 0] } : t,
    );
    const c: InferCase = { label: "types-big", model: "types", inputs, outputs: ["i64_out", "f16_out"] };
    const binary = await viaBinary(c);
    const grpcRaw = fromGrpc(await client.infer(grpcRequest(c, false)), c);
    expect(grpcRaw).toEqual(binary);
    expect(grpcRaw[0].data).toBe(toHex(i64(big.map((v) => BigInt.asIntN(64, v * 2n)))));
    // 65504 * 2 overflows half precision to +Inf; -2^-14 * 2 = -2^-13; 0 * 2 = 0.
    expect(grpcRaw[1].data).toBe(toHex(f16Bits([0x7c00, 0x8800, 0x0000])));
  });
});

interface ErrorCase {
  label: string;
  rest: () => Promise<Reply>;
  grpc: (client: GrpcClient) => Promise<unknown>;
  http: number;
  code: number;
  /** The same failure reaches the same code path, so the message must match word for word. */
  sameMessage: boolean;
  mentions: string[];
}

const HTTP_FOR_CODE: Record<number, number> = {
  [Code.INVALID_ARGUMENT]: 400,
  [Code.NOT_FOUND]: 404,
  [Code.UNAVAILABLE]: 503,
  [Code.INTERNAL]: 500,
};

describe("errors map consistently between REST and gRPC", () => {
  let running: Running;
  let client: GrpcClient;
  const ROW = [6.8, 2.8, 4.8, 1.4];
  const restIris = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: ROW }] };
  const grpcIris: ModelInferRequestMessage = {
    model_name: "iris",
    inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
    raw_input_contents: [f32(ROW)],
  };
  const restX = { inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1] }] };
  const grpcX = (model: string, version?: string): ModelInferRequestMessage => ({
    model_name: model,
    ...(version ? { model_version: version } : {}),
    inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
    raw_input_contents: [f32([1])],
  });
  const restMulti = {
    inputs: [
      { name: "a", shape: [1, 2], datatype: "FP32", data: [1, 2] },
      { name: "b", shape: [1, 2], datatype: "FP32", data: [3, 4] },
    ],
  };
  const grpcMulti: ModelInferRequestMessage = {
    model_name: "multi_io",
    inputs: [
      { name: "a", datatype: "FP32", shape: [1, 2] },
      { name: "b", datatype: "FP32", shape: [1, 2] },
    ],
    raw_input_contents: [f32([1, 2]), f32([3, 4])],
  };
  const url = () => running.url;

  beforeAll(async () => {
    running = await startWith({
      dirs: [IRIS_DIR, MULTI_IO_DIR, SCALE_ALL_DIR],
      models: [new ThrowingModel("thrower"), new StrictModel("strict"), new DoublerModel("victim")],
      modelControlMode: "explicit",
    });
    client = grpcClient(running.server.grpcPort!);
    // An unloaded model: both protocols must call it unavailable.
    expect((await post(`${running.url}/v2/repository/models/victim/unload`)).status).toBe(200);
  });
  afterAll(async () => {
    client?.close();
    await running?.server.stop();
  });

  const cases: ErrorCase[] = [
    {
      label: "unknown model (infer)",
      rest: () => post(`${url()}/v2/models/ghost/infer`, restIris),
      grpc: (c) => c.infer({ ...grpcIris, model_name: "ghost" }),
      http: 404,
      code: Code.NOT_FOUND,
      sameMessage: true,
      mentions: ["ghost"],
    },
    {
      label: "unknown model (metadata)",
      rest: () => get(`${url()}/v2/models/ghost`),
      grpc: (c) => c.call("ModelMetadata", { name: "ghost" }),
      http: 404,
      code: Code.NOT_FOUND,
      sameMessage: true,
      mentions: ["ghost"],
    },
    {
      label: "unknown model (ready)",
      rest: () => get(`${url()}/v2/models/ghost/ready`),
      grpc: (c) => c.call("ModelReady", { name: "ghost" }),
      http: 404,
      code: Code.NOT_FOUND,
      sameMessage: true,
      mentions: ["ghost"],
    },
    {
      label: "unknown version",
      rest: () => post(`${url()}/v2/models/scale/versions/9/infer`, restX),
      grpc: (c) => c.infer(grpcX("scale", "9")),
      http: 404,
      code: Code.NOT_FOUND,
      sameMessage: true,
      mentions: ["scale", "9"],
    },
    {
      label: "non-numeric version",
      rest: () => post(`${url()}/v2/models/scale/versions/abc/infer`, restX),
      grpc: (c) => c.infer(grpcX("scale", "abc")),
      http: 400,
      code: Code.INVALID_ARGUMENT,
      sameMessage: true,
      mentions: ["abc"],
    },
    {
      label: "wrong datatype",
      rest: () =>
        post(`${url()}/v2/models/iris/infer`, {
          inputs: [{ name: "input", shape: [1, 4], datatype: "INT32", data: [1, 2, 3, 4] }],
        }),
      grpc: (c) =>
        c.infer({
          model_name: "iris",
          inputs: [{ name: "input", datatype: "INT32", shape: [1, 4] }],
          raw_input_contents: [i32([1, 2, 3, 4])],
        }),
      http: 400,
      code: Code.INVALID_ARGUMENT,
      sameMessage: true,
      mentions: ["input", "INT32", "FP32"],
    },
    {
      label: "wrong element count",
      rest: () =>
        post(`${url()}/v2/models/iris/infer`, {
          inputs: [{ name: "input", shape: [2, 4], datatype: "FP32", data: ROW }],
        }),
      grpc: (c) => c.infer({ ...grpcIris, inputs: [{ name: "input", datatype: "FP32", shape: [2, 4] }] }),
      http: 400,
      code: Code.INVALID_ARGUMENT,
      sameMessage: false,
      mentions: ["input"],
    },
    {
      label: "unknown datatype",
      rest: () =>
        post(`${url()}/v2/models/iris/infer`, { inputs: [{ name: "input", shape: [1, 4], datatype: "FP8", data: ROW }] }),
      grpc: (c) => c.infer({ ...grpcIris, inputs: [{ name: "input", datatype: "FP8", shape: [1, 4] }] }),
      http: 400,
      code: Code.INVALID_ARGUMENT,
      sameMessage: true,
      mentions: ["input", "FP8"],
    },
    {
      label: "missing input",
      rest: () => post(`${url()}/v2/models/multi_io/infer`, { inputs: [restMulti.inputs[0]] }),
      grpc: (c) =>
        c.infer({ ...grpcMulti, inputs: [grpcMulti.inputs![0]], raw_input_contents: [grpcMulti.raw_input_contents![0]] }),
      http: 400,
      code: Code.INVALID_ARGUMENT,
      sameMessage: true,
      mentions: ["b"],
    },
    {
      label: "unknown output",
      rest: () => post(`${url()}/v2/models/multi_io/infer`, { ...restMulti, outputs: [{ name: "product" }] }),
      grpc: (c) => c.infer({ ...grpcMulti, outputs: [{ name: "product" }] }),
      http: 400,
      code: Code.INVALID_ARGUMENT,
      sameMessage: true,
      mentions: ["product"],
    },
    {
      label: "the same input twice",
      rest: () => post(`${url()}/v2/models/iris/infer`, { inputs: [restIris.inputs[0], restIris.inputs[0]] }),
      grpc: (c) =>
        c.infer({
          ...grpcIris,
          inputs: [grpcIris.inputs![0], grpcIris.inputs![0]],
          raw_input_contents: [f32(ROW), f32(ROW)],
        }),
      http: 400,
      code: Code.INVALID_ARGUMENT,
      sameMessage: true,
      mentions: ["input"],
    },
    {
      label: "the same output requested twice",
      rest: () => post(`${url()}/v2/models/multi_io/infer`, { ...restMulti, outputs: [{ name: "sum" }, { name: "sum" }] }),
      grpc: (c) => c.infer({ ...grpcMulti, outputs: [{ name: "sum" }, { name: "sum" }] }),
      http: 400,
      code: Code.INVALID_ARGUMENT,
      sameMessage: true,
      mentions: ["sum"],
    },
    {
      label: "a model that throws InvalidInput",
      rest: () => post(`${url()}/v2/models/strict/infer`, restX),
      grpc: (c) => c.infer(grpcX("strict")),
      http: 400,
      code: Code.INVALID_ARGUMENT,
      sameMessage: true,
      mentions: ["strict model wants"],
    },
    {
      label: "a model that throws a plain Error",
      rest: () => post(`${url()}/v2/models/thrower/infer`, restX),
      grpc: (c) => c.infer(grpcX("thrower")),
      http: 500,
      code: Code.INTERNAL,
      sameMessage: true,
      mentions: ["kaboom"],
    },
    {
      label: "an unloaded model (infer)",
      rest: () => post(`${url()}/v2/models/victim/infer`, restX),
      grpc: (c) => c.infer(grpcX("victim")),
      http: 503,
      code: Code.UNAVAILABLE,
      sameMessage: true,
      mentions: ["victim"],
    },
    {
      label: "an unloaded model (metadata)",
      rest: () => get(`${url()}/v2/models/victim`),
      grpc: (c) => c.call("ModelMetadata", { name: "victim" }),
      http: 503,
      code: Code.UNAVAILABLE,
      sameMessage: true,
      mentions: ["victim"],
    },
    {
      label: "load of an unknown model",
      rest: () => post(`${url()}/v2/repository/models/nonexistent/load`),
      grpc: (c) => c.call("RepositoryModelLoad", { model_name: "nonexistent" }),
      http: 404,
      code: Code.NOT_FOUND,
      sameMessage: true,
      mentions: ["nonexistent"],
    },
  ];

  it.each(cases)("$label: HTTP $http <-> gRPC $code", async (c) => {
    const rest = await c.rest();
    expect(rest.status, rest.text).toBe(c.http);
    expect(typeof rest.json?.error).toBe("string");
    let grpcErr: { code: number; details: string } | undefined;
    try {
      const res = await c.grpc(client);
      throw new Error(`gRPC call succeeded where REST answered ${rest.status}: ${JSON.stringify(res).slice(0, 300)}`);
    } catch (err) {
      if (typeof (err as { code?: unknown }).code !== "number") throw err;
      grpcErr = err as { code: number; details: string };
    }
    expect(grpcErr.code, grpcErr.details).toBe(c.code);
    expect(HTTP_FOR_CODE[grpcErr.code]).toBe(rest.status);
    for (const m of c.mentions) {
      expect(rest.json.error).toContain(m);
      expect(grpcErr.details).toContain(m);
    }
    if (c.sameMessage) expect(grpcErr.details).toBe(rest.json.error);
    // Both keep serving.
    expect((await post(`${running.url}/v2/models/iris/infer`, restIris)).status).toBe(200);
    expect((await client.infer(grpcIris)).outputs).toHaveLength(1);
  });

  it("readiness of an unloaded model: REST answers 503, gRPC ModelReady answers ready: false", async () => {
    expect((await get(`${running.url}/v2/models/victim/ready`)).status).toBe(503);
    expect(await client.call("ModelReady", { name: "victim" })).toEqual({ ready: false });
  });

  it("a stream reports the same message as the unary call in error_message", async () => {
    const [res] = await client.stream([{ ...grpcIris, model_name: "ghost" }]);
    const rest = await post(`${running.url}/v2/models/ghost/infer`, restIris);
    expect(res.error_message).toBe(rest.json.error);
  });
});
