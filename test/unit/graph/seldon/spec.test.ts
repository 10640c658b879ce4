import { describe, expect, it } from "vitest";
import { InvalidInput, TServeError, Unsupported } from "../../../../packages/server/src/errors/index.ts";
import {
  graphNodes,
  nodeSteps,
  parameterValues,
  parseSeldonDeployment,
  type SeldonGraphNode,
  toSeldonGraphSpec,
} from "../../../../packages/server/src/graph/seldon/spec.ts";

const DEPLOYMENT = `
apiVersion: machinelearning.seldon.io/v1
kind: SeldonDeployment
metadata:
  name: income
  namespace: ml
spec:
  name: income-spec
  predictors:
    - name: main
      traffic: 75
      componentSpecs:
        - spec:
            containers:
              - name: classifier
                image: seldonio/income-classifier:1.0
      graph:
        name: ab
        implementation: RANDOM_ABTEST
        parameters:
          - name: ratioA
            value: "0.25"
            type: FLOAT
        children:
          - name: classifier
            type: MODEL
            modelUri: ./models/classifier
            endpoint:
              type: REST
            parameters:
              - { name: threshold, value: "0.7", type: FLOAT }
              - { name: verbose, value: "true", type: BOOL }
              - { name: batch, value: "8", type: INT }
          - name: remote
            endpoint:
              type: REST
              service_host: 10.0.0.5
              service_port: 9000
            logger:
              mode: all
    - name: canary
      traffic: 25
      graph:
        name: canary-model
        implementation: SKLEARN_SERVER
        modelUri: gs://bucket/model
`;

/** The InvalidInput (400) a parse throws; fails the test when it does not throw. */
function rejection(run: () => unknown): InvalidInput {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).status).toBe(400);
    return err as InvalidInput;
  }
  throw new Error("expected the spec to be rejected");
}

const graph = (root: Record<string, unknown>) => () => toSeldonGraphSpec(root, "test");

describe("parseSeldonDeployment: accepted documents", () => {
  it("reads a whole SeldonDeployment in YAML, picking the predictor with most traffic", () => {
    const spec = parseSeldonDeployment(DEPLOYMENT, "income.yaml");
    expect(spec.deploymentName).toBe("income");
    expect(spec.namespace).toBe("ml");
    expect(spec.predictorName).toBe("main");
    expect(spec.traffic).toBe(75);
    const root = spec.graph;
    expect(root).toMatchObject({ name: "ab", type: "ROUTER", implementation: "RANDOM_ABTEST" });
    expect(root.parameters).toEqual([{ name: "ratioA", value: "0.25", type: "FLOAT" }]);
    const [classifier, remote] = root.children;
    expect(classifier).toMatchObject({
      name: "classifier",
      type: "MODEL",
      modelUri: "./models/classifier",
      image: "seldonio/income-classifier:1.0",
      children: [],
    });
    // `endpoint: {type: REST}` only names the protocol: the component is resolved locally.
    expect(classifier.endpoint).toBeUndefined();
    expect(parameterValues(classifier.parameters)).toEqual({ threshold: 0.7, verbose: true, batch: 8 });
    expect(remote).toMatchObject({ name: "remote", type: "MODEL", endpoint: { host: "10.0.0.5", port: 9000, type: "REST" } });
    expect(graphNodes(root).map((n) => n.name)).toEqual(["ab", "classifier", "remote"]);
  });

  it("picks the predictor named by the option, and lets the option rename the deployment", () => {
    const spec = parseSeldonDeployment(DEPLOYMENT, "income.yaml", { predictor: "canary", deploymentName: "renamed" });
    expect(spec.predictorName).toBe("canary");
    expect(spec.deploymentName).toBe("renamed");
    expect(spec.graph).toMatchObject({ name: "canary-model", type: "MODEL", implementation: "SKLEARN_SERVER", modelUri: "gs://bucket/model" });
  });

  it("takes the first predictor when none states traffic, and skips shadows", () => {
    const doc = (predictors: unknown[]) => ({ kind: "SeldonDeployment", metadata: { name: "d" }, spec: { predictors } });
    const p = (name: string, extra: Record<string, unknown> = {}) => ({ name, graph: { name: `${name}-m` }, ...extra });
    expect(toSeldonGraphSpec(doc([p("a"), p("b")])).predictorName).toBe("a");
    expect(toSeldonGraphSpec(doc([p("a", { traffic: 50 }), p("b", { traffic: 50 })])).predictorName).toBe("a");
    expect(toSeldonGraphSpec(doc([p("a", { traffic: 10 }), p("b", { traffic: 90, shadow: true }), p("c", { traffic: 20 })])).predictorName).toBe("c");
  });

  it("accepts v1alpha2 and v1alpha3 and JSON text", () => {
    for (const v of ["v1alpha2", "v1alpha3"]) {
      const json = JSON.stringify({
        apiVersion: `machinelearning.seldon.io/${v}`,
        kind: "SeldonDeployment",
        metadata: { name: "j" },
        spec: { predictors: [{ name: "p", graph: { name: "m" } }] },
      });
      expect(parseSeldonDeployment(json).graph.name).toBe("m");
    }
  });

  it("reads a bare predictor", () => {
    const spec = parseSeldonDeployment("name: pred\ngraph:\n  name: m\n  type: MODEL\n");
    expect(spec).toMatchObject({ deploymentName: "pred", predictorName: "pred", graph: { name: "m", type: "MODEL" } });
  });

  it("reads a bare graph node (JSON), defaulting the type to MODEL", () => {
    const spec = parseSeldonDeployment(JSON.stringify({ name: "t", type: "TRANSFORMER", children: [{ name: "m" }] }));
    expect(spec.deploymentName).toBe("t");
    expect(spec.predictorName).toBe("default");
    expect(spec.graph.type).toBe("TRANSFORMER");
    expect(spec.graph.children[0].type).toBe("MODEL");
  });

  it("uses the SeldonDeployment of a multi-document file", () => {
    const text = `kind: Service\nmetadata: {name: svc}\n---\nkind: SeldonDeployment\nmetadata: {name: d}\nspec:\n  predictors: [{name: p, graph: {name: m}}]\n`;
    expect(parseSeldonDeployment(text).deploymentName).toBe("d");
  });

  it("maps methods lists (no default type then) and lets a MODEL have children", () => {
    const spec = toSeldonGraphSpec({
      name: "custom",
      methods: ["TRANSFORM_INPUT", "ROUTE", "SEND_FEEDBACK"],
      children: [{ name: "m", children: [{ name: "after" }] }],
    });
    expect(spec.graph.type).toBeUndefined();
    expect(spec.graph.methods).toEqual(["TRANSFORM_INPUT", "ROUTE", "SEND_FEEDBACK"]);
    expect(nodeSteps(spec.graph)).toEqual({ input: "transform-input", route: true, aggregate: false, output: false, feedback: true });
    expect(nodeSteps(spec.graph.children[0])).toEqual({ input: "predict", route: false, aggregate: false, output: false, feedback: true });
    expect(spec.graph.children[0].children[0].name).toBe("after");
  });

  it("derives each type's steps as Seldon's executor does", () => {
    const steps = (type: SeldonGraphNode["type"]) => nodeSteps({ type });
    expect(steps("MODEL")).toEqual({ input: "predict", route: false, aggregate: false, output: false, feedback: true });
    expect(steps("TRANSFORMER")).toEqual({ input: "transform-input", route: false, aggregate: false, output: false, feedback: false });
    expect(steps("ROUTER")).toEqual({ input: undefined, route: true, aggregate: false, output: false, feedback: true });
    expect(steps("COMBINER")).toEqual({ input: undefined, route: false, aggregate: true, output: false, feedback: false });
    expect(steps("OUTPUT_TRANSFORMER")).toEqual({ input: undefined, route: false, aggregate: false, output: true, feedback: false });
  });

  it("treats UNKNOWN_IMPLEMENTATION as none and prefers httpPort for REST", () => {
    const spec = toSeldonGraphSpec({
      name: "m",
      implementation: "UNKNOWN_IMPLEMENTATION",
      endpoint: { service_host: "h", service_port: 5000, httpPort: 9000 },
    });
    expect(spec.graph.implementation).toBeUndefined();
    expect(spec.graph.endpoint).toEqual({ host: "h", port: 9000, type: "REST" });
  });
});

describe("parseSeldonDeployment: rejected documents", () => {
  it("rejects text that is not YAML or JSON, and empty text", () => {
    expect(rejection(() => parseSeldonDeployment("a: [1, 2", "bad.yaml")).message).toMatch(/bad\.yaml is neither valid YAML nor JSON/);
    expect(rejection(() => parseSeldonDeployment("")).message).toMatch(/empty/);
    expect(rejection(() => parseSeldonDeployment("42")).message).toMatch(/expected a SeldonDeployment/);
  });

  it("rejects another kind or apiVersion", () => {
    expect(rejection(() => toSeldonGraphSpec({ kind: "InferenceGraph", spec: {} })).message).toMatch(/kind is "InferenceGraph"/);
    expect(
      rejection(() => toSeldonGraphSpec({ apiVersion: "serving.kserve.io/v1alpha1", kind: "SeldonDeployment", spec: {} })).message,
    ).toMatch(/apiVersion "serving.kserve.io\/v1alpha1"/);
  });

  it("rejects deployments without a name, predictors, or a graph", () => {
    const p = [{ name: "p", graph: { name: "m" } }];
    expect(rejection(() => toSeldonGraphSpec({ kind: "SeldonDeployment", spec: { predictors: p } })).message).toMatch(/metadata\.name/);
    expect(rejection(() => toSeldonGraphSpec({ kind: "SeldonDeployment", metadata: { name: "d" }, spec: { predictors: [] } })).message).toMatch(
      /spec\.predictors must be a non-empty list/,
    );
    expect(
      rejection(() => toSeldonGraphSpec({ kind: "SeldonDeployment", metadata: { name: "d" }, spec: { predictors: [{ name: "p" }] } })).message,
    ).toMatch(/predictor 'p' needs a 'graph'/);
    expect(
      rejection(() => toSeldonGraphSpec({ kind: "SeldonDeployment", metadata: { name: "d" }, spec: { predictors: [...p, ...p] } })).message,
    ).toMatch(/two predictors are named 'p'/);
  });

  it("rejects an unknown predictor name, listing the known ones", () => {
    expect(rejection(() => parseSeldonDeployment(DEPLOYMENT, "x", { predictor: "nope" })).message).toMatch(
      /no predictor is named 'nope' \(it has 'main', 'canary'\)/,
    );
  });

  it("rejects nodes without a name and duplicate names anywhere in the tree", () => {
    expect(rejection(graph({ type: "MODEL" })).message).toMatch(/needs a non-empty 'name'/);
    expect(rejection(graph({ name: "a", children: [{ name: "b", children: [{ name: "a" }] }] })).message).toMatch(
      /two graph nodes are named 'a'/,
    );
  });

  it("rejects unknown types and methods", () => {
    expect(rejection(graph({ name: "a", type: "SPLITTER" })).message).toMatch(
      /graph node 'a' has type "SPLITTER"; expected one of MODEL, ROUTER, COMBINER, TRANSFORMER, OUTPUT_TRANSFORMER/,
    );
    expect(rejection(graph({ name: "a", methods: ["PREDICT"] })).message).toMatch(/has method "PREDICT"/);
    expect(rejection(graph({ name: "a", methods: "ROUTE" })).message).toMatch(/methods must be a list/);
  });

  it("rejects routers and combiners without children", () => {
    expect(rejection(graph({ name: "r", type: "ROUTER" })).message).toMatch(/'r' is a ROUTER and needs at least one child/);
    expect(rejection(graph({ name: "c", type: "COMBINER", children: [] })).message).toMatch(/'c' is a COMBINER and needs at least one child/);
    expect(rejection(graph({ name: "c", methods: ["AGGREGATE"] })).message).toMatch(/COMBINER/);
  });

  it("rejects RANDOM_ABTEST without exactly 2 children, with a bad ratioA, or typed other than ROUTER", () => {
    const ab = (children: unknown[], extra: Record<string, unknown> = {}) => graph({ name: "ab", implementation: "RANDOM_ABTEST", children, ...extra });
    expect(rejection(ab([{ name: "a" }])).message).toMatch(/'ab' is a RANDOM_ABTEST and needs exactly 2 children \(it has 1\)/);
    expect(rejection(ab([{ name: "a" }, { name: "b" }, { name: "c" }])).message).toMatch(/it has 3/);
    expect(rejection(ab([{ name: "a" }, { name: "b" }], { parameters: [{ name: "ratioA", value: "1.5", type: "FLOAT" }] })).message).toMatch(
      /ratioA must be a number between 0 and 1/,
    );
    expect(rejection(ab([{ name: "a" }, { name: "b" }], { parameters: [{ name: "ratioA", value: "1", type: "INT" }] })).message).toMatch(
      /ratioA must have type FLOAT/,
    );
    expect(rejection(ab([{ name: "a" }, { name: "b" }], { type: "MODEL" })).message).toMatch(/RANDOM_ABTEST, which is a ROUTER/);
  });

  it("rejects gRPC endpoints as unsupported (501), naming REST", () => {
    let error: unknown;
    try {
      toSeldonGraphSpec({ name: "m", endpoint: { type: "GRPC", service_host: "h", service_port: 5000 } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(Unsupported);
    expect((error as TServeError).status).toBe(501);
    expect((error as Error).message).toMatch(/graph node 'm' has a GRPC endpoint; only REST endpoints are supported/);
  });

  it("rejects bad endpoints", () => {
    expect(rejection(graph({ name: "m", endpoint: { type: "SOAP" } })).message).toMatch(/endpoint type "SOAP"/);
    expect(rejection(graph({ name: "m", endpoint: { service_host: "h" } })).message).toMatch(/service_port \(or httpPort\) between 1 and 65535/);
    expect(rejection(graph({ name: "m", endpoint: { service_host: "h", service_port: 70000 } })).message).toMatch(/between 1 and 65535/);
    expect(rejection(graph({ name: "m", endpoint: "http://h:9000" })).message).toMatch(/endpoint must be an object/);
  });

  it("rejects malformed parameters", () => {
    const withParam = (p: unknown) => graph({ name: "m", parameters: [p] });
    expect(rejection(withParam({ name: "n", value: "x", type: "INT" })).message).toMatch(/'n'\) is an INT but its value is 'x'/);
    expect(rejection(withParam({ name: "n", value: "yes", type: "BOOL" })).message).toMatch(/is a BOOL/);
    expect(rejection(withParam({ name: "n", value: "abc", type: "DOUBLE" })).message).toMatch(/is a DOUBLE/);
    expect(rejection(withParam({ name: "n", value: "1", type: "LONG" })).message).toMatch(/type "LONG"/);
    expect(rejection(withParam({ value: "1" })).message).toMatch(/needs a name/);
    expect(rejection(withParam({ name: "n" })).message).toMatch(/needs a value/);
    expect(rejection(graph({ name: "m", parameters: { a: 1 } })).message).toMatch(/parameters must be a list/);
  });

  it("rejects children that are not a list and a non-string modelUri", () => {
    expect(rejection(graph({ name: "m", children: { name: "x" } })).message).toMatch(/children must be a list/);
    expect(rejection(graph({ name: "m", modelUri: 3 })).message).toMatch(/modelUri must be a string/);
  });
});
