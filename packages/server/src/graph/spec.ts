import { parse as parseYaml } from "yaml";
import { InvalidInput } from "../errors/index.ts";
import { schemaProblem } from "../model/index.ts";
import { inferenceGraphSchemaFor } from "./spec-schema.ts";

export type RouterType = "Sequence" | "Switch" | "Ensemble" | "Splitter";
export type Dependency = "Soft" | "Hard";

/** One routing step: exactly one target (`serviceName`, `serviceUrl` or `nodeName`). */
export interface GraphStep {
  name?: string;
  serviceName?: string;
  serviceUrl?: string;
  nodeName?: string;
  /** `$request` (the node input) or `$response` (the previous step's answer; Sequence only). */
  data?: string;
  /** A GJSON path; the step runs only when it finds something. */
  condition?: string;
  dependency?: Dependency;
  /** Splitter share, in percent. */
  weight?: number;
  /** Rewrites a `predictions` array into `{"instances": …}` for the next step. */
  mapPredictionsToInstances?: boolean;
  /** tserve extension: this step's own call timeout, in seconds. */
  timeout?: number;
}

export interface GraphNode {
  routerType: RouterType;
  steps: GraphStep[];
}

export interface RouterTimeouts {
  serverRead?: number;
  serverWrite?: number;
  serverIdle?: number;
  /** Timeout of every step call, in seconds. */
  serviceClient?: number;
}

/** KServe's InferenceGraph (`serving.kserve.io/v1alpha1`), reduced to what the router reads. */
export interface InferenceGraph {
  name: string;
  namespace?: string;
  nodes: Record<string, GraphNode>;
  /** Whole-request timeout, in seconds. */
  timeout?: number;
  routerTimeouts?: RouterTimeouts;
  /** tserve extension: header name patterns (regexes) to forward to steps, beside PROPAGATE_HEADERS. */
  propagateHeaders?: string[];
}

const ROUTER_TYPES: RouterType[] = ["Sequence", "Switch", "Ensemble", "Splitter"];
const GRAPH_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Parses InferenceGraph YAML or JSON (a whole resource, or just its `spec`) and validates it. */
export function parseGraph(text: string, source = "graph"): InferenceGraph {
  let doc: unknown;
  try {
    doc = parseYaml(text); // YAML 1.2 is a superset of JSON
  } catch (err) {
    throw new InvalidInput(`${source} is neither valid YAML nor JSON: ${(err as Error).message}`);
  }
  return toGraph(doc, source);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function toGraph(doc: unknown, source = "graph"): InferenceGraph {
  if (!isObject(doc)) throw new InvalidInput(`${source}: expected an InferenceGraph object`);
  if (doc.kind !== undefined && doc.kind !== "InferenceGraph") {
    throw new InvalidInput(`${source}: kind is ${JSON.stringify(doc.kind)}, expected InferenceGraph`);
  }
  if (doc.apiVersion !== undefined && !String(doc.apiVersion).startsWith("serving.kserve.io/")) {
    throw new InvalidInput(`${source}: apiVersion ${JSON.stringify(doc.apiVersion)} is not serving.kserve.io/v1alpha1`);
  }
  // Against the schema: unknown keys first (with the nearest real one); wrong types after the checks below, which
  // word them per node and step.
  const schema = inferenceGraphSchemaFor(doc);
  const unknownKey = schemaProblem(schema, doc, "", { noun: "field", unknownKeysOnly: true });
  if (unknownKey) throw new InvalidInput(`${source}: ${unknownKey}`);
  const metadata = isObject(doc.metadata) ? doc.metadata : {};
  const spec = isObject(doc.spec) ? doc.spec : doc;
  if (!isObject(spec.nodes)) throw new InvalidInput(`${source}: spec.nodes must be a map of node name to node`);
  const graph: InferenceGraph = {
    name: typeof metadata.name === "string" ? metadata.name : "graph",
    nodes: {},
  };
  if (typeof metadata.namespace === "string") graph.namespace = metadata.namespace;
  if (spec.timeout !== undefined) graph.timeout = seconds(spec.timeout, `${source}: spec.timeout`);
  if (spec.routerTimeouts !== undefined) {
    if (!isObject(spec.routerTimeouts)) throw new InvalidInput(`${source}: spec.routerTimeouts must be an object`);
    graph.routerTimeouts = {};
    for (const k of ["serverRead", "serverWrite", "serverIdle", "serviceClient"] as const) {
      const v = spec.routerTimeouts[k];
      if (v !== undefined) graph.routerTimeouts[k] = seconds(v, `${source}: spec.routerTimeouts.${k}`);
    }
  }
  if (spec.propagateHeaders !== undefined) {
    if (!Array.isArray(spec.propagateHeaders) || !spec.propagateHeaders.every((h) => typeof h === "string")) {
      throw new InvalidInput(`${source}: spec.propagateHeaders must be a list of header name patterns`);
    }
    graph.propagateHeaders = spec.propagateHeaders as string[];
  }
  for (const [name, raw] of Object.entries(spec.nodes)) graph.nodes[name] = toNode(name, raw);
  const problem = schemaProblem(schema, doc, "", { noun: "field" });
  if (problem) throw new InvalidInput(`${source}: ${problem}`);
  validateGraph(graph);
  return graph;
}

function seconds(v: unknown, what: string): number {
  const n = typeof v === "string" && /^\d+(\.\d+)?s?$/.test(v) ? Number.parseFloat(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n <= 0) throw new InvalidInput(`${what} must be a positive number of seconds`);
  return n;
}

function toNode(name: string, raw: unknown): GraphNode {
  if (!isObject(raw)) throw new InvalidInput(`Node '${name}' must be an object with routerType and steps`);
  if (!ROUTER_TYPES.includes(raw.routerType as RouterType)) {
    throw new InvalidInput(`Node '${name}' has routerType ${JSON.stringify(raw.routerType)}; expected one of ${ROUTER_TYPES.join(", ")}`);
  }
  if (!Array.isArray(raw.steps) || raw.steps.length === 0) throw new InvalidInput(`Node '${name}' needs a non-empty 'steps' list`);
  return { routerType: raw.routerType as RouterType, steps: raw.steps.map((s, i) => toStep(name, s, i)) };
}

function toStep(node: string, raw: unknown, i: number): GraphStep {
  const where = `Node '${node}' step ${i}`;
  if (!isObject(raw)) throw new InvalidInput(`${where} must be an object`);
  const step: GraphStep = {};
  for (const k of ["name", "serviceName", "serviceUrl", "nodeName", "data", "condition"] as const) {
    if (raw[k] === undefined) continue;
    if (typeof raw[k] !== "string") throw new InvalidInput(`${where}: '${k}' must be a string`);
    step[k] = raw[k] as string;
  }
  if (raw.dependency !== undefined) {
    if (raw.dependency !== "Soft" && raw.dependency !== "Hard") throw new InvalidInput(`${where}: dependency must be Soft or Hard`);
    step.dependency = raw.dependency;
  }
  if (raw.weight !== undefined) {
    if (typeof raw.weight !== "number" || !Number.isInteger(raw.weight) || raw.weight < 0) {
      throw new InvalidInput(`${where}: weight must be a non-negative integer`);
    }
    step.weight = raw.weight;
  }
  if (raw.mapPredictionsToInstances !== undefined) step.mapPredictionsToInstances = raw.mapPredictionsToInstances === true;
  if (raw.timeout !== undefined) step.timeout = seconds(raw.timeout, `${where}: timeout`);
  return step;
}

export function isHttpUrl(value: string): boolean {
  if (!/^https?:\/\//.test(value)) return false;
  try {
    return new URL(value).host !== "";
  } catch {
    return false;
  }
}

function stepLabel(step: GraphStep, i: number): string {
  return step.name ? `step '${step.name}'` : `step ${i}`;
}

/** KServe's webhook rules, plus what the router would otherwise find only at request time. */
export function validateGraph(graph: InferenceGraph): void {
  if (!GRAPH_NAME.test(graph.name)) {
    throw new InvalidInput(`Graph name '${graph.name}' must match [a-z]([-a-z0-9]*[a-z0-9])?`);
  }
  if (!graph.nodes.root) throw new InvalidInput("The graph has no 'root' node");
  for (const [name, node] of Object.entries(graph.nodes)) {
    const seen = new Set<string>();
    let weights = 0;
    node.steps.forEach((step, i) => {
      const label = stepLabel(step, i);
      if (step.name) {
        if (seen.has(step.name)) throw new InvalidInput(`Node '${name}' has two steps named '${step.name}'`);
        seen.add(step.name);
      }
      const targets = [step.serviceName, step.serviceUrl, step.nodeName].filter((t) => t !== undefined && t !== "");
      if (targets.length !== 1) {
        throw new InvalidInput(`Node '${name}' ${label} must set exactly one of serviceName, serviceUrl or nodeName (it sets ${targets.length})`);
      }
      if (step.nodeName !== undefined && !graph.nodes[step.nodeName]) {
        throw new InvalidInput(`Node '${name}' ${label} names node '${step.nodeName}', which does not exist`);
      }
      if (step.serviceUrl !== undefined && !isHttpUrl(step.serviceUrl)) {
        throw new InvalidInput(`Node '${name}' ${label} has serviceUrl '${step.serviceUrl}'; it must be an http:// or https:// URL`);
      }
      if (node.routerType === "Splitter") {
        if (step.weight === undefined) throw new InvalidInput(`Node '${name}' ${label} is in a Splitter and needs a weight`);
        weights += step.weight;
      }
      if (node.routerType === "Switch" && !step.condition) {
        // KServe accepts it; such a step never matches, which is almost certainly a mistake.
        throw new InvalidInput(`Node '${name}' ${label} is in a Switch and needs a condition`);
      }
    });
    if (node.routerType === "Splitter" && weights !== 100) {
      throw new InvalidInput(`Node '${name}' is a Splitter whose step weights sum to ${weights}, not 100`);
    }
  }
  findCycle(graph);
}

/** Depth-first search over nodeName edges; a cycle would recurse forever at request time. */
function findCycle(graph: InferenceGraph): void {
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === "done") return;
    if (state.get(name) === "visiting") {
      throw new InvalidInput(`The graph has a cycle: ${[...path.slice(path.indexOf(name)), name].join(" -> ")}`);
    }
    state.set(name, "visiting");
    for (const step of graph.nodes[name].steps) if (step.nodeName) visit(step.nodeName, [...path, name]);
    state.set(name, "done");
  };
  for (const name of Object.keys(graph.nodes)) visit(name, []);
}
