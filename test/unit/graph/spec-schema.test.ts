import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { parseSeldonDeployment, toGraph, toSeldonGraphSpec } from "../../../packages/server/src/graph/index.ts";

/** The message of what `run` throws (an InvalidInput); fails the test when nothing is thrown. */
function problem(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    return (err as Error).message;
  }
  throw new Error("expected a rejection");
}

const seq = (...steps: unknown[]) => ({ routerType: "Sequence", steps });
const resource = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: "serving.kserve.io/v1alpha1",
  kind: "InferenceGraph",
  metadata: { name: "g" },
  spec: { nodes: { root: seq({ serviceName: "m" }) }, ...spec },
  ...extra,
});

describe("InferenceGraph schema", () => {
  it("accepts a real resource with the Kubernetes fields tserve does not use", () => {
    const g = toGraph(
      resource(
        {
          minReplicas: 1,
          maxReplicas: 3,
          scaleMetric: "rps",
          scaleTarget: 10,
          resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "100m" } },
          affinity: { nodeAffinity: {} },
          nodeSelector: { pool: "cpu" },
          tolerations: [{ key: "k", operator: "Exists" }],
          serviceAccountName: "sa",
        },
        {
          metadata: { name: "g", namespace: "ml", annotations: { "serving.kserve.io/deploymentMode": "RawDeployment" }, labels: { a: "b" } },
          status: { url: "http://g.ml" },
        },
      ),
    );
    expect(g.name).toBe("g");
    expect(g.namespace).toBe("ml");
  });

  it("a misspelt key in a step, a node or the spec is an error with its path and the nearest field", () => {
    expect(problem(() => toGraph(resource({ nodes: { root: seq({ serviceNmae: "m" }) } }), "g.yaml"))).toBe(
      "g.yaml: /spec/nodes/root/steps/0/serviceNmae is not a field; did you mean serviceName?",
    );
    expect(problem(() => toGraph({ nodes: { root: { ...seq({ serviceName: "m" }), stpes: [] } } }))).toMatch(
      /\/nodes\/root\/stpes is not a field; did you mean steps\?/,
    );
    expect(problem(() => toGraph(resource({ routerTimeout: { serviceClient: 3 } })))).toMatch(/\/spec\/routerTimeout is not a field; did you mean routerTimeouts\?/);
    expect(problem(() => toGraph(resource({ routerTimeouts: { serviceClinet: 3 } })))).toMatch(/did you mean serviceClient\?/);
    expect(problem(() => toGraph(resource({}, { metdata: { name: "g" } })))).toMatch(/\/metdata is not a field; did you mean metadata\?/);
  });

  it("a key nothing resembles lists the fields there", () => {
    expect(problem(() => toGraph(resource({ nodes: { root: seq({ serviceName: "m", zzz: 1 }) } })))).toMatch(
      /\/spec\/nodes\/root\/steps\/0\/zzz is not a field \(the fields here: name, serviceName/,
    );
  });

  it("wrong types the node checks do not word name the key", () => {
    expect(problem(() => toGraph(resource({ nodes: { root: seq({ serviceName: "m", mapPredictionsToInstances: "yes" }) } })))).toMatch(
      /spec\.nodes\.root\.steps\[0\]\.mapPredictionsToInstances must be true or false, got "yes"/,
    );
    expect(problem(() => toGraph(resource({ minReplicas: "two" })))).toMatch(/spec\.minReplicas must be an integer, got "two"/);
    expect(problem(() => toGraph(resource({ scaleMetric: "gpu" })))).toMatch(/spec\.scaleMetric must be one of "cpu", "memory", "concurrency", "rps"/);
  });

  it("keeps the per-node wording for what the node checks already catch", () => {
    expect(problem(() => toGraph(resource({ nodes: { root: { routerType: "Parallel", steps: [{ serviceName: "m" }] } } })))).toMatch(
      /Node 'root' has routerType "Parallel"/,
    );
    expect(problem(() => toGraph(resource({ nodes: { root: seq({ serviceName: 42 }) } })))).toMatch(/Node 'root' step 0: 'serviceName' must be a string/);
  });
});

const deployment = (graph: unknown, predictor: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  apiVersion: "machinelearning.seldon.io/v1",
  kind: "SeldonDeployment",
  metadata: { name: "d" },
  spec: { predictors: [{ name: "p", graph, ...predictor }] },
  ...extra,
});

describe("SeldonDeployment schema", () => {
  it("accepts the Kubernetes levels tserve ignores, and every graph node field", () => {
    const spec = toSeldonGraphSpec(
      deployment(
        {
          name: "m",
          type: "MODEL",
          endpoint: { type: "REST", service_host: "h", service_port: 9000, httpPort: 9000, grpcPort: 5001 },
          parameters: [{ name: "a", type: "INT", value: "1" }],
          logger: { url: "http://logger", mode: "all" },
          envSecretRefName: "secret",
          children: [],
        },
        {
          replicas: 2,
          traffic: 100,
          labels: { team: "a" },
          annotations: { "seldon.io/engine": "x" },
          componentSpecs: [{ metadata: { labels: {} }, spec: { containers: [{ name: "m", image: "img:1", resources: {} }] } }],
          explainer: { type: "AnchorTabular" },
          svcOrchSpec: { env: [] },
        },
        { metadata: { name: "d", annotations: { a: "b" }, labels: { c: "d" } } },
      ),
    );
    expect(spec.graph.image).toBe("img:1");
    expect(spec.graph.endpoint).toEqual({ host: "h", port: 9000, type: "REST" });
  });

  it("a misspelt key inside a graph node, its endpoint or a parameter is an error with its path and the nearest field", () => {
    expect(problem(() => toSeldonGraphSpec(deployment({ name: "m", modelUir: "./m.onnx" }), "sd.yaml"))).toBe(
      "sd.yaml: /spec/predictors/0/graph/modelUir is not a field; did you mean modelUri?",
    );
    expect(
      problem(() => toSeldonGraphSpec(deployment({ name: "r", type: "ROUTER", children: [{ name: "m", endpoint: { service_hots: "h" } }] }))),
    ).toMatch(/\/spec\/predictors\/0\/graph\/children\/0\/endpoint\/service_hots is not a field; did you mean service_host\?/);
    expect(problem(() => toSeldonGraphSpec(deployment({ name: "m", parameters: [{ name: "a", typ: "INT", value: "1" }] })))).toMatch(
      /parameters\/0\/typ is not a field; did you mean type\?/,
    );
  });

  it("checks bare predictors and bare graph nodes too", () => {
    expect(problem(() => toSeldonGraphSpec({ name: "p", graph: { name: "m", childrn: [] } }))).toMatch(/\/graph\/childrn is not a field; did you mean children\?/);
    expect(problem(() => parseSeldonDeployment("name: m\nimplementaton: SKLEARN_SERVER\n"))).toMatch(
      /\/implementaton is not a field; did you mean implementation\?/,
    );
  });

  it("wrong types the node checks do not word name the key", () => {
    expect(problem(() => toSeldonGraphSpec(deployment({ name: "m", logger: { url: 3 } })))).toMatch(
      /spec\.predictors\[0\]\.graph\.logger\.url must be a string, got 3/,
    );
  });

  it("keeps the per-node wording for what the node checks already catch", () => {
    expect(problem(() => toSeldonGraphSpec(deployment({ name: "a", type: "SPLITTER" })))).toMatch(/graph node 'a' has type "SPLITTER"/);
    expect(problem(() => toSeldonGraphSpec(deployment({ name: "m", modelUri: 3 })))).toMatch(/modelUri must be a string/);
  });
});
