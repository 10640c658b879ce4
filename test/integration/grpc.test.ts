/**
 * Open Inference Protocol over gRPC (inference.GRPCInferenceService): every RPC against a real server,
 * through a raw @grpc/grpc-js client built from the .proto.
 */
import type { ChildProcess } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as grpcJs from "@grpc/grpc-js";
import EchoModel from "../fixtures/modules/echo.ts";
import SlowModel from "../fixtures/modules/slow.ts";
import StrictModel from "../fixtures/modules/strict.ts";
import ThrowingModel from "../fixtures/modules/thrower.ts";
import { freePort, startCli, stopCli } from "../helpers/server.ts";
import {
  bool,
  bytesRaw,
  Code,
  decodeOutputs,
  expectStatus,
  f16Bits,
  f32,
  f64,
  type GrpcClient,
  grpcClient,
  i32,
  i64,
  type ModelInferRequestMessage,
  outputsByName,
  plain,
  u8,
} from "./grpc-util.ts";
import {
  expectClose,
  expectError,
  FIXTURES,
  get,
  IRIS_DIR,
  MULTI_IO_DIR,
  post,
  type Running,
  readJson,
  SCALE_ALL_DIR,
  startWith,
  tempRepo,
  TYPES_DIR,
} from "./util.ts";

interface IrisExpected {
  tolerance: number;
  inputs: number[][];
  probabilities: number[][];
}

const GOOD_ROW = [6.8, 2.8, 4.8, 1.4];

function irisRaw(rows: number[][], extra: Partial<ModelInferRequestMessage> = {}): ModelInferRequestMessage {
  return {
    model_name: "iris",
    inputs: [{ name: "input", datatype: "FP32", shape: [rows.length, 4] }],
    raw_input_contents: [f32(rows.flat())],
    ...extra,
  };
}

function multiRaw(a: number[], b: number[], extra: Partial<ModelInferRequestMessage> = {}): ModelInferRequestMessage {
  return {
    model_name: "multi_io",
    inputs: [
      { name: "a", datatype: "FP32", shape: [a.length / 2, 2] },
      { name: "b", datatype: "FP32", shape: [b.length / 2, 2] },
    ],
    raw_input_contents: [f32(a), f32(b)],
    ...extra,
  };
}

/** Every input of the types model in raw contents (two elements each unless given). */
function typesRaw(extra: Partial<ModelInferRequestMessage> = {}): ModelInferRequestMessage {
  return {
    model_name: "types",
    inputs: [
      { name: "i64", datatype: "INT64", shape: [3] },
      { name: "i32", datatype: "INT32", shape: [2] },
      { name: "u8", datatype: "UINT8", shape: [4] },
      { name: "f64", datatype: "FP64", shape: [2] },
      { name: "flag", datatype: "BOOL", shape: [3] },
      { name: "f16", datatype: "FP16", shape: [2] },
      { name: "text", datatype: "BYTES", shape: [3] },
    ],
    raw_input_contents: [
      i64([2n ** 60n + 3n, -2n, 4_000_000_000n]),
      i32([-7, 2147483646]),
      u8([0, 1, 128, 255]),
      f64([3, -0.1]),
      bool([true, false, true]),
      f16Bits([0x3e00, 0xc400]), // 1.5, -4
      bytesRaw(["hello", "wörld ✓", ""]),
    ],
    ...extra,
  };
}

describe("OIP gRPC: inference.GRPCInferenceService", () => {
  let running: Running;
  let client: GrpcClient;
  let expected: IrisExpected;

  beforeAll(async () => {
    running = await startWith({
      dirs: [IRIS_DIR, MULTI_IO_DIR, TYPES_DIR, SCALE_ALL_DIR],
      models: [new ThrowingModel("thrower"), new StrictModel("strict"), new EchoModel("echo"), new SlowModel("slow")],
      modelControlMode: "explicit",
    });
    expect(running.server.grpcPort).toBeTypeOf("number");
    expect(running.server.grpcPort).toBeGreaterThan(0);
    client = grpcClient(running.server.grpcPort!);
    expected = await readJson(join(FIXTURES, "iris-expected.json"));
  });
  afterAll(async () => {
    client?.close();
    await running?.server.stop();
  });

  describe("health and server metadata", () => {
    it("ServerLive answers live: true", async () => {
      expect(await client.call("ServerLive")).toEqual({ live: true });
    });

    it("ServerReady answers ready: true", async () => {
      expect(await client.call("ServerReady")).toEqual({ ready: true });
    });

    it("ServerMetadata gives name, version and extensions, as GET /v2 does", async () => {
      const res = await client.call("ServerMetadata");
      expect(res.name).toBe("tserve");
      expect(res.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(res.extensions).toEqual(expect.arrayContaining(["model_repository", "binary_tensor_data"]));
      const rest = await get(`${running.url}/v2`);
      expect(res).toEqual(rest.json);
    });
  });

  describe("ModelReady", () => {
    it("is true for every served model", async () => {
      for (const name of ["iris", "multi_io", "types", "scale", "thrower", "strict", "echo", "slow"]) {
        expect(await client.call("ModelReady", { name }), name).toEqual({ ready: true });
      }
    });

    it("is true for each served version", async () => {
      for (const version of ["1", "2", "3"]) {
        expect(await client.call("ModelReady", { name: "scale", version })).toEqual({ ready: true });
      }
    });

    it("an unknown model is NOT_FOUND and named", async () => {
      expectStatus(await client.fail("ModelReady", { name: "ghost" }), Code.NOT_FOUND, "ghost");
    });

    it("an unknown version is NOT_FOUND and names model and version", async () => {
      expectStatus(await client.fail("ModelReady", { name: "scale", version: "9" }), Code.NOT_FOUND, "scale", "9");
    });

    it("a non-numeric version is INVALID_ARGUMENT and names it", async () => {
      expectStatus(await client.fail("ModelReady", { name: "scale", version: "abc" }), Code.INVALID_ARGUMENT, "abc");
    });

    it("an empty name is INVALID_ARGUMENT", async () => {
      expectStatus(await client.fail("ModelReady", {}), Code.INVALID_ARGUMENT);
    });
  });

  describe("ModelMetadata", () => {
    it("describes iris: -1 batch dims as int64 strings, versions, platform", async () => {
      const res = await client.call("ModelMetadata", { name: "iris" });
      expect(res).toMatchObject({
        name: "iris",
        versions: ["1"],
        platform: "onnx_onnxv1",
        inputs: [{ name: "input", datatype: "FP32", shape: ["-1", "4"] }],
        outputs: [{ name: "probabilities", datatype: "FP32", shape: ["-1", "3"] }],
      });
      expect(Object.keys(res.properties ?? {})).toEqual([]);
      expect(Object.keys(res).sort()).toEqual(
        expect.arrayContaining(["inputs", "name", "outputs", "platform", "versions"]),
      );
    });

    it("agrees with REST metadata for every model (shapes as strings)", async () => {
      for (const name of ["iris", "multi_io", "types", "scale"]) {
        const res = await client.call("ModelMetadata", { name });
        const rest = (await get(`${running.url}/v2/models/${name}`)).json;
        const asStrings = (ts: { name: string; datatype: string; shape: number[] }[]) =>
          ts.map((t) => ({ ...t, shape: t.shape.map(String) }));
        expect(res.name).toBe(rest.name);
        expect(res.platform).toBe(rest.platform);
        expect(res.versions).toEqual(rest.versions);
        expect(res.inputs).toEqual(asStrings(rest.inputs));
        expect(res.outputs).toEqual(asStrings(rest.outputs));
      }
    });

    it("names every datatype of the types model", async () => {
      const res = await client.call("ModelMetadata", { name: "types" });
      const byName = (list: { name: string; datatype: string; shape: string[] }[]) =>
        Object.fromEntries(list.map((t) => [t.name, `${t.datatype}${JSON.stringify(t.shape)}`]));
      expect(byName(res.inputs)).toEqual({
        i64: 'INT64["-1"]',
        i32: 'INT32["-1"]',
        u8: 'UINT8["-1"]',
        f64: 'FP64["-1"]',
        flag: 'BOOL["-1"]',
        f16: 'FP16["-1"]',
        text: 'BYTES["-1"]',
      });
      expect(byName(res.outputs)).toEqual({
        i64_out: 'INT64["-1"]',
        i32_out: 'INT32["-1"]',
        u8_out: 'UINT8["-1"]',
        f64_out: 'FP64["-1"]',
        flag_out: 'BOOL["-1"]',
        f16_out: 'FP16["-1"]',
        text_out: 'BYTES["-1"]',
      });
    });

    it("lists every served version, and answers per version", async () => {
      const res = await client.call("ModelMetadata", { name: "scale" });
      expect(res.versions).toEqual(["1", "2", "3"]);
      for (const version of ["1", "2", "3"]) {
        const v = await client.call("ModelMetadata", { name: "scale", version });
        expect(v.name).toBe("scale");
        expect(v.inputs).toEqual([{ name: "x", datatype: "FP32", shape: ["-1"] }]);
        expect(v.outputs).toEqual([{ name: "y", datatype: "FP32", shape: ["-1"] }]);
      }
    });

    it("an unknown model or version is NOT_FOUND; a non-numeric version INVALID_ARGUMENT", async () => {
      expectStatus(await client.fail("ModelMetadata", { name: "ghost" }), Code.NOT_FOUND, "ghost");
      expectStatus(await client.fail("ModelMetadata", { name: "scale", version: "7" }), Code.NOT_FOUND, "scale", "7");
      expectStatus(
        await client.fail("ModelMetadata", { name: "scale", version: "v1" }),
        Code.INVALID_ARGUMENT,
        "v1",
      );
    });
  });

  describe("ModelInfer", () => {
    it("runs iris with raw_input_contents and matches the Python reference", async () => {
      const res = await client.infer(irisRaw(expected.inputs));
      expect(res.model_name).toBe("iris");
      expect(res.model_version).toBe("1");
      expect(res.outputs).toHaveLength(1);
      expect(res.outputs![0]).toMatchObject({ name: "probabilities", datatype: "FP32", shape: ["7", "3"] });
      expect(res.raw_output_contents).toHaveLength(1);
      expect(res.raw_output_contents![0].byteLength).toBe(7 * 3 * 4);
      const [out] = decodeOutputs(res);
      expect(out.shape).toEqual([7, 3]);
      expectClose(plain(out.values), expected.probabilities.flat(), expected.tolerance);
    });

    it("typed fp32_contents give bit-identical outputs to raw contents", async () => {
      const rows = expected.inputs;
      const typed = await client.infer({
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [rows.length, 4], contents: { fp32_contents: rows.flat() } }],
      });
      const raw = await client.infer(irisRaw(rows));
      // The server always answers in raw contents.
      expect(typed.raw_output_contents).toHaveLength(1);
      expect(Buffer.from(typed.raw_output_contents![0]).equals(Buffer.from(raw.raw_output_contents![0]))).toBe(true);
      expectClose(plain(decodeOutputs(typed)[0].values), expected.probabilities.flat(), expected.tolerance);
    });

    it("shape dims may be sent as numbers or as int64 strings", async () => {
      const res = await client.infer({
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: ["1", "4"], contents: { fp32_contents: GOOD_ROW } }],
      });
      expect(decodeOutputs(res)[0].shape).toEqual([1, 3]);
    });

    it("infers every datatype of the types model from raw contents (INT64 exact beyond 2^53, FP16 bits)", async () => {
      const res = await client.infer(typesRaw());
      expect(res.model_name).toBe("types");
      // One raw entry per output, in output order.
      expect(res.raw_output_contents).toHaveLength(res.outputs!.length);
      const outs = outputsByName(res);
      expect(Object.keys(outs).sort()).toEqual(
        ["f16_out", "f64_out", "flag_out", "i32_out", "i64_out", "text_out", "u8_out"].sort(),
      );
      expect(outs.i64_out).toMatchObject({ datatype: "INT64", shape: [3] });
      expect(plain(outs.i64_out.values)).toEqual([(2n ** 60n + 3n) * 2n, -4n, 8_000_000_000n]);
      expect(outs.i32_out).toMatchObject({ datatype: "INT32", shape: [2] });
      expect(plain(outs.i32_out.values)).toEqual([-6, 2147483647]);
      expect(outs.u8_out).toMatchObject({ datatype: "UINT8", shape: [4] });
      expect(plain(outs.u8_out.values)).toEqual([0, 1, 128, 255]);
      expect(outs.f64_out).toMatchObject({ datatype: "FP64", shape: [2] });
      expect(plain(outs.f64_out.values)).toEqual([1.5, -0.05]);
      expect(outs.flag_out).toMatchObject({ datatype: "BOOL", shape: [3] });
      expect(plain(outs.flag_out.values)).toEqual([0, 1, 0]);
      expect(outs.f16_out).toMatchObject({ datatype: "FP16", shape: [2] });
      expect(plain(outs.f16_out.values)).toEqual([0x4200, 0xc800]); // 3, -8
      expect(outs.text_out).toMatchObject({ datatype: "BYTES", shape: [3] });
      expect(outs.text_out.values).toEqual(["hello", "wörld ✓", ""]);
    });

    it("raw_output_contents follow the outputs' order, one entry each", async () => {
      const res = await client.infer(typesRaw());
      const names = res.outputs!.map((o) => o.name);
      const sizes = res.raw_output_contents!.map((b) => b.byteLength);
      const bytesPer: Record<string, number> = { i64_out: 8, i32_out: 4, u8_out: 1, f64_out: 8, flag_out: 1, f16_out: 2 };
      names.forEach((n, i) => {
        const count = res.outputs![i].shape!.map(Number).reduce((a, b) => a * b, 1);
        if (n === "text_out") expect(sizes[i]).toBe(4 * 3 + 5 + Buffer.byteLength("wörld ✓"));
        else expect(sizes[i], n).toBe(count * bytesPer[n!]);
      });
    });

    it("typed contents for every contents field, echoed back in raw contents", async () => {
      const res = await client.infer({
        model_name: "echo",
        inputs: [
          { name: "f32", datatype: "FP32", shape: [2], contents: { fp32_contents: [1.5, -0.1] } },
          { name: "f64", datatype: "FP64", shape: [2], contents: { fp64_contents: [0.1, -1e300] } },
          { name: "i8", datatype: "INT8", shape: [2], contents: { int_contents: [-128, 127] } },
          { name: "i16", datatype: "INT16", shape: [2], contents: { int_contents: [-32768, 32767] } },
          { name: "i32", datatype: "INT32", shape: [2], contents: { int_contents: [-2147483648, 2147483647] } },
          {
            name: "i64",
            datatype: "INT64",
            shape: [3],
            contents: { int64_contents: ["-9223372036854775808", "9223372036854775807", "1152921504606846979"] },
          },
          { name: "u8", datatype: "UINT8", shape: [2], contents: { uint_contents: [0, 255] } },
          { name: "u16", datatype: "UINT16", shape: [1], contents: { uint_contents: [65535] } },
          { name: "u32", datatype: "UINT32", shape: [1], contents: { uint_contents: [4294967295] } },
          { name: "u64", datatype: "UINT64", shape: [1], contents: { uint64_contents: ["18446744073709551615"] } },
          { name: "flag", datatype: "BOOL", shape: [3], contents: { bool_contents: [true, false, true] } },
          {
            name: "text",
            datatype: "BYTES",
            shape: [3],
            contents: { bytes_contents: [Buffer.from("héllo"), Buffer.alloc(0), Buffer.from([0, 255, 1])] },
          },
        ],
      });
      const outs = outputsByName(res);
      expect(plain(outs.f32_echo.values)).toEqual([1.5, Math.fround(-0.1)]);
      expect(plain(outs.f64_echo.values)).toEqual([0.1, -1e300]);
      expect(plain(outs.i8_echo.values)).toEqual([-128, 127]);
      expect(plain(outs.i16_echo.values)).toEqual([-32768, 32767]);
      expect(plain(outs.i32_echo.values)).toEqual([-2147483648, 2147483647]);
      expect(plain(outs.i64_echo.values)).toEqual([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 60n + 3n]);
      expect(plain(outs.u8_echo.values)).toEqual([0, 255]);
      expect(plain(outs.u16_echo.values)).toEqual([65535]);
      expect(plain(outs.u32_echo.values)).toEqual([4294967295]);
      expect(plain(outs.u64_echo.values)).toEqual([2n ** 64n - 1n]);
      expect(plain(outs.flag_echo.values)).toEqual([1, 0, 1]);
      expect(outs.text_echo.datatype).toBe("BYTES");
      // Raw BYTES out: length-prefixed elements, byte-exact (the third element is not UTF-8).
      const textIndex = res.outputs!.findIndex((o) => o.name === "text_echo");
      expect(
        Buffer.from(res.raw_output_contents![textIndex]).equals(
          Buffer.concat([
            Buffer.from([6, 0, 0, 0]),
            Buffer.from("héllo"),
            Buffer.from([0, 0, 0, 0]),
            Buffer.from([3, 0, 0, 0, 0, 255, 1]),
          ]),
        ),
      ).toBe(true);
      for (const o of Object.values(outs)) if (o.name.endsWith("_echo")) expect(o.shape.length).toBe(1);
    });

    it("typed contents on the types model are refused for FP16 only (it has no contents field)", async () => {
      // The types model needs an FP16 input, and raw contents are all-or-nothing, so a typed-contents request
      // can only fail on f16 — with a message naming it.
      const err = await client.fail("ModelInfer", {
        model_name: "types",
        inputs: [
          { name: "i64", datatype: "INT64", shape: [1], contents: { int64_contents: ["-3"] } },
          { name: "i32", datatype: "INT32", shape: [1], contents: { int_contents: [0] } },
          { name: "u8", datatype: "UINT8", shape: [1], contents: { uint_contents: [0] } },
          { name: "f64", datatype: "FP64", shape: [1], contents: { fp64_contents: [0] } },
          { name: "flag", datatype: "BOOL", shape: [1], contents: { bool_contents: [false] } },
          { name: "f16", datatype: "FP16", shape: [1], contents: { fp32_contents: [0] } },
          { name: "text", datatype: "BYTES", shape: [1], contents: { bytes_contents: [Buffer.from("x")] } },
        ],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "f16", "FP16");
    });

    it("returns the requested outputs only, in the requested order", async () => {
      const all = await client.infer(multiRaw([5, 7], [1, 2]));
      expect(all.outputs!.map((o) => o.name)).toEqual(["sum", "diff"]);
      expect(decodeOutputs(all).map((o) => plain(o.values))).toEqual([
        [6, 9],
        [4, 5],
      ]);

      const reversed = await client.infer(multiRaw([5, 7], [1, 2], { outputs: [{ name: "diff" }, { name: "sum" }] }));
      expect(reversed.outputs!.map((o) => o.name)).toEqual(["diff", "sum"]);
      expect(reversed.raw_output_contents).toHaveLength(2);
      expect(decodeOutputs(reversed).map((o) => plain(o.values))).toEqual([
        [4, 5],
        [6, 9],
      ]);

      const subset = await client.infer(multiRaw([5, 7], [1, 2], { outputs: [{ name: "diff" }] }));
      expect(subset.outputs!.map((o) => o.name)).toEqual(["diff"]);
      expect(subset.raw_output_contents).toHaveLength(1);
      expect(plain(decodeOutputs(subset)[0].values)).toEqual([4, 5]);

      const typesSubset = await client.infer(typesRaw({ outputs: [{ name: "text_out" }, { name: "f16_out" }] }));
      const decoded = decodeOutputs(typesSubset);
      expect(decoded.map((o) => o.name)).toEqual(["text_out", "f16_out"]);
      expect(decoded[0].values).toEqual(["hello", "wörld ✓", ""]);
      expect(plain(decoded[1].values)).toEqual([0x4200, 0xc800]);
    });

    it("an empty outputs list means every output", async () => {
      const res = await client.infer(multiRaw([1, 2], [1, 1], { outputs: [] }));
      expect(res.outputs!.map((o) => o.name)).toEqual(["sum", "diff"]);
    });

    it("a zero-element input gives zero-length raw outputs", async () => {
      const res = await client.infer({
        model_name: "multi_io",
        inputs: [
          { name: "a", datatype: "FP32", shape: [0, 2] },
          { name: "b", datatype: "FP32", shape: [0, 2] },
        ],
        raw_input_contents: [Buffer.alloc(0), Buffer.alloc(0)],
      });
      const outs = decodeOutputs(res);
      expect(outs.map((o) => [o.name, o.shape, o.values.length])).toEqual([
        ["sum", [0, 2], 0],
        ["diff", [0, 2], 0],
      ]);
    });

    it("echoes the request id, and sends none when none was given", async () => {
      const res = await client.infer(irisRaw([GOOD_ROW], { id: "req-42-xyz" }));
      expect(res.id).toBe("req-42-xyz");
      const none = await client.infer(irisRaw([GOOD_ROW]));
      expect(none.id ?? "").toBe("");
    });

    it("model_version selects the version and is reported; without it the latest answers", async () => {
      for (const v of [1, 2, 3]) {
        const res = await client.infer({
          model_name: "scale",
          model_version: String(v),
          inputs: [{ name: "x", datatype: "FP32", shape: [3] }],
          raw_input_contents: [f32([1, 2, 3])],
        });
        expect(res.model_name).toBe("scale");
        expect(res.model_version).toBe(String(v));
        expect(plain(decodeOutputs(res)[0].values)).toEqual([v, 2 * v, 3 * v]);
      }
      const latest = await client.infer({
        model_name: "scale",
        inputs: [{ name: "x", datatype: "FP32", shape: [2] }],
        raw_input_contents: [f32([1, -2])],
      });
      expect(latest.model_version).toBe("3");
      expect(plain(decodeOutputs(latest)[0].values)).toEqual([3, -6]);
    });

    it("request parameters reach the model; the model's response parameters come back typed", async () => {
      const res = await client.infer({
        model_name: "echo",
        parameters: {
          flag: { bool_param: true },
          count: { int64_param: "7" },
          ratio: { double_param: 0.25 },
          label: { string_param: "hi there" },
        },
        inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
        raw_input_contents: [f32([1])],
      });
      expect(res.parameters).toMatchObject({
        flag: { bool_param: true },
        count: { int64_param: "7" },
        ratio: { double_param: 0.25 },
        label: { string_param: "hi there" },
      });
      expect(Object.keys(res.parameters ?? {}).sort()).toEqual(["count", "flag", "label", "ratio"]);
      expect(res.parameters!.flag.parameter_choice).toBe("bool_param");
      expect(res.parameters!.label.parameter_choice).toBe("string_param");
    });

    it("a whole-number double parameter keeps its value (it may come back as int64_param)", async () => {
      const res = await client.infer({
        model_name: "echo",
        parameters: { two: { double_param: 2 }, small: { uint64_param: "42" } },
        inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
        raw_input_contents: [f32([1])],
      });
      const num = (p: Record<string, unknown>) => Number(p.double_param ?? p.int64_param ?? p.uint64_param);
      expect(num(res.parameters!.two as Record<string, unknown>)).toBe(2);
      expect(num(res.parameters!.small as Record<string, unknown>)).toBe(42);
    });

    it("64-bit integer parameters keep their exact value through the server", async () => {
      const res = await client.infer({
        model_name: "echo",
        parameters: {
          big: { int64_param: "9007199254740993" }, // 2^53 + 1
          umax: { uint64_param: "18446744073709551615" }, // 2^64 - 1
        },
        inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
        raw_input_contents: [f32([1])],
      });
      const int = (p: Record<string, unknown>) => String(p.int64_param ?? p.uint64_param ?? p.double_param);
      expect(int(res.parameters!.big as Record<string, unknown>)).toBe("9007199254740993");
      expect(int(res.parameters!.umax as Record<string, unknown>)).toBe("18446744073709551615");
    });

    it("an ONNX model's response carries no parameters", async () => {
      const res = await client.infer(irisRaw([GOOD_ROW], { parameters: { foo: { string_param: "bar" } } }));
      expect(Object.keys(res.parameters ?? {})).toEqual([]);
      expect(decodeOutputs(res)[0].shape).toEqual([1, 3]);
    });

    it("answers many concurrent calls, each with its own result", async () => {
      const n = expected.inputs.length;
      const jobs = Array.from({ length: 40 }, (_, k) =>
        client
          .infer(irisRaw([expected.inputs[k % n], expected.inputs[(k + 3) % n]], { id: `job-${k}` }))
          .then((res) => ({ k, res })),
      );
      for (const { k, res } of await Promise.all(jobs)) {
        expect(res.id).toBe(`job-${k}`);
        expectClose(
          plain(decodeOutputs(res)[0].values),
          [...expected.probabilities[k % n], ...expected.probabilities[(k + 3) % n]],
          expected.tolerance,
        );
      }
    });

    it("gRPC metadata reaches the model's ctx.headers (x-request-id) with protocol grpc-v2", async () => {
      const req: ModelInferRequestMessage = {
        model_name: "echo",
        inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
        raw_input_contents: [f32([0])],
      };
      const res = await client.infer(req, { "x-request-id": "abc" });
      const outs = outputsByName(res);
      expect(outs.request_id.values).toEqual(["abc"]);
      expect(outs.protocol.values).toEqual(["grpc-v2"]);
      const without = outputsByName(await client.infer(req));
      expect(without.request_id.values).toEqual([""]);
    });
  });

  describe("errors carry exact status codes and the server keeps serving", () => {
    afterEach(async () => {
      const res = await client.infer(irisRaw([GOOD_ROW]));
      expect(decodeOutputs(res)[0].shape).toEqual([1, 3]);
      expect(await client.call("ServerLive")).toEqual({ live: true });
    });

    it("unknown model -> NOT_FOUND", async () => {
      const err = await client.fail("ModelInfer", { ...irisRaw([GOOD_ROW]), model_name: "ghost" });
      expectStatus(err, Code.NOT_FOUND, "ghost");
    });

    it("unknown version -> NOT_FOUND naming model and version", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "scale",
        model_version: "9",
        inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
        raw_input_contents: [f32([1])],
      });
      expectStatus(err, Code.NOT_FOUND, "scale", "9");
    });

    it("non-numeric version -> INVALID_ARGUMENT naming it", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "scale",
        model_version: "latest",
        inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
        raw_input_contents: [f32([1])],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "latest");
    });

    it("missing model_name -> INVALID_ARGUMENT", async () => {
      const err = await client.fail("ModelInfer", { ...irisRaw([GOOD_ROW]), model_name: "" });
      expectStatus(err, Code.INVALID_ARGUMENT, "model_name");
    });

    it("no inputs -> INVALID_ARGUMENT", async () => {
      expectStatus(await client.fail("ModelInfer", { model_name: "iris" }), Code.INVALID_ARGUMENT);
    });

    it("wrong datatype -> INVALID_ARGUMENT naming the input and both types", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "INT32", shape: [1, 4] }],
        raw_input_contents: [i32([1, 2, 3, 4])],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "input", "INT32", "FP32");
    });

    it("unknown datatype -> INVALID_ARGUMENT naming the input and the datatype", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP8", shape: [1, 4] }],
        raw_input_contents: [u8([1, 2, 3, 4])],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "input", "FP8");
    });

    it("raw contents whose size does not fit the shape -> INVALID_ARGUMENT naming the input", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [2, 4] }],
        raw_input_contents: [f32(GOOD_ROW)],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "input");
    });

    it("typed contents with the wrong element count -> INVALID_ARGUMENT naming the input", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], contents: { fp32_contents: [1, 2, 3] } }],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "input", "3", "4");
    });

    it("typed contents in the wrong field for the datatype -> INVALID_ARGUMENT naming the input", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], contents: { int_contents: [1, 2, 3, 4] } }],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "input");
    });

    it("raw entry count != inputs count -> INVALID_ARGUMENT", async () => {
      const err = await client.fail("ModelInfer", {
        ...multiRaw([1, 2], [3, 4]),
        raw_input_contents: [f32([1, 2])],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "raw", "2", "1");
      const tooMany = await client.fail("ModelInfer", {
        ...irisRaw([GOOD_ROW]),
        raw_input_contents: [f32(GOOD_ROW), f32(GOOD_ROW)],
      });
      expectStatus(tooMany, Code.INVALID_ARGUMENT, "raw");
    });

    it("both raw and typed contents on one input -> INVALID_ARGUMENT naming the input", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], contents: { fp32_contents: GOOD_ROW } }],
        raw_input_contents: [f32(GOOD_ROW)],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "input", "contents");
    });

    it("FP16 in typed contents -> INVALID_ARGUMENT naming the input", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "echo",
        inputs: [{ name: "half", datatype: "FP16", shape: [1], contents: { fp32_contents: [1] } }],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "half", "FP16");
    });

    it("a negative dimension -> INVALID_ARGUMENT naming the input", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
        raw_input_contents: [f32(GOOD_ROW)],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "input");
    });

    it("a missing input -> INVALID_ARGUMENT naming it", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "multi_io",
        inputs: [{ name: "a", datatype: "FP32", shape: [1, 2] }],
        raw_input_contents: [f32([1, 2])],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "b");
    });

    it("an unknown output name -> INVALID_ARGUMENT naming it", async () => {
      const err = await client.fail("ModelInfer", multiRaw([1, 2], [3, 4], { outputs: [{ name: "product" }] }));
      expectStatus(err, Code.INVALID_ARGUMENT, "product");
    });

    it("a parameter with no value set -> INVALID_ARGUMENT naming it", async () => {
      const err = await client.fail("ModelInfer", { ...irisRaw([GOOD_ROW]), parameters: { empty: {} } });
      expectStatus(err, Code.INVALID_ARGUMENT, "empty");
    });

    it("malformed raw BYTES -> INVALID_ARGUMENT naming the input", async () => {
      const truncated = await client.fail("ModelInfer", {
        model_name: "echo",
        inputs: [{ name: "words", datatype: "BYTES", shape: [1] }],
        raw_input_contents: [bytesRaw(["abcdef"]).subarray(0, 7)],
      });
      expectStatus(truncated, Code.INVALID_ARGUMENT, "words");
      const tooFew = await client.fail("ModelInfer", {
        model_name: "echo",
        inputs: [{ name: "words", datatype: "BYTES", shape: [2] }],
        raw_input_contents: [bytesRaw(["only one"])],
      });
      expectStatus(tooFew, Code.INVALID_ARGUMENT, "words");
    });

    it("out-of-range typed contents -> INVALID_ARGUMENT naming the input", async () => {
      const u8err = await client.fail("ModelInfer", {
        model_name: "echo",
        inputs: [{ name: "bytes", datatype: "UINT8", shape: [1], contents: { uint_contents: [300] } }],
      });
      expectStatus(u8err, Code.INVALID_ARGUMENT, "bytes", "300");
      const i8err = await client.fail("ModelInfer", {
        model_name: "echo",
        inputs: [{ name: "small", datatype: "INT8", shape: [1], contents: { int_contents: [200] } }],
      });
      expectStatus(i8err, Code.INVALID_ARGUMENT, "small", "200");
    });

    it("a huge int64 shape -> INVALID_ARGUMENT naming the input", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: ["9223372036854775807", "4"] }],
        raw_input_contents: [f32(GOOD_ROW)],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "input");
    });

    it("an input without a name -> INVALID_ARGUMENT", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "echo",
        inputs: [{ datatype: "FP32", shape: [1] }],
        raw_input_contents: [f32([1])],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "name");
    });

    it("a module model that throws a plain Error -> INTERNAL with its message", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "thrower",
        inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
        raw_input_contents: [f32([1])],
      });
      expectStatus(err, Code.INTERNAL, "kaboom");
    });

    it("a module model that throws InvalidInput -> INVALID_ARGUMENT with its message", async () => {
      const err = await client.fail("ModelInfer", {
        model_name: "strict",
        inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
        raw_input_contents: [f32([1])],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "strict model wants");
    });

    it("RepositoryModelLoad / Unload with a repository_name -> UNIMPLEMENTED", async () => {
      expectStatus(
        await client.fail("RepositoryModelLoad", { repository_name: "other", model_name: "iris" }),
        Code.UNIMPLEMENTED,
      );
      expectStatus(
        await client.fail("RepositoryModelUnload", { repository_name: "other", model_name: "iris" }),
        Code.UNIMPLEMENTED,
      );
      // iris was not touched.
      expect(await client.call("ModelReady", { name: "iris" })).toEqual({ ready: true });
    });

    it("RepositoryModelLoad / Unload of an unknown model -> NOT_FOUND; without a name -> INVALID_ARGUMENT", async () => {
      expectStatus(await client.fail("RepositoryModelLoad", { model_name: "nonexistent" }), Code.NOT_FOUND, "nonexistent");
      expectStatus(await client.fail("RepositoryModelUnload", { model_name: "nonexistent" }), Code.NOT_FOUND, "nonexistent");
      expectStatus(await client.fail("RepositoryModelLoad", {}), Code.INVALID_ARGUMENT);
    });

    it("an RPC the service does not have -> UNIMPLEMENTED", async () => {
      const err = await new Promise<{ code: number }>((resolve) => {
        client.raw.makeUnaryRequest(
          "/inference.GRPCInferenceService/SystemSharedMemoryStatus",
          (x: Buffer) => x,
          (x: Buffer) => x,
          Buffer.alloc(0),
          (e) => resolve(e ?? { code: Code.OK }),
        );
      });
      expect(err.code).toBe(Code.UNIMPLEMENTED);
    });
  });

  describe("ModelStreamInfer", () => {
    it("answers several requests on one stream in order", async () => {
      const rows = expected.inputs;
      const requests = rows.map((row, k) => irisRaw([row], { id: `s-${k}` }));
      const responses = await client.stream(requests);
      expect(responses).toHaveLength(rows.length);
      responses.forEach((r, k) => {
        expect(r.error_message ?? "").toBe("");
        expect(r.infer_response?.id).toBe(`s-${k}`);
        expect(r.infer_response?.model_name).toBe("iris");
        expectClose(plain(decodeOutputs(r.infer_response!)[0].values), expected.probabilities[k], expected.tolerance);
      });
    });

    it("keeps order across models of different speeds", async () => {
      const requests: ModelInferRequestMessage[] = [];
      for (let k = 0; k < 30; k++) {
        if (k % 3 === 0) requests.push(irisRaw(expected.inputs, { id: `m-${k}` }));
        else if (k % 3 === 1) requests.push(multiRaw([k, k], [1, 1], { id: `m-${k}` }));
        else requests.push(typesRaw({ id: `m-${k}`, outputs: [{ name: "i32_out" }] }));
      }
      const responses = await client.stream(requests);
      expect(responses.map((r) => r.infer_response?.id)).toEqual(requests.map((r) => r.id));
      responses.forEach((r, k) => {
        if (k % 3 === 1) expect(plain(decodeOutputs(r.infer_response!)[0].values)).toEqual([k + 1, k + 1]);
      });
    });

    it("a bad request in the middle answers with error_message and the stream carries on", async () => {
      const responses = await client.stream([
        irisRaw([GOOD_ROW], { id: "first" }),
        { ...irisRaw([GOOD_ROW], { id: "second" }), model_name: "ghost" },
        {
          model_name: "iris",
          id: "third",
          inputs: [{ name: "input", datatype: "FP32", shape: [2, 4] }],
          raw_input_contents: [f32(GOOD_ROW)],
        },
        { ...irisRaw([GOOD_ROW]), model_name: "thrower", inputs: [{ name: "x", datatype: "FP32", shape: [4] }] },
        irisRaw([GOOD_ROW], { id: "fifth" }),
      ]);
      expect(responses).toHaveLength(5);
      expect(responses[0].infer_response?.id).toBe("first");
      expect(responses[0].error_message ?? "").toBe("");
      expect(responses[1].error_message).toContain("ghost");
      expect(responses[1].infer_response).toBeFalsy();
      expect(responses[2].error_message).toContain("input");
      expect(responses[2].infer_response).toBeFalsy();
      expect(responses[3].error_message).toContain("kaboom");
      expect(responses[4].infer_response?.id).toBe("fifth");
      const last = decodeOutputs(responses[4].infer_response!)[0];
      expectClose(plain(last.values), expected.probabilities[0], expected.tolerance);
    });

    it("the stream's metadata reaches the model", async () => {
      const responses = await client.stream(
        [
          { model_name: "echo", inputs: [{ name: "x", datatype: "FP32", shape: [1] }], raw_input_contents: [f32([1])] },
        ],
        { "x-request-id": "stream-7" },
      );
      expect(outputsByName(responses[0].infer_response!).request_id.values).toEqual(["stream-7"]);
    });

    it("a stream the client cancels mid-request and a unary call past its deadline leave the server serving", async () => {
      // The slow model waits 500 ms before answering.
      const slow: ModelInferRequestMessage = {
        model_name: "slow",
        inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
        raw_input_contents: [f32([1])],
      };
      const duplex = (
        client.raw as unknown as { ModelStreamInfer(md: grpcJs.Metadata): grpcJs.ClientDuplexStream<unknown, unknown> }
      ).ModelStreamInfer(new grpcJs.Metadata());
      const cancelled = new Promise<number>((resolve) => duplex.on("error", (e: grpcJs.ServiceError) => resolve(e.code)));
      duplex.on("data", () => {});
      duplex.write(slow);
      await new Promise((r) => setTimeout(r, 50));
      duplex.cancel();
      expect(await cancelled).toBe(grpcJs.status.CANCELLED);

      type Done = (e: grpcJs.ServiceError | null) => void;
      const unary = client.raw as unknown as {
        ModelInfer(r: unknown, md: grpcJs.Metadata, o: grpcJs.CallOptions, cb: Done): void;
      };
      const late = await new Promise<grpcJs.ServiceError | null>((resolve) =>
        unary.ModelInfer(slow, new grpcJs.Metadata(), { deadline: Date.now() + 100 }, (e) => resolve(e)),
      );
      expect(late?.code).toBe(grpcJs.status.DEADLINE_EXCEEDED);
      // Let the abandoned work finish, then the server still answers on unary and stream calls.
      await new Promise((r) => setTimeout(r, 600));
      expect(await client.call("ServerLive")).toEqual({ live: true });
      const [res] = await client.stream([irisRaw([GOOD_ROW], { id: "after" })]);
      expect(res.infer_response?.id).toBe("after");
    });

    it("an empty stream ends with no responses", async () => {
      expect(await client.stream([])).toEqual([]);
    });
  });
});

describe("OIP gRPC model repository RPCs", () => {
  let root: string;
  let running: Running;
  let client: GrpcClient;
  const SCALE_REQ: ModelInferRequestMessage = {
    model_name: "scale",
    model_version: "2",
    inputs: [{ name: "x", datatype: "FP32", shape: [2] }],
    raw_input_contents: [f32([1, 2])],
  };

  beforeAll(async () => {
    root = await tempRepo({ iris: IRIS_DIR, multi_io: MULTI_IO_DIR, scale: SCALE_ALL_DIR });
    await mkdir(join(root, "broken", "1"), { recursive: true });
    await writeFile(join(root, "broken", "1", "model.onnx"), Buffer.from("not an onnx model"));
    running = await startWith({ modelRepository: root, models: [new EchoModel("echo")], modelControlMode: "explicit" });
    client = grpcClient(running.server.grpcPort!);
  });
  afterAll(async () => {
    client?.close();
    await running?.server.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  type Row = { name: string; version?: string; state: string; reason?: string };
  const rowsOf = (rows: Row[], name: string) => rows.filter((r) => r.name === name);
  const index = async (request: unknown = {}): Promise<Row[]> =>
    (await client.call("RepositoryIndex", request)).models ?? [];

  it("RepositoryIndex lists every version with its state, like REST", async () => {
    const rows = await index();
    expect(rowsOf(rows, "iris")).toEqual([expect.objectContaining({ name: "iris", version: "1", state: "READY" })]);
    expect(rowsOf(rows, "scale").map((r) => [r.version, r.state])).toEqual([
      ["1", "READY"],
      ["2", "READY"],
      ["3", "READY"],
    ]);
    const broken = rowsOf(rows, "broken");
    expect(broken).toHaveLength(1);
    expect(broken[0].state).toBe("UNAVAILABLE");
    expect((broken[0].reason ?? "").length).toBeGreaterThan(0);
    expect(rowsOf(rows, "echo").map((r) => r.state)).toEqual(["READY"]);

    const rest = await post(`${running.url}/v2/repository/index`, {});
    expect(rest.status).toBe(200);
    const normalize = (rs: Row[]) =>
      rs.map((r) => ({ name: r.name, version: r.version ?? "", state: r.state, reason: r.reason ?? "" }));
    expect(normalize(rows)).toEqual(normalize(rest.json));
  });

  it("RepositoryIndex with ready: true lists READY versions only", async () => {
    const rows = await index({ ready: true });
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.state).toBe("READY");
    expect(rows.map((r) => r.name)).not.toContain("broken");
    expect(rows.map((r) => r.name)).toContain("iris");
    expect((await index({ ready: false })).length).toBeGreaterThan(rows.length);
  });

  it("a model that failed to load: ModelReady false, ModelInfer UNAVAILABLE", async () => {
    expect(await client.call("ModelReady", { name: "broken" })).toEqual({ ready: false });
    expectStatus(await client.fail("ModelInfer", irisRaw([GOOD_ROW], { model_name: "broken" })), Code.UNAVAILABLE, "broken");
  });

  it("RepositoryModelUnload -> ModelReady false, ModelInfer UNAVAILABLE; RepositoryModelLoad brings it back", async () => {
    expect(await client.call("RepositoryModelUnload", { model_name: "iris" })).toEqual({});
    expect(await client.call("ModelReady", { name: "iris" })).toEqual({ ready: false });
    expectStatus(await client.fail("ModelInfer", irisRaw([GOOD_ROW])), Code.UNAVAILABLE, "iris");
    expectStatus(await client.fail("ModelMetadata", { name: "iris" }), Code.UNAVAILABLE, "iris");
    expect(rowsOf(await index(), "iris").map((r) => r.state)).toEqual(["UNAVAILABLE"]);
    expect(rowsOf(await index({ ready: true }), "iris")).toEqual([]);
    // REST sees the same state.
    const rest = await post(`${running.url}/v2/models/iris/infer`, {
      inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: GOOD_ROW }],
    });
    expectError(rest, 503, "iris");
    // Other models are untouched.
    expect(decodeOutputs(await client.infer(multiRaw([1, 2], [3, 4])))[0].values.length).toBe(2);

    expect(await client.call("RepositoryModelLoad", { model_name: "iris" })).toEqual({});
    expect(await client.call("ModelReady", { name: "iris" })).toEqual({ ready: true });
    expect(decodeOutputs(await client.infer(irisRaw([GOOD_ROW])))[0].shape).toEqual([1, 3]);
    expect(rowsOf(await index(), "iris").map((r) => r.state)).toEqual(["READY"]);
  });

  it("unloading a versioned model unloads every version; loading brings them all back", async () => {
    await client.call("RepositoryModelUnload", { model_name: "scale" });
    expect(rowsOf(await index(), "scale").map((r) => r.state)).toEqual(["UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE"]);
    expect(await client.call("ModelReady", { name: "scale", version: "2" })).toEqual({ ready: false });
    expectStatus(await client.fail("ModelInfer", SCALE_REQ), Code.UNAVAILABLE, "scale");
    await client.call("RepositoryModelLoad", { model_name: "scale" });
    const res = await client.infer(SCALE_REQ);
    expect(res.model_version).toBe("2");
    expect(plain(decodeOutputs(res)[0].values)).toEqual([2, 4]);
  });

  it("a model registered in code can be unloaded and loaded again", async () => {
    const req: ModelInferRequestMessage = {
      model_name: "echo",
      inputs: [{ name: "x", datatype: "FP32", shape: [1] }],
      raw_input_contents: [f32([1])],
    };
    await client.call("RepositoryModelUnload", { model_name: "echo" });
    expect(await client.call("ModelReady", { name: "echo" })).toEqual({ ready: false });
    expectStatus(await client.fail("ModelInfer", req), Code.UNAVAILABLE, "echo");
    await client.call("RepositoryModelLoad", { model_name: "echo" });
    expect(await client.call("ModelReady", { name: "echo" })).toEqual({ ready: true });
    expect(plain(outputsByName(await client.infer(req)).x_echo.values)).toEqual([1]);
  });

  it("loading the broken model fails and names it; it stays UNAVAILABLE", async () => {
    const err = await client.fail("RepositoryModelLoad", { model_name: "broken" });
    expect(err.code).not.toBe(Code.OK);
    expect(err.details).toContain("broken");
    expect(rowsOf(await index(), "broken")[0].state).toBe("UNAVAILABLE");
  });
});

describe("gRPC message size limits", () => {
  let big: Running;
  let small: Running;
  let smallSend: Running;
  let expected: IrisExpected;

  beforeAll(async () => {
    expected = await readJson(join(FIXTURES, "iris-expected.json"));
    big = await startWith({ dirs: [IRIS_DIR] });
    small = await startWith({ dirs: [IRIS_DIR], grpcMaxReceiveMessageLength: 1024 });
    smallSend = await startWith({ dirs: [IRIS_DIR], grpcMaxSendMessageLength: 1024 });
  });
  afterAll(async () => {
    await big?.server.stop();
    await small?.server.stop();
    await smallSend?.server.stop();
  });

  it("the default 64 MiB limit accepts a ~5.5 MB request (above gRPC's own 4 MiB default)", async () => {
    const n = 360_000;
    const rows = Array.from({ length: n }, (_, k) => expected.inputs[k % expected.inputs.length]);
    const raw = f32(rows.flat());
    expect(raw.byteLength).toBeGreaterThan(5_000_000);
    expect(raw.byteLength).toBeGreaterThan(4 * 1024 * 1024);
    const client = grpcClient(big.server.grpcPort!);
    try {
      const res = await client.infer({
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [n, 4] }],
        raw_input_contents: [raw],
      });
      const [out] = decodeOutputs(res);
      expect(out.shape).toEqual([n, 3]);
      // The answer is also above 4 MiB: the default send limit lets it out.
      expect(res.raw_output_contents![0].byteLength).toBe(n * 12);
      const k = expected.inputs.length;
      const probs = plain(out.values) as number[];
      for (const row of [0, 1, k - 1, n - 1]) {
        expectClose(probs.slice(row * 3, row * 3 + 3), expected.probabilities[row % k], expected.tolerance);
      }
    } finally {
      client.close();
    }
  });

  it("grpcMaxReceiveMessageLength 1024 rejects a larger request with RESOURCE_EXHAUSTED and keeps serving", async () => {
    const client = grpcClient(small.server.grpcPort!);
    try {
      const rows = Array.from({ length: 100 }, () => GOOD_ROW);
      const err = await client.fail("ModelInfer", irisRaw(rows));
      expect(err.code, err.details).toBe(Code.RESOURCE_EXHAUSTED);
      // A small request is still fine.
      expect(decodeOutputs(await client.infer(irisRaw([GOOD_ROW])))[0].shape).toEqual([1, 3]);
    } finally {
      client.close();
    }
  });

  it("grpcMaxSendMessageLength 1024 refuses a larger answer with RESOURCE_EXHAUSTED", async () => {
    const client = grpcClient(smallSend.server.grpcPort!);
    try {
      const rows = Array.from({ length: 100 }, () => GOOD_ROW); // 1.2 KB of probabilities
      const err = await client.fail("ModelInfer", irisRaw(rows));
      expect(err.code, err.details).toBe(Code.RESOURCE_EXHAUSTED);
      expect(decodeOutputs(await client.infer(irisRaw([GOOD_ROW])))[0].shape).toEqual([1, 3]);
    } finally {
      client.close();
    }
  });
});

describe("turning gRPC on and off", () => {
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) await stopCli(c);
  });

  it("enableGrpc: false -> no gRPC port, REST still works", async () => {
    const running = await startWith({ dirs: [IRIS_DIR], enableGrpc: false });
    try {
      expect(running.server.grpcPort).toBeUndefined();
      const r = await post(`${running.url}/v2/models/iris/infer`, {
        inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: GOOD_ROW }],
      });
      expect(r.status, r.text).toBe(200);
    } finally {
      await running.server.stop();
    }
  });

  it("CLI --enable_grpc false serves REST without gRPC", async () => {
    const { child, url, output } = await startCli(
      ["serve", "--model-repository", "examples/iris/models", "--enable_grpc", "false"],
      await freePort(),
    );
    children.push(child);
    const r = await post(`${url}/v2/models/iris/infer`, {
      inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: GOOD_ROW }],
    });
    expect(r.status, r.text).toBe(200);
    expect(output()).not.toMatch(/grpc \d+/i);
    await stopCli(child);
  });

  it("CLI --grpc_port serves gRPC on that port", async () => {
    const grpcPort = await freePort();
    const { child, output } = await startCli(
      ["serve", "--model-repository", "examples/iris/models", "--grpc_port", String(grpcPort)],
      await freePort(),
    );
    children.push(child);
    const client = grpcClient(grpcPort);
    try {
      expect(await client.call("ServerLive")).toEqual({ live: true });
      expect(await client.call("ModelReady", { name: "iris" })).toEqual({ ready: true });
      const res = await client.infer(irisRaw([GOOD_ROW]));
      expect(decodeOutputs(res)[0].shape).toEqual([1, 3]);
      expect(output()).toContain(String(grpcPort));
    } finally {
      client.close();
      await stopCli(child);
    }
  });
});
