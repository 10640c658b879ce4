import { randomBytes } from "node:crypto";
import { InvalidInput } from "../../errors/index.ts";
import { readTfTensor, SeldonError, seldonErrorReply } from "../../protocol/seldon/index.ts";
import type { SeldonFeedback, SeldonMessage, SeldonMeta } from "../../protocol/seldon/index.ts";
import { RandomABTestUnit } from "./random-abtest.ts";
import { RemoteSeldonUnit } from "./remote-unit.ts";
import { graphNodes, nodeSteps, RANDOM_ABTEST, type SeldonGraphNode, type SeldonGraphSpec, type SeldonNodeSteps } from "./spec.ts";
import type { SeldonCallContext, SeldonUnit } from "./unit.ts";

/** The component call a graph step makes, named like the microservice's REST path. */
export type SeldonStepMethod = "predict" | "transform-input" | "transform-output" | "route" | "aggregate" | "send-feedback";

/** Receives every component call's duration; the server's metrics implement it. */
export interface SeldonGraphObserver {
  /** `status`: the HTTP status the step answered with (200, or its error's). */
  step(node: string, method: SeldonStepMethod, seconds: number, ok: boolean, status?: number): void;
}

/** A component call waits at most this long unless told otherwise (the --seldon_graph_timeout default). */
const DEFAULT_CALL_TIMEOUT_MS = 60_000;

export interface SeldonGraphExecutorOptions {
  /** Consulted first for every node; `undefined` falls back to the built-ins (RANDOM_ABTEST, REST endpoint). */
  resolveUnit?: (node: SeldonGraphNode) => SeldonUnit | undefined;
  /** Overrides the spec's deployment name (in metadata). */
  deploymentName?: string;
  /** How long one component call may take, in milliseconds (default 60 s); past it the request fails with 504. */
  timeoutMs?: number;
  observer?: SeldonGraphObserver;
  /** Random source of built-in RANDOM_ABTEST routers, in [0, 1) (tests make it deterministic). */
  random?: () => number;
}

/** Seldon's executor /api/v1.0/metadata document. */
export interface SeldonGraphMetadata {
  name: string;
  /** Node name -> its component's metadata, or `{name, error}` when it could not be read. */
  models: Record<string, unknown>;
  graphinputs: unknown[];
  graphoutputs: unknown[];
}

interface CompiledNode {
  spec: SeldonGraphNode;
  steps: SeldonNodeSteps;
  unit: SeldonUnit;
  /** Units that enforce the call timeout themselves (built-in remote ones). */
  timesItself: boolean;
  children: CompiledNode[];
  /** For meta.requestPath: image, implementation or "tserve". */
  runtime: string;
}

/** What one request gathers along its path; parallel branches each fill their own and join in child order. */
class Trace {
  tags: Record<string, unknown>;
  routing: Record<string, number> = {};
  requestPath: Record<string, string> = {};
  visited: CompiledNode[] = [];

  constructor(tags: Record<string, unknown> = {}) {
    this.tags = { ...tags };
  }

  absorb(meta: SeldonMeta | undefined): void {
    if (!meta) return;
    if (isRecord(meta.tags)) Object.assign(this.tags, meta.tags);
    if (isRecord(meta.requestPath)) Object.assign(this.requestPath, meta.requestPath);
  }

  fork(): Trace {
    return new Trace();
  }

  join(branch: Trace): void {
    Object.assign(this.tags, branch.tags);
    Object.assign(this.routing, branch.routing);
    Object.assign(this.requestPath, branch.requestPath);
    this.visited.push(...branch.visited);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const PUID_ALPHABET = "0123456789abcdefghijklmnopqrstuv";

/** A prediction id like Seldon's: 26 lowercase base-32 characters (130 random bits). */
export function newPuid(): string {
  const bytes = randomBytes(26);
  let out = "";
  for (const b of bytes) out += PUID_ALPHABET[b & 31];
  return out;
}

/** Seldon's answer to feedback when no component answers for the graph's root. */
function emptyAnswer(): SeldonMessage {
  return { data: { names: [], ndarray: [] }, meta: {} };
}

/**
 * Runs one predictor of a SeldonDeployment with the semantics of Seldon Core v1's executor: per node an input
 * step, then its children (routed, all in parallel, or aggregated), then an output step. Unlike Seldon, it
 * always reports `meta.routing` and routers' tags, stops at the first failing child instead of aggregating its
 * error, and delivers feedback to every router on the recorded path.
 */
export class SeldonGraphExecutor {
  readonly spec: SeldonGraphSpec;
  readonly deploymentName: string;
  private readonly root: CompiledNode;
  private readonly units: SeldonUnit[];
  private readonly timeoutMs: number;
  private readonly observer?: SeldonGraphObserver;

  constructor(spec: SeldonGraphSpec, options: SeldonGraphExecutorOptions = {}) {
    this.spec = spec;
    this.deploymentName = options.deploymentName ?? spec.deploymentName;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.observer = options.observer;
    const units = new Set<SeldonUnit>();
    const compile = (node: SeldonGraphNode): CompiledNode => {
      const { unit, timesItself } = this.resolve(node, options);
      units.add(unit);
      return {
        spec: node,
        steps: nodeSteps(node),
        unit,
        timesItself,
        children: node.children.map(compile),
        runtime: node.image ?? node.implementation ?? "tserve",
      };
    };
    this.root = compile(spec.graph);
    this.units = [...units];
  }

  private resolve(node: SeldonGraphNode, options: SeldonGraphExecutorOptions): { unit: SeldonUnit; timesItself: boolean } {
    const local = options.resolveUnit?.(node);
    if (local) return { unit: local, timesItself: false };
    if (node.implementation === RANDOM_ABTEST) {
      return { unit: RandomABTestUnit.fromParameters(node.name, node.parameters, options.random), timesItself: false };
    }
    if (node.endpoint) {
      // The unit bounds its own calls, with the executor's timeout.
      const unit = new RemoteSeldonUnit(node.name, node.endpoint, { timeoutMs: this.timeoutMs });
      return { unit, timesItself: true };
    }
    const what = node.implementation ? ` (implementation ${node.implementation})` : "";
    throw new InvalidInput(
      `Seldon graph node '${node.name}'${what} has no component: nothing local serves it and it has no REST endpoint`,
    );
  }

  /** One prediction through the graph; rejects with the SeldonError (or TServeError) of the step that failed. */
  async predict(msg: SeldonMessage, ctx: SeldonCallContext): Promise<SeldonMessage> {
    const header = ctx.headers["seldon-puid"];
    const puid = msg.meta?.puid || (typeof header === "string" && header ? header : newPuid());
    const input: SeldonMessage = { ...msg, meta: { ...msg.meta, puid } };
    const trace = new Trace(isRecord(msg.meta?.tags) ? msg.meta.tags : {});
    const output = await this.predictNode(this.root, input, ctx, trace);
    const requestPath: Record<string, string> = { ...trace.requestPath };
    for (const node of trace.visited) requestPath[node.spec.name] ??= node.runtime;
    return {
      ...output,
      meta: { ...output.meta, puid, tags: trace.tags, routing: trace.routing, requestPath },
    };
  }

  private async predictNode(node: CompiledNode, msg: SeldonMessage, ctx: SeldonCallContext, trace: Trace): Promise<SeldonMessage> {
    trace.visited.push(node);
    let current = msg;
    const input = node.steps.input;
    if (input) {
      const m = current;
      current = await this.call(node, input, () => (input === "predict" ? node.unit.predict(m, ctx) : node.unit.transformInput(m, ctx)));
      trace.absorb(current.meta);
    }
    if (node.children.length > 0) current = await this.predictChildren(node, current, ctx, trace);
    if (node.steps.output) {
      const m = current;
      current = await this.call(node, "transform-output", () => node.unit.transformOutput(m, ctx));
      trace.absorb(current.meta);
    }
    return current;
  }

  private async predictChildren(node: CompiledNode, msg: SeldonMessage, ctx: SeldonCallContext, trace: Trace): Promise<SeldonMessage> {
    let route = -1;
    if (node.steps.route) {
      const answer = await this.call(node, "route", () => node.unit.route(msg, ctx));
      trace.absorb(answer.meta);
      route = routeFrom(answer, node);
      trace.routing[node.spec.name] = route;
    }
    if (route === -2) return msg;
    let outputs: SeldonMessage[];
    if (route === -1) {
      const branches = node.children.map(() => trace.fork());
      // Promise.all rejects with the first failure: a failing child stops the graph (never reaches a combiner).
      outputs = await Promise.all(node.children.map((child, i) => this.predictNode(child, msg, ctx, branches[i])));
      for (const b of branches) trace.join(b);
    } else {
      outputs = [await this.predictNode(node.children[route], msg, ctx, trace)];
    }
    if (!node.steps.aggregate) return outputs[0];
    const combined = await this.call(node, "aggregate", () => node.unit.aggregate(outputs, ctx));
    trace.absorb(combined.meta);
    return combined;
  }

  /**
   * Sends feedback along the path the prediction took (`response.meta.routing`; all children of a node with
   * no recorded route), children first, then to every MODEL and ROUTER (and SEND_FEEDBACK node) reached.
   */
  async sendFeedback(feedback: SeldonFeedback, ctx: SeldonCallContext): Promise<SeldonMessage> {
    const routing = isRecord(feedback.response?.meta?.routing) ? feedback.response.meta.routing : {};
    return (await this.feedbackNode(this.root, feedback, routing, ctx)) ?? emptyAnswer();
  }

  private async feedbackNode(
    node: CompiledNode,
    feedback: SeldonFeedback,
    routing: Record<string, unknown>,
    ctx: SeldonCallContext,
  ): Promise<SeldonMessage | undefined> {
    if (node.children.length > 0) {
      const route = feedbackRoute(routing[node.spec.name], node);
      if (route === -1) await Promise.all(node.children.map((child) => this.feedbackNode(child, feedback, routing, ctx)));
      else if (route >= 0) await this.feedbackNode(node.children[route], feedback, routing, ctx);
    }
    if (!node.steps.feedback) return undefined;
    return this.call(node, "send-feedback", () => node.unit.sendFeedback(feedback, ctx));
  }

  /** True when every component answers its health check. */
  async healthy(): Promise<boolean> {
    const answers = await Promise.all(this.units.map((u) => u.healthy().catch(() => false)));
    return answers.every((ok) => ok === true);
  }

  /** Seldon's graph metadata; a component whose metadata fails is listed with its error instead. */
  async metadata(): Promise<SeldonGraphMetadata> {
    const nodes = graphNodesOf(this.root);
    const docs = await Promise.all(
      nodes.map((n) =>
        n.unit.metadata().catch((err: unknown) => ({ name: n.spec.name, error: err instanceof Error ? err.message : String(err) })),
      ),
    );
    const models: Record<string, unknown> = {};
    nodes.forEach((n, i) => {
      models[n.spec.name] = docs[i];
    });
    return {
      name: this.deploymentName,
      models,
      graphinputs: listField(models[inputNode(this.root).spec.name], "inputs"),
      graphoutputs: listField(models[outputNode(this.root).spec.name], "outputs"),
    };
  }

  /** Closes every component (each once, even when nodes share one). */
  async close(): Promise<void> {
    await Promise.allSettled(this.units.map((u) => u.close?.()));
  }

  /** Names of every node, parents first. */
  nodeNames(): string[] {
    return graphNodes(this.spec.graph).map((n) => n.name);
  }

  /** One component call: timed, observed and bounded by the call timeout. */
  private async call(node: CompiledNode, method: SeldonStepMethod, run: () => Promise<SeldonMessage>): Promise<SeldonMessage> {
    const started = performance.now();
    let ok = false;
    let status = 500;
    try {
      const work = run();
      const answer = node.timesItself ? await work : await deadline(work, this.timeoutMs, node, method);
      if (!isRecord(answer)) {
        throw new SeldonError(`Seldon graph node '${node.spec.name}' answered ${method} with no SeldonMessage`, 500, "MICROSERVICE_INTERNAL_ERROR");
      }
      ok = true;
      status = 200;
      return answer as SeldonMessage;
    } catch (err) {
      status = seldonErrorReply(err).status;
      throw err;
    } finally {
      this.observer?.step(node.spec.name, method, (performance.now() - started) / 1000, ok, status);
    }
  }
}

function deadline<T>(work: Promise<T>, ms: number, node: CompiledNode, method: SeldonStepMethod): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SeldonError(`Seldon graph node '${node.spec.name}' did not answer ${method} within ${ms / 1000} s`, 504, "MICROSERVICE_INTERNAL_ERROR")),
      ms,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The router's choice: the first number of its data, whatever its form (as Seldon's executor reads it): ndarray (any
 * nesting), tensor, or tftensor (any value field; int64 values may be decimal strings, as in TensorProto's JSON).
 */
function routeFrom(answer: SeldonMessage, node: CompiledNode): number {
  const data = answer.data;
  let value: unknown;
  if (data?.ndarray !== undefined) {
    value = data.ndarray;
    while (Array.isArray(value)) value = value[0];
  } else if (data?.tensor !== undefined) {
    value = data.tensor.values?.[0];
  } else if (data?.tftensor !== undefined) {
    value = firstTfValue(data.tftensor);
  }
  const last = node.children.length - 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < -2 || value > last) {
    throw new SeldonError(
      `Router '${node.spec.name}' returned route ${JSON.stringify(value) ?? "nothing"}; expected an integer from -2 to ${last} (-1 all children, -2 none)`,
      500,
      "MICROSERVICE_INTERNAL_ERROR",
    );
  }
  return value;
}

/** A TensorProto's first value as a number (undefined when it has none or cannot be read). */
function firstTfValue(tensor: unknown): unknown {
  let values: unknown[];
  try {
    values = readTfTensor(tensor).values;
  } catch {
    return undefined;
  }
  const v = values[0];
  return typeof v === "string" && /^-?\d{1,16}$/.test(v) ? Number(v) : v;
}

/** The route recorded for a node in the prediction's response; missing means all children. */
function feedbackRoute(recorded: unknown, node: CompiledNode): number {
  if (recorded === undefined || recorded === null) return -1;
  const route = typeof recorded === "string" && /^-?\d+$/.test(recorded) ? Number(recorded) : recorded;
  const last = node.children.length - 1;
  if (typeof route !== "number" || !Number.isInteger(route) || route < -2 || route > last) {
    throw new SeldonError(
      `Feedback routing for '${node.spec.name}' is ${JSON.stringify(recorded)}; expected an integer from -2 to ${last}`,
      400,
    );
  }
  return route;
}

function graphNodesOf(root: CompiledNode): CompiledNode[] {
  const out: CompiledNode[] = [];
  const visit = (n: CompiledNode) => {
    out.push(n);
    n.children.forEach(visit);
  };
  visit(root);
  return out;
}

/** The first node whose component sees the request: down the first children until one has an input step. */
function inputNode(node: CompiledNode): CompiledNode {
  let n = node;
  while (!n.steps.input && n.children.length > 0) n = n.children[0];
  return n;
}

/** The node whose component writes the answer: one with an output or aggregate step, else down the first child. */
function outputNode(node: CompiledNode): CompiledNode {
  let n = node;
  while (!n.steps.output && !n.steps.aggregate && n.children.length > 0) n = n.children[0];
  return n;
}

function listField(doc: unknown, field: "inputs" | "outputs"): unknown[] {
  const v = isRecord(doc) ? doc[field] : undefined;
  return Array.isArray(v) ? v : [];
}
