/**
 * The graph from the command line: `tserve graph graph.yaml` as KServe's standalone router (every path runs
 * the graph, /readyz, /metrics, SIGTERM), `tserve serve --graph`, and the exit code of a bad graph file.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envWithout, freePort, ROOT, runCli, type RunningCli, startCli, stopCli } from "../helpers/server.ts";
import { call, ROUTER_ERROR } from "../fixtures/graphs/harness.ts";
import { closeAll, type StepServer, startSteps } from "../fixtures/graphs/step-server.ts";

const GRAPHS = join(ROOT, "test", "fixtures", "graphs");
const IRIS_INPUT = { instances: [[6.8, 2.8, 4.8, 1.4]] };

/** The environment of a child, without PROPAGATE_HEADERS unless the test sets it. */
const childEnv = (extra: Record<string, string> = {}) => envWithout(["PROPAGATE_HEADERS"], extra);

const children: ChildProcess[] = [];

/** `node bin/tserve.js graph ARGS --http_port P --host 127.0.0.1`, ready once GET /readyz is 200. */
async function startGraphCli(args: string[], env: Record<string, string> = {}): Promise<RunningCli> {
  const started = await startCli(["graph", ...args], await freePort(), { env: childEnv(env), readyPath: "/readyz", portFlags: "http" });
  children.push(started.child);
  return started;
}

/** Runs `node bin/tserve.js ARGS` to completion. */
const run = (args: string[]) => runCli(args, { env: childEnv() });

/** The value of one sample `name{labels} value` (labels in any order, all of them given); undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([^{\s]+)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.keys(have).length !== Object.keys(labels).length) continue;
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

let tmp: string;
let steps: Record<"pre" | "model" | "flaky" | "post", StepServer>;

/** Writes a fixture with its {{PLACEHOLDERS}} filled in, and returns its path. */
async function fill(fixture: string, values: Record<string, string>, name = fixture): Promise<string> {
  let text = await readFile(join(GRAPHS, fixture), "utf8");
  for (const [k, v] of Object.entries(values)) text = text.replaceAll(`{{${k}}}`, v);
  const path = join(tmp, name);
  await writeFile(path, text);
  return path;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "tserve-graph-cli-"));
  steps = await startSteps({
    pre: { body: { instances: [[1, 2]] } },
    model: (req) => ({ body: { predictions: [req.url] } }),
    flaky: { status: 500, body: { error: "flaky is down" } },
    post: {},
  });
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await closeAll(steps);
});

describe("tserve graph GRAPH.yaml", () => {
  let graphFile: string;
  let template: string;
  let running: RunningCli;

  beforeAll(async () => {
    graphFile = await fill("cli-graph.yaml", { PRE: steps.pre.url, FLAKY: steps.flaky.url });
    template = `http://127.0.0.1:${steps.model.port}/v1/models/{name}:predict`;
    running = await startGraphCli([graphFile, "--service_url_template", template]);
  });
  afterAll(async () => {
    if (running) await stopCli(running.child);
  });

  it("POST / runs the graph", async () => {
    for (const s of Object.values(steps)) s.reset();
    const r = await call(`${running.url}/`, IRIS_INPUT);
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.json).toEqual({ model: { predictions: ["/v1/models/model:predict"] }, flaky: { error: "flaky is down" } });
    expect(steps.pre.calls.map((c) => c.json)).toEqual([IRIS_INPUT]);
    // fan got pre's answer ($response) and gave it to both of its steps.
    expect(steps.model.calls.map((c) => c.json)).toEqual([{ instances: [[1, 2]] }]);
    expect(steps.flaky.calls.map((c) => c.json)).toEqual([{ instances: [[1, 2]] }]);
  });

  it("every path and method runs the graph, as KServe's router", async () => {
    for (const s of Object.values(steps)) s.reset();
    for (const [path, method] of [
      ["/any/path", "POST"],
      ["/v1/models/whatever:predict", "POST"],
      ["/v2/models/x/infer", "PUT"],
    ]) {
      const r = await call(`${running.url}${path}`, IRIS_INPUT, {}, method);
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(200);
      expect(r.json.model).toEqual({ predictions: ["/v1/models/model:predict"] });
    }
    expect(steps.pre.calls).toHaveLength(3);
  });

  it("GET /readyz is 200", async () => {
    const r = await fetch(`${running.url}/readyz`);
    expect(r.status).toBe(200);
  });

  it("GET /metrics has per-node and per-step latency and step failures, labelled by graph, node and step", async () => {
    await call(`${running.url}/`, IRIS_INPUT);
    const text = await (await fetch(`${running.url}/metrics`)).text();
    expect(text).toMatch(/^# TYPE graph_node_duration_seconds histogram$/m);
    expect(text).toMatch(/^# TYPE graph_step_duration_seconds histogram$/m);
    expect(text).toMatch(/^# TYPE graph_step_failures_total counter$/m);
    const node = (n: string) => sample(text, "graph_node_duration_seconds_count", { graph: "cli-graph", node: n, code: "200" });
    const stepCount = (n: string, s: string, code: string) =>
      sample(text, "graph_step_duration_seconds_count", { graph: "cli-graph", node: n, step: s, code });
    expect(node("root")).toBeGreaterThanOrEqual(1);
    expect(node("fan")).toBe(node("root"));
    expect(stepCount("root", "pre", "200")).toBe(node("root"));
    expect(stepCount("root", "fan", "200")).toBe(node("root"));
    expect(stepCount("fan", "model", "200")).toBe(node("root"));
    expect(stepCount("fan", "flaky", "500")).toBe(node("root"));
    expect(sample(text, "graph_step_failures_total", { graph: "cli-graph", node: "fan", step: "flaky" })).toBe(node("root"));
    expect(sample(text, "graph_step_failures_total", { graph: "cli-graph", node: "fan", step: "model" }) ?? 0).toBe(0);
    const sum = sample(text, "graph_step_duration_seconds_sum", { graph: "cli-graph", node: "root", step: "pre", code: "200" });
    expect(sum).toBeGreaterThan(0);
  });

  it("has no model routes: GET /v1/models runs the graph too", async () => {
    const r = await call(`${running.url}/v1/models`, undefined, {}, "GET");
    expect(r.status, r.text).toBe(200);
    expect(r.json.models).toBeUndefined();
    expect(r.json.model).toEqual({ predictions: ["/v1/models/model:predict"] });
  });
});

describe("tserve graph: flags, environment and shutdown", () => {
  it("--graph_json takes the graph as text", async () => {
    const json = JSON.stringify({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: steps.post.url }] } } });
    const running = await startGraphCli(["--graph_json", json]);
    try {
      steps.post.reset();
      const r = await call(`${running.url}/`, { x: 1 });
      expect(r.status, r.text).toBe(200);
      expect(steps.post.calls.map((c) => c.json)).toEqual([{ x: 1 }]);
    } finally {
      expect(await stopCli(running.child)).toBe(0);
    }
  });

  it("--propagate_headers forwards matching headers; invalid patterns are skipped", async () => {
    const json = JSON.stringify({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: steps.post.url }] } } });
    const running = await startGraphCli(["--graph_json", json, "--propagate_headers", "^x-custom,[,Custom-Header"]);
    try {
      steps.post.reset();
      const r = await call(`${running.url}/`, {}, { "X-Custom-Id": "1", "My-Custom-Header": "2", "X-Other": "3" });
      expect(r.status, r.text).toBe(200);
      const h = steps.post.calls[0].headers;
      expect([h["x-custom-id"], h["my-custom-header"], h["x-other"]]).toEqual(["1", "2", undefined]);
      expect(running.output()).toContain("'['");
    } finally {
      await stopCli(running.child);
    }
  });

  it("PROPAGATE_HEADERS in the environment does the same", async () => {
    const json = JSON.stringify({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: steps.post.url }] } } });
    const running = await startGraphCli(["--graph_json", json], { PROPAGATE_HEADERS: "^x-env-" });
    try {
      steps.post.reset();
      await call(`${running.url}/`, {}, { "X-Env-Trace": "t", "X-Custom-Id": "1" });
      const h = steps.post.calls[0].headers;
      expect(h["x-env-trace"]).toBe("t");
      expect(h["x-custom-id"]).toBeUndefined();
    } finally {
      await stopCli(running.child);
    }
  });

  it("SIGTERM lets an in-flight request finish, then exits 0", async () => {
    const slow = (await startSteps({ slow: { delayMs: 1_000 } })).slow;
    try {
      const json = JSON.stringify({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: slow.url }] } } });
      const running = await startGraphCli(["--graph_json", json, "--grace_period", "10"]);
      const inFlight = call(`${running.url}/`, { x: 1 });
      while (slow.calls.length === 0) await new Promise((r) => setTimeout(r, 20));
      const exited = once(running.child, "exit");
      running.child.kill("SIGTERM");
      const r = await inFlight;
      expect(r.status, r.text).toBe(200);
      expect(r.json.step).toBe("slow");
      const [code] = await exited;
      expect(code).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it("a remote step down answers 500 naming the URL (the router keeps running)", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/v1/models/gone:predict`;
    const running = await startGraphCli(["--graph_json", JSON.stringify({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: url }] } } })]);
    try {
      const r = await call(`${running.url}/`, {});
      expect(r.status).toBe(500);
      expect(r.json).toMatchObject({ error: ROUTER_ERROR });
      expect(r.json.cause).toContain(url);
      expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await stopCli(running.child)).toBe(0);
    }
  });
});

describe("tserve graph: invalid graphs exit 2 naming the problem", () => {
  it("a missing root node", async () => {
    const path = join(GRAPHS, "invalid", "missing-root.yaml");
    const r = await run(["graph", path, "--http_port", "0"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("missing-root.yaml");
    expect(r.stderr).toMatch(/root/);
  });

  it("a cycle", async () => {
    const r = await run(["graph", join(GRAPHS, "invalid", "cycle.yaml"), "--http_port", "0"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("a -> b -> a");
  });

  it("Splitter weights that do not sum to 100", async () => {
    const r = await run(["graph", join(GRAPHS, "invalid", "weights.yaml"), "--http_port", "0"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("90");
  });

  it("a file that is not YAML", async () => {
    const r = await run(["graph", join(GRAPHS, "invalid", "not-yaml.yaml"), "--http_port", "0"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("not-yaml.yaml");
  });

  it("a file that does not exist", async () => {
    const r = await run(["graph", join(GRAPHS, "no-such-graph.yaml"), "--http_port", "0"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("no-such-graph.yaml");
  });

  it("a serviceUrl that is not a URL", async () => {
    const r = await run(["graph", join(GRAPHS, "invalid", "bad-url.yaml"), "--http_port", "0"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("broken");
    expect(r.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it("no graph at all, or bad --graph_json", async () => {
    const none = await run(["graph", "--http_port", "0"]);
    expect(none.code).toBe(2);
    const bad = await run(["graph", "--graph_json", '{"nodes": {"start": {"routerType": "Sequence", "steps": []}}}', "--http_port", "0"]);
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toMatch(/start|root/);
  });

  it("tserve serve --graph with an invalid graph exits 2 too", async () => {
    const r = await run(["serve", "--model-repository", "examples/iris/models", "--graph", join(GRAPHS, "invalid", "cycle.yaml"), "--http_port", "0", "--grpc_port", "0"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain("a -> b -> a");
  });
});

describe("tserve serve --model-repository examples/iris/models --graph g.yaml", () => {
  let running: RunningCli;

  beforeAll(async () => {
    const graphFile = await fill("serve-graph.yaml", { POST: steps.post.url });
    running = await startCli(["serve", "--model-repository", "examples/iris/models", "--graph", graphFile], await freePort());
    children.push(running.child);
  });
  afterAll(async () => {
    if (running) expect(await stopCli(running.child)).toBe(0);
  });

  it("serves V1 and V2 as usual", async () => {
    const v1 = await call(`${running.url}/v1/models/iris:predict`, IRIS_INPUT);
    expect(v1.status, v1.text).toBe(200);
    expect(v1.json.predictions).toHaveLength(1);
    const v2 = await call(`${running.url}/v2/models/iris/infer`, {
      inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: [6.8, 2.8, 4.8, 1.4] }],
    });
    expect(v2.status, v2.text).toBe(200);
    expect((await fetch(`${running.url}/v2/health/ready`)).status).toBe(200);
  });

  it("POST / runs the graph, with iris in-process", async () => {
    steps.post.reset();
    const r = await call(`${running.url}/`, IRIS_INPUT);
    expect(r.status, r.text).toBe(200);
    expect(r.json.step).toBe("post");
    const instances = steps.post.calls[0].json.instances as number[][];
    expect(instances).toHaveLength(1);
    expect(instances[0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("a bad input stops at the Hard iris step with its status", async () => {
    steps.post.reset();
    const r = await call(`${running.url}/`, { instances: [[1, 2]] });
    expect(r.status).toBe(400);
    expect(steps.post.calls).toHaveLength(0);
  });

  it("GET /metrics has the graph's metrics beside the model's", async () => {
    await call(`${running.url}/`, IRIS_INPUT);
    const text = await (await fetch(`${running.url}/metrics`)).text();
    expect(sample(text, "graph_node_duration_seconds_count", { graph: "iris-pipeline", node: "root", code: "200" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "graph_step_duration_seconds_count", { graph: "iris-pipeline", node: "root", step: "iris", code: "200" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "graph_step_duration_seconds_count", { graph: "iris-pipeline", node: "root", step: "iris", code: "400" })).toBeGreaterThanOrEqual(1);
    expect(sample(text, "graph_step_failures_total", { graph: "iris-pipeline", node: "root", step: "iris" })).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^request_predict_seconds_count\{model_name="iris"\} \d+/m);
  });

  it("GET /readyz is 200 beside the model routes", async () => {
    expect((await fetch(`${running.url}/readyz`)).status).toBe(200);
  });
});
