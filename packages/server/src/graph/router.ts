import { randomInt } from "node:crypto";
import { get as gjsonGet } from "@tserve/gjson";
import { compileHeaderPatterns, type HeaderPolicy, patternsFromEnv, propagatedHeaders } from "./headers.ts";
import { isSuccess, jsonMessage, routerError, type StepMessage, tryJson, withTimeout } from "./message.ts";
import { InvalidInput } from "../errors/index.ts";
import type { Span } from "../net/index.ts";
import { type GraphNode, type GraphStep, type InferenceGraph, isHttpUrl } from "./spec.ts";
import {
  DEFAULT_SERVICE_URL_TEMPLATE,
  HttpTarget,
  type LocalModels,
  LocalTarget,
  type StepTarget,
  serviceUrl,
} from "./targets.ts";

/** Receives per-node and per-step timings; the server's metrics implement it. */
export interface GraphObserver {
  node(graph: string, node: string, seconds: number, status: number): void;
  step(graph: string, node: string, step: string, seconds: number, status: number): void;
}

export interface GraphRouterOptions {
  /** Models in this process that `serviceName` steps call directly. */
  localModels?: LocalModels;
  /** `serviceName` -> URL for names that are not local; `{name}` and `{namespace}` are replaced. */
  serviceUrlTemplate?: string;
  /** Header patterns beside the graph's own `propagateHeaders` (default: PROPAGATE_HEADERS from the env). */
  propagateHeaders?: string[];
  observer?: GraphObserver;
  /**
   * Timeout of a step call, in seconds, when neither the step's own `timeout` nor the graph's
   * `routerTimeouts.serviceClient` sets one (default DEFAULT_GRAPH_STEP_TIMEOUT_SECONDS).
   */
  stepTimeoutSeconds?: number;
}

/** A step that gives no timeout of its own waits this long (seconds), like a Seldon graph component call. */
export const DEFAULT_GRAPH_STEP_TIMEOUT_SECONDS = 60;

interface CompiledStep {
  spec: GraphStep;
  label: string;
  target?: StepTarget;
  /** For nodeName steps. */
  node?: string;
  timeoutMs?: number;
}

interface CompiledNode {
  name: string;
  spec: GraphNode;
  steps: CompiledStep[];
}

/**
 * Runs a KServe InferenceGraph: Sequence, Switch, Ensemble and Splitter nodes whose steps call URLs,
 * in-process models or other nodes, with KServe's router semantics.
 */
export class GraphRouter {
  readonly graph: InferenceGraph;
  readonly headerPolicy: HeaderPolicy;
  private readonly nodes = new Map<string, CompiledNode>();
  private readonly observer?: GraphObserver;

  constructor(graph: InferenceGraph, options: GraphRouterOptions = {}) {
    this.graph = graph;
    this.observer = options.observer;
    this.headerPolicy = compileHeaderPatterns([
      ...(options.propagateHeaders ?? patternsFromEnv(process.env.PROPAGATE_HEADERS)),
      ...(graph.propagateHeaders ?? []),
    ]);
    const template = options.serviceUrlTemplate ?? DEFAULT_SERVICE_URL_TEMPLATE;
    if (!isHttpUrl(serviceUrl(template, "model", "default"))) {
      throw new InvalidInput(`The service URL template '${template}' does not give an http:// or https:// URL`);
    }
    const namespace = graph.namespace ?? "default";
    // Every step call is bounded: a service that never answers must not hold the request forever.
    const defaultTimeout = options.stepTimeoutSeconds ?? DEFAULT_GRAPH_STEP_TIMEOUT_SECONDS;
    if (!Number.isFinite(defaultTimeout) || defaultTimeout <= 0) {
      throw new InvalidInput(`The graph step timeout must be a positive number of seconds, not ${defaultTimeout}`);
    }
    const clientTimeout = graph.routerTimeouts?.serviceClient ?? defaultTimeout;
    for (const [name, spec] of Object.entries(graph.nodes)) {
      const steps = spec.steps.map((step, i): CompiledStep => {
        const compiled: CompiledStep = { spec: step, label: step.name ?? String(i) };
        // A nodeName step is bounded by the calls inside it, and by its own `timeout` when it gives one.
        const seconds = step.nodeName ? step.timeout : (step.timeout ?? clientTimeout);
        if (seconds !== undefined) compiled.timeoutMs = seconds * 1000;
        if (step.nodeName) compiled.node = step.nodeName;
        else if (step.serviceUrl) compiled.target = new HttpTarget(step.serviceUrl);
        else if (step.serviceName) {
          const local = options.localModels;
          // Resolved per call, so a model loaded after start-up is still called in-process.
          compiled.target = local
            ? new ResolvingTarget(step.serviceName, local, serviceUrl(template, step.serviceName, namespace))
            : new HttpTarget(serviceUrl(template, step.serviceName, namespace));
        }
        return compiled;
      });
      this.nodes.set(name, { name, spec, steps });
    }
  }

  /** Runs the graph from `root` on a request body; always answers (errors become KServe's error body). */
  async route(body: Buffer, headers: Record<string, string | string[] | undefined>, span?: Span): Promise<StepMessage> {
    const forwarded = propagatedHeaders(headers, this.headerPolicy);
    const run = this.runNode("root", { status: 200, body }, forwarded, span);
    const seconds = this.graph.timeout;
    if (seconds === undefined) return run;
    return withTimeout(run, seconds * 1000, () => routerError(504, `the graph did not finish within ${seconds} s`));
  }

  private async runNode(name: string, input: StepMessage, headers: Record<string, string>, parent?: Span): Promise<StepMessage> {
    const node = this.nodes.get(name)!;
    const started = performance.now();
    const span = parent?.child(`graph node ${name}`, "internal", { "tserve.graph.name": this.graph.name, "tserve.graph.node": name, "tserve.graph.router_type": node.spec.routerType });
    let result: StepMessage;
    try {
      switch (node.spec.routerType) {
        case "Sequence":
          result = await this.sequence(node, input, headers, span);
          break;
        case "Switch":
          result = await this.switch(node, input, headers, span);
          break;
        case "Ensemble":
          result = await this.ensemble(node, input, headers, span);
          break;
        case "Splitter":
          result = await this.splitter(node, input, headers, span);
          break;
      }
    } catch (err) {
      result = routerError(500, (err as Error).message);
    }
    this.observer?.node(this.graph.name, name, (performance.now() - started) / 1000, result.status);
    if (span) endWithStatus(span, result.status);
    return result;
  }

  private async runStep(node: CompiledNode, step: CompiledStep, input: StepMessage, headers: Record<string, string>, parent?: Span): Promise<StepMessage> {
    const started = performance.now();
    const span = parent?.child(`graph step ${node.name}/${step.label}`, "internal", {
      "tserve.graph.node": node.name,
      "tserve.graph.step": step.label,
      ...(step.target ? { "tserve.graph.target": step.target.description } : {}),
    });
    const result = step.node
      ? await this.runSubNode(step, input, headers, span)
      : await step.target!.call(input, headers, step.timeoutMs, span);
    this.observer?.step(this.graph.name, node.name, step.label, (performance.now() - started) / 1000, result.status);
    if (span) endWithStatus(span, result.status);
    return result;
  }

  private runSubNode(step: CompiledStep, input: StepMessage, headers: Record<string, string>, span?: Span): Promise<StepMessage> {
    const run = this.runNode(step.node!, input, headers, span);
    const ms = step.timeoutMs;
    if (ms === undefined) return run;
    return withTimeout(run, ms, () => routerError(504, `node ${step.node} did not finish within ${ms / 1000} s`));
  }

  /** Steps in order; `$response` feeds the previous answer on; a condition on the previous answer gates a step. */
  private async sequence(node: CompiledNode, input: StepMessage, headers: Record<string, string>, span?: Span): Promise<StepMessage> {
    let previous: StepMessage | undefined;
    for (let i = 0; i < node.steps.length; i++) {
      const step = node.steps[i];
      if (step.spec.condition) {
        // KServe checks the previous step's answer (on step 0, the node input: KServe itself fails there).
        const subject = previous ?? input;
        const json = tryJson(subject.body) !== undefined;
        const met = json && gjsonGet(subject.body.toString("utf8"), step.spec.condition).exists;
        if (!met) {
          // The sequence stops at the previous answer, with 200 when it succeeded (KServe since kserve#4429). A failed
          // Soft step keeps its own status and body: a client never gets an error body with 200 (KServe's router
          // does give 200 here; before #4429 it gave 500 for every unmet condition).
          if (previous && !isSuccess(previous)) return previous;
          if (!json) return routerError(500, `step ${step.label}: the condition needs a JSON ${previous ? "response" : "request"}`);
          return { status: 200, body: subject.body };
        }
      }
      let stepInput = step.spec.data === "$response" && previous ? previous : input;
      if (step.spec.mapPredictionsToInstances && previous) stepInput = predictionsToInstances(stepInput);
      const response = await this.runStep(node, step, stepInput, headers, span);
      if (!isSuccess(response) && step.spec.dependency === "Hard") return response;
      previous = response;
    }
    return previous!;
  }

  /** The first step whose condition finds something in the node input; none -> 404. */
  private async switch(node: CompiledNode, input: StepMessage, headers: Record<string, string>, span?: Span): Promise<StepMessage> {
    const text = tryJson(input.body) === undefined ? undefined : input.body.toString("utf8");
    if (text !== undefined) {
      for (const step of node.steps) {
        if (step.spec.condition && gjsonGet(text, step.spec.condition).exists) return this.runStep(node, step, input, headers, span);
      }
    }
    return routerError(404, "None of the routes matched with the switch condition");
  }

  /** All steps at once on the same input; answers keyed by step name; the first Hard failure wins. */
  private async ensemble(node: CompiledNode, input: StepMessage, headers: Record<string, string>, span?: Span): Promise<StepMessage> {
    const responses = await Promise.all(node.steps.map((step) => this.runStep(node, step, input, headers, span)));
    for (let i = 0; i < responses.length; i++) {
      if (!isSuccess(responses[i]) && node.steps[i].spec.dependency === "Hard") return responses[i];
    }
    const combined: Record<string, unknown> = {};
    for (let i = 0; i < responses.length; i++) {
      const json = tryJson(responses[i].body);
      if (typeof json !== "object" || json === null || Array.isArray(json)) {
        return routerError(500, `step ${node.steps[i].label} of ensemble '${node.name}' did not answer with a JSON object`);
      }
      combined[node.steps[i].label] = json;
    }
    return jsonMessage(200, combined);
  }

  /** One step, picked with probability weight/100 from a cryptographic random number. */
  private async splitter(node: CompiledNode, input: StepMessage, headers: Record<string, string>, span?: Span): Promise<StepMessage> {
    const r = randomInt(100);
    let cumulative = 0;
    for (const step of node.steps) {
      cumulative += step.spec.weight ?? 0;
      if (r < cumulative) return this.runStep(node, step, input, headers, span);
    }
    return routerError(500, `splitter '${node.name}' picked no step`);
  }
}

function endWithStatus(span: Span, status: number): void {
  span.set("tserve.graph.status", status);
  if (status >= 500) span.fail();
  span.end();
}

/** KServe's mapPredictionsToInstances: `{"predictions": [...]}` -> `{"instances": [...]}`, other fields dropped. */
function predictionsToInstances(m: StepMessage): StepMessage {
  const json = tryJson(m.body) as { predictions?: unknown } | undefined;
  if (!json || !Array.isArray(json.predictions) || json.predictions.length === 0) return m;
  return jsonMessage(m.status, { instances: json.predictions });
}

/** A serviceName: in-process when this server has the model at call time, else the URL. */
class ResolvingTarget implements StepTarget {
  readonly description: string;
  private readonly local: LocalTarget;
  private readonly remote: HttpTarget;
  private readonly name: string;
  private readonly models: LocalModels;

  constructor(name: string, models: LocalModels, url: string) {
    this.name = name;
    this.models = models;
    this.local = new LocalTarget(name, models);
    this.remote = new HttpTarget(url);
    this.description = name;
  }

  call(input: StepMessage, headers: Record<string, string>, timeoutMs: number | undefined, span?: Span): Promise<StepMessage> {
    return (this.models.has(this.name) ? this.local : this.remote).call(input, headers, timeoutMs, span);
  }
}
