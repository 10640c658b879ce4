/**
 * InferenceGRPCClient against a real tserve (iris, multi_io, types from a temporary repository, plus an echo
 * model), checked against InferenceRESTClient on the same server; and against small fake gRPC servers for
 * deadlines, UNAVAILABLE and metadata.
 */
import * as grpcJs from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  InferenceConnectionError,
  InferenceGRPCClient,
  type InferenceRESTClient as RESTClient,
  InferenceRESTClient,
  InferenceServerError,
  InferenceTimeoutError,
  InferInput,
  InferRequestedOutput,
  type InferResult,
  InvalidInput,
  type Tensor,
} from "../../packages/server/src/index.ts";
import {
  decodeModelInferRequest,
  encodeModelInferResponse,
  inferencePackageDefinition,
  type ModelInferRequestMessage,
  type ModelInferResponseMessage,
} from "../../packages/server/src/protocol/grpc/index.ts";
import EchoModel from "../fixtures/modules/echo.ts";
import { freePort } from "../helpers/server.ts";
import { IRIS_DIR, MULTI_IO_DIR, type Running, startWith, tempRepo, TYPES_DIR } from "./util.ts";

const Code = grpcJs.status;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const IRIS_ROWS = [
  [6.8, 2.8, 4.8, 1.4],
  [6.0, 3.4, 4.5, 1.6],
  [5.1, 3.5, 1.4, 0.2],
  [7.7, 3.0, 6.1, 2.3],
];

/** A result's outputs as plain, comparable values (BYTES as strings, typed arrays as arrays). */
function plainOutputs(result: InferResult): { name: string; datatype: string; shape: number[]; data: unknown[] }[] {
  return result.outputs.map((t: Tensor) => ({
    name: t.name,
    datatype: t.datatype,
    shape: [...t.shape],
    data: Array.isArray(t.data)
      ? t.data.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength).toString("utf8"))
      : Array.from(t.data as ArrayLike<unknown>),
  }));
}

/** Awaits a promise that must reject; returns the error. */
async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected the call to fail");
}

/** A fake inference.GRPCInferenceService whose ModelInfer runs `handler`; records requests and metadata. */
class FakeGrpcServer {
  readonly seen: { request: ModelInferRequestMessage; metadata: Record<string, string> }[] = [];
  readonly server = new grpcJs.Server();
  private readonly timers = new Set<NodeJS.Timeout>();
  port = 0;

  constructor(
    handler: (
      request: ModelInferRequestMessage,
      attempt: number,
      fake: FakeGrpcServer,
    ) => ModelInferResponseMessage | Promise<ModelInferResponseMessage>,
  ) {
    const pkg = grpcJs.loadPackageDefinition(inferencePackageDefinition()) as unknown as {
      inference: { GRPCInferenceService: grpcJs.ServiceClientConstructor };
    };
    this.server.addService(pkg.inference.GRPCInferenceService.service, {
      ModelInfer: (
        call: grpcJs.ServerUnaryCall<ModelInferRequestMessage, ModelInferResponseMessage>,
        callback: grpcJs.sendUnaryData<ModelInferResponseMessage>,
      ) => {
        const metadata: Record<string, string> = {};
        for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = String(v);
        this.seen.push({ request: call.request, metadata });
        Promise.resolve()
          .then(() => handler(call.request, this.seen.length, this))
          .then(
            (res) => callback(null, res),
            (err: { code?: number; details?: string }) =>
              callback({ code: err.code ?? Code.INTERNAL, details: err.details ?? String(err) }),
          );
      },
    });
  }

  delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  async listen(): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync("127.0.0.1:0", grpcJs.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    return this;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.server.forceShutdown();
  }
}

/** Echoes the first input back as `out`. */
function echoFirst(request: ModelInferRequestMessage): ModelInferResponseMessage {
  const decoded = decodeModelInferRequest(request).request;
  const t = decoded.inputs[0];
  return encodeModelInferResponse({ modelName: request.model_name ?? "", outputs: [{ ...t, name: "out" }] });
}

describe("InferenceGRPCClient against tserve", () => {
  let running: Running;
  let grpc: InferenceGRPCClient;
  let rest: RESTClient;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    const root = await tempRepo({ iris: IRIS_DIR, multi_io: MULTI_IO_DIR, types: TYPES_DIR });
    running = await startWith({ modelRepository: root, models: [new EchoModel("echo")], gracePeriodMs: 1000, modelControlMode: "explicit" });
    grpc = new InferenceGRPCClient(`127.0.0.1:${running.server.grpcPort}`);
    rest = new InferenceRESTClient(running.url);
  });
  afterAll(async () => {
    grpc?.close();
    rest?.close();
    await running?.server.stop();
  });
  afterEach(async () => {
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()!();
      } catch {
        // best effort
      }
    }
  });

  function client(target: string, options: ConstructorParameters<typeof InferenceGRPCClient>[1] = {}) {
    const c = new InferenceGRPCClient(target, options);
    cleanups.push(() => c.close());
    return c;
  }

  const irisInput = () => new InferInput("input", [IRIS_ROWS.length, 4], "FP32", IRIS_ROWS);
  const multiIoInputs = () => [
    new InferInput("a", [2, 2], "FP32", [
      [1, 2],
      [3, 4],
    ]),
    new InferInput("b", [2, 2], "FP32", Float32Array.from([0.5, 0.25, -1, 8])),
  ];
  const typesInputs = () => [
    new InferInput("i64", [3], "INT64", BigInt64Array.from([1n, -2n, 9007199254740993n])),
    new InferInput("i32", [3], "INT32", Int32Array.from([1, -2, 1_000_000])),
    new InferInput("u8", [3], "UINT8", Uint8Array.from([0, 7, 255])),
    new InferInput("f64", [3], "FP64", Float64Array.from([0.1, -1e300, 3.5])),
    new InferInput("flag", [3], "BOOL", [true, false, true]),
    new InferInput("f16", [3], "FP16", Float32Array.from([0.5, -2, 1024])),
    new InferInput("text", [3], "BYTES", ["a", "héllo wörld", ""]),
  ];

  // ---- inference ----------------------------------------------------------------------------------------

  it("iris: raw (default) and typed contents give the same tensors as the REST client (binary and JSON)", async () => {
    const viaRest = plainOutputs(await rest.infer("iris", [irisInput()]));
    const viaRestJson = plainOutputs(await rest.infer("iris", [irisInput()], { binary: false }));
    const raw = await grpc.infer("iris", [irisInput()]);
    const typed = await grpc.infer("iris", [irisInput()], { raw: false });
    expect(viaRest[0]).toMatchObject({ name: "probabilities", datatype: "FP32", shape: [4, 3] });
    expect(plainOutputs(raw)).toEqual(viaRest);
    expect(plainOutputs(typed)).toEqual(viaRest);
    expect(viaRestJson).toEqual(viaRest);
    expect(raw.modelName).toBe("iris");
    expect(raw.modelVersion).toBe("1");
    expect(raw.asTypedArray("probabilities")).toBeInstanceOf(Float32Array);
  });

  it("multi_io: both outputs, raw and typed, equal the REST client's", async () => {
    const viaRest = plainOutputs(await rest.infer("multi_io", multiIoInputs()));
    expect(viaRest.map((o) => o.name).sort()).toEqual(["diff", "sum"]);
    expect(plainOutputs(await grpc.infer("multi_io", multiIoInputs()))).toEqual(viaRest);
    expect(plainOutputs(await grpc.infer("multi_io", multiIoInputs(), { raw: false }))).toEqual(viaRest);
    const sum = viaRest.find((o) => o.name === "sum")!;
    expect(sum.data).toEqual([1.5, 2.25, 2, 12]);
  });

  it("types: every datatype (INT64 beyond 2^53, FP16, BOOL, BYTES with UTF-8) in raw contents equals the REST client's", async () => {
    const viaRest = plainOutputs(await rest.infer("types", typesInputs()));
    const viaGrpc = await grpc.infer("types", typesInputs());
    expect(plainOutputs(viaGrpc)).toEqual(viaRest);
    expect(viaGrpc.output("i64_out").data).toBeInstanceOf(BigInt64Array);
    expect(viaGrpc.asStrings("text_out")).toEqual(await rest.infer("types", typesInputs()).then((r) => r.asStrings("text_out")));
    expect(viaRest.map((o) => o.name)).toEqual(["i64_out", "i32_out", "u8_out", "f64_out", "flag_out", "f16_out", "text_out"]);
  });

  it("types with typed contents: FP16 has no typed field, so the client refuses it before sending, naming it", async () => {
    const err = await failure(grpc.infer("types", typesInputs(), { raw: false }));
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as Error).message).toContain("f16");
  });

  it("typed contents carry every other datatype exactly (echo model): same tensors as the REST client", async () => {
    const inputs = () => [
      new InferInput("i8", [2], "INT8", Int8Array.from([-128, 127])),
      new InferInput("i16", [2], "INT16", Int16Array.from([-32768, 32767])),
      new InferInput("i32", [2], "INT32", Int32Array.from([-2147483648, 2147483647])),
      new InferInput("i64", [2], "INT64", BigInt64Array.from([-9223372036854775808n, 9223372036854775807n])),
      new InferInput("u8", [2], "UINT8", Uint8Array.from([0, 255])),
      new InferInput("u16", [2], "UINT16", Uint16Array.from([0, 65535])),
      new InferInput("u32", [2], "UINT32", Uint32Array.from([0, 4294967295])),
      new InferInput("u64", [2], "UINT64", BigUint64Array.from([0n, 18446744073709551615n])),
      new InferInput("f32", [2, 1], "FP32", Float32Array.from([0.1, -3.5])),
      new InferInput("f64", [1, 2], "FP64", Float64Array.from([0.1, 1e-300])),
      new InferInput("flag", [2], "BOOL", [false, true]),
      new InferInput("text", [2], "BYTES", ["ünïcode", "x"]),
    ];
    const options = { requestId: "req-echo-1" };
    const withoutProtocol = (r: InferResult) => plainOutputs(r).filter((o) => o.name !== "protocol");
    const viaRest = await rest.infer("echo", inputs(), options);
    const raw = await grpc.infer("echo", inputs(), options);
    const typed = await grpc.infer("echo", inputs(), { ...options, raw: false });
    expect(withoutProtocol(raw)).toEqual(withoutProtocol(viaRest));
    expect(withoutProtocol(typed)).toEqual(withoutProtocol(viaRest));
    expect(raw.asStrings("protocol")).toEqual(["grpc-v2"]);
    expect(raw.asStrings("request_id")).toEqual(["req-echo-1"]);
    expect(raw.id).toBe("req-echo-1");
  });

  it("outputs filter: only the requested outputs, in the requested order; an unknown one is INVALID_ARGUMENT/400", async () => {
    const onlyDiff = await grpc.infer("multi_io", multiIoInputs(), { outputs: [new InferRequestedOutput("diff")] });
    expect(onlyDiff.outputs.map((o) => o.name)).toEqual(["diff"]);
    const reversed = await grpc.infer("multi_io", multiIoInputs(), {
      outputs: [new InferRequestedOutput("diff"), new InferRequestedOutput("sum")],
      raw: false,
    });
    expect(reversed.outputs.map((o) => o.name)).toEqual(["diff", "sum"]);
    const viaRest = await rest.infer("multi_io", multiIoInputs(), { outputs: [new InferRequestedOutput("diff")] });
    expect(plainOutputs(onlyDiff)).toEqual(plainOutputs(viaRest));

    const err = await failure(
      grpc.infer("multi_io", multiIoInputs(), { outputs: [new InferRequestedOutput("nonexistent")] }),
    );
    expect(err).toBeInstanceOf(InferenceServerError);
    expect(err).toMatchObject({ code: Code.INVALID_ARGUMENT, status: 400 });
    expect((err as Error).message).toContain("nonexistent");
  });

  it("modelVersion selects a version; an unknown version is NOT_FOUND/404", async () => {
    expect((await grpc.infer("iris", [irisInput()], { modelVersion: "1" })).modelVersion).toBe("1");
    const err = await failure(grpc.infer("iris", [irisInput()], { modelVersion: "9" }));
    expect(err).toMatchObject({ code: Code.NOT_FOUND, status: 404 });
    expect((err as Error).message).toContain("iris");
  });

  it("large requests and responses (> 4 MiB each way) work with the default options", async () => {
    const rows = 350_000; // 5.6 MB in, 4.2 MB out
    const data = new Float32Array(rows * 4);
    for (let r = 0; r < rows; r++) data.set(IRIS_ROWS[r % IRIS_ROWS.length], r * 4);
    expect(data.byteLength).toBeGreaterThan(4 * 1024 * 1024);
    const small = (await rest.infer("iris", [irisInput()])).asTypedArray("probabilities") as Float32Array;
    const result = await grpc.infer("iris", [new InferInput("input", [rows, 4], "FP32", data)]);
    const out = result.asTypedArray("probabilities") as Float32Array;
    expect(result.output("probabilities").shape).toEqual([rows, 3]);
    expect(out.byteLength).toBeGreaterThan(4 * 1024 * 1024);
    for (const r of [0, 1, 2, 3, rows - 4, rows - 3, rows - 2, rows - 1]) {
      const k = r % IRIS_ROWS.length;
      expect(Array.from(out.subarray(r * 3, r * 3 + 3))).toEqual(Array.from(small.subarray(k * 3, k * 3 + 3)));
    }
    // The limit is real: a client capped at gRPC's usual 4 MiB cannot send it.
    const capped = client(`127.0.0.1:${running.server.grpcPort}`, { maxMessageLength: 4 * 1024 * 1024 });
    const err = await failure(capped.infer("iris", [new InferInput("input", [rows, 4], "FP32", data)]));
    expect(err).toMatchObject({ code: Code.RESOURCE_EXHAUSTED, status: 413 });
  });

  // ---- metadata, health, repository ---------------------------------------------------------------------

  it("server and model metadata equal the REST client's", async () => {
    expect(await grpc.serverMetadata()).toEqual(await rest.serverMetadata());
    expect((await grpc.serverMetadata()).name).toBe("tserve");
    for (const name of ["iris", "multi_io", "types"]) {
      const viaGrpc = await grpc.modelMetadata(name);
      expect(viaGrpc).toEqual(await rest.modelMetadata(name));
      expect(viaGrpc.name).toBe(name);
    }
    expect((await grpc.modelMetadata("iris")).inputs).toEqual([{ name: "input", datatype: "FP32", shape: [-1, 4] }]);
    expect(await grpc.modelMetadata("iris", "1")).toMatchObject({ name: "iris", platform: "onnx_onnxv1" });
    const err = await failure(grpc.modelMetadata("nonexistent"));
    expect(err).toMatchObject({ code: Code.NOT_FOUND, status: 404 });
    expect((err as Error).message).toContain("nonexistent");
  });

  it("live, ready and model ready", async () => {
    expect(await grpc.isServerLive()).toBe(true);
    expect(await grpc.isServerReady()).toBe(true);
    expect(await grpc.isModelReady("iris")).toBe(true);
    expect(await grpc.isModelReady("iris", "1")).toBe(true);
    expect(await grpc.isModelReady("echo")).toBe(true);
    const err = await failure(grpc.isModelReady("nonexistent"));
    expect(err).toMatchObject({ code: Code.NOT_FOUND, status: 404 });
  });

  it("repository index, unload and load, agreeing with the REST client", async () => {
    const index = await grpc.repositoryIndex();
    expect(index).toEqual(await rest.repositoryIndex());
    const byName = Object.fromEntries(index.map((m) => [m.name, m]));
    for (const name of ["iris", "multi_io", "types"]) expect(byName[name]).toMatchObject({ state: "READY", version: "1" });

    await grpc.unloadModel("multi_io");
    expect(await grpc.isModelReady("multi_io").catch(() => false)).toBe(false);
    const after = Object.fromEntries((await grpc.repositoryIndex()).map((m) => [m.name, m]));
    expect(after.multi_io.state).not.toBe("READY");
    expect((await grpc.repositoryIndex(true)).map((m) => m.name)).not.toContain("multi_io");
    const err = await failure(grpc.infer("multi_io", multiIoInputs()));
    expect(err).toBeInstanceOf(InferenceServerError);
    expect([Code.NOT_FOUND, Code.UNAVAILABLE]).toContain((err as InferenceServerError).code);

    await grpc.loadModel("multi_io");
    expect(await grpc.isModelReady("multi_io")).toBe(true);
    expect((await grpc.repositoryIndex(true)).map((m) => m.name)).toContain("multi_io");
    expect((await grpc.infer("multi_io", multiIoInputs())).outputs).toHaveLength(2);
  });

  it("load/unload of an unknown model is NOT_FOUND/404 naming it", async () => {
    for (const call of [() => grpc.loadModel("nonexistent"), () => grpc.unloadModel("nonexistent")]) {
      const err = await failure(call());
      expect(err).toBeInstanceOf(InferenceServerError);
      expect(err).toMatchObject({ code: Code.NOT_FOUND, status: 404 });
      expect((err as Error).message).toContain("nonexistent");
    }
  });

  // ---- errors --------------------------------------------------------------------------------------------

  it("an unknown model is NOT_FOUND (code 5, status 404) with the server's message, the same as over REST", async () => {
    const err = await failure(grpc.infer("nonexistent", [irisInput()]));
    expect(err).toBeInstanceOf(InferenceServerError);
    expect(err).not.toBeInstanceOf(InferenceConnectionError);
    expect(err).toMatchObject({ code: Code.NOT_FOUND, status: 404 });
    const viaRest = (await failure(rest.infer("nonexistent", [irisInput()]))) as InferenceServerError;
    expect(viaRest.status).toBe(404);
    expect((err as Error).message).toBe(viaRest.message);
    expect((err as Error).message).toContain("nonexistent");
  });

  it("a bad input is INVALID_ARGUMENT (code 3, status 400) with the server's message, the same as over REST", async () => {
    const bad = () => [new InferInput("input", [1, 3], "FP32", Float32Array.from([1, 2, 3]))];
    const err = await failure(grpc.infer("iris", bad()));
    expect(err).toBeInstanceOf(InferenceServerError);
    expect(err).toMatchObject({ code: Code.INVALID_ARGUMENT, status: 400 });
    const viaRest = (await failure(rest.infer("iris", bad()))) as InferenceServerError;
    expect(viaRest.status).toBe(400);
    expect((err as Error).message).toBe(viaRest.message);
    expect((err as Error).message).toContain("input");

    const wrongName = await failure(
      grpc.infer("iris", [new InferInput("nope", [1, 4], "FP32", Float32Array.from([1, 2, 3, 4]))]),
    );
    expect(wrongName).toMatchObject({ code: Code.INVALID_ARGUMENT, status: 400 });
  });

  it("bad InferInputs are refused on the client before any call (InvalidInput)", async () => {
    expect(() => new InferInput("input", [1, 4], "FP32", Float32Array.from([1, 2, 3]))).toThrow(InvalidInput);
    const err = await failure(grpc.infer("iris", [new InferInput("input", [1, 4], "FP32")]));
    expect(err).toBeInstanceOf(InvalidInput);
  });

  // ---- transport: deadlines, refused connections, retries, metadata ------------------------------------

  it("a deadline (timeoutMs) against a slow server -> InferenceTimeoutError (504, DEADLINE_EXCEEDED), not retried", async () => {
    const fake = await new FakeGrpcServer(async (req, _n, f) => {
      await f.delay(10_000);
      return echoFirst(req);
    }).listen();
    cleanups.push(() => fake.close());
    const c = client(`127.0.0.1:${fake.port}`, { timeoutMs: 200, retries: 2, retryBaseDelayMs: 10 });
    const started = performance.now();
    const err = await failure(c.infer("slow", [irisInput()]));
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(InferenceTimeoutError);
    expect(err).toMatchObject({ status: 504, code: Code.DEADLINE_EXCEEDED, timeoutMs: 200 });
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(2000);
    expect(fake.seen).toHaveLength(1);

    // A per-call timeoutMs overrides the client's.
    const c2 = client(`127.0.0.1:${fake.port}`);
    const err2 = await failure(c2.infer("slow", [irisInput()], { timeoutMs: 150 }));
    expect(err2).toBeInstanceOf(InferenceTimeoutError);
    expect((err2 as InferenceTimeoutError).timeoutMs).toBe(150);
  });

  it("connection refused -> InferenceConnectionError (503, UNAVAILABLE, ECONNREFUSED), retried `retries` times", async () => {
    const port = await freePort();
    const retried: number[] = [];
    const c = client(`127.0.0.1:${port}`, {
      retries: 3,
      retryBaseDelayMs: 10,
      maxRetryDelayMs: 20,
      onRetry: (_err, n) => retried.push(n),
    });
    const err = await failure(c.infer("iris", [irisInput()]));
    expect(err).toBeInstanceOf(InferenceConnectionError);
    expect(err).toMatchObject({ status: 503, code: Code.UNAVAILABLE, systemCode: "ECONNREFUSED" });
    expect(retried).toEqual([1, 2, 3]);
    // Health calls fail the same way rather than answering false.
    expect(await failure(client(`127.0.0.1:${port}`).isServerReady())).toBeInstanceOf(InferenceConnectionError);
  });

  it("connection refused is retried until a server comes up on that port", async () => {
    const port = await freePort();
    const c = client(`127.0.0.1:${port}`, { retries: 10, retryBaseDelayMs: 100, maxRetryDelayMs: 1000 });
    const pending = c.infer("iris", [irisInput()]);
    await sleep(300);
    const late = await startWith({ dirs: [IRIS_DIR], grpcPort: port, gracePeriodMs: 1000 });
    cleanups.push(() => late.server.stop());
    const result = await pending;
    expect(plainOutputs(result)).toEqual(plainOutputs(await rest.infer("iris", [irisInput()])));
  });

  it("UNAVAILABLE from the server is retried (2 failures, retries 2 -> success); without retries it surfaces as 503/14", async () => {
    const script = (req: ModelInferRequestMessage, attempt: number) => {
      if (attempt <= 2) throw { code: Code.UNAVAILABLE, details: "server is warming up" };
      return echoFirst(req);
    };
    const fake = await new FakeGrpcServer(script).listen();
    cleanups.push(() => fake.close());
    const c = client(`127.0.0.1:${fake.port}`, { retries: 2, retryBaseDelayMs: 10 });
    const result = await c.infer("m", [irisInput()]);
    expect(Array.from(result.asTypedArray("out") as Float32Array)).toEqual(Array.from(Float32Array.from(IRIS_ROWS.flat())));
    expect(fake.seen).toHaveLength(3);

    const fake2 = await new FakeGrpcServer(script).listen();
    cleanups.push(() => fake2.close());
    const err = await failure(client(`127.0.0.1:${fake2.port}`).infer("m", [irisInput()]));
    expect(err).toBeInstanceOf(InferenceServerError);
    expect(err).toMatchObject({ status: 503, code: Code.UNAVAILABLE });
    expect((err as Error).message).toContain("server is warming up");
    expect(fake2.seen).toHaveLength(1);
  });

  it("other failures (INVALID_ARGUMENT, INTERNAL, RESOURCE_EXHAUSTED) are not retried", async () => {
    for (const [code, status] of [
      [Code.INVALID_ARGUMENT, 400],
      [Code.INTERNAL, 500],
      [Code.RESOURCE_EXHAUSTED, 413],
    ] as const) {
      const fake = await new FakeGrpcServer(() => {
        throw { code, details: `failure ${code}` };
      }).listen();
      cleanups.push(() => fake.close());
      const err = await failure(client(`127.0.0.1:${fake.port}`, { retries: 3, retryBaseDelayMs: 10 }).infer("m", [irisInput()]));
      expect(err).toMatchObject({ code, status, message: `failure ${code}` });
      expect(fake.seen).toHaveLength(1);
    }
  });

  it("client headers and per-call headers go as metadata; requestId sets the request id and x-request-id", async () => {
    const fake = await new FakeGrpcServer((req) => echoFirst(req)).listen();
    cleanups.push(() => fake.close());
    const c = client(`grpc://127.0.0.1:${fake.port}`, { headers: { Authorization: "Bearer abc", "x-tenant": "t1" } });
    await c.infer("m", [irisInput()], { headers: { traceparent: "00-abc-def-01", "x-tenant": "t2" }, requestId: "rid-9" });
    const { metadata, request } = fake.seen[0];
    expect(metadata.authorization).toBe("Bearer abc");
    expect(metadata.traceparent).toBe("00-abc-def-01");
    expect(metadata["x-tenant"]).toBe("t2");
    expect(metadata["x-request-id"]).toBe("rid-9");
    expect(request.id).toBe("rid-9");
    expect(request.model_name).toBe("m");
    expect(request.raw_input_contents).toHaveLength(1);
  });

  it("accepts host:port, grpc:// and http:// targets; refuses an empty one", async () => {
    for (const target of [
      `127.0.0.1:${running.server.grpcPort}`,
      `grpc://127.0.0.1:${running.server.grpcPort}`,
      `http://127.0.0.1:${running.server.grpcPort}/`,
    ]) {
      expect(await client(target).isServerLive()).toBe(true);
    }
    expect(() => new InferenceGRPCClient("")).toThrow(InvalidInput);
  });
});
