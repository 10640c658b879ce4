/**
 * What KServe's and Seldon's admission webhooks check beyond the CRD schemas, as plain functions over parsed
 * manifests: each returns the problems it finds (none: the resource is admitted). The KServe rules follow
 * kserve/kserve (commit aaac4e2): pkg/apis/serving/v1alpha1/inference_graph_validation.go,
 * pkg/apis/serving/v1beta1/inference_service_validation.go (+ component.go, predictor.go),
 * pkg/webhook/admission/servingruntime/servingruntime_webhook.go, and how the controller picks a runtime
 * (pkg/apis/serving/v1beta1/predictor_model.go) and its container (utils.MergeServingRuntimeAndInferenceServiceSpecs).
 */

/** A parsed Kubernetes manifest (untyped YAML). */
export type Manifest = Record<string, any>;

/** KServe's IsvcNameFmt and GraphNameFmt (a DNS-1035 label); Kubernetes caps a label at 63 characters. */
export const KSERVE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** The protocols of constants.InferenceServiceProtocol. */
export const PROTOCOL_VERSIONS = ["v1", "v2", "grpc-v1", "grpc-v2"] as const;
/** validation.DefaultBlockedEnvVars. */
export const BLOCKED_ENV_VARS = ["PYTHONPATH"];
/** constants.InferenceServiceContainerName: the runtime container KServe merges the predictor into. */
export const KSERVE_CONTAINER = "kserve-container";
/** constants.TransformerContainerName (a transformer collocated in the predictor's pod). */
export const TRANSFORMER_CONTAINER = "transformer-container";
/** The predictor implementations of PredictorSpec.GetImplementations, besides custom containers. */
const PREDICTOR_IMPLEMENTATIONS = ["xgboost", "pytorch", "triton", "sklearn", "tensorflow", "onnx", "pmml", "lightgbm", "paddle", "huggingface", "model"];
const EXPLAINER_IMPLEMENTATIONS = ["art"];

function nameProblems(kind: string, name: unknown): string[] {
  if (typeof name !== "string" || !KSERVE_NAME.test(name) || name.length > 63) {
    return [`The ${kind} "${String(name)}" is invalid: a ${kind} name must consist of lower case alphanumeric characters or '-', and must start with alphabetical character (regex '${KSERVE_NAME.source}', at most 63 characters)`];
  }
  return [];
}

// ---- InferenceGraph ----

/** validateInferenceGraph: name, a `root` node, unique step names, one target per step, splitter weights = 100. */
export function inferenceGraphProblems(ig: Manifest): string[] {
  const name = ig.metadata?.name;
  const problems = nameProblems("InferenceGraph", name);
  const nodes: Record<string, Manifest> = ig.spec?.nodes ?? {};
  if (!Object.hasOwn(nodes, "root")) problems.push("root node not found, InferenceGraph needs a node with name 'root' as the root node of the graph");
  for (const [nodeName, node] of Object.entries(nodes)) {
    const steps: Manifest[] = node.steps ?? [];
    const seen = new Set<string>();
    for (const step of steps) {
      if (!step.name) continue;
      if (seen.has(step.name)) problems.push(`Node "${nodeName}" of InferenceGraph "${name}" contains more than one step with name "${step.name}"`);
      seen.add(step.name);
    }
    steps.forEach((step, i) => {
      const targets = ["nodeName", "serviceName", "serviceUrl"].filter((k) => step[k]);
      if (targets.length === 0) problems.push(`Step ${i} ("${step.name ?? ""}") in node "${nodeName}" of InferenceGraph "${name}" does not specify an inference target`);
      if (targets.length > 1) problems.push(`Step ${i} ("${step.name ?? ""}") in node "${nodeName}" of InferenceGraph "${name}" specifies more than one of nodeName, serviceName, serviceUrl`);
    });
    if (node.routerType === "Splitter") {
      const missing = steps.find((s) => s.weight === undefined || s.weight === null);
      if (missing) problems.push(`InferenceGraph[${name}] Node[${nodeName}] Route[${missing.serviceName ?? ""}] missing the 'Weight'`);
      else if (steps.reduce((sum, s) => sum + Number(s.weight), 0) !== 100) {
        problems.push(`InferenceGraph[${name}] Node[${nodeName}] splitter node: the sum of traffic weights for all routing targets should be 100`);
      }
    }
  }
  return problems;
}

// ---- InferenceService ----

function containers(spec: Manifest | undefined): Manifest[] {
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
}

function blockedEnvProblems(list: Manifest[]): string[] {
  return list.flatMap((c) =>
    (c.env ?? [])
      .filter((e: Manifest) => BLOCKED_ENV_VARS.includes(e.name))
      .map((e: Manifest) => `setting ${e.name} in container "${c.name}" is not allowed for security reasons`),
  );
}

/** PredictorSpec.GetImplementations (and the transformer's and explainer's): named implementations plus custom containers. */
export function implementations(component: Manifest, named: readonly string[]): string[] {
  const found = named.filter((k) => component[k] !== undefined && component[k] !== null);
  const list: Manifest[] = component.containers ?? [];
  if (list.length > 0) {
    const predictorContainers = list.filter((c) => c.name === KSERVE_CONTAINER).length;
    found.push(...Array.from({ length: Math.max(predictorContainers, found.length === 0 ? 1 : 0) }, () => "containers"));
  }
  return found;
}

/** ComponentExtensionSpec.Validate: replicas and container concurrency. */
function extensionProblems(where: string, component: Manifest): string[] {
  const problems: string[] = [];
  const min = component.minReplicas ?? 1;
  const max = component.maxReplicas ?? 0;
  if (min < 0) problems.push(`${where}: MinReplicas cannot be less than 0`);
  if (max < 0) problems.push(`${where}: MaxReplicas cannot be less than 0`);
  if (max !== 0 && min > max) problems.push(`${where}: MinReplicas cannot be greater than MaxReplicas`);
  if ((component.containerConcurrency ?? 0) < 0) problems.push(`${where}: ContainerConcurrency cannot be less than 0`);
  return problems;
}

/** validateInferenceService, for what a manifest can get wrong on creation. */
export function inferenceServiceProblems(isvc: Manifest): string[] {
  const name = isvc.metadata?.name;
  const problems = nameProblems("InferenceService", name);
  const spec = isvc.spec ?? {};
  const predictor: Manifest | undefined = spec.predictor;
  if (!predictor) return [...problems, "spec.predictor is required"];
  // validateBlockedEnvVars
  problems.push(...blockedEnvProblems([...containers(predictor), ...(predictor.model ? [{ ...predictor.model, name: predictor.model.name ?? KSERVE_CONTAINER }] : [])]));
  for (const key of ["transformer", "explainer"]) if (spec[key]) problems.push(...blockedEnvProblems(containers(spec[key])));
  // validateCollocationStorageURI
  const collocated = (predictor.containers ?? []).find((c: Manifest) => c.name === TRANSFORMER_CONTAINER);
  if (collocated?.env?.some((e: Manifest) => e.name === "STORAGE_URI")) problems.push("storage uri should not be specified in transformer container");
  // validatePredictor: a standard predictor takes no name
  for (const key of PREDICTOR_IMPLEMENTATIONS) {
    if (predictor[key]?.name) problems.push("the 'name' field is not allowed in standard predictor");
  }
  // validateExactlyOneImplementation and each component's extensions
  const components: [string, Manifest | undefined, readonly string[]][] = [
    ["PredictorSpec", predictor, PREDICTOR_IMPLEMENTATIONS],
    ["TransformerSpec", spec.transformer, []],
    ["ExplainerSpec", spec.explainer, EXPLAINER_IMPLEMENTATIONS],
  ];
  for (const [kind, component, named] of components) {
    if (!component) continue;
    const found = implementations(component, named);
    if (found.length !== 1) problems.push(`exactly one implementation must be specified in ${kind}, found ${found.length} (${found.join(", ") || "none"})`);
    problems.push(...extensionProblems(kind, component));
  }
  // validateMultipleStorageURIs
  for (const key of ["predictor", "transformer", "explainer"]) {
    const component = spec[key];
    if (!component?.storageUris) continue;
    const uri = component.model?.storageUri ?? component.storageUri ?? PREDICTOR_IMPLEMENTATIONS.map((k) => component[k]?.storageUri).find(Boolean);
    if (uri) problems.push("Setting both StorageURI and StorageURIs is not supported.");
  }
  return problems;
}

// ---- ServingRuntime / ClusterServingRuntime ----

/** "major", "major.minor" or "major.minor.patch" (SupportedModelFormat.Version). */
const FORMAT_VERSION = /^\d+(\.\d+){0,2}$/;

/** The ServingRuntime webhook (priorities, blocked env vars) and what the controller needs of a runtime. */
export function servingRuntimeProblems(sr: Manifest): string[] {
  const problems: string[] = [];
  const spec = sr.spec ?? {};
  const list: Manifest[] = spec.containers ?? [];
  if (list.length === 0) problems.push("spec.containers: Required value");
  // MergeServingRuntimeAndInferenceServiceSpecs: the predictor is merged into the container named kserve-container.
  if (list[0] && list[0].name !== KSERVE_CONTAINER) problems.push(`containers[0] must be named ${KSERVE_CONTAINER}, got "${list[0].name}"`);
  if (list.filter((c) => c.name === KSERVE_CONTAINER).length !== 1) problems.push(`failed to find ${KSERVE_CONTAINER} in ServingRuntime containers`);
  const formats: Manifest[] = spec.supportedModelFormats ?? [];
  const priorities = new Map<string, number | undefined>();
  const seen = new Set<string>();
  for (const f of formats) {
    if (typeof f.name !== "string" || f.name === "") problems.push("supportedModelFormats[].name is required");
    if (f.version !== undefined && !FORMAT_VERSION.test(String(f.version))) {
      problems.push(`model format ${f.name}: version "${f.version}" is not "major", "major.minor" or "major.minor.patch"`);
    }
    if (f.priority !== undefined && !(Number.isInteger(f.priority) && f.priority >= 1)) problems.push(`model format ${f.name}: priority must be an integer >= 1`);
    const key = `${String(f.name).toLowerCase()}:${f.version ?? ""}`;
    if (seen.has(key)) problems.push(`model format ${f.name} (version ${f.version ?? "any"}) is listed twice`);
    seen.add(key);
    // validateModelFormatPrioritySame: one format, one priority (among the auto-selected entries).
    if (f.autoSelect === true) {
      if (priorities.has(f.name)) {
        const before = priorities.get(f.name);
        if (before !== undefined && f.priority !== undefined && before !== f.priority) problems.push(`different priorities assigned for the model format ${f.name}`);
      } else {
        priorities.set(f.name, f.priority);
      }
    }
  }
  for (const p of spec.protocolVersions ?? []) {
    if (!(PROTOCOL_VERSIONS as readonly string[]).includes(p)) problems.push(`protocolVersions: "${p}" is not one of ${PROTOCOL_VERSIONS.join(", ")}`);
  }
  problems.push(...blockedEnvProblems(list));
  if (spec.workerSpec && (spec.workerSpec.containers ?? []).length !== 1) problems.push("setting multiple containers in workerSpec is not allowed");
  return problems;
}

/**
 * Whether KServe would run `model` (an InferenceService's `spec.predictor.model`) on a runtime with this spec:
 * ModelSpec.RuntimeSupportsModel (model format labels: only auto-selected formats unless the runtime is named) and
 * ServingRuntimeSpec.IsProtocolVersionSupported.
 */
export function runtimeSupportsModel(runtimeSpec: Manifest, model: Manifest): boolean {
  if (runtimeSpec.disabled === true || runtimeSpec.multiModel === true) return false;
  const labels = new Set<string>();
  for (const f of runtimeSpec.supportedModelFormats ?? []) {
    if (model.runtime !== undefined || f.autoSelect === true) {
      labels.add(`mt:${f.name}`);
      if (f.version !== undefined) labels.add(`mt:${f.name}:${f.version}`);
    }
  }
  const format = model.modelFormat ?? {};
  const label = format.version !== undefined ? `mt:${format.name}:${format.version}` : `mt:${format.name}`;
  const protocol = model.protocolVersion ?? "v1";
  const protocols: string[] = runtimeSpec.protocolVersions ?? [];
  return labels.has(label) && (protocols.length === 0 || protocols.includes(protocol));
}

// ---- Seldon Core v1 ----

export const SELDON_UNIT_TYPES = ["UNKNOWN_TYPE", "ROUTER", "COMBINER", "MODEL", "TRANSFORMER", "OUTPUT_TRANSFORMER"];
export const SELDON_PARAMETER_TYPES = ["INT", "FLOAT", "DOUBLE", "STRING", "BOOL", "JSON"];

/** A JSON Schema for the parts of a `machinelearning.seldon.io/v1` SeldonDeployment these manifests use (no CRD here). */
export const SELDON_DEPLOYMENT_SCHEMA = {
  $id: "seldon-deployment",
  type: "object",
  required: ["apiVersion", "kind", "metadata", "spec"],
  properties: {
    apiVersion: { const: "machinelearning.seldon.io/v1" },
    kind: { const: "SeldonDeployment" },
    metadata: { type: "object", required: ["name"], properties: { name: { type: "string" } } },
    spec: {
      type: "object",
      required: ["predictors"],
      additionalProperties: false,
      properties: {
        name: { type: "string" },
        protocol: { enum: ["seldon", "tensorflow", "v2", "kfserving"] },
        transport: { enum: ["rest", "grpc"] },
        annotations: { type: "object", additionalProperties: { type: "string" } },
        predictors: {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            required: ["name", "graph"],
            additionalProperties: false,
            properties: {
              name: { type: "string" },
              replicas: { type: "integer", minimum: 0 },
              traffic: { type: "integer", minimum: 0, maximum: 100 },
              labels: { type: "object", additionalProperties: { type: "string" } },
              annotations: { type: "object", additionalProperties: { type: "string" } },
              graph: { $ref: "#/$defs/unit" },
              componentSpecs: {
                type: "array",
                items: {
                  type: "object",
                  required: ["spec"],
                  additionalProperties: false,
                  properties: {
                    metadata: { type: "object" },
                    replicas: { type: "integer", minimum: 0 },
                    spec: {
                      type: "object",
                      required: ["containers"],
                      properties: {
                        containers: { type: "array", minItems: 1, items: { $ref: "#/$defs/container" } },
                        initContainers: { type: "array", items: { $ref: "#/$defs/container" } },
                        volumes: { type: "array", items: { type: "object", required: ["name"] } },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
  $defs: {
    container: {
      type: "object",
      required: ["name", "image"],
      properties: {
        name: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 63 },
        image: { type: "string", minLength: 1 },
        command: { type: "array", items: { type: "string" } },
        args: { type: "array", items: { type: "string" } },
      },
    },
    unit: {
      type: "object",
      required: ["name"],
      additionalProperties: false,
      properties: {
        name: { type: "string", minLength: 1 },
        type: { enum: SELDON_UNIT_TYPES },
        implementation: { type: "string" },
        modelUri: { type: "string" },
        serviceAccountName: { type: "string" },
        envSecretRefName: { type: "string" },
        endpoint: {
          type: "object",
          additionalProperties: false,
          properties: {
            type: { enum: ["REST", "GRPC"] },
            service_host: { type: "string" },
            service_port: { type: "integer" },
            httpPort: { type: "integer" },
            grpcPort: { type: "integer" },
          },
        },
        parameters: {
          type: "array",
          items: {
            type: "object",
            required: ["name", "value", "type"],
            additionalProperties: false,
            properties: { name: { type: "string" }, value: { type: "string" }, type: { enum: SELDON_PARAMETER_TYPES } },
          },
        },
        children: { type: "array", items: { $ref: "#/$defs/unit" } },
      },
    },
  },
} as const;

function graphUnits(unit: Manifest): Manifest[] {
  return [unit, ...(unit.children ?? []).flatMap(graphUnits)];
}

/** Seldon's operator: unique node names, each node without an implementation served by the container of its name. */
export function seldonDeploymentProblems(sd: Manifest): string[] {
  const problems: string[] = [];
  for (const predictor of sd.spec?.predictors ?? []) {
    const units = graphUnits(predictor.graph ?? {});
    const names = units.map((u) => u.name);
    for (const dup of names.filter((n, i) => names.indexOf(n) !== i)) problems.push(`predictor ${predictor.name}: graph node ${dup} appears twice`);
    const containerNames: string[] = (predictor.componentSpecs ?? []).flatMap((c: Manifest) => (c.spec?.containers ?? []).map((x: Manifest) => x.name));
    for (const u of units) {
      if (!u.implementation && !containerNames.includes(u.name)) problems.push(`predictor ${predictor.name}: graph node ${u.name} has no container named ${u.name}`);
      for (const p of u.parameters ?? []) {
        const ok =
          p.type === "INT" ? /^-?\d+$/.test(p.value)
          : p.type === "FLOAT" || p.type === "DOUBLE" ? Number.isFinite(Number(p.value)) && p.value.trim() !== ""
          : p.type === "BOOL" ? /^(true|false)$/i.test(p.value)
          : true;
        if (!ok) problems.push(`node ${u.name}: parameter ${p.name} is not a ${p.type}: "${p.value}"`);
      }
    }
    for (const c of containerNames) if (!names.includes(c)) problems.push(`predictor ${predictor.name}: container ${c} is no graph node`);
  }
  return problems;
}
