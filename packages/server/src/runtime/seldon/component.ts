import { Model, type ModelOptions, type RequestContext } from "../../model/index.ts";
import { type InferRequest, type InferResponse, isInferRequest, type ModelMetadata } from "../../protocol/index.ts";
import {
  arrayData,
  buildMeta,
  buildResponse,
  buildSeldonMetadata,
  isSeldonResponse,
  messageNames,
  messagePayload,
  NDArray,
  parseSeldonMessage,
  payloadKind,
  type SeldonFeedback,
  SeldonError,
  type SeldonMessage,
  type SeldonMeta,
  type SeldonMetric,
  validateMetrics,
  validateSeldonMetadata,
} from "../../protocol/seldon/index.ts";
import { asProtoMessage, encodeFeedback } from "../../protocol/seldon/grpc/index.ts";
import type { Datatype } from "../../tensor/index.ts";
import { answerTensor, answerValue, tensorToMessage } from "./bridge.ts";
import { ALIASES, type SeldonComponentLike } from "./component-like.ts";

export type { SeldonComponentLike } from "./component-like.ts";

/** The `method` label of Seldon's custom metrics. */
export type SeldonMethod = "predict" | "inputtransform" | "outputtransform" | "router" | "aggregate" | "feedback" | "health";

/** Where a component's custom metrics go (the server's Prometheus store). */
export interface SeldonMetricsSink {
  record(component: SeldonComponent, method: SeldonMethod, metrics: SeldonMetric[]): void;
  feedback(component: SeldonComponent, reward: number): void;
}

/**
 * Thrown by a `*Raw` method to say "not handled here": the wrapper then calls the plain method, as Seldon's
 * SeldonNotImplementedError does.
 */
export class SeldonNotImplementedError extends Error {
  constructor(message = "not implemented") {
    super(message);
    this.name = "SeldonNotImplementedError";
  }
}

type Fn = (...args: any[]) => unknown;

export interface SeldonComponentOptions extends ModelOptions {
  /** This unit's id in a graph (PREDICTIVE_UNIT_ID): feedback's routing is read under it, requestPath names it. */
  unitId?: string;
  /** The image (or runtime) reported in meta.requestPath. */
  image?: string;
  /** INCLUDE_METRICS_IN_CLIENT_RESPONSE (default true). */
  includeMetricsInResponse?: boolean;
  /** MODEL_METADATA (JSON or YAML) merged over initMetadata(). */
  modelMetadataEnv?: string;
}

/**
 * How a call reached the component: over REST (and in-process: graphs, V1/V2 clients), or over gRPC with the decoded
 * protobuf request, which Seldon's deprecated `*Grpc` hooks receive.
 */
export type SeldonVia = { transport: "rest" } | { transport: "grpc"; request: unknown };

const REST: SeldonVia = { transport: "rest" };

type HookedMethod = "predict" | "transformInput" | "transformOutput" | "route" | "aggregate";

/** A method's answer: a SeldonResponse's data with its per-request tags and metrics, or the value itself. */
function unwrap(value: unknown): { data: unknown; tags?: Record<string, unknown>; metrics?: unknown } {
  return isSeldonResponse(value) ? { data: value.data, tags: value.tags, metrics: value.metrics } : { data: value };
}

/** A metric as a message carries it, with the COUNTER protobuf's JSON form leaves out written in. */
function withType(metric: SeldonMetric): SeldonMetric {
  return metric.type === undefined || metric.type === null ? { ...metric, type: "COUNTER" } : metric;
}

/** What a deprecated feedback hook answered, as Seldon reads it (json_to_seldon_message): nothing is `{}`. */
function feedbackAnswer(name: string, answer: unknown): SeldonMessage {
  if (answer === undefined || answer === null) return {};
  if (typeof answer !== "object" || Array.isArray(answer)) {
    throw new SeldonError(`${name}() must return a SeldonMessage object or nothing, got ${Array.isArray(answer) ? "an array" : typeof answer}`, 500, "MICROSERVICE_INTERNAL_ERROR");
  }
  return answer as SeldonMessage;
}

const COMPONENT_MARK = Symbol.for("tserve.SeldonComponent");

async function settle<T>(v: T | PromiseLike<T>): Promise<T> {
  return await v;
}

/**
 * Wraps a user's Seldon-style class into tserve's Model contract. The Seldon routes and Seldon graphs call the
 * `seldon*` methods with SeldonMessages; V1/V2 clients reach the same `predict` through `Model.predict`.
 */
export class SeldonComponent extends Model {
  readonly [COMPONENT_MARK] = true;
  readonly user: SeldonComponentLike;
  readonly unitId: string;
  readonly image: string;
  readonly includeMetricsInResponse: boolean;
  metricsSink?: SeldonMetricsSink;
  /** The SeldonDeployment and predictor this component serves in (metrics labels; else from the environment). */
  deployment?: { deploymentName: string; predictorName: string };
  private readonly metadataEnv?: string;
  private metadataResult: ReturnType<typeof validateSeldonMetadata> = { ok: false, error: "not loaded" };

  constructor(user: SeldonComponentLike, name: string, options: SeldonComponentOptions = {}) {
    super(name, options);
    this.user = user;
    this.unitId = options.unitId ?? name;
    this.image = options.image ?? "";
    this.includeMetricsInResponse = options.includeMetricsInResponse ?? true;
    this.metadataEnv = options.modelMetadataEnv;
    this.version = options.version;
  }

  version?: string;

  private fn(name: string): Fn | undefined {
    const u = this.user as Record<string, unknown>;
    const f = u[name] ?? (ALIASES[name] ? u[ALIASES[name]] : undefined);
    return typeof f === "function" ? (f as Fn).bind(this.user) : undefined;
  }

  /** Whether the user's class implements a method (either spelling). */
  has(name: keyof SeldonComponentLike): boolean {
    return this.fn(name) !== undefined;
  }

  override async load(): Promise<void> {
    await settle(this.fn("load")?.());
    let fromModel: unknown;
    let initError: string | undefined;
    try {
      fromModel = await settle(this.fn("initMetadata")?.());
    } catch (err) {
      initError = `initMetadata() failed: ${(err as Error).message}`;
    }
    const doc = buildSeldonMetadata({ fromModel, env: this.metadataEnv, defaults: { name: this.name, versions: this.version ? [this.version] : [] } });
    this.metadataResult = initError ? { ok: false, error: initError } : validateSeldonMetadata(doc);
    this.ready = true;
  }

  override async unload(): Promise<void> {
    await settle(this.fn("unload")?.());
    await super.unload();
  }

  /** The validated /metadata document, or a MICROSERVICE_BAD_METADATA error. */
  seldonMetadata(): unknown {
    if (!this.metadataResult.ok) {
      throw new SeldonError("Model metadata unavailable", 500, "MICROSERVICE_BAD_METADATA");
    }
    return this.metadataResult.value;
  }

  /** Why metadata is invalid (for logs), when it is. */
  get metadataError(): string | undefined {
    return this.metadataResult.ok ? undefined : this.metadataResult.error;
  }

  private classNames(): string[] | undefined {
    const u = this.user as Record<string, unknown>;
    const v = u.classNames ?? u.class_names;
    const names = typeof v === "function" ? (v as Fn).call(this.user) : v;
    return Array.isArray(names) ? names.map(String) : undefined;
  }

  private staticTags(): Record<string, unknown> | undefined {
    const t = this.fn("tags")?.();
    return t && typeof t === "object" ? (t as Record<string, unknown>) : undefined;
  }

  /** metrics() then the runtime metrics, validated, recorded to Prometheus; returned for the response meta. */
  private customMetrics(method: SeldonMethod, runtime?: unknown): SeldonMetric[] {
    const metrics = [...validateMetrics(this.fn("metrics")?.()), ...validateMetrics(runtime)];
    if (metrics.length > 0) this.metricsSink?.record(this, method, metrics);
    return metrics;
  }

  private requestPath(): Record<string, string> | undefined {
    return this.unitId && this.image ? { [this.unitId]: this.image } : undefined;
  }

  /** A `*Raw` method's answer, or undefined when there is none (or it said "not implemented"). */
  private async tryRaw(name: string, method: SeldonMethod, ...args: unknown[]): Promise<SeldonMessage | undefined> {
    const raw = this.fn(name);
    if (!raw) return undefined;
    let result: unknown;
    try {
      result = await settle(raw(...args));
    } catch (err) {
      if (err instanceof SeldonNotImplementedError || (err as Error)?.name === "SeldonNotImplementedError") return undefined;
      throw err;
    }
    if ((result === undefined || result === null) && name === "sendFeedbackRaw") return {};
    if (typeof result !== "object" || result === null || Array.isArray(result)) {
      throw new SeldonError(`${name}() must return a SeldonMessage object, got ${result === null ? "null" : typeof result}`, 500, "MICROSERVICE_INTERNAL_ERROR");
    }
    const msg = result as SeldonMessage;
    const metrics = validateMetrics(msg.meta?.metrics);
    if (metrics.length > 0) this.metricsSink?.record(this, method, metrics);
    return msg;
  }

  /**
   * Seldon's deprecated hook for this method and transport (`predictRest`, `routeGrpc` …), when the class has one: its
   * answer goes back as it is, no metrics() or tags() added, as Seldon returns it. A REST hook's answer is a
   * SeldonMessage in JSON form; a gRPC hook's is the protobuf message to send, marked so that it is sent unchanged.
   */
  private async tryDeprecated(method: HookedMethod, via: SeldonVia, request: unknown): Promise<SeldonMessage | undefined> {
    const name = `${method}${via.transport === "grpc" ? "Grpc" : "Rest"}`;
    const hook = this.fn(name);
    if (!hook) return undefined;
    const answer = await settle(hook(via.transport === "grpc" ? via.request : request));
    if (answer === undefined || answer === null) return via.transport === "grpc" ? asProtoMessage({}) : {};
    if (typeof answer !== "object" || Array.isArray(answer)) {
      throw new SeldonError(`${name}() must return a SeldonMessage object, got ${Array.isArray(answer) ? "an array" : typeof answer}`, 500, "MICROSERVICE_INTERNAL_ERROR");
    }
    return via.transport === "grpc" ? asProtoMessage(answer) : (answer as SeldonMessage);
  }

  /** predict, transform-input and transform-output share one shape: payload in, payload out. */
  private async callPayloadMethod(
    msg: SeldonMessage,
    plain: "predict" | "transformInput" | "transformOutput",
    method: SeldonMethod,
    via: SeldonVia,
  ): Promise<SeldonMessage> {
    const hooked = await this.tryDeprecated(plain, via, msg);
    if (hooked) return hooked;
    const raw = await this.tryRaw(`${plain}Raw`, method, msg);
    if (raw) return raw;
    const f = this.fn(plain);
    const X = messagePayload(msg);
    // No predict -> [] (Seldon); no transform -> the input passes through.
    const { data: result, tags: runtimeTags, metrics: runtimeMetrics } = unwrap(
      f ? await settle(f(X, messageNames(msg), msg.meta ?? {})) : plain === "predict" ? [] : X,
    );
    const metrics = this.customMetrics(method, runtimeMetrics);
    return buildResponse(result, msg, {
      classNames: this.classNames(),
      tags: [this.staticTags(), runtimeTags],
      metrics,
      includeMetrics: this.includeMetricsInResponse,
      requestPath: this.requestPath(),
    });
  }

  seldonPredict(msg: SeldonMessage, via: SeldonVia = REST): Promise<SeldonMessage> {
    return this.callPayloadMethod(msg, "predict", "predict", via);
  }

  seldonTransformInput(msg: SeldonMessage, via: SeldonVia = REST): Promise<SeldonMessage> {
    return this.callPayloadMethod(msg, "transformInput", "inputtransform", via);
  }

  seldonTransformOutput(msg: SeldonMessage, via: SeldonVia = REST): Promise<SeldonMessage> {
    return this.callPayloadMethod(msg, "transformOutput", "outputtransform", via);
  }

  async seldonRoute(msg: SeldonMessage, via: SeldonVia = REST): Promise<SeldonMessage> {
    const hooked = await this.tryDeprecated("route", via, msg);
    if (hooked) return hooked;
    const raw = await this.tryRaw("routeRaw", "router", msg);
    if (raw) return raw;
    const f = this.fn("route");
    if (!f) throw new SeldonError("Route not defined");
    const { data: result, tags: runtimeTags, metrics: runtimeMetrics } = unwrap(await settle(f(messagePayload(msg), messageNames(msg), msg.meta ?? {})));
    if (typeof result !== "number" || !Number.isInteger(result)) {
      throw new SeldonError(`Routing response must be int but got ${JSON.stringify(result) ?? String(result)}`);
    }
    const metrics = this.customMetrics("router", runtimeMetrics);
    // As Seldon answers a route: the request's puid, none of its other meta; the router's tags, metrics and requestPath.
    const meta = buildMeta(msg.meta?.puid === undefined ? undefined : { puid: msg.meta.puid }, {
      tags: [this.staticTags(), runtimeTags],
      metrics,
      includeMetrics: this.includeMetricsInResponse,
      requestPath: this.requestPath(),
    });
    // [[route]] as an int, as Seldon wraps it: a tftensor request gets DT_INT64 (int64Val), like numpy's int array.
    return { data: arrayData(new NDArray(Float64Array.of(result), [1, 1], "int64"), payloadKind(msg)), meta };
  }

  async seldonAggregate(msgs: SeldonMessage[], via: SeldonVia = REST): Promise<SeldonMessage> {
    const hooked = await this.tryDeprecated("aggregate", via, { seldonMessages: msgs });
    if (hooked) return hooked;
    const raw = await this.tryRaw("aggregateRaw", "aggregate", msgs);
    if (raw) return raw;
    const f = this.fn("aggregate");
    if (!f) throw new SeldonError("Aggregate not defined");
    const { data: result, tags: runtimeTags, metrics: runtimeMetrics } = unwrap(
      await settle(f(msgs.map((m) => messagePayload(m)), msgs.map((m) => messageNames(m)))),
    );
    const metrics = this.customMetrics("aggregate", runtimeMetrics);
    // The answer mirrors the first message's kind; tags and requestPath merge (later wins), metrics concatenate.
    const merged: SeldonMeta = {};
    for (const m of msgs) {
      if (m.meta?.puid !== undefined && merged.puid === undefined) merged.puid = m.meta.puid;
      if (m.meta?.tags) merged.tags = { ...merged.tags, ...m.meta.tags };
      if (m.meta?.requestPath) merged.requestPath = { ...merged.requestPath, ...m.meta.requestPath };
      if (m.meta?.routing) merged.routing = { ...merged.routing, ...m.meta.routing };
      // A metric without a type (a COUNTER in protobuf's JSON form) is a COUNTER.
      if (m.meta?.metrics) merged.metrics = [...(merged.metrics ?? []), ...m.meta.metrics.map(withType)];
    }
    const template: SeldonMessage = { ...msgs[0], meta: merged };
    return buildResponse(result, template, {
      classNames: this.classNames(),
      tags: [this.staticTags(), runtimeTags],
      metrics,
      includeMetrics: this.includeMetricsInResponse,
      requestPath: this.requestPath(),
    });
  }

  async seldonSendFeedback(feedback: SeldonFeedback, via: SeldonVia = REST): Promise<SeldonMessage> {
    const reward = feedback.reward;
    if (typeof reward === "number" && reward !== 0) this.metricsSink?.feedback(this, reward);
    // Seldon's deprecated feedback hooks, on either transport: the REST one first, given the feedback's JSON.
    const restHook = this.fn("sendFeedbackRest");
    const grpcHook = restHook ? undefined : this.fn("sendFeedbackGrpc");
    if (restHook || grpcHook) {
      const request = restHook ? feedback : via.transport === "grpc" ? via.request : encodeFeedback(feedback);
      return feedbackAnswer(restHook ? "sendFeedbackRest" : "sendFeedbackGrpc", await settle((restHook ?? grpcHook)!(request)));
    }
    // A raw hook that answers nothing (feedback is often only recorded) answers an empty SeldonMessage.
    const raw = await this.tryRaw("sendFeedbackRaw", "feedback", feedback);
    if (raw) return raw;
    const f = this.fn("sendFeedback");
    const answer = f
      ? await settle(
          f(
            messagePayload(feedback.request),
            messageNames(feedback.request),
            reward ?? 0,
            feedback.truth ? messagePayload(feedback.truth) : undefined,
            feedback.response?.meta?.routing?.[this.unitId],
          ),
        )
      : undefined;
    // Nothing returned (Seldon's None) answers an empty ndarray.
    const { data, metrics: runtimeMetrics } = unwrap(answer ?? []);
    const metrics = this.customMetrics("feedback", runtimeMetrics);
    return buildResponse(data ?? [], feedback.request, {
      tags: [this.staticTags()],
      metrics,
      includeMetrics: this.includeMetricsInResponse,
    });
  }

  async seldonHealthStatus(): Promise<SeldonMessage> {
    const raw = await this.tryRaw("healthStatusRaw", "health");
    if (raw) return raw;
    const f = this.fn("healthStatus");
    const { data: result, metrics: runtimeMetrics } = unwrap(f ? await settle(f()) : "healthy");
    const metrics = this.customMetrics("health", runtimeMetrics);
    return buildResponse(result, undefined, { classNames: this.classNames(), tags: [this.staticTags()], metrics, includeMetrics: this.includeMetricsInResponse });
  }

  // ---- V1 / V2 clients reach the same predict ----

  override async predict(payload: any, context: RequestContext): Promise<unknown> {
    if (isInferRequest(payload)) return this.predictV2(payload);
    const body = payload as Record<string, unknown> | null;
    if (body && typeof body === "object" && ("data" in body || "strData" in body || "jsonData" in body || "binData" in body)) {
      // Checked as the Seldon routes check it (shapes, tftensor fields, --max_tensor_elements) before any conversion.
      return this.seldonPredict(parseSeldonMessage(body, context?.limits));
    }
    const instances = body?.instances ?? body?.inputs;
    if (!Array.isArray(instances)) throw new SeldonError('Expected {"instances": [...]} (or a Seldon message with "data")');
    const answer = await this.seldonPredict({ data: { ndarray: instances } });
    return { predictions: answerValue(answer) };
  }

  private async predictV2(request: InferRequest): Promise<InferResponse> {
    const input = request.inputs[0];
    if (!input) throw new SeldonError("The request has no inputs");
    const answer = await this.seldonPredict(tensorToMessage(input));
    return { modelName: this.name, outputs: [answerTensor(answer, input.datatype.startsWith("FP"))] };
  }

  override metadata(): ModelMetadata {
    const v = this.metadataResult.ok ? (this.metadataResult.value as { inputs?: unknown[]; outputs?: unknown[]; platform?: string }) : undefined;
    const isV2 = (t: unknown): t is { name: string; datatype: Datatype; shape: number[] } =>
      typeof (t as { datatype?: unknown })?.datatype === "string" && typeof (t as { name?: unknown }).name === "string";
    return {
      name: this.name,
      platform: v?.platform ?? "",
      inputs: (v?.inputs ?? []).filter(isV2),
      outputs: (v?.outputs ?? []).filter(isV2),
    };
  }
}

export function isSeldonComponent(value: unknown): value is SeldonComponent {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[COMPONENT_MARK] === true;
}
