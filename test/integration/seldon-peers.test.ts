/**
 * tserve speaks exactly like Seldon Core v1's Python microservice to what Seldon's own client and tests send. The
 * requests are replayed byte for byte from test/fixtures/peers/seldon/ (captured from SeldonClient's code paths by
 * capture/capture.py, or copied from Seldon's tests), and the answers are checked against what Seldon's tests assert.
 */
import { readFileSync } from "node:fs";
import * as grpcJs from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelServer, NDArray, SeldonComponent, type SeldonComponentLike } from "../../packages/server/src/index.ts";
import { decodeSeldonMessage, encodeSeldonMessage, seldonPackageDefinition } from "../../packages/server/src/protocol/seldon/grpc/index.ts";
import type { SeldonMessage } from "../../packages/server/src/protocol/seldon/index.ts";
import { FIXTURES } from "../helpers/server.ts";
import { startGraph } from "../fixtures/seldon/graphs/harness.ts";
import { sample, scrape } from "../fixtures/seldon/harness.ts";

const PEERS = `${FIXTURES}peers/seldon/`;

interface HttpFixture {
  source: string;
  method: "GET" | "POST";
  path: string;
  headers?: Record<string, string>;
  body?: string;
  query?: Record<string, string>;
}
interface GrpcFixture {
  source: string;
  grpc: string;
  bodyBase64: string;
}

const fixture = <T>(name: string): T => JSON.parse(readFileSync(`${PEERS}${name}`, "utf8")) as T;
/** Requests Seldon's microservice tests make: test name -> [method, URL]. */
const SELDON_TESTS = fixture<Record<string, ["GET" | "POST", string]>>("microservice-tests-rest.json");

interface Running {
  server: ModelServer;
  url: string;
  component: SeldonComponent;
  grpc: grpcJs.Client;
}

const running: Running[] = [];

/** Serves `user` as a Seldon component with REST and gRPC, as `seldon-core-microservice` would. */
async function serve(user: object, name = "my-model"): Promise<Running> {
  const component = new SeldonComponent(user as SeldonComponentLike, name);
  const server = new ModelServer({ httpPort: 0, grpcPort: 0, host: "127.0.0.1", seldon: true, logger: { log() {} } });
  await server.start([component]);
  const grpc = new grpcJs.Client(`127.0.0.1:${server.grpcPort}`, grpcJs.credentials.createInsecure());
  const r = { server, url: `http://127.0.0.1:${server.port}`, component, grpc };
  running.push(r);
  return r;
}

afterAll(async () => {
  for (const r of running) {
    r.grpc.close();
    await r.server.stop();
  }
});

interface Reply {
  status: number;
  text: string;
  json: any;
}

async function reply(r: Response): Promise<Reply> {
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, text, json };
}

/** Sends a captured HTTP request exactly as it was captured. */
async function replay(url: string, f: HttpFixture): Promise<Reply> {
  const query = f.query ? `?${Object.entries(f.query).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")}` : "";
  return reply(await fetch(`${url}${f.path}${query}`, { method: f.method, headers: f.headers, body: f.body }));
}

/** One of Seldon's test-client requests (`client.get('/route?json={...}')`) over a real socket. */
async function seldonTest(url: string, test: string): Promise<Reply> {
  const [method, path] = SELDON_TESTS[test];
  return reply(await fetch(`${url}${path}`, { method }));
}

const identity = (b: Buffer) => b;

/** `method` is a gRPC path such as /seldon.protos.Model/Predict; the request goes as the exact bytes given. */
function grpcBytes(client: grpcJs.Client, method: string, bytes: Buffer): Promise<any> {
  const [, service, rpc] = /^\/seldon\.protos\.(\w+)\/(\w+)$/.exec(method)!;
  const definition = (seldonPackageDefinition()[`seldon.protos.${service}`] as unknown as Record<string, grpcJs.MethodDefinition<unknown, unknown>>)[rpc];
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(method, identity, definition.responseDeserialize, bytes, new grpcJs.Metadata(), { deadline: Date.now() + 30_000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

function replayGrpc(client: grpcJs.Client, f: GrpcFixture): Promise<any> {
  return grpcBytes(client, f.grpc, Buffer.from(f.bodyBase64, "base64"));
}

/** A request object (not bytes) through the method's own serializer. */
function grpcCall(client: grpcJs.Client, method: string, request: unknown): Promise<any> {
  const [, service, rpc] = /^\/seldon\.protos\.(\w+)\/(\w+)$/.exec(method)!;
  const definition = (seldonPackageDefinition()[`seldon.protos.${service}`] as unknown as Record<string, grpcJs.MethodDefinition<unknown, unknown>>)[rpc];
  return grpcBytes(client, method, definition.requestSerialize(request));
}

// ---- item 1: feedback after an answer that carried a COUNTER ----

/** Seldon's test UserObject (test_model_microservice.py): identity predict, tags, metrics, feedback recorded. */
class MyModel {
  rewards: number[] = [];
  features: unknown[] = [];
  predict(X: unknown) {
    return X;
  }
  send_feedback(features: unknown, _names: string[], reward: number) {
    this.rewards.push(reward);
    this.features.push(features instanceof NDArray ? features.toArray() : features);
  }
  tags() {
    return { mytag: 1 };
  }
  metrics() {
    return [
      { type: "COUNTER", key: "mycounter", value: 1 },
      { type: "GAUGE", key: "mygauge", value: 0 },
      { type: "TIMER", key: "mytimer", value: 20.5 },
    ];
  }
}

describe("SeldonClient feedback after a prediction whose answer carried a COUNTER metric", () => {
  let s: Running;
  let model: MyModel;
  beforeAll(async () => {
    model = new MyModel();
    s = await serve(model);
  });

  it("the prediction SeldonClient made answers the metrics its feedback then echoes", async () => {
    const r = await reply(await fetch(`${s.url}/api/v1.0/predictions`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"data": {"names": ["a", "b"], "ndarray": [[1.0, 2.0]]}}' }));
    expect(r.status, r.text).toBe(200);
    // What the captured feedback's response was made from (capture.py's PREDICT_ANSWER): protobuf then drops
    // COUNTER (the enum's zero) and the GAUGE's 0, which the feedback below must survive.
    expect(r.json.data).toEqual({ names: ["t:0", "t:1"], ndarray: [[1, 2]] });
    expect(r.json.meta.metrics).toEqual(new MyModel().metrics());
    expect(r.json.meta.tags).toEqual({ mytag: 1 });
  });

  it("REST: SeldonClient(gateway='seldon').feedback's exact body is accepted (no type = COUNTER, no value = 0)", async () => {
    const f = fixture<HttpFixture>("feedback-rest-seldon.json");
    expect(f.body).toContain('{"key": "mycounter", "value": 1.0}');
    const before = model.rewards.length;
    const r = await replay(s.url, f);
    expect(r.status, r.text).toBe(200);
    expect(model.rewards.slice(before)).toEqual([1]);
    expect(model.features.at(-1)).toEqual([[1, 2]]);
  });

  it("REST: microservice_feedback's form-encoded body to /send-feedback is accepted", async () => {
    const before = model.rewards.length;
    const r = await replay(s.url, fixture<HttpFixture>("feedback-microservice-form.json"));
    expect(r.status, r.text).toBe(200);
    expect(model.rewards.slice(before)).toEqual([1]);
  });

  it("gRPC: the same Feedback's protobuf bytes to Model.SendFeedback are accepted", async () => {
    const before = model.rewards.length;
    const answer = await replayGrpc(s.grpc, fixture<GrpcFixture>("feedback-grpc.json"));
    expect(answer).toBeTypeOf("object");
    expect(model.rewards.slice(before)).toEqual([1]);
    expect(sample(await scrape(s.url), "seldon_api_model_feedback_total")).toBeGreaterThanOrEqual(3);
  });

  it("REST: the same body to a Seldon graph's executor API (the gateway SeldonClient talks to) reaches the router", async () => {
    const g = await startGraph("routing.yaml");
    try {
      const r = await replay(g.url, fixture<HttpFixture>("feedback-rest-seldon.json"));
      expect(r.status, r.text).toBe(200);
      expect(sample(await scrape(g.url), "fixture_feedback_calls_total")).toBe(1);
    } finally {
      await g.server.stop();
    }
  });

  it("a combiner merging messages whose metrics lack a type reads them as COUNTERs", async () => {
    const combiner = new SeldonComponent({ aggregate: (Xs: unknown[]) => Xs[0] } as SeldonComponentLike, "combiner");
    await combiner.load();
    const msgs = [
      { data: { ndarray: [[1]] }, meta: { metrics: [{ key: "mycounter", value: 1 }] } },
      { data: { ndarray: [[2]] }, meta: { metrics: [{ key: "mygauge", type: "GAUGE", value: 3 }] } },
    ] as SeldonMessage[];
    const answer = await combiner.seldonAggregate(msgs);
    expect(answer.meta?.metrics).toEqual([
      { key: "mycounter", type: "COUNTER", value: 1 },
      { key: "mygauge", type: "GAUGE", value: 3 },
    ]);
    // and as a component answering /aggregate: the request's metrics in protobuf's JSON form are fine too
    const c = await serve({ aggregate: (Xs: unknown[]) => Xs[0] }, "combiner");
    const r = await reply(await fetch(`${c.url}/aggregate`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ seldonMessages: msgs }) }));
    expect(r.status, r.text).toBe(200);
    expect(r.json.meta.metrics).toEqual(answer.meta?.metrics);
  });
});

// ---- item 8a: a router's metrics in its /route answer (test_router_microservice.py) ----

/** test_router_microservice.UserObject */
class RouterUser {
  incMeta: unknown;
  feedback: { reward: number; routing: unknown }[] = [];
  constructor(private readonly retMeta = false) {}
  route(_X: unknown, _names: string[], meta: unknown) {
    if (this.retMeta) this.incMeta = meta;
    return 22;
  }
  send_feedback(_features: unknown, _names: string[], reward: number, _truth: unknown, routing: unknown) {
    this.feedback.push({ reward, routing });
  }
  tags() {
    return this.retMeta ? { inc_meta: this.incMeta } : { mytag: 1 };
  }
  metrics() {
    return [{ type: "COUNTER", key: "mycounter", value: 1 }];
  }
}

describe("Seldon's router microservice tests", () => {
  let s: Running;
  let user: RouterUser;
  beforeAll(async () => {
    user = new RouterUser();
    s = await serve(user, "my-router");
  });

  it("test_router_ok: /route answers [[22]] with the router's tags and metrics in meta", async () => {
    const r = await seldonTest(s.url, "test_router_ok");
    expect(r.status, r.text).toBe(200);
    expect(r.json.meta.tags).toEqual({ mytag: 1 });
    expect(r.json.meta.metrics).toEqual([{ type: "COUNTER", key: "mycounter", value: 1 }]);
    expect(r.json.data.ndarray).toEqual([[22]]);
    expect(sample(await scrape(s.url), "mycounter_total", { method: "router" })).toBeGreaterThanOrEqual(1);
  });

  it("test_router_gets_meta: route() receives the request's meta; the answer carries the metrics and echoes the puid", async () => {
    const s2 = await serve(new RouterUser(true), "my-router-meta");
    const r = await seldonTest(s2.url, "test_router_gets_meta");
    expect(r.status, r.text).toBe(200);
    expect(r.json.meta.tags).toEqual({ inc_meta: { puid: "abc" } });
    expect(r.json.meta.metrics).toEqual([{ type: "COUNTER", key: "mycounter", value: 1 }]);
    expect(r.json.meta.puid).toBe("abc");
  });

  it("test_router_proto_ok: Router.Route over gRPC answers tensor [[22]] with the tags and the metric", async () => {
    const answer = decodeSeldonMessage(await replayGrpc(s.grpc, fixture<GrpcFixture>("route-grpc.json")));
    expect(answer.meta?.tags).toEqual({ mytag: 1 });
    expect(answer.meta?.metrics).toEqual([{ key: "mycounter", type: "COUNTER", value: 1 }]);
    expect(answer.data?.tensor).toEqual({ shape: [1, 1], values: [22] });
  });

  it("test_router_feedback_ok: feedback reaches send_feedback with the recorded route", async () => {
    const r = await seldonTest(s.url, "test_router_feedback_ok");
    expect(r.status, r.text).toBe(200);
    expect(user.feedback.at(-1)?.reward).toBe(1);
  });
});

// ---- item 8b: the deprecated per-transport hooks ----

/** test_router_microservice.UserObjectLowLevel */
class RouterLowLevel {
  feedbackCalls: unknown[] = [];
  route_rest(_request: unknown) {
    return { data: { ndarray: [[1]] } };
  }
  route_grpc(_request: unknown) {
    return { data: { tensor: { shape: [1, 1], values: [1] } } };
  }
  send_feedback_rest(request: unknown) {
    this.feedbackCalls.push(["rest", request]);
  }
  send_feedback_grpc(request: unknown) {
    this.feedbackCalls.push(["grpc", request]);
  }
}

/** test_router_microservice.UserObjectLowLevelGrpc */
class RouterLowLevelGrpc {
  feedbackCalls: unknown[] = [];
  route_grpc(_request: unknown) {
    return { data: { tensor: { shape: [1, 1], values: [1] } } };
  }
  send_feedback_grpc(request: unknown) {
    this.feedbackCalls.push(request);
  }
}

/** test_model_microservice.UserObjectLowLevel (and ...WithStatusInResponse, via `status`) */
class ModelLowLevel {
  grpcRequests: unknown[] = [];
  feedbackCalls: unknown[] = [];
  constructor(private readonly status?: unknown) {}
  predict_rest(_request: unknown) {
    return this.status ? { data: { ndarray: [9, 9] }, status: this.status } : { data: { ndarray: [9, 9] } };
  }
  predict_grpc(request: unknown) {
    this.grpcRequests.push(request);
    return { data: { tensor: { shape: [2, 1], values: [9, 9] } } };
  }
  send_feedback_rest(request: unknown) {
    this.feedbackCalls.push(["rest", request]);
  }
  send_feedback_grpc(request: unknown) {
    this.feedbackCalls.push(["grpc", request]);
  }
  health_status_raw() {
    return { data: { ndarray: [123.456, 7.89] } };
  }
}

describe("Seldon's deprecated predict_rest / predict_grpc / send_feedback_rest / send_feedback_grpc hooks", () => {
  let s: Running;
  let user: ModelLowLevel;
  beforeAll(async () => {
    user = new ModelLowLevel();
    s = await serve(user, "lowlevel");
  });

  it("test_model_lowlevel_ok: predict_rest's answer is the REST answer, as it is", async () => {
    const r = await seldonTest(s.url, "test_model_lowlevel_ok");
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({ data: { ndarray: [9, 9] } });
  });

  it("test_model_non200status_lowlevel: a status.code in predict_rest's answer is the HTTP status", async () => {
    const s2 = await serve(new ModelLowLevel({ code: 400, status: "FAILURE" }), "lowlevel-status");
    const r = await seldonTest(s2.url, "test_model_non200status_lowlevel");
    expect(r.status, r.text).toBe(400);
    expect(r.json).toEqual({ data: { ndarray: [9, 9] }, status: { code: 400, status: "FAILURE" } });
  });

  it("test_proto_lowlevel: over gRPC, predict_grpc gets the protobuf request and its message is the answer", async () => {
    const answer = decodeSeldonMessage(await replayGrpc(s.grpc, fixture<GrpcFixture>("predict-grpc.json")));
    expect(answer.data?.tensor).toEqual({ shape: [2, 1], values: [9, 9] });
    // the request as the gRPC server decoded it (the .proto's field names, the oneof named)
    expect(user.grpcRequests.at(-1)).toMatchObject({ data: { tensor: { shape: [2, 1], values: [1, 2] }, data_oneof: "tensor" }, data_oneof: "data" });
  });

  it("predict_rest is not used over gRPC, nor predict_grpc over REST", async () => {
    const restOnly = await serve({ predict_rest: () => ({ strData: "rest hook" }), predict: () => "plain predict" }, "rest-only");
    const viaGrpc = decodeSeldonMessage(await grpcCall(restOnly.grpc, "/seldon.protos.Model/Predict", encodeSeldonMessage({ strData: "x" })));
    expect(viaGrpc.strData).toBe("plain predict");
    const grpcOnly = await serve({ predict_grpc: () => ({ strData: "grpc hook" }), predictRaw: () => ({ strData: "raw hook" }) }, "grpc-only");
    const viaRest = await reply(await fetch(`${grpcOnly.url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"strData": "x"}' }));
    expect(viaRest.json).toEqual({ strData: "raw hook" });
    // camelCase spellings work as the other hooks' do, and come before predictRaw
    const camel = await serve({ predictRest: (req: SeldonMessage) => ({ jsonData: { got: req } }), predictRaw: () => ({ strData: "raw" }) }, "camel");
    const c = await reply(await fetch(`${camel.url}/api/v1.0/predictions`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"strData": "x"}' }));
    expect(c.json).toEqual({ jsonData: { got: { strData: "x" } } });
  });

  it("test_model_feedback_lowlevel_ok: send_feedback_rest gets the feedback JSON; nothing returned answers {}", async () => {
    const r = await seldonTest(s.url, "test_model_feedback_lowlevel_ok");
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({});
    expect(user.feedbackCalls.at(-1)).toEqual(["rest", { request: { data: { ndarray: [] } }, reward: 1 }]);
  });

  it("test_proto_feedback_custom: send_feedback_rest wins over gRPC too; send_feedback_grpc gets the protobuf Feedback", async () => {
    const calls = user.feedbackCalls.length;
    const answer = await replayGrpc(s.grpc, fixture<GrpcFixture>("feedback-custom-grpc.json"));
    expect(decodeSeldonMessage(answer)).toEqual({});
    expect(user.feedbackCalls.slice(calls).map((c) => (c as unknown[])[0])).toEqual(["rest"]);

    const grpcOnly = new RouterLowLevelGrpc();
    const g = await serve(grpcOnly, "feedback-grpc-only");
    await replayGrpc(g.grpc, fixture<GrpcFixture>("feedback-custom-grpc.json"));
    const r = await seldonTest(g.url, "test_router_feedback_lowlevel_ok");
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({});
    const [viaGrpc, viaRest] = grpcOnly.feedbackCalls;
    expect(viaGrpc).toMatchObject({ request: { data: { tensor: { shape: [2, 1], values: [1, 2] } } }, reward: 1 });
    // over REST too the hook gets the protobuf form of the feedback (ndarray a ListValue), as Seldon gives it
    expect(viaRest).toMatchObject({ request: { data: { ndarray: { values: [] } } }, reward: 1 });
  });

  it("test_router_lowlevel_ok and test_router_proto_lowlevel_ok: route_rest and route_grpc answer as they are", async () => {
    const r = await serve(new RouterLowLevel(), "router-lowlevel");
    const rest = await seldonTest(r.url, "test_router_lowlevel_ok");
    expect(rest.status, rest.text).toBe(200);
    expect(rest.json).toEqual({ data: { ndarray: [[1]] } });
    const feedback = await seldonTest(r.url, "test_router_feedback_lowlevel_ok");
    expect(feedback.status, feedback.text).toBe(200);
    const g = await serve(new RouterLowLevelGrpc(), "router-lowlevel-grpc");
    const grpc = decodeSeldonMessage(await replayGrpc(g.grpc, fixture<GrpcFixture>("route-grpc.json")));
    expect(grpc.data?.tensor).toEqual({ shape: [1, 1], values: [1] });
  });

  it("test_model_health_status_raw still answers health_status_raw", async () => {
    const r = await reply(await fetch(`${s.url}/health/status`));
    expect(r.json.data.ndarray).toEqual([123.456, 7.89]);
  });
});

// ---- item 8c: a raw feedback hook that returns nothing ----

describe("a send_feedback_raw that returns nothing", () => {
  it("answers an empty SeldonMessage over REST and gRPC, and the feedback counters still count", async () => {
    const seen: unknown[] = [];
    // test_router_microservice.UserObjectLowLevelRaw's send_feedback_raw only logs
    const s = await serve({ send_feedback_raw: (feedback: unknown) => void seen.push(feedback) }, "feedback-raw");
    const r = await reply(
      await fetch(`${s.url}/send-feedback?json=${encodeURIComponent('{"request":{"data":{"ndarray":[]}},"reward":1.0}')}`),
    );
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({});
    const answer = await replayGrpc(s.grpc, fixture<GrpcFixture>("feedback-custom-grpc.json"));
    expect(decodeSeldonMessage(answer)).toEqual({});
    expect(seen).toHaveLength(2);
    expect(seen[0]).toMatchObject({ reward: 1, request: { data: { ndarray: [] } } });
    expect(sample(await scrape(s.url), "seldon_api_model_feedback_total")).toBe(2);
  });
});

// ---- item 8d: tftensor answers keep the dtype and Seldon's JSON form ----

describe("tftensor requests as Seldon's client and tests make them", () => {
  let s: Running;
  beforeAll(async () => {
    s = await serve(new MyModel(), "tf-model");
  });

  it("SeldonClient.microservice(payload_type='tftensor') with a float32 array: DT_FLOAT in (tensorContent), DT_FLOAT out", async () => {
    const f = fixture<HttpFixture>("predict-tftensor-float32-form.json");
    expect(decodeURIComponent(f.body!)).toContain("tensorContent");
    const r = await replay(s.url, f);
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({
      names: ["t:0", "t:1"],
      tftensor: { dtype: "DT_FLOAT", tensorShape: { dim: [{ size: "2" }, { size: "2" }] }, floatVal: [1.5, 2.25, -3, 0.1] },
    });
  });

  it("a one-value float32 array (floatVal) comes back as floatVal, float32 values written as float32 prints them", async () => {
    const r = await replay(s.url, fixture<HttpFixture>("predict-tftensor-float32-single-form.json"));
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain('"tftensor":{"dtype":"DT_FLOAT","tensorShape":{"dim":[{"size":"1"},{"size":"1"}]},"floatVal":[0.1]}');
  });

  it("test_model_tftensor_ok: make_tensor_proto(np.array([1, 2])) in, the same DT_INT64 tensor out, with tags and metrics", async () => {
    const r = await replay(s.url, fixture<HttpFixture>("predict-tftensor-int64-query.json"));
    expect(r.status, r.text).toBe(200);
    expect(r.json.meta.tags).toEqual({ mytag: 1 });
    expect(r.json.meta.metrics[0]).toMatchObject({ key: "mycounter", value: 1 });
    expect(r.json.data.tftensor).toEqual({ dtype: "DT_INT64", tensorShape: { dim: [{ size: "2" }] }, int64Val: ["1", "2"] });
  });

  it("over gRPC a DT_FLOAT tensor comes back DT_FLOAT too", async () => {
    const request = { data: { tftensor: { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "2" }] }, float_val: [1.5, 0.1] } } };
    const answer = await grpcCall(s.grpc, "/seldon.protos.Model/Predict", request);
    expect(answer.data.tftensor.dtype).toBe("DT_FLOAT");
    expect(decodeSeldonMessage(answer).data?.tftensor).toMatchObject({ dtype: "DT_FLOAT", float_val: [1.5, 0.1] });
  });
});
