/**
 * Transformers end to end: a tserve ModelServer (or the CLI) serving a Model with `predictorHost`, in front of
 * a real tserve iris predictor or a small fake predictor started here (node:http, or @grpc/grpc-js built from
 * the inference .proto), over each predictor protocol (v1, v2, grpc-v2).
 */
import { type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import * as grpcJs from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { InferenceGRPCClient, InferenceServerError, InferInput, Model, type ModelOptions } from "../../packages/server/src/index.ts";
import {
  decodeModelInferRequest,
  encodeModelInferResponse,
  inferencePackageDefinition,
  type ModelInferRequestMessage,
  type ModelInferResponseMessage,
} from "../../packages/server/src/protocol/grpc/index.ts";
import IrisTransformer from "../fixtures/modules/iris-transformer.ts";
import JsonV2Transformer from "../fixtures/modules/transformer-v2-json.ts";
import { freePort, startCli, stopCli } from "../helpers/server.ts";
import { expectError, get, IRIS_DIR, MODULES, post, type Reply, type Running, startWith } from "./util.ts";

type PredictorProtocol = "v1" | "v2" | "grpc-v2";
const PROTOCOLS: PredictorProtocol[] = ["v1", "v2", "grpc-v2"];
const REST_PROTOCOLS: PredictorProtocol[] = ["v1", "v2"];

const LABELS = ["setosa", "versicolor", "virginica"];
/** What a client sends the IrisTransformer: millimetres. It divides by 10 before forwarding. */
const MM = [
  [68, 28, 48, 14],
  [60, 34, 45, 16],
  [51, 35, 14, 2],
  [77, 30, 61, 23],
];
const CM = MM.map((row) => row.map((v) => v / 10));

/** Headers that must follow a request to the predictor, and some that must not. */
const FORWARDED: Record<string, string> = {
  "x-request-id": "req-7f3a9c",
  authorization: "Bearer s3cret-token",
  traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  tracestate: "congo=t61rcWkgMzE",
  "x-b3-traceid": "80f198ee56343ba864fe8b2a57d3eff7",
  "x-b3-spanid": "e457b5a2e4d86bd1",
  b3: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1",
};
const NOT_FORWARDED: Record<string, string> = { cookie: "session=abc123", "x-custom-header": "keep-me-here" };

/** The probabilities every fake predictor answers for each row (exact in FP32): argmax = versicolor. */
const FAKE_ROW = [0.25, 0.5, 0.25];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const argmaxLabels = (rows: number[][]) => rows.map((p) => LABELS[p.indexOf(Math.max(...p))]);

/** Polls `check` until it stops throwing (or throws its last error after `timeoutMs`). */
async function eventually(check: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Fake predictors
// ---------------------------------------------------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type HttpHandler = (req: Seen, res: ServerResponse, attempt: number, fake: FakeHttpPredictor) => void | Promise<void>;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** A V2 request body as the fake saw it: its JSON header and the binary section after it. */
function parseV2(seen: Seen): { header: any; binary: Buffer } {
  const len = seen.headers["inference-header-content-length"];
  const headerLength = len === undefined ? seen.body.byteLength : Number(len);
  return {
    header: JSON.parse(seen.body.subarray(0, headerLength).toString("utf8")),
    binary: seen.body.subarray(headerLength),
  };
}

/** Answers an iris :predict (V1) or /infer (V2, JSON answer) with FAKE_ROW for every row. */
function answerIris(seen: Seen, res: ServerResponse): void {
  if (seen.url.startsWith("/v1/models/") && seen.url.endsWith(":predict")) {
    const rows = (JSON.parse(seen.body.toString("utf8")).instances as unknown[]).length;
    sendJson(res, 200, { predictions: Array.from({ length: rows }, () => FAKE_ROW) });
    return;
  }
  if (seen.url.startsWith("/v2/models/") && seen.url.endsWith("/infer")) {
    const rows = parseV2(seen).header.inputs[0].shape[0] as number;
    sendJson(res, 200, {
      model_name: "iris",
      outputs: [
        {
          name: "probabilities",
          datatype: "FP32",
          shape: [rows, 3],
          data: Array.from({ length: rows }, () => FAKE_ROW).flat(),
        },
      ],
    });
    return;
  }
  if (seen.method === "GET" && /^\/(v1\/models\/iris|v2\/models\/iris\/ready)$/.test(seen.url)) {
    sendJson(res, 200, { name: "iris", ready: true });
    return;
  }
  sendJson(res, 404, { error: `fake predictor has no route ${seen.method} ${seen.url}` });
}

/** A node:http predictor that records every request and answers through `handler`. */
class FakeHttpPredictor {
  readonly seen: Seen[] = [];
  private readonly server: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private port = 0;

  constructor(private readonly handler: HttpHandler = (seen, res) => answerIris(seen, res)) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const seen: Seen = {
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: Buffer.concat(chunks),
        };
        this.seen.push(seen);
        const attempt = this.posts().length;
        Promise.resolve(this.handler(seen, res, attempt, this)).catch((err: unknown) =>
          sendJson(res, 500, { error: `fake predictor failed: ${String(err)}` }),
        );
      });
    });
  }

  /** The inference calls (not health probes). */
  posts(): Seen[] {
    return this.seen.filter((s) => s.method === "POST");
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** A delay that close() cancels (the promise then never settles). */
  delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  async listen(port = 0): Promise<this> {
    this.server.listen(port, "127.0.0.1");
    await once(this.server, "listening");
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    if (this.server.listening) {
      this.server.close();
      await once(this.server, "close");
    }
  }
}

interface GrpcSeen {
  request: ModelInferRequestMessage;
  metadata: Record<string, string>;
}

/** Thrown by a fake gRPC handler: becomes the call's status. */
class GrpcFailure {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {}
}

type GrpcHandler = (
  seen: GrpcSeen,
  attempt: number,
  fake: FakeGrpcPredictor,
) => ModelInferResponseMessage | Promise<ModelInferResponseMessage>;

/** ModelInfer answered with FAKE_ROW for every row, as raw contents. */
function answerIrisGrpc(seen: GrpcSeen): ModelInferResponseMessage {
  const rows = decodeModelInferRequest(seen.request).request.inputs[0].shape[0];
  return encodeModelInferResponse({
    modelName: "iris",
    outputs: [
      {
        name: "probabilities",
        datatype: "FP32",
        shape: [rows, 3],
        data: Float32Array.from(Array.from({ length: rows }, () => FAKE_ROW).flat()),
      },
    ],
  });
}

function metadataRecord(md: grpcJs.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) out[k] = typeof v === "string" ? v : Buffer.from(v).toString();
  return out;
}

/** An inference.GRPCInferenceService with a scripted ModelInfer; ModelReady/ServerReady answer true. */
class FakeGrpcPredictor {
  readonly seen: GrpcSeen[] = [];
  private readonly server = new grpcJs.Server();
  private readonly timers = new Set<NodeJS.Timeout>();
  private port = 0;

  constructor(handler: GrpcHandler = (seen) => answerIrisGrpc(seen)) {
    const pkg = grpcJs.loadPackageDefinition(inferencePackageDefinition()) as unknown as {
      inference: { GRPCInferenceService: grpcJs.ServiceClientConstructor };
    };
    this.server.addService(pkg.inference.GRPCInferenceService.service, {
      ModelInfer: (
        call: grpcJs.ServerUnaryCall<ModelInferRequestMessage, ModelInferResponseMessage>,
        callback: grpcJs.sendUnaryData<ModelInferResponseMessage>,
      ) => {
        const seen = { request: call.request, metadata: metadataRecord(call.metadata) };
        this.seen.push(seen);
        Promise.resolve()
          .then(() => handler(seen, this.seen.length, this))
          .then(
            (response) => callback(null, response),
            (err: unknown) =>
              callback(
                err instanceof GrpcFailure
                  ? { code: err.code, details: err.details }
                  : { code: grpcJs.status.INTERNAL, details: String(err) },
              ),
          );
      },
      ModelReady: (_call: unknown, callback: grpcJs.sendUnaryData<{ ready: boolean }>) => callback(null, { ready: true }),
      ServerReady: (_call: unknown, callback: grpcJs.sendUnaryData<{ ready: boolean }>) =>
        callback(null, { ready: true }),
    });
  }

  get host(): string {
    return `127.0.0.1:${this.port}`;
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

  async listen(port = 0): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${port}`, grpcJs.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    return this;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.forceShutdown();
  }
}

// ---------------------------------------------------------------------------------------------------------

describe("transformers", () => {
  let predictor: Running;
  /** The predictor's own V1 answer for CM. */
  let expected: number[][];
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    predictor = await startWith({ dirs: [IRIS_DIR], gracePeriodMs: 1000 });
    const direct = await post(`${predictor.url}/v1/models/iris:predict`, { instances: CM });
    expect(direct.status, direct.text).toBe(200);
    expected = direct.json.predictions;
    expect(expected).toHaveLength(MM.length);
  });
  afterAll(async () => predictor?.server.stop());

  afterEach(async () => {
    while (cleanups.length > 0) {
      try {
        await cleanups.pop()!();
      } catch {
        // best effort
      }
    }
  });

  /** The real predictor's address for a protocol. */
  function realHost(protocol: PredictorProtocol): string {
    return protocol === "grpc-v2" ? `127.0.0.1:${predictor.server.grpcPort}` : `127.0.0.1:${predictor.server.port}`;
  }

  /** Serves `model` (by default an IrisTransformer named iris with `options`); stopped after the test. */
  async function transformer(options: ModelOptions, model?: Model): Promise<Running> {
    const running = await startWith({ models: [model ?? new IrisTransformer("iris", options)], gracePeriodMs: 1000 });
    cleanups.push(() => running.server.stop());
    return running;
  }

  async function fakeHttp(handler?: HttpHandler, port = 0): Promise<FakeHttpPredictor> {
    const fake = await new FakeHttpPredictor(handler).listen(port);
    cleanups.push(() => fake.close());
    return fake;
  }

  async function fakeGrpc(handler?: GrpcHandler, port = 0): Promise<FakeGrpcPredictor> {
    const fake = await new FakeGrpcPredictor(handler).listen(port);
    cleanups.push(() => fake.close());
    return fake;
  }

  /** A fake predictor for the protocol, answering through the given script. */
  async function fakeFor(
    protocol: PredictorProtocol,
    script: {
      http: HttpHandler;
      grpc: GrpcHandler;
    },
  ): Promise<{ host: string; attempts: () => number }> {
    if (protocol === "grpc-v2") {
      const fake = await fakeGrpc(script.grpc);
      return { host: fake.host, attempts: () => fake.seen.length };
    }
    const fake = await fakeHttp(script.http);
    return { host: fake.host, attempts: () => fake.posts().length };
  }

  function predictMm(url: string, headers: Record<string, string> = {}, name = "iris"): Promise<Reply> {
    return post(`${url}/v1/models/${name}:predict`, { instances: MM }, headers);
  }

  function expectIrisAnswer(r: Reply): void {
    expect(r.status, r.text).toBe(200);
    expect(r.json.probabilities).toEqual(expected);
    expect(r.json.predictions).toEqual(argmaxLabels(expected));
  }

  function grpcClient(port: number | undefined): InferenceGRPCClient {
    const client = new InferenceGRPCClient(`127.0.0.1:${port}`, { timeoutMs: 5000 });
    cleanups.push(() => client.close());
    return client;
  }

  // ---- correctness ----------------------------------------------------------------------------------------

  describe.each(PROTOCOLS)("in front of a tserve iris predictor over %s", (protocol) => {
    it("answers labels and probabilities equal to calling the predictor directly", async () => {
      const t = await transformer({ predictorHost: realHost(protocol), predictorProtocol: protocol });
      expectIrisAnswer(await predictMm(t.url));
      // The predictor's labels for this seed: a mix of classes, so argmax is really exercised.
      expect(new Set(argmaxLabels(expected)).size).toBeGreaterThan(1);
    });

    it("a batch of one and repeated calls (kept-alive connections) keep answering", async () => {
      const t = await transformer({ predictorHost: realHost(protocol), predictorProtocol: protocol });
      for (let i = 0; i < 5; i++) {
        const r = await post(`${t.url}/v1/models/iris:predict`, { instances: [MM[i % MM.length]] });
        expect(r.status, r.text).toBe(200);
        expect(r.json.probabilities).toEqual([expected[i % MM.length]]);
      }
    });

    it("ModelServer's `predictor` option configures a served model that has no predictorHost", async () => {
      const running = await startWith({
        models: [new IrisTransformer("iris")],
        predictor: { predictorHost: realHost(protocol), predictorProtocol: protocol },
        gracePeriodMs: 1000,
      });
      cleanups.push(() => running.server.stop());
      expectIrisAnswer(await predictMm(running.url));
    });

    it("predictorModelName names the model on the predictor (default: the transformer's own name)", async () => {
      const t = await transformer(
        {},
        new IrisTransformer("flower", {
          predictorHost: realHost(protocol),
          predictorProtocol: protocol,
          predictorModelName: "iris",
        }),
      );
      expectIrisAnswer(await predictMm(t.url, {}, "flower"));
      // Without predictorModelName the predictor is asked for "flower", which it does not serve.
      const plain = await transformer(
        {},
        new IrisTransformer("flower", { predictorHost: realHost(protocol), predictorProtocol: protocol }),
      );
      expectError(await predictMm(plain.url, {}, "flower"), 404, "flower");
    });
  });

  it("a pass-through transformer (plain Model with predictorHost) serves V2 and gRPC clients from a V2 predictor", async () => {
    const t = await transformer({}, new Model("iris", { predictorHost: realHost("v2"), predictorProtocol: "v2" }));
    const v2 = await post(`${t.url}/v2/models/iris/infer`, {
      inputs: [{ name: "input", datatype: "FP32", shape: [CM.length, 4], data: CM }],
    });
    expect(v2.status, v2.text).toBe(200);
    expect(v2.json.outputs[0].name).toBe("probabilities");
    expect(v2.json.outputs[0].data).toEqual(expected.flat());
    const client = grpcClient(t.server.grpcPort);
    const result = await client.infer("iris", [
      new InferInput("input", [CM.length, 4], "FP32", Float32Array.from(CM.flat())),
    ]);
    expect(Array.from(result.asTypedArray("probabilities") as Float32Array)).toEqual(expected.flat());
  });

  // ---- V2 on the wire -----------------------------------------------------------------------------------

  it("V2: tensors reach the predictor as binary data (octet-stream + Inference-Header-Content-Length), not JSON numbers", async () => {
    const fake = await fakeHttp();
    const t = await transformer({ predictorHost: fake.host, predictorProtocol: "v2" });
    const r = await predictMm(t.url);
    expect(r.status, r.text).toBe(200);
    expect(r.json.predictions).toEqual(MM.map(() => "versicolor"));
    expect(r.json.probabilities).toEqual(MM.map(() => FAKE_ROW));

    expect(fake.posts()).toHaveLength(1);
    const seen = fake.posts()[0];
    expect(seen.url).toBe("/v2/models/iris/infer");
    expect(seen.headers["content-type"]).toMatch(/^application\/octet-stream/);
    expect(seen.headers["inference-header-content-length"]).toMatch(/^\d+$/);
    const { header, binary } = parseV2(seen);
    expect(header.inputs).toHaveLength(1);
    const input = header.inputs[0];
    expect(input).toMatchObject({ name: "input", datatype: "FP32", shape: [MM.length, 4] });
    expect(input.data).toBeUndefined();
    expect(input.parameters?.binary_data_size).toBe(MM.length * 4 * 4);
    expect(binary.byteLength).toBe(MM.length * 4 * 4);
    const sent = new Float32Array(binary.buffer.slice(binary.byteOffset, binary.byteOffset + binary.byteLength));
    expect(Array.from(sent)).toEqual(Array.from(Float32Array.from(CM.flat())));
    // No value appears as a JSON number in the header.
    expect(seen.body.subarray(0, Number(seen.headers["inference-header-content-length"])).toString()).not.toMatch(
      /6\.8|"data"/,
    );
  });

  it("V2: a preprocess that returns V2 JSON (nested numbers) still goes binary; a V1 caller gets the outputs as predictions", async () => {
    const fake = await fakeHttp();
    const t = await transformer({}, new JsonV2Transformer("iris", { predictorHost: fake.host, predictorProtocol: "v2" }));
    const r = await post(`${t.url}/v1/models/iris:predict`, { instances: CM });
    expect(r.status, r.text).toBe(200);
    expect(r.json.predictions).toEqual(CM.map(() => FAKE_ROW));
    const seen = fake.posts()[0];
    expect(seen.headers["content-type"]).toMatch(/^application\/octet-stream/);
    const { header, binary } = parseV2(seen);
    expect(header.inputs[0].data).toBeUndefined();
    expect(header.inputs[0].parameters?.binary_data_size).toBe(CM.length * 16);
    expect(binary.byteLength).toBe(CM.length * 16);

    // And against the real predictor the numbers are the predictor's.
    const real = await transformer(
      {},
      new JsonV2Transformer("iris", { predictorHost: realHost("v2"), predictorProtocol: "v2" }),
    );
    const r2 = await post(`${real.url}/v1/models/iris:predict`, { instances: CM });
    expect(r2.status, r2.text).toBe(200);
    expect(r2.json.predictions).toEqual(expected);
  });

  it("grpc-v2: tensors reach the predictor as raw_input_contents (no typed contents)", async () => {
    const fake = await fakeGrpc();
    const t = await transformer({ predictorHost: fake.host, predictorProtocol: "grpc-v2" });
    expect((await predictMm(t.url)).status).toBe(200);
    const { request } = fake.seen[0];
    expect(request.model_name).toBe("iris");
    expect(request.raw_input_contents).toHaveLength(1);
    expect(request.inputs?.[0].contents?.fp32_contents ?? []).toEqual([]);
    const raw = request.raw_input_contents![0];
    const sent = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect(Array.from(sent)).toEqual(Array.from(Float32Array.from(CM.flat())));
  });

  // ---- header forwarding -------------------------------------------------------------------------------

  it.each(REST_PROTOCOLS)(
    "REST %s: x-request-id, authorization, traceparent/tracestate and b3 headers reach the predictor; cookie does not",
    async (protocol) => {
      const fake = await fakeHttp();
      const t = await transformer({ predictorHost: fake.host, predictorProtocol: protocol });
      const r = await predictMm(t.url, { ...FORWARDED, ...NOT_FORWARDED });
      expect(r.status, r.text).toBe(200);
      const seen = fake.posts()[0];
      for (const [k, v] of Object.entries(FORWARDED)) expect(seen.headers[k], k).toBe(v);
      for (const k of Object.keys(NOT_FORWARDED)) expect(seen.headers[k], k).toBeUndefined();
    },
  );

  it("grpc-v2: the same headers reach the predictor as gRPC metadata; cookie does not", async () => {
    const fake = await fakeGrpc();
    const t = await transformer({ predictorHost: fake.host, predictorProtocol: "grpc-v2" });
    const r = await predictMm(t.url, { ...FORWARDED, ...NOT_FORWARDED });
    expect(r.status, r.text).toBe(200);
    const md = fake.seen[0].metadata;
    for (const [k, v] of Object.entries(FORWARDED)) expect(md[k], k).toBe(v);
    for (const k of Object.keys(NOT_FORWARDED)) expect(md[k], k).toBeUndefined();
  });

  it("a gRPC client's metadata reaches a REST V2 predictor as headers (pass-through transformer)", async () => {
    const fake = await fakeHttp();
    const t = await transformer({}, new Model("iris", { predictorHost: fake.host, predictorProtocol: "v2" }));
    const client = grpcClient(t.server.grpcPort);
    const result = await client.infer(
      "iris",
      [new InferInput("input", [1, 4], "FP32", Float32Array.from(CM[0]))],
      { headers: { ...FORWARDED, ...NOT_FORWARDED } },
    );
    expect(Array.from(result.asTypedArray("probabilities") as Float32Array)).toEqual(FAKE_ROW);
    const seen = fake.posts()[0];
    for (const [k, v] of Object.entries(FORWARDED)) expect(seen.headers[k], k).toBe(v);
    for (const k of Object.keys(NOT_FORWARDED)) expect(seen.headers[k], k).toBeUndefined();
  });

  // ---- retries and errors ------------------------------------------------------------------------------

  /** 503 / UNAVAILABLE for the first two attempts, then a normal answer. */
  const flaky = {
    http: ((seen, res, attempt) => {
      if (attempt <= 2) sendJson(res, 503, { error: "predictor is warming up" });
      else answerIris(seen, res);
    }) as HttpHandler,
    grpc: ((seen, attempt) => {
      if (attempt <= 2) throw new GrpcFailure(grpcJs.status.UNAVAILABLE, "predictor is warming up");
      return answerIrisGrpc(seen);
    }) as GrpcHandler,
  };

  it.each(PROTOCOLS)(
    "%s: a predictor that is unavailable twice then answers succeeds with predictorRequestRetries 2 (3 attempts)",
    async (protocol) => {
      const fake = await fakeFor(protocol, flaky);
      const t = await transformer({ predictorHost: fake.host, predictorProtocol: protocol, predictorRequestRetries: 2 });
      const r = await predictMm(t.url);
      expect(r.status, r.text).toBe(200);
      expect(r.json.predictions).toEqual(MM.map(() => "versicolor"));
      expect(fake.attempts()).toBe(3);
    },
  );

  it.each(PROTOCOLS)("%s: the same predictor fails the call with 503 when predictorRequestRetries is 0", async (protocol) => {
    const fake = await fakeFor(protocol, flaky);
    const t = await transformer({ predictorHost: fake.host, predictorProtocol: protocol });
    expectError(await predictMm(t.url), 503, "predictor is warming up");
    expect(fake.attempts()).toBe(1);
  });

  it.each(PROTOCOLS)("%s: with too few retries the last 503 reaches the client", async (protocol) => {
    const fake = await fakeFor(protocol, flaky);
    const t = await transformer({ predictorHost: fake.host, predictorProtocol: protocol, predictorRequestRetries: 1 });
    expectError(await predictMm(t.url), 503, "predictor is warming up");
    expect(fake.attempts()).toBe(2);
  });

  const upstreamErrors: [number, number, string][] = [
    [400, grpcJs.status.INVALID_ARGUMENT, "Input 'input' has 5 columns, expected 4"],
    [404, grpcJs.status.NOT_FOUND, "Model with name iris does not exist on the predictor"],
    [500, grpcJs.status.INTERNAL, "predictor ran out of crayons"],
  ];

  describe.each(PROTOCOLS)("%s: predictor errors", (protocol) => {
    it.each(upstreamErrors)(
      "a %i from the predictor is not retried and reaches the client with that status and the predictor's message",
      async (status, code, message) => {
        const fake = await fakeFor(protocol, {
          http: (_seen, res) => sendJson(res, status, { error: message }),
          grpc: () => {
            throw new GrpcFailure(code, message);
          },
        });
        const t = await transformer({ predictorHost: fake.host, predictorProtocol: protocol, predictorRequestRetries: 3 });
        expectError(await predictMm(t.url), status, message);
        expect(fake.attempts()).toBe(1);
      },
    );

    it("connection refused -> 503 whose message names the predictor host", async () => {
      const port = await freePort();
      const host = `127.0.0.1:${port}`;
      const t = await transformer({ predictorHost: host, predictorProtocol: protocol });
      expectError(await predictMm(t.url), 503, host);
    });

    it("connection refused is retried: a predictor that comes up on that port meanwhile answers", async () => {
      const port = await freePort();
      const t = await transformer({
        predictorHost: `127.0.0.1:${port}`,
        predictorProtocol: protocol,
        predictorRequestRetries: 8,
      });
      const pending = predictMm(t.url);
      await sleep(300);
      const late = await startWith({
        dirs: [IRIS_DIR],
        gracePeriodMs: 1000,
        ...(protocol === "grpc-v2" ? { grpcPort: port } : { httpPort: port }),
      });
      cleanups.push(() => late.server.stop());
      expectIrisAnswer(await pending);
    });

    it("a predictor slower than predictorRequestTimeoutSeconds 0.3 -> 504 quickly (and not retried)", async () => {
      const fake = await fakeFor(protocol, {
        http: async (seen, res, _attempt, f) => {
          await f.delay(10_000);
          answerIris(seen, res);
        },
        grpc: async (seen, _attempt, f) => {
          await f.delay(10_000);
          return answerIrisGrpc(seen);
        },
      });
      const t = await transformer({
        predictorHost: fake.host,
        predictorProtocol: protocol,
        predictorRequestTimeoutSeconds: 0.3,
        predictorRequestRetries: 2,
      });
      const started = performance.now();
      const r = await predictMm(t.url);
      const elapsed = performance.now() - started;
      expectError(r, 504, fake.host);
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(2500);
      expect(fake.attempts()).toBe(1);
    });
  });

  describe.each(REST_PROTOCOLS)("REST %s: broken connections and answers", (protocol) => {
    /** Drops the connection without answering on the first attempt, then answers normally. */
    const dropFirst: HttpHandler = (seen, res, attempt) => {
      if (attempt === 1) res.socket?.destroy();
      else answerIris(seen, res);
    };

    it("a dropped connection (ECONNRESET) -> 503 naming the predictor without retries, success with one", async () => {
      const once = await fakeHttp(dropFirst);
      const t = await transformer({ predictorHost: once.host, predictorProtocol: protocol });
      expectError(await predictMm(t.url), 503, once.host);

      const fake = await fakeHttp(dropFirst);
      const t2 = await transformer({ predictorHost: fake.host, predictorProtocol: protocol, predictorRequestRetries: 1 });
      const r = await predictMm(t2.url);
      expect(r.status, r.text).toBe(200);
      expect(fake.posts()).toHaveLength(2);
    });

    it("a predictor that sends headers and then stalls mid-body -> 504", async () => {
      const fake = await fakeHttp(async (_seen, res, _attempt, f) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
        res.write('{"predictions": [');
        await f.delay(10_000);
        res.end();
      });
      const t = await transformer({
        predictorHost: fake.host,
        predictorProtocol: protocol,
        predictorRequestTimeoutSeconds: 0.3,
      });
      const started = performance.now();
      expectError(await predictMm(t.url), 504, fake.host);
      expect(performance.now() - started).toBeLessThan(2500);
    });

    it("a 200 from the predictor whose body is not valid JSON is a server-side error (5xx naming the predictor), not a 400", async () => {
      const fake = await fakeHttp((_seen, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end("<html>this is not json</html>");
      });
      const t = await transformer({ predictorHost: fake.host, predictorProtocol: protocol });
      const r = await predictMm(t.url);
      // The client's request was fine; the predictor's answer was not.
      expect(r.status, r.text).toBeGreaterThanOrEqual(500);
      expect(r.json?.error, r.text).toContain(fake.host);
    });
  });

  it("grpc-v2: a malformed ModelInferResponse from the predictor is a server-side error (5xx naming the predictor), not a 400", async () => {
    const fake = await fakeGrpc((seen) => {
      const answer = answerIrisGrpc(seen);
      // Outputs declared, but neither raw nor typed contents: the tensor has no data.
      return { ...answer, raw_output_contents: [] };
    });
    const t = await transformer({ predictorHost: fake.host, predictorProtocol: "grpc-v2" });
    const r = await predictMm(t.url);
    expect(r.status, r.text).toBeGreaterThanOrEqual(500);
    expect(r.json?.error, r.text).toContain(fake.host);
  });

  // ---- predictor health check --------------------------------------------------------------------------

  describe.each(PROTOCOLS)("enablePredictorHealthCheck over %s", (protocol) => {
    it("readiness is 503 while the predictor is down, 200 once it is up, and 503 again after it stops", async () => {
      const port = await freePort();
      const t = await transformer({
        predictorHost: `127.0.0.1:${port}`,
        predictorProtocol: protocol,
        enablePredictorHealthCheck: true,
        predictorRequestTimeoutSeconds: 2,
      });
      const probes = [`${t.url}/v2/health/ready`, `${t.url}/v2/models/iris/ready`, `${t.url}/v1/models/iris`];
      const client = grpcClient(t.server.grpcPort);
      const expectProbes = async (status: number) => {
        for (const p of probes) {
          const r = await fetch(p, { signal: AbortSignal.timeout(5000) });
          expect(r.status, p).toBe(status);
        }
        expect(await client.isServerReady()).toBe(status === 200);
        expect(await client.isModelReady("iris")).toBe(status === 200);
      };

      await expectProbes(503);
      // Liveness does not depend on the predictor.
      expect((await get(`${t.url}/v2/health/live`)).status).toBe(200);
      expect(await client.isServerLive()).toBe(true);

      const late = await startWith({
        dirs: [IRIS_DIR],
        gracePeriodMs: 1000,
        ...(protocol === "grpc-v2" ? { grpcPort: port } : { httpPort: port }),
      });
      cleanups.push(() => late.server.stop());
      await eventually(() => expectProbes(200));
      expectIrisAnswer(await predictMm(t.url));

      await late.server.stop();
      await eventually(() => expectProbes(503));
    });

    it("asks the predictor about predictorModelName: a model the predictor does not serve keeps it not ready", async () => {
      const t = await transformer(
        {},
        new IrisTransformer("iris", {
          predictorHost: realHost(protocol),
          predictorProtocol: protocol,
          enablePredictorHealthCheck: true,
          predictorModelName: "not-served-here",
        }),
      );
      expect((await get(`${t.url}/v2/models/iris/ready`)).status).toBe(503);
      expect((await get(`${t.url}/v2/health/ready`)).status).toBe(503);
      const good = await transformer({
        predictorHost: realHost(protocol),
        predictorProtocol: protocol,
        enablePredictorHealthCheck: true,
      });
      expect((await get(`${good.url}/v2/models/iris/ready`)).status).toBe(200);
      expect((await get(`${good.url}/v2/health/ready`)).status).toBe(200);
    });
  });

  it("without the health check (the default) a transformer is ready even when its predictor is down", async () => {
    const port = await freePort();
    const t = await transformer({ predictorHost: `127.0.0.1:${port}`, predictorProtocol: "v2" });
    expect((await get(`${t.url}/v2/health/ready`)).status).toBe(200);
    expect((await get(`${t.url}/v2/models/iris/ready`)).status).toBe(200);
    expect((await get(`${t.url}/v1/models/iris`)).status).toBe(200);
  });

  // ---- no predictor ------------------------------------------------------------------------------------

  it("a transformer without predictorHost and without its own predict -> 501 (V1, V2 and gRPC UNIMPLEMENTED)", async () => {
    const t = await transformer({}, new IrisTransformer("iris"));
    expectError(await predictMm(t.url), 501, "iris");
    const plain = await transformer({}, new Model("plain"));
    expectError(await post(`${plain.url}/v1/models/plain:predict`, { instances: [[1, 2, 3, 4]] }), 501, "plain");
    expectError(
      await post(`${plain.url}/v2/models/plain/infer`, {
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }],
      }),
      501,
      "plain",
    );
    const client = grpcClient(plain.server.grpcPort);
    const err = await client
      .infer("plain", [new InferInput("input", [1, 4], "FP32", Float32Array.from([1, 2, 3, 4]))])
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(InferenceServerError);
    expect((err as InferenceServerError).code).toBe(grpcJs.status.UNIMPLEMENTED);
    expect((err as InferenceServerError).status).toBe(501);
    expect((err as InferenceServerError).message).toContain("plain");
  });

  // ---- the CLI as a transformer ------------------------------------------------------------------------

  describe("the CLI (`tserve serve iris-transformer.ts --predictor_host ...`)", () => {
    const children: ChildProcess[] = [];
    afterAll(async () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) await stopCli(c);
    });

    it.each(PROTOCOLS)("--predictor_protocol %s forwards to the tserve predictor", async (protocol) => {
      const started = await startCli(
        [
          "serve",
          join(MODULES, "iris-transformer.ts"),
          "--model_name",
          "iris",
          "--predictor_host",
          realHost(protocol),
          "--predictor_protocol",
          protocol,
          "--enable_predictor_health_check",
          "true",
        ],
        await freePort(),
      );
      children.push(started.child);
      expectIrisAnswer(await predictMm(started.url));
      expect((await get(`${started.url}/v2/models/iris/ready`)).status).toBe(200);
    });

    it("--predictor_request_retries and --predictor_request_timeout_seconds reach the model", async () => {
      const fake = await fakeHttp(async (seen, res, attempt, f) => {
        if (attempt === 1) sendJson(res, 503, { error: "predictor is warming up" });
        else if (attempt === 2) answerIris(seen, res);
        else {
          await f.delay(10_000);
          answerIris(seen, res);
        }
      });
      const started = await startCli(
        [
          "serve",
          join(MODULES, "iris-transformer.ts"),
          "--model_name",
          "iris",
          "--predictor_host",
          fake.host,
          "--predictor_request_retries",
          "1",
          "--predictor_request_timeout_seconds",
          "0.5",
        ],
        await freePort(),
      );
      children.push(started.child);
      const ok = await predictMm(started.url);
      expect(ok.status, ok.text).toBe(200);
      expect(fake.posts()).toHaveLength(2);
      const started2 = performance.now();
      expectError(await predictMm(started.url), 504, fake.host);
      expect(performance.now() - started2).toBeLessThan(3000);
    });
  });
});
