/**
 * Issue 10: a request that declares more tensor elements than its body carries (or than --max_tensor_elements
 * allows) is refused before anything is allocated: 400 with the protocol's error body, INVALID_ARGUMENT over
 * gRPC, naming the limit. The server answers the next request as before. Also: V1 paths are decoded once
 * (`%25` is a model name, not a 500), and malformed Seldon tftensor fields are 400s.
 */
import * as grpcJs from "@grpc/grpc-js";
import { encode } from "@msgpack/msgpack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ModelServer, OpenBayesPredictor, type PredictArgs, SeldonComponent } from "../../packages/server/src/index.ts";
import { seldonPackageDefinition } from "../../packages/server/src/protocol/seldon/grpc/index.ts";
import { expectSeldonError } from "../fixtures/seldon/harness.ts";
import { freePort, runCli, startCli, stopCli } from "../helpers/server.ts";
import { Code, expectStatus, grpcClient } from "./grpc-util.ts";
import { expectError, get, IRIS_DIR, post, type Running, startWith } from "./util.ts";

const LIMIT = /limit of \d+ tensor elements.*--max_tensor_elements/;
/** The body of the issue ("one 97-byte request"): one value, declared over 300 million elements. */
const BROADCAST = '{"data":{"tftensor":{"dtype":"DT_FLOAT","tensor_shape":{"dim":[{"size":300000000}]},"float_val":[1]}}}';
const ROW = [6.8, 2.8, 4.8, 1.4];

class Identity {
  predict(X: unknown): unknown {
    return X;
  }
}

function binaryRequest(header: unknown, blob: Uint8Array): { body: Buffer; headerLength: number } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Buffer.concat([json, blob]), headerLength: json.byteLength };
}

type SeldonCall = (service: string, method: string, request: unknown) => Promise<{ err: grpcJs.ServiceError | null; res: any }>;

function seldonGrpc(port: number): { call: SeldonCall; close: () => void } {
  const pkg = grpcJs.loadPackageDefinition(seldonPackageDefinition()) as unknown as {
    seldon: { protos: Record<string, grpcJs.ServiceClientConstructor> };
  };
  const clients = new Map<string, grpcJs.Client>();
  const call: SeldonCall = (service, method, request) => {
    let client = clients.get(service);
    if (!client) {
      client = new pkg.seldon.protos[service](`127.0.0.1:${port}`, grpcJs.credentials.createInsecure());
      clients.set(service, client);
    }
    type Unary = (req: unknown, cb: (err: grpcJs.ServiceError | null, res: unknown) => void) => void;
    const fn = (client as unknown as Record<string, Unary>)[method];
    return new Promise((resolve) => fn.call(client, request, (err, res) => resolve({ err, res })));
  };
  return { call, close: () => clients.forEach((c) => c.close()) };
}

describe("a Seldon component (REST and Seldon gRPC)", () => {
  let s: Running;
  let rpc: ReturnType<typeof seldonGrpc>;
  beforeAll(async () => {
    s = await startWith({ models: [new SeldonComponent(new Identity(), "identity")], seldon: true });
    rpc = seldonGrpc(s.server.grpcPort!);
  });
  afterAll(async () => {
    rpc?.close();
    await s?.server.stop();
  });

  async function stillServes(): Promise<void> {
    const ok = await post(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2]] } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.data.ndarray).toEqual([[1, 2]]);
  }

  it("answers the issue's ~100-byte broadcast with 400 naming the limit, and keeps serving", async () => {
    expect(Buffer.byteLength(BROADCAST)).toBeLessThan(110);
    for (const path of ["/api/v1.0/predictions", "/predict", "/transform-input", "/transform-output", "/route"]) {
      expectSeldonError(await post(`${s.url}${path}`, BROADCAST), 400, "MICROSERVICE_BAD_DATA", LIMIT);
    }
    // Many small broadcasts in one aggregate share one budget.
    const many = { seldonMessages: Array.from({ length: 10 }, () => JSON.parse(BROADCAST.replace("300000000", "10000000"))) };
    expectSeldonError(await post(`${s.url}/aggregate`, many), 400, "MICROSERVICE_BAD_DATA", LIMIT);
    await stillServes();
  });

  it("answers the same message over Seldon gRPC with INVALID_ARGUMENT naming the limit", async () => {
    const msg = { data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 300000000 }] }, float_val: [1] } } };
    for (const [service, method] of [["Model", "Predict"], ["Seldon", "Predict"], ["Generic", "TransformInput"]]) {
      const { err } = await rpc.call(service, method, msg);
      expect(err?.code, `${service}.${method}`).toBe(grpcJs.status.INVALID_ARGUMENT);
      expect(err?.details).toMatch(LIMIT);
    }
    const ok = await rpc.call("Model", "Predict", { data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: 3 }] }, float_val: [2] } } });
    expect(ok.err).toBeNull();
    await stillServes();
  });

  it("answers malformed tftensor fields with 400 and Seldon's error body", async () => {
    const cases: [unknown, RegExp][] = [
      [{ dtype: "DT_FLOAT", tensor_shape: { dim: "x" }, float_val: [1] }, /tensor_shape\.dim/],
      [{ dtype: "DT_FLOAT", tensor_shape: { dim: [null] }, float_val: [1] }, /tensor_shape\.dim\[0\]/],
      [{ dtype: "constructor", tensor_shape: { dim: [{ size: 1 }] }, float_val: [1] }, /unsupported dtype "constructor"/],
      [{ dtype: {}, tensor_shape: { dim: [{ size: 1 }] }, float_val: [1] }, /unsupported dtype/],
      [{ dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: -3 }] }, float_val: [1] }, /size/],
    ];
    for (const [tftensor, info] of cases) {
      expectSeldonError(await post(`${s.url}/api/v1.0/predictions`, { data: { tftensor } }), 400, "MICROSERVICE_BAD_DATA", info);
    }
    await stillServes();
  });

  it("checks a Seldon message sent to the V1 route the same way", async () => {
    expectError(await post(`${s.url}/v1/models/identity:predict`, BROADCAST), 400);
    const nested = await post(`${s.url}/v1/models/identity:predict`, { data: { tensor: { shape: [1e9, 0], values: [] } } });
    expect(expectError(nested, 400)).toMatch(/empty arrays/);
    const bad = await post(`${s.url}/v1/models/identity:predict`, { data: { tftensor: { dtype: "constructor", float_val: [1] } } });
    expect(expectError(bad, 400)).toMatch(/unsupported dtype/);
    await stillServes();
  });

  it("still broadcasts a one-value tftensor within the limit", async () => {
    const r = await post(`${s.url}/api/v1.0/predictions`, {
      data: { tftensor: { dtype: "DT_DOUBLE", tensor_shape: { dim: [{ size: 2 }, { size: 2 }] }, double_val: [5] } },
    });
    expect(r.status, r.text).toBe(200);
    expect(r.json.data.tftensor.doubleVal).toEqual([5, 5, 5, 5]);
  });
});

describe("--max_tensor_elements on a Seldon component", () => {
  let s: Running;
  beforeAll(async () => {
    s = await startWith({ models: [new SeldonComponent(new Identity(), "identity")], seldon: true, enableGrpc: false, maxTensorElements: 6 });
  });
  afterAll(async () => {
    await s?.server.stop();
  });

  it("refuses a normal-sized request over the configured limit and passes one under it", async () => {
    expectSeldonError(await post(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2, 3, 4], [5, 6, 7, 8]] } }), 400, "MICROSERVICE_BAD_DATA", /limit of 6 /);
    const ok = await post(`${s.url}/api/v1.0/predictions`, { data: { ndarray: [[1, 2, 3], [4, 5, 6]] } });
    expect(ok.status, ok.text).toBe(200);
  });
});

describe("an ONNX model over V2 REST, OIP gRPC and V1", () => {
  let s: Running;
  beforeAll(async () => {
    s = await startWith({ dirs: [IRIS_DIR] });
  });
  afterAll(async () => {
    await s?.server.stop();
  });

  async function stillServes(): Promise<void> {
    const r = await post(`${s.url}/v2/models/iris/infer`, { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: ROW }] });
    expect(r.status, r.text).toBe(200);
  }

  it("V2 JSON: a huge declared shape is a 400 naming the limit", async () => {
    const r = await post(`${s.url}/v2/models/iris/infer`, { inputs: [{ name: "input", shape: [300000000, 4], datatype: "FP32", data: [1] }] });
    expect(expectError(r, 400, "Input 'input'")).toMatch(LIMIT);
    const empty = await post(`${s.url}/v2/models/iris/infer`, { inputs: [{ name: "input", shape: [1e9, 0], datatype: "FP32", data: [] }] });
    expect(expectError(empty, 400)).toMatch(/empty arrays/);
    await stillServes();
  });

  it("V2 binary: a huge declared shape is a 400 whatever binary_data_size says", async () => {
    const { body, headerLength } = binaryRequest(
      { inputs: [{ name: "input", shape: [1 << 30, 4], datatype: "FP32", parameters: { binary_data_size: 16 } }] },
      new Uint8Array(16),
    );
    const r = await fetch(`${s.url}/v2/models/iris/infer`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(headerLength) },
      body,
    });
    const text = await r.text();
    expect(r.status, text).toBe(400);
    expect(JSON.parse(text).error).toMatch(LIMIT);
    await stillServes();
  });

  it("OIP gRPC: a huge declared shape is INVALID_ARGUMENT naming the limit", async () => {
    const client = grpcClient(s.server.grpcPort!);
    try {
      const typed = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [300000000, 4], contents: { fp32_contents: [1] } }],
      });
      expect(expectStatus(typed, Code.INVALID_ARGUMENT, "Input 'input'")).toMatch(LIMIT);
      const raw = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [1e9, 4] }],
        raw_input_contents: [new Uint8Array(16)],
      });
      expect(expectStatus(raw, Code.INVALID_ARGUMENT)).toMatch(LIMIT);
      const ok = await client.infer({ model_name: "iris", inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], contents: { fp32_contents: ROW } }] });
      expect(ok.outputs?.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });

  it("V1: a path parameter is decoded once, so %25 and broken escapes are 4xx with {error}, not 500", async () => {
    for (const path of ["/v1/models/%25:predict", "/v1/models/%25/versions/1:predict", "/v1/models/%25/labels/%25:predict", "/v1/models/%E0%A4%A:predict"]) {
      const r = await post(`${s.url}${path}`, { instances: [ROW] });
      expect(r.status, `${path}: ${r.text}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `${path}: ${r.text}`).toBeLessThan(500);
      expectError(r, r.status);
    }
    for (const path of ["/v1/models/%25", "/v1/models/%25/metadata", "/v1/models/%E0%A4%A"]) {
      const r = await get(`${s.url}${path}`);
      expect(r.status, `${path}: ${r.text}`).toBeLessThan(500);
      expectError(r, r.status);
    }
    expectError(await post(`${s.url}/v1/models/%25:predict`, { instances: [ROW] }), 404, "%");
    // An escaped name still reaches the model.
    const ok = await post(`${s.url}/v1/models/%69ris:predict`, { instances: [ROW] });
    expect(ok.status, ok.text).toBe(200);
  });

  it("V2 and the other routes: a path parameter with %25 or a broken escape is 4xx with {error}", async () => {
    const body = { inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: ROW }] };
    for (const path of ["/v2/models/%25/infer", "/v2/models/iris/versions/%25/infer", "/v2/models/%E0%A4%A/infer"]) {
      const r = await post(`${s.url}${path}`, body);
      expect(r.status, `${path}: ${r.text}`).toBeLessThan(500);
      expectError(r, r.status);
    }
    for (const path of ["/v2/models/%25", "/v2/models/%25/ready", "/v2/models/%E0%A4%A/ready", "/v2/models/iris/versions/%25"]) {
      const r = await get(`${s.url}${path}`);
      expect(r.status, `${path}: ${r.text}`).toBeLessThan(500);
      expectError(r, r.status);
    }
    await stillServes();
  });
});

describe("--max_tensor_elements on an ONNX model", () => {
  let s: Running;
  beforeAll(async () => {
    s = await startWith({ dirs: [IRIS_DIR], maxTensorElements: 8 });
  });
  afterAll(async () => {
    await s?.server.stop();
  });

  it("V1 rows: 3 rows of 4 are refused, 2 rows pass", async () => {
    const r = await post(`${s.url}/v1/models/iris:predict`, { instances: [ROW, ROW, ROW] });
    expect(expectError(r, 400)).toMatch(/limit of 8 tensor elements/);
    const ok = await post(`${s.url}/v1/models/iris:predict`, { instances: [ROW, ROW] });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.predictions).toHaveLength(2);
  });

  it("V2 JSON and OIP gRPC: the same limit", async () => {
    const v2 = (rows: number) => post(`${s.url}/v2/models/iris/infer`, { inputs: [{ name: "input", shape: [rows, 4], datatype: "FP32", data: Array(rows).fill(ROW) }] });
    expect(expectError(await v2(3), 400)).toMatch(/limit of 8 tensor elements/);
    expect((await v2(2)).status).toBe(200);
    const client = grpcClient(s.server.grpcPort!);
    try {
      const msg = (rows: number) => ({ model_name: "iris", inputs: [{ name: "input", datatype: "FP32", shape: [rows, 4], contents: { fp32_contents: Array(rows).fill(ROW).flat() } }] });
      expectStatus(await client.fail("ModelInfer", msg(3)), Code.INVALID_ARGUMENT, "limit of 8 tensor elements");
      expect((await client.infer(msg(2))).outputs?.length).toBeGreaterThan(0);
    } finally {
      client.close();
    }
  });
});

describe("an OpenBayes predictor reading MessagePack", () => {
  class Echo {
    predict({ json }: PredictArgs) {
      return { got: json };
    }
  }
  let servers: ModelServer[] = [];
  const serve = async (maxTensorElements?: number) => {
    const r = await startWith({ models: [new OpenBayesPredictor(Echo, "echo", {})], openbayes: true, enableGrpc: false, maxTensorElements });
    servers.push(r.server);
    return r.url;
  };
  const send = (url: string, body: Uint8Array) =>
    fetch(`${url}/`, { method: "POST", headers: { "content-type": "application/msgpack" }, body }).then(async (r) => ({
      status: r.status,
      json: (await r.json()) as any,
    }));
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    servers = [];
  });

  it("refuses arrays the body cannot hold (500 bytes once killed the process) and keeps serving", async () => {
    const header = Buffer.from([0xdd, 0, 0x98, 0x96, 0x80]); // array32 of 10,000,000
    const url = await serve();
    const r = await send(url, Buffer.concat(Array.from({ length: 100 }, () => header)));
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/cannot hold them/);
    const ok = await send(url, encode({ x: [1, 2, 3] }));
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ got: { x: [1, 2, 3] } });
  });

  it("refuses an array longer than --max_tensor_elements", async () => {
    const url = await serve(3);
    const r = await send(url, encode([1, 2, 3, 4]));
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/limit of 3 tensor elements.*--max_tensor_elements/);
    expect((await send(url, encode([1, 2, 3]))).status).toBe(200);
  });
});

describe("tserve serve --max_tensor_elements", () => {
  it("lowers the limit of the served models", async () => {
    const { child, url } = await startCli(["serve", IRIS_DIR, "--max_tensor_elements", "8", "--enable_grpc", "false"], await freePort());
    try {
      expect(expectError(await post(`${url}/v1/models/iris:predict`, { instances: [ROW, ROW, ROW] }), 400)).toMatch(/limit of 8 tensor elements/);
      expect((await post(`${url}/v1/models/iris:predict`, { instances: [ROW, ROW] })).status).toBe(200);
    } finally {
      await stopCli(child);
    }
  });

  it("refuses a limit that is not a whole number >= 1", async () => {
    const { code, stderr } = await runCli(["serve", IRIS_DIR, "--max_tensor_elements", "0"]);
    expect(code).toBe(2);
    expect(stderr).toContain("--max_tensor_elements");
  });
});
