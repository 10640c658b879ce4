import { parseAllDocuments } from "yaml";
import type { TSchema } from "@sinclair/typebox";
import { InvalidInput, Unsupported } from "../../errors/index.ts";
import { schemaProblem } from "../../model/index.ts";
import { SeldonDeploymentSchema, SeldonGraphNodeSchema, SeldonPredictorSchema } from "./spec-schema.ts";

export type SeldonNodeType = "MODEL" | "ROUTER" | "COMBINER" | "TRANSFORMER" | "OUTPUT_TRANSFORMER";
export type SeldonNodeMethod = "TRANSFORM_INPUT" | "TRANSFORM_OUTPUT" | "ROUTE" | "AGGREGATE" | "SEND_FEEDBACK";
export type SeldonParameterType = "INT" | "FLOAT" | "DOUBLE" | "STRING" | "BOOL";

/** Seldon's built-in A/B router, run by the executor itself (no component). */
export const RANDOM_ABTEST = "RANDOM_ABTEST";

/** A component parameter as Seldon writes it: the value is a string, `type` says how to read it. */
export interface SeldonParameter {
  name: string;
  value: string;
  type: SeldonParameterType;
}

/** A component reachable over Seldon's REST microservice protocol. */
export interface SeldonEndpoint {
  host: string;
  /** The REST port (`httpPort`, else `service_port`). */
  port: number;
  type: "REST";
}

/** One predictive unit of a Seldon graph. */
export interface SeldonGraphNode {
  name: string;
  /** Explicit, or defaulted (MODEL; ROUTER for RANDOM_ABTEST) when neither `type` nor `methods` is given. */
  type?: SeldonNodeType;
  /** Seldon's alternative to `type`: the methods the component implements. */
  methods?: SeldonNodeMethod[];
  /** RANDOM_ABTEST, a prepackaged server (SKLEARN_SERVER…) or absent; UNKNOWN_IMPLEMENTATION reads as absent. */
  implementation?: string;
  children: SeldonGraphNode[];
  endpoint?: SeldonEndpoint;
  parameters: SeldonParameter[];
  /** tserve: a local model file or folder (relative paths are resolved by the caller, against the spec's folder). */
  modelUri?: string;
  /** The image of the componentSpecs container named like the node, if any. */
  image?: string;
}

/** One predictor of a SeldonDeployment, ready to execute. */
export interface SeldonGraphSpec {
  deploymentName: string;
  predictorName: string;
  namespace?: string;
  /** The predictor's traffic share, when the deployment states one. */
  traffic?: number;
  graph: SeldonGraphNode;
}

export interface SeldonSpecOptions {
  /** Which predictor of a SeldonDeployment to serve (default: the one with most traffic, else the first). */
  predictor?: string;
  /** Overrides the deployment name (and names bare predictors and graphs, which carry none). */
  deploymentName?: string;
}

/** What the executor does at a node, derived from its type and methods as Seldon's executor does. */
export interface SeldonNodeSteps {
  input: "predict" | "transform-input" | undefined;
  route: boolean;
  aggregate: boolean;
  output: boolean;
  feedback: boolean;
}

const NODE_TYPES: readonly SeldonNodeType[] = ["MODEL", "ROUTER", "COMBINER", "TRANSFORMER", "OUTPUT_TRANSFORMER"];
const METHODS: readonly SeldonNodeMethod[] = ["TRANSFORM_INPUT", "TRANSFORM_OUTPUT", "ROUTE", "AGGREGATE", "SEND_FEEDBACK"];
const PARAMETER_TYPES: readonly SeldonParameterType[] = ["INT", "FLOAT", "DOUBLE", "STRING", "BOOL"];
const API_VERSIONS = ["machinelearning.seldon.io/v1", "machinelearning.seldon.io/v1alpha2", "machinelearning.seldon.io/v1alpha3"];

/**
 * Parses YAML or JSON holding a whole SeldonDeployment, a bare predictor (`{name, graph}`) or a bare graph node,
 * and validates the graph. In a multi-document YAML file the SeldonDeployment document is used.
 */
export function parseSeldonDeployment(text: string, source = "SeldonDeployment", options: SeldonSpecOptions = {}): SeldonGraphSpec {
  let docs: unknown[];
  try {
    const parsed = parseAllDocuments(text);
    if (!Array.isArray(parsed)) throw new Error("unterminated document");
    for (const d of parsed) if (d.errors.length > 0) throw d.errors[0];
    docs = parsed.map((d) => d.toJS() as unknown).filter((d) => d !== null && d !== undefined);
  } catch (err) {
    throw new InvalidInput(`${source} is neither valid YAML nor JSON: ${(err as Error).message}`);
  }
  if (docs.length === 0) throw new InvalidInput(`${source} is empty`);
  let doc = docs[0];
  if (docs.length > 1) {
    const deployments = docs.filter((d) => isObject(d) && d.kind === "SeldonDeployment");
    if (deployments.length !== 1) {
      throw new InvalidInput(`${source} holds ${docs.length} documents and ${deployments.length} SeldonDeployments; expected exactly one`);
    }
    doc = deployments[0];
  }
  return toSeldonGraphSpec(doc, source, options);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Validates an already-parsed document (see parseSeldonDeployment). */
export function toSeldonGraphSpec(doc: unknown, source = "SeldonDeployment", options: SeldonSpecOptions = {}): SeldonGraphSpec {
  if (!isObject(doc)) throw new InvalidInput(`${source}: expected a SeldonDeployment, a predictor or a graph node object`);
  if (doc.kind !== undefined || doc.apiVersion !== undefined || isObject(doc.spec)) {
    const spec = fromDeployment(doc, source, options);
    checkSchema(SeldonDeploymentSchema, doc, source);
    return spec;
  }
  if (doc.graph !== undefined) {
    checkSchema(SeldonPredictorSchema, doc, source, true);
    const predictor = toPredictor(doc, source, "predictor");
    checkSchema(SeldonPredictorSchema, doc, source);
    const spec: SeldonGraphSpec = {
      deploymentName: options.deploymentName ?? predictor.name,
      predictorName: predictor.name,
      graph: predictor.graph,
    };
    if (predictor.traffic !== undefined) spec.traffic = predictor.traffic;
    return spec;
  }
  checkSchema(SeldonGraphNodeSchema, doc, source, true);
  const graph = toGraphNode(doc, source, new Set(), new Map());
  checkSchema(SeldonGraphNodeSchema, doc, source);
  return { deploymentName: options.deploymentName ?? graph.name, predictorName: "default", graph };
}

/**
 * The document against its schema. Unknown keys are checked first (`/spec/predictors/0/graph/modelUir is not a
 * field; did you mean modelUri?`); wrong types last, after the checks that word them per node and parameter.
 */
function checkSchema(schema: TSchema, doc: unknown, source: string, unknownKeysOnly = false): void {
  const problem = schemaProblem(schema, doc, "", { noun: "field", unknownKeysOnly });
  if (problem) throw new InvalidInput(`${source}: ${problem}`);
}

interface Predictor {
  name: string;
  graph: SeldonGraphNode;
  traffic?: number;
  shadow: boolean;
}

function fromDeployment(doc: Record<string, unknown>, source: string, options: SeldonSpecOptions): SeldonGraphSpec {
  if (doc.kind !== undefined && doc.kind !== "SeldonDeployment") {
    throw new InvalidInput(`${source}: kind is ${JSON.stringify(doc.kind)}, expected SeldonDeployment`);
  }
  if (doc.apiVersion !== undefined && !API_VERSIONS.includes(String(doc.apiVersion))) {
    throw new InvalidInput(`${source}: apiVersion ${JSON.stringify(doc.apiVersion)} is not one of ${API_VERSIONS.join(", ")}`);
  }
  checkSchema(SeldonDeploymentSchema, doc, source, true);
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  if (!isObject(doc.spec)) throw new InvalidInput(`${source}: a SeldonDeployment needs a 'spec' object`);
  const spec = doc.spec;
  const name = options.deploymentName ?? str(metadata.name) ?? str(spec.name);
  if (!name) throw new InvalidInput(`${source}: the SeldonDeployment has no metadata.name`);
  if (!Array.isArray(spec.predictors) || spec.predictors.length === 0) {
    throw new InvalidInput(`${source}: spec.predictors must be a non-empty list`);
  }
  const predictors = spec.predictors.map((p, i) => toPredictor(p, source, `spec.predictors[${i}]`));
  const names = new Set<string>();
  for (const p of predictors) {
    if (names.has(p.name)) throw new InvalidInput(`${source}: two predictors are named '${p.name}'`);
    names.add(p.name);
  }
  const chosen = pickPredictor(predictors, options.predictor, source);
  const out: SeldonGraphSpec = { deploymentName: name, predictorName: chosen.name, graph: chosen.graph };
  const namespace = str(metadata.namespace);
  if (namespace) out.namespace = namespace;
  if (chosen.traffic !== undefined) out.traffic = chosen.traffic;
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** The named predictor; else the non-shadow one with most traffic (the first on a tie); else the first. */
function pickPredictor(predictors: Predictor[], wanted: string | undefined, source: string): Predictor {
  if (wanted !== undefined) {
    const found = predictors.find((p) => p.name === wanted);
    if (!found) {
      throw new InvalidInput(`${source}: no predictor is named '${wanted}' (it has ${predictors.map((p) => `'${p.name}'`).join(", ")})`);
    }
    return found;
  }
  const live = predictors.filter((p) => !p.shadow);
  const pool = live.length > 0 ? live : predictors;
  let best = pool[0];
  for (const p of pool) if ((p.traffic ?? 0) > (best.traffic ?? 0)) best = p;
  return best;
}

function toPredictor(raw: unknown, source: string, where: string): Predictor {
  if (!isObject(raw)) throw new InvalidInput(`${source}: ${where} must be an object with name and graph`);
  const name = str(raw.name);
  if (!name) throw new InvalidInput(`${source}: ${where} needs a name`);
  if (!isObject(raw.graph)) throw new InvalidInput(`${source}: predictor '${name}' needs a 'graph' object`);
  const predictor: Predictor = {
    name,
    graph: toGraphNode(raw.graph, source, new Set(), containerImages(raw.componentSpecs)),
    shadow: raw.shadow === true,
  };
  if (raw.traffic !== undefined) {
    if (typeof raw.traffic !== "number" || !Number.isFinite(raw.traffic) || raw.traffic < 0) {
      throw new InvalidInput(`${source}: predictor '${name}' traffic must be a non-negative number`);
    }
    predictor.traffic = raw.traffic;
  }
  return predictor;
}

/** Container name -> image over every componentSpec (Seldon ties a graph node to the container of its name). */
function containerImages(componentSpecs: unknown): Map<string, string> {
  const images = new Map<string, string>();
  if (!Array.isArray(componentSpecs)) return images;
  for (const cs of componentSpecs) {
    const containers = isObject(cs) && isObject(cs.spec) ? cs.spec.containers : undefined;
    if (!Array.isArray(containers)) continue;
    for (const c of containers) {
      if (isObject(c) && str(c.name) && str(c.image)) images.set(c.name as string, c.image as string);
    }
  }
  return images;
}

function upper(v: unknown): unknown {
  return typeof v === "string" ? v.trim().toUpperCase() : v;
}

function toGraphNode(raw: unknown, source: string, seen: Set<string>, images: Map<string, string>): SeldonGraphNode {
  if (!isObject(raw)) throw new InvalidInput(`${source}: a graph node must be an object with at least a name`);
  const name = str(raw.name);
  if (!name) throw new InvalidInput(`${source}: every graph node needs a non-empty 'name'`);
  if (seen.has(name)) throw new InvalidInput(`${source}: two graph nodes are named '${name}'; node names must be unique`);
  seen.add(name);
  const where = `${source}: graph node '${name}'`;
  const node: SeldonGraphNode = { name, children: [], parameters: [] };

  if (raw.implementation !== undefined && raw.implementation !== null) {
    if (typeof raw.implementation !== "string") throw new InvalidInput(`${where}: implementation must be a string`);
    if (raw.implementation !== "" && raw.implementation !== "UNKNOWN_IMPLEMENTATION") node.implementation = raw.implementation;
  }
  if (raw.type !== undefined && raw.type !== null) {
    const type = upper(raw.type);
    if (!NODE_TYPES.includes(type as SeldonNodeType)) {
      throw new InvalidInput(`${where} has type ${JSON.stringify(raw.type)}; expected one of ${NODE_TYPES.join(", ")}`);
    }
    node.type = type as SeldonNodeType;
  }
  if (raw.methods !== undefined && raw.methods !== null) {
    if (!Array.isArray(raw.methods)) throw new InvalidInput(`${where}: methods must be a list`);
    const methods = raw.methods.map(upper);
    for (const m of methods) {
      if (!METHODS.includes(m as SeldonNodeMethod)) {
        throw new InvalidInput(`${where} has method ${JSON.stringify(m)}; expected any of ${METHODS.join(", ")}`);
      }
    }
    if (methods.length > 0) node.methods = [...new Set(methods as SeldonNodeMethod[])];
  }
  const abtest = node.implementation === RANDOM_ABTEST;
  if (node.type === undefined && node.methods === undefined) node.type = abtest ? "ROUTER" : "MODEL";
  if (abtest && node.type !== undefined && node.type !== "ROUTER") {
    throw new InvalidInput(`${where} is a RANDOM_ABTEST, which is a ROUTER, but has type ${node.type}`);
  }

  if (raw.children !== undefined && raw.children !== null) {
    if (!Array.isArray(raw.children)) throw new InvalidInput(`${where}: children must be a list of graph nodes`);
    node.children = raw.children.map((c) => toGraphNode(c, source, seen, images));
  }
  if (raw.endpoint !== undefined && raw.endpoint !== null) {
    const endpoint = toEndpoint(raw.endpoint, where);
    if (endpoint) node.endpoint = endpoint;
  }
  if (raw.parameters !== undefined && raw.parameters !== null) {
    if (!Array.isArray(raw.parameters)) throw new InvalidInput(`${where}: parameters must be a list of {name, value, type}`);
    node.parameters = raw.parameters.map((p, i) => toParameter(p, `${where} parameter ${i}`));
  }
  if (raw.modelUri !== undefined && raw.modelUri !== null && raw.modelUri !== "") {
    if (typeof raw.modelUri !== "string") throw new InvalidInput(`${where}: modelUri must be a string`);
    node.modelUri = raw.modelUri;
  }
  const image = images.get(name);
  if (image) node.image = image;

  const steps = nodeSteps(node);
  if ((steps.route || steps.aggregate) && node.children.length === 0) {
    throw new InvalidInput(`${where} is a ${steps.route ? "ROUTER" : "COMBINER"} and needs at least one child`);
  }
  if (abtest) {
    if (node.children.length !== 2) {
      throw new InvalidInput(`${where} is a RANDOM_ABTEST and needs exactly 2 children (it has ${node.children.length})`);
    }
    ratioAFromParameters(node.parameters, name);
  }
  return node;
}

/** `undefined` when the endpoint only names the protocol (the component is then resolved locally). */
function toEndpoint(raw: unknown, where: string): SeldonEndpoint | undefined {
  if (!isObject(raw)) throw new InvalidInput(`${where}: endpoint must be an object`);
  const type = raw.type === undefined || raw.type === null ? "REST" : upper(raw.type);
  if (type === "GRPC") {
    throw new Unsupported(`${where} has a GRPC endpoint; only REST endpoints are supported (set endpoint.type: REST)`);
  }
  if (type !== "REST") throw new InvalidInput(`${where}: endpoint type ${JSON.stringify(raw.type)} is not REST or GRPC`);
  const rawPort = raw.httpPort ?? raw.service_port;
  const host = raw.service_host;
  if (rawPort === undefined && host === undefined) return undefined;
  if (host !== undefined && (typeof host !== "string" || host === "")) {
    throw new InvalidInput(`${where}: endpoint.service_host must be a non-empty string`);
  }
  const port = typeof rawPort === "string" && /^\d+$/.test(rawPort) ? Number(rawPort) : rawPort;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidInput(`${where}: endpoint needs a service_port (or httpPort) between 1 and 65535`);
  }
  return { host: (host as string | undefined) ?? "localhost", port, type: "REST" };
}

function toParameter(raw: unknown, where: string): SeldonParameter {
  if (!isObject(raw)) throw new InvalidInput(`${where} must be an object {name, value, type}`);
  const name = str(raw.name);
  if (!name) throw new InvalidInput(`${where} needs a name`);
  const type = raw.type === undefined || raw.type === null ? "STRING" : upper(raw.type);
  if (!PARAMETER_TYPES.includes(type as SeldonParameterType)) {
    throw new InvalidInput(`${where} ('${name}') has type ${JSON.stringify(raw.type)}; expected one of ${PARAMETER_TYPES.join(", ")}`);
  }
  if (!["string", "number", "boolean"].includes(typeof raw.value)) {
    throw new InvalidInput(`${where} ('${name}') needs a value`);
  }
  const parameter: SeldonParameter = { name, value: String(raw.value), type: type as SeldonParameterType };
  parameterValue(parameter, where);
  return parameter;
}

/** A parameter's value read per its type, as Seldon's wrapper hands it to the component's constructor. */
export function parameterValue(p: SeldonParameter, where = `parameter '${p.name}'`): string | number | boolean {
  const v = p.value.trim();
  switch (p.type) {
    case "STRING":
      return p.value;
    case "BOOL":
      if (/^true$/i.test(v)) return true;
      if (/^false$/i.test(v)) return false;
      throw new InvalidInput(`${where} ('${p.name}') is a BOOL but its value is '${p.value}'`);
    case "INT":
      if (!/^[-+]?\d+$/.test(v)) throw new InvalidInput(`${where} ('${p.name}') is an INT but its value is '${p.value}'`);
      return Number.parseInt(v, 10);
    case "FLOAT":
    case "DOUBLE": {
      const n = v === "" ? Number.NaN : Number(v);
      if (Number.isNaN(n)) throw new InvalidInput(`${where} ('${p.name}') is a ${p.type} but its value is '${p.value}'`);
      return n;
    }
  }
}

/** Parameter name -> typed value. */
export function parameterValues(params: readonly SeldonParameter[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const p of params) out[p.name] = parameterValue(p);
  return out;
}

/** Reads `ratioA` (FLOAT or DOUBLE, in [0, 1], default 0.5) from a RANDOM_ABTEST node's parameters. */
export function ratioAFromParameters(parameters: readonly SeldonParameter[], node = "RANDOM_ABTEST"): number {
  const p = parameters.find((x) => x.name === "ratioA");
  if (!p) return 0.5;
  if (p.type !== "FLOAT" && p.type !== "DOUBLE") {
    throw new InvalidInput(`RANDOM_ABTEST node '${node}': parameter ratioA must have type FLOAT (it has ${p.type})`);
  }
  const ratio = p.value.trim() === "" ? Number.NaN : Number(p.value);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new InvalidInput(`RANDOM_ABTEST node '${node}': ratioA must be a number between 0 and 1 (it is '${p.value}')`);
  }
  return ratio;
}

/** Seldon's executor: a node's type and its `methods` both switch steps on. */
export function nodeSteps(node: Pick<SeldonGraphNode, "type" | "methods" | "implementation">): SeldonNodeSteps {
  const has = (m: SeldonNodeMethod) => node.methods?.includes(m) === true;
  const transformInput = node.type === "TRANSFORMER" || has("TRANSFORM_INPUT");
  return {
    input: transformInput ? "transform-input" : node.type === "MODEL" ? "predict" : undefined,
    route: node.type === "ROUTER" || has("ROUTE") || node.implementation === RANDOM_ABTEST,
    aggregate: node.type === "COMBINER" || has("AGGREGATE"),
    output: node.type === "OUTPUT_TRANSFORMER" || has("TRANSFORM_OUTPUT"),
    feedback: node.type === "MODEL" || node.type === "ROUTER" || has("SEND_FEEDBACK"),
  };
}

/** Every node of the graph, parents before children. */
export function graphNodes(root: SeldonGraphNode): SeldonGraphNode[] {
  const out: SeldonGraphNode[] = [];
  const visit = (n: SeldonGraphNode) => {
    out.push(n);
    n.children.forEach(visit);
  };
  visit(root);
  return out;
}
