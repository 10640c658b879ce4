/**
 * Step targets: serviceName calls a model of the same server in-process (no HTTP hop), or the URL the
 * serviceName template gives when no such model is served; serviceUrl calls over pooled keep-alive HTTP.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { IRIS_REPO } from "../helpers/server.ts";
import { call, ROUTER_ERROR, type RunningGraph, startGraph } from "../fixtures/graphs/harness.ts";
import { closedPort, type StepServer, startStep } from "../fixtures/graphs/step-server.ts";

const IRIS_INPUT = {
  instances: [
    [6.8, 2.8, 4.8, 1.4],
    [6.0, 3.4, 4.5, 1.6],
  ],
};

const steps: StepServer[] = [];
let graph: RunningGraph | undefined;
let deadPort: number;
/** serviceName -> a port nothing listens on: any HTTP call there fails with ECONNREFUSED. */
let deadTemplate: string;

async function step(name: string, script: Parameters<typeof startStep>[1] = {}): Promise<StepServer> {
  const s = await startStep(name, script);
  steps.push(s);
  return s;
}

beforeAll(async () => {
  deadPort = await closedPort();
  deadTemplate = `http://127.0.0.1:${deadPort}/v1/models/{name}:predict`;
});
afterEach(async () => {
  await graph?.stop();
  graph = undefined;
});
afterAll(async () => {
  await Promise.all(steps.map((s) => s.close()));
});

function expectRowsSumToOne(predictions: number[][]): void {
  expect(predictions).toHaveLength(2);
  for (const row of predictions) {
    expect(row).toHaveLength(3);
    expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  }
}

describe("serviceName -> a model of this server, in-process", () => {
  it("calls iris in-process: same answer as V1 :predict, though the URL template points at a closed port", async () => {
    graph = await startGraph(
      { nodes: { root: { routerType: "Sequence", steps: [{ name: "iris", serviceName: "iris" }] } } },
      { modelRepository: IRIS_REPO, serviceUrlTemplate: deadTemplate },
    );
    const r = await call(graph.url, IRIS_INPUT);
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expectRowsSumToOne(r.json.predictions);
    const v1 = await call(`${graph.url}/v1/models/iris:predict`, IRIS_INPUT);
    expect(r.json).toEqual(v1.json);
    // The argmax is versicolor for both rows (see test/fixtures/iris-expected.json).
    for (const row of r.json.predictions as number[][]) expect(row.indexOf(Math.max(...row))).toBe(1);
  });

  it("feeds an in-process answer to a remote step (mapPredictionsToInstances)", async () => {
    const post = await step("post");
    graph = await startGraph(
      {
        nodes: {
          root: {
            routerType: "Sequence",
            steps: [
              { name: "iris", serviceName: "iris" },
              { name: "post", serviceUrl: post.url, data: "$response", mapPredictionsToInstances: true },
            ],
          },
        },
      },
      { modelRepository: IRIS_REPO, serviceUrlTemplate: deadTemplate },
    );
    const r = await call(graph.url, IRIS_INPUT);
    expect(r.status, r.text).toBe(200);
    expect(Object.keys(post.calls[0].json)).toEqual(["instances"]);
    expectRowsSumToOne(post.calls[0].json.instances);
  });

  it("runs in-process and remote steps side by side in an Ensemble", async () => {
    const remote = await step("remote", { body: { predictions: ["remote"] } });
    graph = await startGraph(
      {
        nodes: {
          root: {
            routerType: "Ensemble",
            steps: [
              { name: "iris", serviceName: "iris" },
              { name: "remote", serviceUrl: remote.url },
            ],
          },
        },
      },
      { modelRepository: IRIS_REPO, serviceUrlTemplate: deadTemplate },
    );
    const r = await call(graph.url, IRIS_INPUT);
    expect(r.status, r.text).toBe(200);
    expectRowsSumToOne(r.json.iris.predictions);
    expect(r.json.remote).toEqual({ predictions: ["remote"] });
  });

  it("an in-process model's error keeps its status and message (Hard stops the graph)", async () => {
    const after = await step("after");
    graph = await startGraph(
      {
        nodes: {
          root: {
            routerType: "Sequence",
            steps: [{ serviceName: "iris", dependency: "Hard" }, { serviceUrl: after.url }],
          },
        },
      },
      { modelRepository: IRIS_REPO, serviceUrlTemplate: deadTemplate },
    );
    const bad = await call(graph.url, { instances: [[1, 2]] });
    expect(bad.status).toBe(400);
    expect(typeof bad.json.error).toBe("string");
    const notJson = await call(graph.url, "not json", { "content-type": "text/plain" });
    expect(notJson.status).toBe(400);
    expect(after.calls).toHaveLength(0);
  });

  it("resolves serviceName per call: after iris is unloaded, the URL template is used", async () => {
    const fallback = await step("fallback", { body: { predictions: ["from the template URL"] } });
    graph = await startGraph(
      { nodes: { root: { routerType: "Sequence", steps: [{ serviceName: "iris" }] } } },
      { modelRepository: IRIS_REPO, serviceUrlTemplate: `${fallback.base}/v1/models/{name}:predict`, modelControlMode: "explicit" },
    );
    expectRowsSumToOne((await call(graph.url, IRIS_INPUT)).json.predictions);
    expect(fallback.calls).toHaveLength(0);
    expect((await call(`${graph.url}/v2/repository/models/iris/unload`, {})).status).toBe(200);
    const r = await call(graph.url, IRIS_INPUT);
    expect(r.json).toEqual({ predictions: ["from the template URL"] });
    expect(fallback.calls.map((c) => c.url)).toEqual(["/v1/models/iris:predict"]);
    expect(fallback.calls[0].json).toEqual(IRIS_INPUT);
  });
});

describe("serviceName -> the URL template", () => {
  it("a name no local model has goes to the template URL, with {name} and {namespace} filled in", async () => {
    const remote = await step("remote");
    graph = await startGraph(
      {
        metadata: { name: "tmpl", namespace: "team-a" },
        spec: { nodes: { root: { routerType: "Sequence", steps: [{ serviceName: "remote-model" }] } } },
      },
      { modelRepository: IRIS_REPO, serviceUrlTemplate: `${remote.base}/{namespace}/v1/models/{name}:predict` },
    );
    const r = await call(graph.url, { instances: [[1]] });
    expect(r.status, r.text).toBe(200);
    expect(remote.calls.map((c) => c.url)).toEqual(["/team-a/v1/models/remote-model:predict"]);
    expect(remote.calls[0].method).toBe("POST");
    expect(remote.calls[0].json).toEqual({ instances: [[1]] });
  });

  it("the namespace is 'default' when the graph has none", async () => {
    const remote = await step("remote");
    graph = await startGraph(
      { nodes: { root: { routerType: "Sequence", steps: [{ serviceName: "m" }] } } },
      { serviceUrlTemplate: `${remote.base}/{namespace}/v1/models/{name}:predict` },
    );
    await call(graph.url, {});
    expect(remote.calls.map((c) => c.url)).toEqual(["/default/v1/models/m:predict"]);
  });

  it("the KServe-style template http://127.0.0.1:<port>/v1/models/{name}:predict serves a graph without local models", async () => {
    const remote = await step("remote", (req) => ({ body: { predictions: [req.url] } }));
    graph = await startGraph(
      {
        nodes: {
          root: { routerType: "Ensemble", steps: [{ name: "one", serviceName: "one" }, { name: "two", serviceName: "two" }] },
        },
      },
      { serviceUrlTemplate: `http://127.0.0.1:${remote.port}/v1/models/{name}:predict` },
    );
    const r = await call(graph.url, {});
    expect(r.status, r.text).toBe(200);
    expect(r.json).toEqual({
      one: { predictions: ["/v1/models/one:predict"] },
      two: { predictions: ["/v1/models/two:predict"] },
    });
  });
});

describe("unreachable targets", () => {
  it("a serviceUrl that refuses connections is a 500 whose cause names the URL", async () => {
    const url = `http://127.0.0.1:${deadPort}/v1/models/gone:predict`;
    graph = await startGraph({ nodes: { root: { routerType: "Sequence", steps: [{ name: "gone", serviceUrl: url }] } } });
    const r = await call(graph.url, { instances: [1] });
    expect(r.status, r.text).toBe(500);
    expect(r.json.error).toBe(ROUTER_ERROR);
    expect(r.json.cause).toContain(url);
    expect(r.json.cause).toMatch(/ECONNREFUSED/);
  });

  it("a serviceName whose template URL refuses connections is a 500 whose cause names the URL", async () => {
    graph = await startGraph(
      { nodes: { root: { routerType: "Sequence", steps: [{ serviceName: "nowhere" }] } } },
      { modelRepository: IRIS_REPO, serviceUrlTemplate: deadTemplate },
    );
    const r = await call(graph.url, { instances: [1] });
    expect(r.status, r.text).toBe(500);
    expect(r.json.error).toBe(ROUTER_ERROR);
    expect(r.json.cause).toContain(`http://127.0.0.1:${deadPort}/v1/models/nowhere:predict`);
  });

  it("a host that does not resolve is a 500 naming the URL", async () => {
    const url = "http://no-such-host.invalid/v1/models/x:predict";
    graph = await startGraph({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: url }] } } });
    const r = await call(graph.url, {});
    expect(r.status, r.text).toBe(500);
    expect(r.json.cause).toContain(url);
  });

  it("a step down in an Ensemble: Soft includes the error, Hard returns it", async () => {
    const ok = await step("ok");
    const url = `http://127.0.0.1:${deadPort}/down`;
    graph = await startGraph({
      nodes: { root: { routerType: "Ensemble", steps: [{ name: "ok", serviceUrl: ok.url }, { name: "down", serviceUrl: url }] } },
    });
    const soft = await call(graph.url, {});
    expect(soft.status, soft.text).toBe(200);
    expect(soft.json.ok.step).toBe("ok");
    expect(soft.json.down.error).toBe(ROUTER_ERROR);
    expect(soft.json.down.cause).toContain(url);
    await graph.stop();
    graph = await startGraph({
      nodes: {
        root: {
          routerType: "Ensemble",
          steps: [{ name: "ok", serviceUrl: ok.url }, { name: "down", serviceUrl: url, dependency: "Hard" }],
        },
      },
    });
    const hard = await call(graph.url, {});
    expect(hard.status, hard.text).toBe(500);
    expect(hard.json.error).toBe(ROUTER_ERROR);
    expect(hard.json.cause).toContain(url);
  });
});

describe("HTTP targets", () => {
  it("reuse kept-alive connections across requests", async () => {
    const pooled = await step("pooled");
    graph = await startGraph({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: pooled.url }] } } });
    for (let i = 0; i < 20; i++) expect((await call(graph.url, { i })).status).toBe(200);
    const connections = new Set(pooled.calls.map((c) => c.remotePort));
    expect(connections.size).toBeLessThanOrEqual(2);
  });

  it("send POST with the step body and its Content-Length, whatever the incoming method", async () => {
    const target = await step("target");
    graph = await startGraph({ nodes: { root: { routerType: "Sequence", steps: [{ serviceUrl: target.url }] } } });
    await call(graph.url, { hello: "world" });
    expect(target.calls[0].method).toBe("POST");
    expect(target.calls[0].headers["content-length"]).toBe(String(Buffer.byteLength('{"hello":"world"}')));
    expect(target.calls[0].body).toBe('{"hello":"world"}');
  });
});
