import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { type InferenceGraph, parseGraph, toGraph, validateGraph } from "../../../packages/server/src/graph/spec.ts";

const GRAPHS = fileURLToPath(new URL("../../fixtures/graphs/", import.meta.url));
const fixture = (name: string) => readFileSync(`${GRAPHS}${name}`, "utf8");

/** The error parseGraph/toGraph throws; fails the test when nothing is thrown. */
function rejection(run: () => unknown, what = "the graph"): InvalidInput {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInput);
    expect((err as InvalidInput).status).toBe(400);
    return err as InvalidInput;
  }
  throw new Error(`expected ${what} to be rejected`);
}

/** A bare spec with the given nodes (as an object, so each case states only what it is about). */
const spec = (nodes: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ nodes, ...extra });
const url = (p: string) => `http://127.0.0.1:9/${p}`;
const seq = (...steps: unknown[]) => ({ routerType: "Sequence", steps });

describe("parseGraph: accepted documents", () => {
  it("reads a whole InferenceGraph resource in YAML", () => {
    const g = parseGraph(fixture("resource.yaml"), "resource.yaml");
    expect(g.name).toBe("dog-breed-pipeline");
    expect(g.namespace).toBe("ml");
    expect(g.timeout).toBe(30);
    expect(g.routerTimeouts).toEqual({ serverRead: 60, serverWrite: 60, serverIdle: 180, serviceClient: 10 });
    expect(g.propagateHeaders).toEqual(["^x-custom", "Authorization"]);
    expect(Object.keys(g.nodes).sort()).toEqual(["both", "breed-switch", "root", "split"]);
    expect(g.nodes.root.routerType).toBe("Sequence");
    expect(g.nodes.root.steps).toEqual([
      { name: "classify", serviceName: "cat-dog-classifier" },
      {
        name: "breed",
        nodeName: "breed-switch",
        data: "$request",
        condition: '[@this].#(predictions.0=="dog")',
        dependency: "Hard",
      },
    ]);
    expect(g.nodes["breed-switch"].steps[0]).toEqual({
      name: "small",
      serviceUrl: "http://small-dogs.ml/v1/models/small:predict",
      condition: "size",
      timeout: 2.5,
    });
    expect(g.nodes.split.steps.map((s) => s.weight)).toEqual([70, 30]);
    expect(g.nodes.both.routerType).toBe("Ensemble");
    expect(g.nodes.both.steps[0].dependency).toBe("Soft");
    expect(g.nodes.both.steps[1].mapPredictionsToInstances).toBe(true);
  });

  it("reads a bare spec in JSON (the graph is then named 'graph')", () => {
    const g = parseGraph(fixture("spec.json"), "spec.json");
    expect(g.name).toBe("graph");
    expect(g.namespace).toBeUndefined();
    expect(g.nodes.root.steps).toEqual([
      { name: "first", serviceUrl: "http://127.0.0.1:1/first" },
      { name: "second", serviceUrl: "http://127.0.0.1:1/second", data: "$response", mapPredictionsToInstances: true },
    ]);
  });

  it("reads a whole resource in JSON", () => {
    const g = parseGraph(fixture("resource.json"));
    expect(g.name).toBe("json-graph");
    expect(g.nodes.root.routerType).toBe("Ensemble");
    expect(g.nodes.root.steps).toEqual([{ serviceName: "a" }, { serviceName: "b" }]);
  });

  it("reads a bare spec in YAML", () => {
    const g = parseGraph(
      ["nodes:", "  root:", "    routerType: Switch", "    steps:", "      - serviceName: m", "        condition: x"].join("\n"),
    );
    expect(g.name).toBe("graph");
    expect(g.nodes.root).toEqual({ routerType: "Switch", steps: [{ serviceName: "m", condition: "x" }] });
  });

  it("YAML and JSON forms of the same graph are equal", () => {
    const json = JSON.parse(fixture("resource.json"));
    const yaml = [
      "apiVersion: serving.kserve.io/v1alpha1",
      "kind: InferenceGraph",
      "metadata: {name: json-graph}",
      "spec:",
      "  nodes:",
      "    root:",
      "      routerType: Ensemble",
      "      steps: [{serviceName: a}, {serviceName: b}]",
    ].join("\n");
    expect(parseGraph(yaml)).toEqual(toGraph(json));
  });

  it("takes timeouts as numbers or as 'Ns' strings", () => {
    const g = toGraph(spec({ root: seq({ serviceUrl: url("a"), timeout: "1.5s" }) }, { timeout: "20s", routerTimeouts: { serviceClient: "3" } }));
    expect(g.timeout).toBe(20);
    expect(g.routerTimeouts?.serviceClient).toBe(3);
    expect(g.nodes.root.steps[0].timeout).toBe(1.5);
  });

  it("accepts nodes that share a child (a diamond is not a cycle)", () => {
    const g = toGraph(
      spec({
        root: seq({ nodeName: "left" }, { nodeName: "right" }),
        left: seq({ nodeName: "leaf" }),
        right: seq({ nodeName: "leaf" }),
        leaf: seq({ serviceUrl: url("leaf") }),
      }),
    );
    expect(Object.keys(g.nodes)).toHaveLength(4);
  });

  it("accepts a Splitter with weights 100/0", () => {
    const g = toGraph(spec({ root: { routerType: "Splitter", steps: [{ serviceUrl: url("a"), weight: 100 }, { serviceUrl: url("b"), weight: 0 }] } }));
    expect(g.nodes.root.steps.map((s) => s.weight)).toEqual([100, 0]);
  });

  it("accepts https serviceUrls", () => {
    expect(() => toGraph(spec({ root: seq({ serviceUrl: "https://example.com/v1/models/m:predict" }) }))).not.toThrow();
  });
});

describe("parseGraph: rejected documents", () => {
  it("text that is neither YAML nor JSON names the source", () => {
    const e = rejection(() => parseGraph(fixture("invalid/not-yaml.yaml"), "not-yaml.yaml"));
    expect(e.message).toContain("not-yaml.yaml");
  });

  it("something other than an object", () => {
    rejection(() => parseGraph("[1, 2, 3]"));
    rejection(() => parseGraph("just a string"));
  });

  it("another kind of resource", () => {
    const e = rejection(() => parseGraph(JSON.stringify({ kind: "InferenceService", spec: spec({ root: seq({ serviceUrl: url("a") }) }) })));
    expect(e.message).toContain("InferenceService");
  });

  it("no nodes", () => {
    expect(rejection(() => toGraph({ spec: {} })).message).toContain("nodes");
    expect(rejection(() => toGraph({ nodes: [] })).message).toContain("nodes");
  });

  it("missing root node", () => {
    const e = rejection(() => parseGraph(fixture("invalid/missing-root.yaml")));
    expect(e.message).toMatch(/root/);
  });

  it("an invalid graph name", () => {
    const e = rejection(() => toGraph({ metadata: { name: "Bad_Name" }, spec: spec({ root: seq({ serviceUrl: url("a") }) }) }));
    expect(e.message).toContain("Bad_Name");
  });

  it("duplicate step names name the node and the step", () => {
    const e = rejection(() =>
      toGraph(spec({ root: seq({ nodeName: "n" }), n: seq({ name: "twin", serviceUrl: url("a") }, { name: "twin", serviceUrl: url("b") }) })),
    );
    expect(e.message).toContain("'n'");
    expect(e.message).toContain("twin");
  });

  it("a step with no target names the node and the step", () => {
    const e = rejection(() => toGraph(spec({ root: seq({ name: "ok", serviceUrl: url("a") }, { name: "empty", data: "$response" }) })));
    expect(e.message).toContain("root");
    expect(e.message).toContain("empty");
    expect(e.message).toMatch(/exactly one/);
  });

  it("a step with an empty-string target counts as no target", () => {
    const e = rejection(() => toGraph(spec({ root: seq({ name: "blank", serviceName: "" }) })));
    expect(e.message).toContain("blank");
  });

  it("a step with two targets names the node and the step", () => {
    const e = rejection(() => toGraph(spec({ root: seq({ name: "both", serviceName: "m", serviceUrl: url("a") }) })));
    expect(e.message).toContain("root");
    expect(e.message).toContain("both");
    expect(e.message).toMatch(/exactly one/);
  });

  it("a step with all three targets", () => {
    rejection(() => toGraph(spec({ root: seq({ name: "x", serviceName: "m", serviceUrl: url("a"), nodeName: "root" }) })));
  });

  it("an unnamed step is named by its index", () => {
    const e = rejection(() => toGraph(spec({ root: seq({ serviceUrl: url("a") }, { serviceUrl: url("b") }, {}) })));
    expect(e.message).toContain("root");
    expect(e.message).toMatch(/step 2/);
  });

  it("an unknown nodeName names the node, the step and the missing node", () => {
    const e = rejection(() => toGraph(spec({ root: seq({ name: "go", nodeName: "nowhere" }) })));
    expect(e.message).toContain("root");
    expect(e.message).toContain("go");
    expect(e.message).toContain("nowhere");
  });

  it("a Splitter step without a weight names the node and the step", () => {
    const e = rejection(() =>
      toGraph(spec({ root: { routerType: "Splitter", steps: [{ name: "heavy", serviceUrl: url("a"), weight: 100 }, { name: "light", serviceUrl: url("b") }] } })),
    );
    expect(e.message).toContain("root");
    expect(e.message).toContain("light");
    expect(e.message).toMatch(/weight/);
  });

  it("Splitter weights that do not sum to 100 name the node and the sum", () => {
    const e = rejection(() => parseGraph(fixture("invalid/weights.yaml")));
    expect(e.message).toContain("root");
    expect(e.message).toContain("90");
    expect(e.message).toContain("100");
    const over = rejection(() =>
      toGraph(spec({ root: { routerType: "Splitter", steps: [{ serviceUrl: url("a"), weight: 70 }, { serviceUrl: url("b"), weight: 40 }] } })),
    );
    expect(over.message).toContain("110");
  });

  it("Splitter weights that are not non-negative integers", () => {
    for (const weight of [-10, 12.5, "50"]) {
      rejection(() =>
        toGraph(spec({ root: { routerType: "Splitter", steps: [{ name: "w", serviceUrl: url("a"), weight }, { serviceUrl: url("b"), weight: 50 }] } })),
      );
    }
  });

  it("a cycle a -> b -> a names the path", () => {
    const e = rejection(() => parseGraph(fixture("invalid/cycle.yaml")));
    expect(e.message).toMatch(/cycle/i);
    expect(e.message).toContain("a -> b -> a");
  });

  it("a cycle through root names the path", () => {
    const e = rejection(() => toGraph(spec({ root: seq({ nodeName: "a" }), a: seq({ nodeName: "root" }) })));
    expect(e.message).toMatch(/root -> a -> root|a -> root -> a/);
  });

  it("a node that calls itself is a cycle", () => {
    const e = rejection(() => toGraph(spec({ root: seq({ nodeName: "self" }), self: seq({ serviceUrl: url("a") }, { nodeName: "self" }) })));
    expect(e.message).toContain("self -> self");
  });

  it("a cycle among nodes unreachable from root is still found", () => {
    const e = rejection(() =>
      toGraph(spec({ root: seq({ serviceUrl: url("a") }), x: seq({ nodeName: "y" }), y: { routerType: "Ensemble", steps: [{ nodeName: "x" }] } })),
    );
    expect(e.message).toMatch(/x -> y -> x|y -> x -> y/);
  });

  it("a bad routerType names the node and the value", () => {
    const e = rejection(() => toGraph(spec({ root: { routerType: "Parallel", steps: [{ serviceUrl: url("a") }] } })));
    expect(e.message).toContain("root");
    expect(e.message).toContain("Parallel");
    const missing = rejection(() => toGraph(spec({ root: { steps: [{ serviceUrl: url("a") }] } })));
    expect(missing.message).toContain("root");
  });

  it("a node without steps", () => {
    expect(rejection(() => toGraph(spec({ root: { routerType: "Sequence", steps: [] } }))).message).toContain("root");
    expect(rejection(() => toGraph(spec({ root: { routerType: "Sequence" } }))).message).toContain("root");
  });

  it("a serviceUrl that is not http(s) names the node, the step and the URL", () => {
    for (const bad of ["ftp://example.com/x", "example.com/v1/models/m:predict", "/v1/models/m:predict"]) {
      const e = rejection(() => toGraph(spec({ root: seq({ name: "remote", serviceUrl: bad }) })));
      expect(e.message).toContain("root");
      expect(e.message).toContain("remote");
      expect(e.message).toContain(bad);
    }
  });

  it("a serviceUrl that starts with http:// but is not a URL names the node, the step and the URL", () => {
    // Accepting these only moves the failure to GraphRouter's constructor (`new URL` throws a TypeError).
    for (const bad of ["http://", "http://bad host:80/v1/models/x:predict", "http://[::1/predict"]) {
      const e = rejection(() => toGraph(spec({ root: seq({ name: "broken", serviceUrl: bad }) })), `serviceUrl '${bad}'`);
      expect(e.message).toContain("root");
      expect(e.message).toContain("broken");
    }
  });

  it("a bad dependency names the node and the step", () => {
    const e = rejection(() => toGraph(spec({ root: seq({ name: "dep", serviceUrl: url("a"), dependency: "Maybe" }) })));
    expect(e.message).toContain("root");
    // The step is identified by its name or its index.
    expect(e.message).toMatch(/dep|step 0/);
    expect(e.message).toMatch(/Soft|Hard/);
  });

  it("fields of the wrong type name the node, the step and the field", () => {
    const e = rejection(() => toGraph(spec({ root: seq({ serviceUrl: url("a") }, { serviceName: 42 }) })));
    expect(e.message).toContain("root");
    expect(e.message).toMatch(/step 1/);
    expect(e.message).toContain("serviceName");
  });

  it("non-positive or non-numeric timeouts", () => {
    for (const t of [0, -1, "soon", "1m"]) {
      rejection(() => toGraph(spec({ root: seq({ serviceUrl: url("a") }) }, { timeout: t })));
      rejection(() => toGraph(spec({ root: seq({ serviceUrl: url("a") }) }, { routerTimeouts: { serviceClient: t } })));
      rejection(() => toGraph(spec({ root: seq({ serviceUrl: url("a"), timeout: t }) })));
    }
  });

  it("propagateHeaders must be a list of strings", () => {
    rejection(() => toGraph(spec({ root: seq({ serviceUrl: url("a") }) }, { propagateHeaders: "x-custom" })));
    rejection(() => toGraph(spec({ root: seq({ serviceUrl: url("a") }) }, { propagateHeaders: [1] })));
  });

  it("a Switch step without a condition names the node and the step", () => {
    const e = rejection(() => toGraph(spec({ root: { routerType: "Switch", steps: [{ name: "always", serviceUrl: url("a") }] } })));
    expect(e.message).toContain("root");
    expect(e.message).toContain("always");
  });

  it("the source is named in document-level errors", () => {
    const e = rejection(() => parseGraph("nodes: 3", "my-graph.yaml"));
    expect(e.message).toContain("my-graph.yaml");
  });
});

describe("validateGraph on a built graph", () => {
  it("checks a graph assembled in code, too", () => {
    const g: InferenceGraph = { name: "coded", nodes: { root: { routerType: "Sequence", steps: [{ nodeName: "root" }] } } };
    expect(() => validateGraph(g)).toThrow(/root -> root/);
    const ok: InferenceGraph = { name: "coded", nodes: { root: { routerType: "Sequence", steps: [{ serviceName: "m" }] } } };
    expect(() => validateGraph(ok)).not.toThrow();
  });
});
