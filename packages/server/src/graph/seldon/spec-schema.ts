import { type TSchema, Type } from "@sinclair/typebox";

// The parts of a SeldonDeployment (machinelearning.seldon.io/v1) tserve reads, as JSON Schema (TypeBox): strict
// inside graph nodes (a misspelt key is an error naming the nearest real one), lenient at the Kubernetes levels
// tserve passes over (metadata, componentSpecs, annotations, replicas, labels, explainer, svcOrchSpec …).

/** Where scripts/write-schemas.ts writes the SeldonDeployment JSON Schema, relative to the repository root. */
export const SELDON_DEPLOYMENT_SCHEMA_FILE = "schemas/seldon-deployment.schema.json";

const anyObject = (description: string) => Type.Object({}, { additionalProperties: true, description });
const orNull = (s: TSchema) => Type.Union([s, Type.Null()]);
const port = (description: string) =>
  Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ pattern: "^\\d+$" })], {
    description,
    expected: "a port number between 1 and 65535",
  });

export const SeldonEndpointSchema = Type.Object(
  {
    type: Type.Optional(orNull(Type.String({ description: "REST (GRPC is not supported)" }))),
    service_host: Type.Optional(Type.String({ description: "the component's host (default: localhost)" })),
    service_port: Type.Optional(port("the component's port")),
    httpPort: Type.Optional(port("the component's REST port (wins over service_port)")),
    grpcPort: Type.Optional(port("the component's gRPC port (not used)")),
  },
  { additionalProperties: false },
);

export const SeldonParameterSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    value: Type.Union([Type.String(), Type.Number(), Type.Boolean()], { expected: "a string, number or boolean" }),
    type: Type.Optional(orNull(Type.String({ description: "INT, FLOAT, DOUBLE, STRING (default) or BOOL" }))),
  },
  { additionalProperties: false },
);

export const SeldonLoggerSchema = Type.Object(
  {
    url: Type.Optional(Type.String()),
    mode: Type.Optional(Type.String({ description: "request, response or all" })),
  },
  { additionalProperties: false, description: "Seldon's request logger (accepted, not used by tserve)" },
);

/** One predictive unit; `children` are units of the same shape. */
export const SeldonGraphNodeSchema = Type.Recursive(
  (Node) =>
    Type.Object(
      {
        name: Type.String({ minLength: 1, description: "unique in the graph; a componentSpecs container of this name gives its image" }),
        type: Type.Optional(orNull(Type.String({ description: "MODEL, ROUTER, COMBINER, TRANSFORMER or OUTPUT_TRANSFORMER" }))),
        methods: Type.Optional(
          orNull(Type.Array(Type.String(), { description: "TRANSFORM_INPUT, TRANSFORM_OUTPUT, ROUTE, AGGREGATE, SEND_FEEDBACK" })),
        ),
        implementation: Type.Optional(orNull(Type.String({ description: "RANDOM_ABTEST, a prepackaged server (SKLEARN_SERVER …)" }))),
        modelUri: Type.Optional(orNull(Type.String({ description: "tserve: a local model file or folder, relative to the spec" }))),
        endpoint: Type.Optional(orNull(SeldonEndpointSchema)),
        parameters: Type.Optional(orNull(Type.Array(SeldonParameterSchema))),
        children: Type.Optional(orNull(Type.Array(Node))),
        logger: Type.Optional(orNull(SeldonLoggerSchema)),
        envSecretRefName: Type.Optional(Type.String()),
        serviceAccountName: Type.Optional(Type.String()),
        storageInitializerImage: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
  { $id: "SeldonGraphNode" },
);

/** One predictor; only `name`, `graph`, `traffic`, `shadow` and componentSpecs' container images are read. */
export const SeldonPredictorSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    graph: SeldonGraphNodeSchema,
    traffic: Type.Optional(Type.Number({ minimum: 0, description: "the predictor's share of traffic, in percent" })),
    shadow: Type.Optional(Type.Boolean()),
    componentSpecs: Type.Optional(Type.Array(anyObject("a pod template: metadata, spec.containers[] (name, image …)"))),
    replicas: Type.Optional(Type.Integer()),
    annotations: Type.Optional(anyObject("Seldon annotations")),
    labels: Type.Optional(anyObject("labels for the predictor's pods")),
    explainer: Type.Optional(anyObject("an explainer (not served by tserve)")),
    svcOrchSpec: Type.Optional(anyObject("the service orchestrator's settings")),
    engineResources: Type.Optional(anyObject("the service orchestrator's resources")),
  },
  { additionalProperties: true },
);

/** A whole SeldonDeployment. tserve also takes a bare predictor or a bare graph node. */
export const SeldonDeploymentSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String({ description: "machinelearning.seldon.io/v1 (or v1alpha2, v1alpha3)" })),
    kind: Type.Optional(Type.Literal("SeldonDeployment")),
    metadata: Type.Optional(
      Type.Object({ name: Type.Optional(Type.String()), namespace: Type.Optional(Type.String()) }, { additionalProperties: true }),
    ),
    spec: Type.Object(
      {
        name: Type.Optional(Type.String({ description: "the deployment's name when metadata.name is absent" })),
        predictors: Type.Array(SeldonPredictorSchema, { minItems: 1 }),
      },
      { additionalProperties: true },
    ),
    status: Type.Optional(anyObject("written by the cluster; ignored")),
  },
  { additionalProperties: false, title: "SeldonDeployment", description: "A SeldonDeployment, as tserve serves its graph" },
);

/** The text of schemas/seldon-deployment.schema.json: the recursive node under `definitions`. */
export function seldonDeploymentSchemaText(): string {
  const drop = (key: string, value: unknown) => (key === "expected" ? undefined : value);
  const plain = JSON.parse(JSON.stringify(SeldonDeploymentSchema, drop)) as Record<string, unknown>;
  const { $id: _id, ...node } = JSON.parse(JSON.stringify(SeldonGraphNodeSchema, drop)) as Record<string, unknown>;
  const ref = `"$ref":"#/definitions/SeldonGraphNode"`;
  const relink = (v: unknown) => JSON.parse(JSON.stringify(v).replaceAll(`"$id":"SeldonGraphNode",`, "").replaceAll(`"$ref":"SeldonGraphNode"`, ref));
  const predictors = (plain.properties as { spec: { properties: { predictors: { items: { properties: Record<string, unknown> } } } } }).spec
    .properties.predictors.items.properties;
  predictors.graph = { $ref: "#/definitions/SeldonGraphNode" };
  const doc = { $schema: "http://json-schema.org/draft-07/schema#", ...plain, definitions: { SeldonGraphNode: relink(node) } };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
