/**
 * Triton's extensions that its tools call (model configuration, statistics, classification, request parameters)
 * and Triton's error precedence, over REST and gRPC against a real server. Where a Triton client would make the call,
 * the exact request `tritonclient` sends is replayed from test/fixtures/peers/triton/ (see its README).
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpcJs from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequestedOutput, Model, type RequestContext } from "../../packages/server/src/index.ts";
import { inferencePackageDefinition } from "../../packages/server/src/protocol/grpc/index.ts";
import { Code, expectStatus, f32, type GrpcClient, grpcClient } from "./grpc-util.ts";
import {
  expectError,
  FIXTURES,
  get,
  IRIS_DIR,
  parseBytesElements,
  post,
  type Running,
  SCALE_ALL_DIR,
  splitBinaryResponse,
  startWith,
  tempRepo,
} from "./util.ts";

const PEERS = join(FIXTURES, "peers", "triton");
const IRIS_ROWS = [6.8, 2.8, 4.8, 1.4, 6.0, 3.4, 4.5, 1.6];
const IRIS_INPUT = { name: "input", shape: [2, 4], datatype: "FP32", data: IRIS_ROWS };

interface Fixtures {
  http: Record<string, { method: string; path: string; headers: Record<string, string>; body?: string }>;
  grpc: Record<string, { method: string; body: string }>;
}

let fixtures: Fixtures;

/** Sends a recorded tritonclient REST request as it is. */
async function replayHttp(url: string, name: string): Promise<{ status: number; headers: Headers; bytes: Buffer; json: any }> {
  const f = fixtures.http[name];
  const body = f.body === undefined ? undefined : await readFile(join(PEERS, f.body));
  const r = await fetch(`${url}${f.path}`, { method: f.method, headers: f.headers, body });
  const bytes = Buffer.from(await r.arrayBuffer());
  const headerLength = r.headers.get("inference-header-content-length");
  let json: any;
  try {
    json = JSON.parse(bytes.subarray(0, headerLength === null ? bytes.byteLength : Number(headerLength)).toString("utf8"));
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, bytes, json };
}

type ServiceDefinition = Record<string, { path: string; responseDeserialize: (b: Buffer) => any }>;
let service: ServiceDefinition | undefined;

/** Sends a recorded tritonclient gRPC message's bytes as they are; decodes the answer with the service's own types. */
async function replayGrpc(client: GrpcClient, name: string): Promise<{ err: grpcJs.ServiceError | null; res?: any }> {
  service ??= (grpcJs.loadPackageDefinition(inferencePackageDefinition()) as any).inference.GRPCInferenceService.service as ServiceDefinition;
  const f = fixtures.grpc[name];
  const method = service[f.method];
  const bytes = await readFile(join(PEERS, f.body));
  return new Promise((resolve) => {
    client.raw.makeUnaryRequest(
      method.path,
      (b: Buffer) => b,
      method.responseDeserialize,
      bytes,
      new grpcJs.Metadata(),
      { deadline: Date.now() + 30_000 },
      (err, res) => resolve({ err, res }),
    );
  });
}

/** A TypeScript model that answers only once the test opens its gate. */
class SlowModel extends Model {
  private opened!: Promise<void>;
  open!: () => void;
  constructor(name: string) {
    super(name);
    this.inputs = [{ name: "x", datatype: "FP32", shape: [-1, 1] }];
    this.outputs = [{ name: "y", datatype: "FP32", shape: [-1, 1] }];
    this.close();
  }
  close(): void {
    this.opened = new Promise((resolve) => (this.open = resolve));
  }
  override async predict(request: { inputs: { data: Float32Array }[] }, _ctx: RequestContext) {
    await this.opened;
    return { outputs: [{ name: "y", datatype: "FP32", shape: [1, 1], data: Float32Array.from(request.inputs[0].data) }] };
  }
}

/** Fixed scores that show Triton's printing: ties, half-to-even rounding at six decimals, integers, and a BYTES output. */
class ScoresModel extends Model {
  constructor(name: string) {
    super(name);
    this.inputs = [{ name: "x", datatype: "FP32", shape: [-1, 1] }];
    this.outputs = [
      { name: "scores", datatype: "FP32", shape: [-1, 4] },
      { name: "counts", datatype: "INT32", shape: [3] },
      { name: "names", datatype: "BYTES", shape: [1] },
    ];
  }
  override predict() {
    return {
      outputs: [
        { name: "scores", datatype: "FP32", shape: [1, 4], data: Float32Array.from([0.5, 0.0078125, 0.25, 0.0078125]) },
        { name: "counts", datatype: "INT32", shape: [3], data: Int32Array.from([5, 7, -2]) },
        { name: "names", datatype: "BYTES", shape: [1], data: [Buffer.from("a")] },
      ],
    };
  }
}

/** iris with Triton-style settings: adaptive batching, two instances, a label file for its output. */
async function irisRepo(): Promise<string> {
  const root = await tempRepo({ iris: IRIS_DIR });
  await writeFile(
    join(root, "iris", "model-settings.json"),
    JSON.stringify({
      name: "iris",
      runtime: "onnx",
      maxBatchSize: 8,
      preferredBatchSizes: [4],
      maxQueueDelayMicroseconds: 20000,
      instanceCount: 2,
      parameters: { intraOpNumThreads: 1 },
      outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, 3], labelFilename: "labels.txt" }],
    }),
  );
  await writeFile(join(root, "iris", "labels.txt"), "setosa\nversicolor\nvirginica\n");
  return root;
}

beforeAll(async () => {
  fixtures = JSON.parse(await readFile(join(PEERS, "requests.json"), "utf8")) as Fixtures;
});

describe("Triton's extensions", () => {
  let running: Running;
  let url: string;
  let client: GrpcClient;
  const slow = new SlowModel("slow");

  beforeAll(async () => {
    running = await startWith({
      modelRepository: await irisRepo(),
      dirs: [SCALE_ALL_DIR],
      models: [slow, new ScoresModel("scores")],
      modelControlMode: "explicit",
    });
    url = running.url;
    client = grpcClient(running.server.grpcPort!);
  });
  afterAll(async () => {
    slow.open();
    client?.close();
    await running?.server.stop();
  });

  it("server metadata advertises model_configuration, statistics and classification, over REST and gRPC", async () => {
    const wanted = ["model_configuration", "statistics", "classification", "model_repository", "binary_tensor_data"];
    expect((await get(`${url}/v2`)).json.extensions).toEqual(expect.arrayContaining(wanted));
    expect((await client.call("ServerMetadata")).extensions).toEqual(expect.arrayContaining(wanted));
  });

  describe("model configuration", () => {
    it("GET /v2/models/{m}/config (tritonclient's get_model_config) gives Triton's ModelConfig from model-settings.json", async () => {
      const r = await replayHttp(url, "http-model-config");
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(r.json).toMatchObject({
        name: "iris",
        platform: "onnx_onnxv1",
        backend: "onnxruntime",
        version_policy: { latest: { num_versions: 1 } },
        max_batch_size: 8,
        // With max_batch_size > 0 the dims leave out the batch dimension, as in a config.pbtxt.
        input: [{ name: "input", data_type: "TYPE_FP32", format: "FORMAT_NONE", dims: [4] }],
        output: [{ name: "probabilities", data_type: "TYPE_FP32", dims: [3], label_filename: "labels.txt" }],
        dynamic_batching: {
          preferred_batch_size: [4],
          max_queue_delay_microseconds: 20000,
          default_queue_policy: { max_queue_size: 1024 },
        },
        instance_group: [{ name: "iris", kind: "KIND_CPU", count: 2 }],
        parameters: { intraOpNumThreads: { string_value: "1" } },
      });
    });

    it("a model without batching has max_batch_size 0, full dims and no dynamic_batching; a version's own config", async () => {
      const r = await replayHttp(url, "http-model-config-version");
      expect(r.status).toBe(200);
      expect(r.json).toMatchObject({
        name: "scale",
        max_batch_size: 0,
        version_policy: { all: {} },
        input: [{ name: "x", data_type: "TYPE_FP32", dims: [-1] }],
        output: [{ name: "y", data_type: "TYPE_FP32", dims: [-1], label_filename: "" }],
        instance_group: [{ kind: "KIND_CPU", count: 1 }],
      });
      expect(r.json).not.toHaveProperty("dynamic_batching");
    });

    it("a BYTES tensor is TYPE_STRING; a model registered in code has an empty backend", async () => {
      const r = await get(`${url}/v2/models/scores/config`);
      expect(r.status).toBe(200);
      expect(r.json.output.map((o: { data_type: string }) => o.data_type)).toEqual(["TYPE_FP32", "TYPE_INT32", "TYPE_STRING"]);
      expect(r.json.backend).toBe("");
    });

    it("gRPC ModelConfig (tritonclient's bytes) answers ModelConfigResponse{config} with Triton's enums", async () => {
      const { err, res } = await replayGrpc(client, "grpc-model-config");
      expect(err).toBeNull();
      expect(res.config).toMatchObject({
        name: "iris",
        platform: "onnx_onnxv1",
        backend: "onnxruntime",
        max_batch_size: 8,
        input: [{ name: "input", data_type: "TYPE_FP32", dims: ["4"] }],
        output: [{ name: "probabilities", data_type: "TYPE_FP32", dims: ["3"], label_filename: "labels.txt" }],
        dynamic_batching: { preferred_batch_size: [4], max_queue_delay_microseconds: "20000" },
        instance_group: [{ name: "iris", kind: "KIND_CPU", count: 2 }],
        version_policy: { latest: { num_versions: 1 } },
      });
    });

    it("an unknown model or version is 404 / NOT_FOUND naming it", async () => {
      expectError(await get(`${url}/v2/models/ghost/config`), 404, "ghost");
      expectError(await get(`${url}/v2/models/scale/versions/9/config`), 404, "scale", "9");
      expectStatus(await client.fail("ModelConfig", { name: "ghost" }), Code.NOT_FOUND, "ghost");
    });
  });

  describe("classification", () => {
    it("REST binary (tritonclient's class_count=2): the output is BYTES [2, 2] of 'score:index:label', best first", async () => {
      const r = await replayHttp(url, "http-infer-classification-binary");
      expect(r.status).toBe(200);
      const { header, blobs } = splitBinaryResponse(r.bytes, Number(r.headers.get("inference-header-content-length")));
      expect(header.outputs[0]).toMatchObject({ name: "probabilities", datatype: "BYTES", shape: [2, 2] });
      expect(parseBytesElements(blobs.probabilities)).toEqual([
        "0.801548:1:versicolor",
        "0.197332:2:virginica",
        "0.788809:1:versicolor",
        "0.201205:2:virginica",
      ]);
    });

    it("REST JSON: the classes come back as JSON strings; N is capped at the classes there are", async () => {
      const r = await replayHttp(url, "http-infer-classification-json");
      expect(r.status).toBe(200);
      expect(r.json.outputs).toEqual([
        {
          name: "probabilities",
          datatype: "BYTES",
          shape: [2, 3],
          data: [
            "0.801548:1:versicolor",
            "0.197332:2:virginica",
            "0.001120:0:setosa",
            "0.788809:1:versicolor",
            "0.201205:2:virginica",
            "0.009985:0:setosa",
          ],
        },
      ]);
      const capped = await post(`${url}/v2/models/iris/infer`, {
        inputs: [IRIS_INPUT],
        outputs: [{ name: "probabilities", parameters: { classification: 10 } }],
      });
      expect(capped.json.outputs[0].shape).toEqual([2, 3]);
    });

    it("scores print as C++'s std::to_string does (six decimals, half to even); ties keep index order; no labels: 'score:index'", async () => {
      const r = await post(`${url}/v2/models/scores/infer`, {
        inputs: [{ name: "x", shape: [1, 1], datatype: "FP32", data: [1] }],
        outputs: [
          { name: "scores", parameters: { classification: 3 } },
          { name: "counts", parameters: { class_count: 2 } },
        ],
      });
      expect(r.status, r.text).toBe(200);
      expect(r.json.outputs).toEqual([
        { name: "scores", datatype: "BYTES", shape: [1, 3], data: ["0.500000:0", "0.250000:2", "0.007812:1"] },
        // A fixed first dimension that is not a batch: the whole tensor is one entry. Older clients' class_count works too.
        { name: "counts", datatype: "BYTES", shape: [2], data: ["7:1", "5:0"] },
      ]);
    });

    it("gRPC (tritonclient's int64 'classification' parameter): BYTES [2, 2] in raw contents", async () => {
      const { err, res } = await replayGrpc(client, "grpc-infer-classification");
      expect(err).toBeNull();
      expect(res.outputs[0]).toMatchObject({ name: "probabilities", datatype: "BYTES", shape: ["2", "2"] });
      expect(parseBytesElements(res.raw_output_contents[0])).toEqual([
        "0.801548:1:versicolor",
        "0.197332:2:virginica",
        "0.788809:1:versicolor",
        "0.201205:2:virginica",
      ]);
    });

    it("tserve's clients ask for it with classCount", async () => {
      const rest = new InferenceRESTClient(url);
      const grpc = new InferenceGRPCClient(`127.0.0.1:${running.server.grpcPort}`);
      try {
        const input = () => new InferInput("input", [2, 4], "FP32", Float32Array.from(IRIS_ROWS));
        const outputs = [new InferRequestedOutput("probabilities", { classCount: 1 })];
        for (const result of [await rest.infer("iris", [input()], { outputs }), await grpc.infer("iris", [input()], { outputs })]) {
          expect(result.output("probabilities").shape).toEqual([2, 1]);
          expect(result.asStrings("probabilities")).toEqual(["0.801548:1:versicolor", "0.788809:1:versicolor"]);
        }
      } finally {
        rest.close();
        grpc.close();
      }
    });

    it("a classification count that is not a non-negative integer, or a BYTES output, is 400 / INVALID_ARGUMENT", async () => {
      expectError(
        await post(`${url}/v2/models/iris/infer`, { inputs: [IRIS_INPUT], outputs: [{ name: "probabilities", parameters: { classification: -1 } }] }),
        400,
        "classification",
      );
      expectError(
        await post(`${url}/v2/models/scores/infer`, {
          inputs: [{ name: "x", shape: [1, 1], datatype: "FP32", data: [1] }],
          outputs: [{ name: "names", parameters: { classification: 1 } }],
        }),
        400,
        "names",
        "BYTES",
      );
      const err = await client.fail("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [2, 4] }],
        raw_input_contents: [f32(IRIS_ROWS)],
        outputs: [{ name: "probabilities", parameters: { classification: { string_param: "two" } } }],
      });
      expectStatus(err, Code.INVALID_ARGUMENT, "classification");
    });
  });

  describe("request parameters tserve does not honour", () => {
    it("sequence_id / sequence_start (tritonclient's REST request) is 400 naming the parameter", async () => {
      const r = await replayHttp(url, "http-infer-sequence");
      expect(r.status).toBe(400);
      expect(r.json.error).toContain("sequence_id");
    });

    it("priority is 400 naming it", async () => {
      const r = await replayHttp(url, "http-infer-priority");
      expect(r.status).toBe(400);
      expect(r.json.error).toContain("priority");
    });

    it("over gRPC both are INVALID_ARGUMENT naming the parameter", async () => {
      const sequence = await replayGrpc(client, "grpc-infer-sequence");
      expectStatus(sequence.err!, Code.INVALID_ARGUMENT, "sequence_id");
      const priority = await replayGrpc(client, "grpc-infer-priority");
      expectStatus(priority.err!, Code.INVALID_ARGUMENT, "priority");
    });

    it("a load request with a config override (tritonclient's load_model(config=…)) is 400 / INVALID_ARGUMENT naming 'config'", async () => {
      const r = await replayHttp(url, "http-load-config");
      expect(r.status).toBe(400);
      expect(r.json.error).toContain("'config'");
      const g = await replayGrpc(client, "grpc-load-config");
      expectStatus(g.err!, Code.INVALID_ARGUMENT, "'config'");
      // The model was left as it was.
      expect((await get(`${url}/v2/models/iris/config`)).json.max_batch_size).toBe(8);
    });
  });

  describe("timeout", () => {
    it("a request the model does not answer within its timeout fails with Triton's status: 503 / UNAVAILABLE", async () => {
      slow.close();
      try {
        const r = await replayHttp(url, "http-infer-timeout");
        expect(r.status).toBe(503);
        expect(r.json.error).toMatch(/^Request timeout expired/);
        expect(r.json.error).toContain("slow");
        const g = await replayGrpc(client, "grpc-infer-timeout");
        expectStatus(g.err!, Code.UNAVAILABLE, "Request timeout expired");
      } finally {
        slow.open();
      }
    });

    it("a request answered in time succeeds; timeout must be a non-negative integer", async () => {
      const body = { inputs: [{ name: "x", shape: [1, 1], datatype: "FP32", data: [3] }] };
      const ok = await post(`${url}/v2/models/slow/infer`, { ...body, parameters: { timeout: 60_000_000 } });
      expect(ok.status, ok.text).toBe(200);
      expect(ok.json.outputs[0].data).toEqual([3]);
      expectError(await post(`${url}/v2/models/slow/infer`, { ...body, parameters: { timeout: "soon" } }), 400, "timeout");
    });
  });

  describe("error precedence: the model is looked up first", () => {
    it("REST infer for an unknown model is 404 naming it, whatever the body", async () => {
      for (const body of ["{}", '{"inputs": []}', "not json"]) {
        expectError(await post(`${url}/v2/models/nope/infer`, body), 404, "nope");
      }
      expectError(await post(`${url}/v2/models/scale/versions/9/infer`, "{}"), 404, "scale", "9");
    });

    it("gRPC ModelInfer for an unknown model with no inputs (raw tritonclient-style bytes) is NOT_FOUND", async () => {
      const { err } = await replayGrpc(client, "grpc-infer-unknown-model");
      expectStatus(err!, Code.NOT_FOUND, "nope");
      expectStatus(await client.fail("ModelInfer", { model_name: "nope" }), Code.NOT_FOUND, "nope");
    });

    it("a known model still answers 400 / INVALID_ARGUMENT for a request without inputs", async () => {
      expectError(await post(`${url}/v2/models/iris/infer`, '{"inputs": []}'), 400, "inputs");
      expectStatus(await client.fail("ModelInfer", { model_name: "iris" }), Code.INVALID_ARGUMENT);
    });
  });
});

describe("Triton's statistics", () => {
  let running: Running;
  let url: string;
  let client: GrpcClient;

  beforeAll(async () => {
    running = await startWith({ modelRepository: await irisRepo(), dirs: [SCALE_ALL_DIR] });
    url = running.url;
    client = grpcClient(running.server.grpcPort!);
  });
  afterAll(async () => {
    client?.close();
    await running?.server.stop();
  });

  it("before any request every READY version is listed with zero counts (tritonclient's get_inference_statistics())", async () => {
    const r = await replayHttp(url, "http-statistics-all");
    expect(r.status).toBe(200);
    expect(r.json.model_stats.map((s: { name: string; version: string }) => `${s.name}/${s.version}`)).toEqual([
      "iris/1",
      "scale/1",
      "scale/2",
      "scale/3",
    ]);
    expect(r.json.model_stats[0]).toEqual({
      name: "iris",
      version: "1",
      last_inference: 0,
      inference_count: 0,
      execution_count: 0,
      inference_stats: {
        success: { count: 0, ns: 0 },
        fail: { count: 0, ns: 0 },
        queue: { count: 0, ns: 0 },
        compute_input: { count: 0, ns: 0 },
        compute_infer: { count: 0, ns: 0 },
        compute_output: { count: 0, ns: 0 },
        cache_hit: { count: 0, ns: 0 },
        cache_miss: { count: 0, ns: 0 },
      },
      response_stats: {},
      batch_stats: [],
      memory_usage: [],
    });
  });

  it("counts successes, failures, batch elements, runs and durations per model, queue waits included", async () => {
    const started = Date.now();
    for (let i = 0; i < 3; i++) expect((await post(`${url}/v2/models/iris/infer`, { inputs: [IRIS_INPUT] })).status).toBe(200);
    // A request the model refuses counts as a failure.
    expect((await post(`${url}/v2/models/iris/infer`, { inputs: [{ name: "input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] })).status).toBe(400);
    const r = await replayHttp(url, "http-statistics-model");
    expect(r.status).toBe(200);
    expect(r.json.model_stats).toHaveLength(1);
    const s = r.json.model_stats[0];
    expect(s.name).toBe("iris");
    expect(s.version).toBe("1");
    expect(s.inference_stats.success.count).toBe(3);
    expect(s.inference_stats.fail.count).toBe(1);
    // iris batches (maxBatchSize 8): each request carried 2 batch elements.
    expect(s.inference_count).toBe(6);
    expect(s.execution_count).toBeGreaterThanOrEqual(3);
    expect(s.last_inference).toBeGreaterThanOrEqual(started);
    for (const k of ["queue", "compute_input", "compute_infer", "compute_output"]) expect(s.inference_stats[k].count).toBe(3);
    expect(s.inference_stats.success.ns).toBeGreaterThan(0);
    expect(s.inference_stats.fail.ns).toBeGreaterThan(0);
    expect(s.inference_stats.compute_infer.ns).toBeGreaterThan(0);
    // Alone in the queue, each request waited for company until maxQueueDelayMicroseconds passed.
    expect(s.inference_stats.queue.ns).toBeGreaterThan(0);
    expect(s.batch_stats).toEqual([expect.objectContaining({ batch_size: 2, compute_infer: expect.objectContaining({ count: 3 }) })]);
  });

  it("one version's statistics; the others are untouched", async () => {
    expect((await post(`${url}/v2/models/scale/versions/2/infer`, { inputs: [{ name: "x", shape: [2], datatype: "FP32", data: [1, 2] }] })).status).toBe(200);
    const r = await replayHttp(url, "http-statistics-version");
    expect(r.status).toBe(200);
    expect(r.json.model_stats).toHaveLength(1);
    expect(r.json.model_stats[0]).toMatchObject({ name: "scale", version: "2", inference_count: 1, execution_count: 1 });
    expect(r.json.model_stats[0].inference_stats.success.count).toBe(1);
    const all = (await get(`${url}/v2/models/scale/stats`)).json.model_stats;
    expect(all.map((m: any) => [m.version, m.inference_stats.success.count])).toEqual([
      ["1", 0],
      ["2", 1],
      ["3", 0],
    ]);
  });

  it("gRPC ModelStatistics gives the same figures with Triton's field numbers (tritonclient's bytes)", async () => {
    const { err, res } = await replayGrpc(client, "grpc-statistics-version");
    expect(err).toBeNull();
    expect(res.model_stats).toHaveLength(1);
    expect(res.model_stats[0]).toMatchObject({ name: "scale", version: "2", inference_count: "1", execution_count: "1" });
    expect(res.model_stats[0].inference_stats.success.count).toBe("1");
    const every = await replayGrpc(client, "grpc-statistics-all");
    expect(every.res.model_stats.map((m: { name: string; version: string }) => `${m.name}/${m.version}`)).toEqual(["iris/1", "scale/1", "scale/2", "scale/3"]);
  });

  it("an unknown model or version is 404 / NOT_FOUND naming it", async () => {
    expectError(await get(`${url}/v2/models/ghost/stats`), 404, "ghost");
    expectError(await get(`${url}/v2/models/scale/versions/7/stats`), 404, "scale", "7");
    expectStatus(await client.fail("ModelStatistics", { name: "ghost" }), Code.NOT_FOUND, "ghost");
    expectStatus(await client.fail("ModelStatistics", { name: "scale", version: "7" }), Code.NOT_FOUND, "scale", "7");
  });

  it("tserve's clients read them: modelStatistics and modelConfig", async () => {
    const rest = new InferenceRESTClient(url);
    const grpc = new InferenceGRPCClient(`127.0.0.1:${running.server.grpcPort}`);
    try {
      expect((await rest.modelStatistics("scale", "2")).model_stats[0]).toMatchObject({ name: "scale", version: "2" });
      expect((await grpc.modelStatistics()).model_stats).toHaveLength(4);
      expect(await rest.modelConfig("iris")).toMatchObject({ name: "iris", max_batch_size: 8 });
      expect(await grpc.modelConfig("scale", "3")).toMatchObject({ name: "scale", input: [{ name: "x" }] });
    } finally {
      rest.close();
      grpc.close();
    }
  });
});
