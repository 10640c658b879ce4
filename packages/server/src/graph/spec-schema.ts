import { type TObject, type TSchema, Type } from "@sinclair/typebox";

// KServe's InferenceGraph (serving.kserve.io/v1alpha1) as JSON Schema (TypeBox), after the CRD's
// openAPIV3Schema: strict where tserve reads (spec, nodes, steps, routerTimeouts) so a misspelt key is an error,
// lenient inside the Kubernetes objects tserve passes over (metadata, resources, affinity, tolerations, status).

/** Where scripts/write-schemas.ts writes the InferenceGraph JSON Schema, relative to the repository root. */
export const INFERENCE_GRAPH_SCHEMA_FILE = "schemas/inference-graph.schema.json";

const anyObject = (description: string) => Type.Object({}, { additionalProperties: true, description });

/** A duration: seconds as a number (the CRD's integer), or tserve's `"30s"` / `"1.5"` strings. */
const seconds = (description: string) =>
  Type.Union([Type.Number({ exclusiveMinimum: 0 }), Type.String({ pattern: "^\\d+(\\.\\d+)?s?$" })], {
    description,
    expected: 'a positive number of seconds (30 or "30s")',
  });

export const GraphStepSchema = Type.Object(
  {
    name: Type.Optional(Type.String({ description: "the step's name, unique in its node" })),
    serviceName: Type.Optional(Type.String({ description: "an InferenceService (or a local model) to call" })),
    serviceUrl: Type.Optional(Type.String({ description: "an http(s) URL to call" })),
    nodeName: Type.Optional(Type.String({ description: "another node of this graph to run" })),
    data: Type.Optional(Type.String({ description: "$request (the node's input) or $response (the previous step's answer)" })),
    condition: Type.Optional(Type.String({ description: "a GJSON path; the step runs only when it finds something" })),
    dependency: Type.Optional(Type.Union([Type.Literal("Soft"), Type.Literal("Hard")], { description: "Hard: the step's failure fails the node" })),
    weight: Type.Optional(Type.Integer({ minimum: 0, description: "a Splitter step's share, in percent" })),
    mapPredictionsToInstances: Type.Optional(Type.Boolean({ description: "rewrite `predictions` into `instances` for the next step" })),
    timeout: Type.Optional(seconds("tserve: this step's call timeout, in seconds")),
  },
  { additionalProperties: false, description: "one routing step: exactly one of serviceName, serviceUrl or nodeName" },
);

export const GraphNodeSchema = Type.Object(
  {
    routerType: Type.Union(
      ["Sequence", "Splitter", "Ensemble", "Switch"].map((t) => Type.Literal(t)),
      { description: "how the node runs its steps" },
    ),
    steps: Type.Array(GraphStepSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const RouterTimeoutsSchema = Type.Object(
  {
    serverRead: Type.Optional(seconds("the router's HTTP read timeout")),
    serverWrite: Type.Optional(seconds("the router's HTTP write timeout")),
    serverIdle: Type.Optional(seconds("the router's keep-alive idle timeout")),
    serviceClient: Type.Optional(seconds("the timeout of every step call")),
  },
  { additionalProperties: false },
);

/** An InferenceGraph's `spec` (also accepted on its own, as a bare spec file). */
export const InferenceGraphSpecSchema = Type.Object(
  {
    nodes: Type.Record(Type.String(), GraphNodeSchema, { description: "node name -> node; the graph starts at 'root'" }),
    timeout: Type.Optional(seconds("the whole request's timeout, in seconds")),
    routerTimeouts: Type.Optional(RouterTimeoutsSchema),
    propagateHeaders: Type.Optional(
      Type.Array(Type.String(), { description: "tserve: header name patterns (regexes) forwarded to steps", expected: "a list of header name patterns" }),
    ),
    // Kubernetes deployment of the router: accepted, not used by tserve.
    minReplicas: Type.Optional(Type.Integer()),
    maxReplicas: Type.Optional(Type.Integer()),
    scaleMetric: Type.Optional(Type.Union(["cpu", "memory", "concurrency", "rps"].map((m) => Type.Literal(m)))),
    scaleTarget: Type.Optional(Type.Integer()),
    resources: Type.Optional(anyObject("the router pod's resources (limits, requests, claims)")),
    affinity: Type.Optional(anyObject("the router pod's affinity")),
    nodeName: Type.Optional(Type.String({ description: "the Kubernetes node to run the router on" })),
    nodeSelector: Type.Optional(Type.Record(Type.String(), Type.String())),
    serviceAccountName: Type.Optional(Type.String()),
    tolerations: Type.Optional(Type.Array(anyObject("a Kubernetes toleration"))),
  },
  { additionalProperties: false },
);

/** A whole InferenceGraph resource, as `kubectl apply` takes it. */
export const InferenceGraphSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ description: "serving.kserve.io/v1alpha1" })),
    kind: Type.Optional(Type.Literal("InferenceGraph")),
    metadata: Type.Optional(
      Type.Object(
        { name: Type.Optional(Type.String()), namespace: Type.Optional(Type.String()) },
        { additionalProperties: true, description: "Kubernetes metadata; the graph is served under its name" },
      ),
    ),
    spec: InferenceGraphSpecSchema,
    status: Type.Optional(anyObject("written by the cluster; ignored")),
  },
  { additionalProperties: false, title: "InferenceGraph", description: "KServe's InferenceGraph, as tserve serves it" },
);

/** The schema `doc` is read against: a whole resource when it has any resource key, else a bare spec. */
export function inferenceGraphSchemaFor(doc: Record<string, unknown>): TObject {
  const resource = ["apiVersion", "kind", "metadata", "spec", "status"].some((k) => doc[k] !== undefined);
  return resource ? InferenceGraphSchema : InferenceGraphSpecSchema;
}

/** A plain JSON Schema document: TypeBox's symbols and tserve's `expected` wording annotation left out. */
export function jsonSchemaText(schema: TSchema): string {
  const plain = { $schema: "http://json-schema.org/draft-07/schema#", ...schema };
  return `${JSON.stringify(plain, (key, value) => (key === "expected" ? undefined : value), 2)}\n`;
}

/** The text of schemas/inference-graph.schema.json. */
export function inferenceGraphSchemaText(): string {
  return jsonSchemaText(InferenceGraphSchema);
}
