/**
 * Seldon graphs run by tserve's executor, over real HTTP, with real components loaded from test/fixtures/seldon/graphs
 * the way `tserve seldon-graph` loads them: routing (-1, -2, N), the built-in RANDOM_ABTEST, combiners, transformers
 * and output transformers, nested routers and the feedback that goes back along meta.routing, a child's error, an
 * ONNX model folder as a MODEL, a component that cannot be built, and the executor's metadata, health and metrics.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectSeldonError, get, type GraphRunning, labelSets, post, sample, scrape, startGraph } from "../fixtures/seldon/graphs/harness.ts";
import { FIXTURES } from "../helpers/server.ts";

const PUID = /^[0-9a-v]{26}$/;

function ndarray(rows: unknown[]): { data: { ndarray: unknown[] } } {
  return { data: { ndarray: rows } };
}

/** Starts a fixture graph for the enclosing describe block; stops it after. */
function useGraph(file: string): () => GraphRunning {
  let running: GraphRunning | undefined;
  beforeAll(async () => {
    running = await startGraph(file);
  });
  afterAll(async () => {
    await running?.server.stop();
  });
  return () => running!;
}

describe("routing through real components (routing.yaml: r -> a ×10, b ×100; r routes on the first value)", () => {
  const graph = useGraph("routing.yaml");
  const predict = (body: unknown, headers?: Record<string, string>) => post(`${graph().url}/api/v1.0/predictions`, body, headers);

  it("N: only child N answers; meta.routing records N", async () => {
    const r = await predict(ndarray([[1, 5]]));
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({ names: ["t:0", "t:1"], ndarray: [[100, 500]] });
    expect(r.json.meta.routing).toEqual({ r: 1 });
    expect(r.json.meta.tags).toEqual({ "ran-b": true });
    expect(r.json.meta.requestPath).toEqual({ r: "tserve", b: "tserve" });
    expect(r.json.meta.puid).toMatch(PUID);

    const zero = await predict(ndarray([[0, 5]]));
    expect(zero.json.data.ndarray).toEqual([[0, 50]]);
    expect(zero.json.meta.routing).toEqual({ r: 0 });
    expect(zero.json.meta.tags).toEqual({ "ran-a": true });
  });

  it("-1: every child runs, and without a combiner the first child's answer is the graph's", async () => {
    const r = await predict(ndarray([[-1, 5]]));
    expect(r.status, r.text).toBe(200);
    expect(r.json.data.ndarray).toEqual([[-10, 50]]);
    expect(r.json.meta.routing).toEqual({ r: -1 });
    expect(r.json.meta.tags).toEqual({ "ran-a": true, "ran-b": true });
    expect(r.json.meta.requestPath).toEqual({ r: "tserve", a: "tserve", b: "tserve" });
  });

  it("-2: no child runs, and the request comes back as it was", async () => {
    const r = await predict(ndarray([[-2, 5]]));
    expect(r.status, r.text).toBe(200);
    expect(r.json.data).toEqual({ ndarray: [[-2, 5]] });
    expect(r.json.meta.routing).toEqual({ r: -2 });
    expect(r.json.meta.tags).toEqual({});
    expect(r.json.meta.requestPath).toEqual({ r: "tserve" });
  });

  it("a tensor request gets a tensor answer; a puid the client sends (meta or seldon-puid header) is kept", async () => {
    const r = await predict({ data: { tensor: { shape: [1, 2], values: [1, 5] } }, meta: { puid: "client-puid" } });
    expect(r.json.data).toEqual({ names: ["t:0", "t:1"], tensor: { shape: [1, 2], values: [100, 500] } });
    expect(r.json.meta.puid).toBe("client-puid");
    const h = await predict(ndarray([[0, 1]]), { "seldon-puid": "header-puid" });
    expect(h.json.meta.puid).toBe("header-puid");
  });

  it("a route that names no child is a 500 naming the router; a route that is not an int is the component's 400", async () => {
    expectSeldonError(await predict(ndarray([[2, 5]])), 500, /Router 'r' returned route 2; expected an integer from -2 to 1/);
    expectSeldonError(await predict(ndarray([[0.5, 5]])), 400, "Routing response must be int but got 0.5");
  });

  it("a request that is not a Seldon message is a 400", async () => {
    expectSeldonError(await predict("{not json"), 400, /./, "MICROSERVICE_BAD_DATA");
  });
});

describe("RANDOM_ABTEST (abtest.yaml: always-a ratioA 1 -> [always-b ratioA 0 -> [x ×2, y ×3], z ×5])", () => {
  const graph = useGraph("abtest.yaml");

  it("ratioA 1 always takes the first child and ratioA 0 always the second, and both routes are reported", async () => {
    for (let i = 0; i < 25; i++) {
      const r = await post(`${graph().url}/api/v1.0/predictions`, ndarray([[i]]));
      expect(r.status, r.text).toBe(200);
      expect(r.json.data.ndarray).toEqual([[3 * i]]);
      expect(r.json.meta.routing).toEqual({ "always-a": 0, "always-b": 1 });
    }
    const metrics = await scrape(graph().url);
    const calls = (node: string) => sample(metrics, "seldon_api_executor_client_requests_seconds_count", { model_name: node, method: "predict" });
    expect(calls("y")).toBe(25);
    expect(calls("x")).toBeUndefined();
    expect(calls("z")).toBeUndefined();
  });

  it("the built-in routers describe themselves in the graph's metadata", async () => {
    const r = await get(`${graph().url}/api/v1.0/metadata`);
    expect(r.json.models["always-a"].custom).toEqual({ implementation: "RANDOM_ABTEST", ratioA: "1" });
    expect(r.json.models["always-b"].custom).toEqual({ implementation: "RANDOM_ABTEST", ratioA: "0" });
  });
});

describe("COMBINER (combiner.yaml: combine -> a ×10, b ×100 which refuses 999 with 403)", () => {
  const graph = useGraph("combiner.yaml");

  it("gets every child's answer, in the order of the children", async () => {
    const r = await post(`${graph().url}/api/v1.0/predictions`, ndarray([[1, 2]]));
    expect(r.status, r.text).toBe(200);
    expect(r.json.data.ndarray).toEqual([
      [10, 20],
      [100, 200],
    ]);
    expect(r.json.meta.tags).toEqual({ b: true });
    expect(r.json.meta.routing).toEqual({});
    expect(r.json.meta.requestPath).toEqual({ combine: "tserve", a: "tserve", b: "tserve" });
  });

  it("a failing child stops the graph with the child's status and message; the combiner is not called", async () => {
    const before = await scrape(graph().url);
    const aggregated = (text: string) => sample(text, "fixture_aggregate_calls_total", { model_name: "combine" }) ?? 0;
    const aggregateSteps = (text: string) =>
      sample(text, "seldon_api_executor_client_requests_seconds_count", { model_name: "combine", method: "aggregate" }) ?? 0;

    const r = await post(`${graph().url}/api/v1.0/predictions`, ndarray([[999, 1]]));
    expect(r.json).toEqual({ status: { status: 1, info: "b refuses 999", code: -1, reason: "MICROSERVICE_BAD_DATA" } });
    expect(r.status).toBe(403);

    const after = await scrape(graph().url);
    expect(aggregated(after)).toBe(aggregated(before));
    expect(aggregateSteps(after)).toBe(aggregateSteps(before));
    // The executor counts the request with the status it answered, and b's call with b's own status.
    expect(sample(after, "seldon_api_executor_server_requests_seconds_count", { service: "predictions", code: "403" })).toBe(1);
    const bCodes = labelSets(after, "seldon_api_executor_client_requests_seconds_count")
      .filter((l) => l.model_name === "b" && l.method === "predict")
      .map((l) => l.code);
    expect(bCodes).toContain("403");
    expect(bCodes).not.toContain("500");

    // The next good request is combined as before.
    const ok = await post(`${graph().url}/api/v1.0/predictions`, ndarray([[3]]));
    expect(ok.json.data.ndarray).toEqual([[30], [300]]);
  });
});

describe("TRANSFORMER and OUTPUT_TRANSFORMER (transformers.yaml: out -> tin -> both -> model)", () => {
  const graph = useGraph("transformers.yaml");

  it("input transforms run on the way down, the model in the middle, output transforms on the way back up", async () => {
    const r = await post(`${graph().url}/api/v1.0/predictions`, { strData: "req" });
    expect(r.status, r.text).toBe(200);
    expect(r.json.strData).toBe("req>tin.in>both.in>model>both.out>out.out");
    expect(r.json.meta.requestPath).toEqual({ out: "tserve", tin: "tserve", both: "tserve", model: "tserve" });
    expect(r.json.meta.routing).toEqual({});
  });
});

describe("nested routers and feedback (nested.yaml: outer picks 1 -> [left, inner picks 0 -> [m0 ×7, m1]])", () => {
  const graph = useGraph("nested.yaml");
  let response: any;
  const request = ndarray([[2]]);

  beforeAll(async () => {
    const r = await post(`${graph().url}/api/v1.0/predictions`, request);
    expect(r.status, r.text).toBe(200);
    response = r.json;
  });

  it("meta.routing names every router on the path", () => {
    expect(response.data.ndarray).toEqual([[14]]);
    expect(response.meta.routing).toEqual({ outer: 1, inner: 0 });
    expect(response.meta.tags).toEqual({ "ran-m0": true });
    expect(response.meta.requestPath).toEqual({ outer: "tserve", inner: "tserve", m0: "tserve" });
  });

  it("feedback reaches both routers, each with its own routing, and the model that answered; not the others", async () => {
    const r = await post(`${graph().url}/api/v1.0/feedback`, { request, response, reward: 0.5, truth: ndarray([[14]]) });
    expect(r.status, r.text).toBe(200);
    // The answer is the root's (a router's): empty data.
    expect(r.json.data).toEqual({ names: [], ndarray: [] });

    const m = await scrape(graph().url);
    for (const [router, routing] of [
      ["outer", 1],
      ["inner", 0],
    ] as const) {
      expect(sample(m, "fixture_feedback_calls_total", { model_name: router }), router).toBe(1);
      expect(sample(m, "fixture_feedback_reward", { model_name: router }), router).toBe(0.5);
      expect(sample(m, "fixture_feedback_routing", { model_name: router }), router).toBe(routing);
    }
    // Seldon's feedback counters, per component: the path outer -> inner -> m0 only.
    const fed = (node: string) => sample(m, "seldon_api_model_feedback_total", { model_name: node });
    expect([fed("outer"), fed("inner"), fed("m0"), fed("left"), fed("m1")]).toEqual([1, 1, 1, undefined, undefined]);
    expect(sample(m, "seldon_api_model_feedback_reward_total", { model_name: "m0" })).toBe(0.5);
    const steps = (node: string) => sample(m, "seldon_api_executor_client_requests_seconds_count", { model_name: node, method: "send-feedback" });
    expect([steps("outer"), steps("inner"), steps("m0"), steps("left"), steps("m1")]).toEqual([1, 1, 1, undefined, undefined]);
  });

  it("feedback whose response has no meta.routing goes to every node (Seldon's rule); the routers get no routing", async () => {
    const before = await scrape(graph().url);
    const r = await post(`${graph().url}/api/v1.0/feedback`, { request, response: { data: response.data }, reward: 1 });
    expect(r.status, r.text).toBe(200);
    const after = await scrape(graph().url);
    const delta = (node: string) =>
      (sample(after, "seldon_api_model_feedback_total", { model_name: node }) ?? 0) - (sample(before, "seldon_api_model_feedback_total", { model_name: node }) ?? 0);
    expect(["outer", "inner", "left", "m0", "m1"].map(delta)).toEqual([1, 1, 1, 1, 1]);
    expect(sample(after, "fixture_feedback_routing", { model_name: "outer" })).toBe(-100);
    expect(sample(after, "fixture_feedback_routing", { model_name: "inner" })).toBe(-100);
  });

  it("feedback whose routing names no child is a 400", async () => {
    const r = await post(`${graph().url}/api/v1.0/feedback`, { request, response: { meta: { routing: { outer: 5 } } }, reward: 1 });
    expectSeldonError(r, 400, /Feedback routing for 'outer' is 5; expected an integer from -2 to 1/);
  });
});

describe("an ONNX model folder as a MODEL (onnx.yaml: pick -> [iris: examples/iris/models/iris, spare])", () => {
  const graph = useGraph("onnx.yaml");
  const expected = JSON.parse(readFileSync(`${FIXTURES}iris-expected.json`, "utf8")) as {
    inputs: number[][];
    probabilities: number[][];
    tolerance: number;
  };

  it("answers the model's probabilities for rows sent as a Seldon ndarray", async () => {
    const r = await post(`${graph().url}/api/v1.0/predictions`, ndarray(expected.inputs));
    expect(r.status, r.text).toBe(200);
    expect(r.json.meta.routing).toEqual({ pick: 0 });
    expect(r.json.meta.requestPath).toEqual({ pick: "tserve", iris: "tserve" });
    expect(r.json.data.names).toEqual(["t:0", "t:1", "t:2"]);
    const rows = r.json.data.ndarray as number[][];
    expect(rows).toHaveLength(expected.probabilities.length);
    rows.forEach((row, i) => row.forEach((p, j) => expect(Math.abs(p - expected.probabilities[i][j])).toBeLessThanOrEqual(expected.tolerance)));
  });

  it("takes feedback (a plain model has nothing to learn), is in the metadata, and is a V1 model of the process too", async () => {
    const fb = await post(`${graph().url}/api/v1.0/feedback`, { request: ndarray([expected.inputs[0]]), response: { meta: { routing: { pick: 0 } } }, reward: 1 });
    expect(fb.status, fb.text).toBe(200);
    const meta = await get(`${graph().url}/api/v1.0/metadata/iris`);
    expect(meta.status).toBe(200);
    expect(meta.json.name).toBe("iris");
    expect(meta.json.inputs).toHaveLength(1);
    const v1 = await post(`${graph().url}/v1/models/iris:predict`, { instances: [expected.inputs[0]] });
    expect(v1.status).toBe(200);
    v1.json.predictions[0].forEach((p: number, j: number) => expect(Math.abs(p - expected.probabilities[0][j])).toBeLessThanOrEqual(expected.tolerance));
  });
});

describe("a component whose constructor fails (unbuildable.yaml)", () => {
  const graph = useGraph("unbuildable.yaml");

  it("the graph is live but not ready, and predictions answer 503 with the reason", async () => {
    expect((await get(`${graph().url}/live`)).status).toBe(200);
    expectSeldonError(await get(`${graph().url}/ready`), 503, "graph not ready");
    expectSeldonError(await post(`${graph().url}/api/v1.0/predictions`, ndarray([[1]])), 503, /broken.*factor must be a number, got "ten"/s);
    const meta = await get(`${graph().url}/api/v1.0/metadata`);
    expect(meta.status).toBe(200);
    expect(meta.json.models.broken.error).toMatch(/factor must be a number/);
  });
});

describe("the executor API: metadata, health and metrics (routing.yaml)", () => {
  const graph = useGraph("routing.yaml");

  it("GET /api/v1.0/metadata: the deployment name, every node's metadata, the graph's inputs and outputs", async () => {
    const r = await get(`${graph().url}/api/v1.0/metadata`);
    expect(r.status).toBe(200);
    expect(r.json.name).toBe("routing");
    expect(Object.keys(r.json.models)).toEqual(["r", "a", "b"]);
    expect(r.json.models.r).toMatchObject({ name: "r", inputs: [], outputs: [] });
    expect(r.json.models.b).toMatchObject({ name: "scale-100", versions: ["1"], platform: "fixture" });
    // The router has no input step: the graph's inputs are those of the first node that reads the request.
    expect(r.json.graphinputs).toEqual([{ messagetype: "ndarray", schema: { names: ["x"], shape: [1] } }]);
    expect(r.json.graphoutputs).toEqual([{ messagetype: "ndarray", schema: { names: ["x*10"], shape: [1] } }]);
    const b = await get(`${graph().url}/api/v1.0/metadata/b`);
    expect(b.json).toEqual(r.json.models.b);
    // An unknown node is a 404 with Seldon's status body, like every other executor error.
    expectSeldonError(await get(`${graph().url}/api/v1.0/metadata/nobody`), 404, "Model nobody is not in graph routing", "MICROSERVICE_BAD_DATA");
  });

  it("GET /ready, /api/v1.0/health/status and /live", async () => {
    const ready = await get(`${graph().url}/ready`);
    expect([ready.status, ready.json]).toEqual([200, { status: "ok" }]);
    expect((await get(`${graph().url}/api/v1.0/health/status`)).status).toBe(200);
    const live = await get(`${graph().url}/live`);
    expect([live.status, live.text]).toEqual([200, "ok"]);
  });

  it("/metrics counts graph requests per service and code, and component calls per node and method", async () => {
    const labels = { deployment_name: "routing", predictor_name: "main", method: "POST" };
    const before = await scrape(graph().url);
    for (const first of [1, 1, 0]) expect((await post(`${graph().url}/api/v1.0/predictions`, ndarray([[first]]))).status).toBe(200);
    expect((await post(`${graph().url}/api/v1.0/predictions`, ndarray([[7]]))).status).toBe(500);
    const fb = await post(`${graph().url}/api/v1.0/feedback`, { response: { meta: { routing: { r: 1 } } }, reward: 1 });
    expect(fb.status).toBe(200);
    const after = await scrape(graph().url);
    const delta = (name: string, l: Record<string, string>) => (sample(after, name, l) ?? 0) - (sample(before, name, l) ?? 0);

    const server = "seldon_api_executor_server_requests_seconds_count";
    expect(delta(server, { ...labels, service: "predictions", code: "200" })).toBe(3);
    expect(delta(server, { ...labels, service: "predictions", code: "500" })).toBe(1);
    expect(delta(server, { ...labels, service: "feedback", code: "200" })).toBe(1);
    const client = "seldon_api_executor_client_requests_seconds_count";
    expect(delta(client, { model_name: "r", method: "route" })).toBe(4);
    expect(delta(client, { model_name: "b", method: "predict" })).toBe(2);
    expect(delta(client, { model_name: "a", method: "predict" })).toBe(1);
    expect(delta(client, { model_name: "b", method: "send-feedback" })).toBe(1);
    expect(delta(client, { model_name: "r", method: "send-feedback" })).toBe(1);
    expect(after).toMatch(/^# TYPE seldon_api_executor_server_requests_seconds histogram$/m);
    expect(after).toMatch(/^# TYPE seldon_api_executor_client_requests_seconds histogram$/m);
    // Seldon's feedback counters, for the two components the feedback reached, labelled with this deployment.
    expect(delta("seldon_api_model_feedback_total", { model_name: "r", deployment_name: "routing", predictor_name: "main" })).toBe(1);
    expect(delta("seldon_api_model_feedback_total", { model_name: "b" })).toBe(1);
  });
});
