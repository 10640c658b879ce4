import { InferenceError, InvalidInput, ServerNotReady, toTServeError } from "../errors/index.ts";
import {
  type InferRequest,
  type InferResponse,
  isInferResponse,
  type ModelIndexEntry,
  type ModelMetadata,
  type ModelVersionStatistics,
  type ServerMetadata,
} from "../protocol/index.ts";
import {
  flatten,
  isDatatype,
  resolveTensorLimits,
  type Tensor,
  type TensorLimits,
  TensorValueError,
} from "../tensor/index.ts";
import type { Span } from "../net/index.ts";
import type { Model, RequestContext } from "./model.ts";
import type { ModelChange } from "./mutations.ts";
import type { ModelRepository } from "./repository.ts";
import type { ModelSettings } from "./settings.ts";
import { InferenceStatistics, type RequestRecord, requestBatchSize } from "./stats.ts";
import { withRequestTimeout } from "./request-timeout.ts";

export type Stage = "preprocess" | "predict" | "postprocess" | "explain";

/** A change of the served models made through the DataPlane. */
export interface ModelChangeEvent {
  action: "load" | "unload" | "install";
  name: string;
}

/** Receives timings and outcomes; the server's metrics module implements it. */
export interface InferenceObserver {
  stage(model: string, stage: Stage, seconds: number): void;
  outcome(model: string, version: string | undefined, ok: boolean): void;
}

export const SERVER_NAME = "tserve";
export const SERVER_VERSION = "0.1.0";
export const EXTENSIONS = [
  "model_repository",
  "binary_tensor_data",
  // Triton's: GET …/config and gRPC ModelConfig, …/stats and ModelStatistics, outputs' `classification` parameter.
  "model_configuration",
  "statistics",
  "classification",
];

/** How one V2 request runs, beyond its tensors (Triton's request parameters the frontends honour). */
export interface InferOptions {
  /** Triton's `timeout` parameter: the request fails once it has not been answered within this many µs. */
  timeoutMicroseconds?: number;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof (v as PromiseLike<unknown> | null)?.then === "function";
}

/**
 * The protocol-agnostic core: every frontend (V1, V2, gRPC, graphs) decodes into these calls and
 * encodes what they return. Knows models and errors, never wire formats.
 */
export class DataPlane {
  /** Only the DataPlane reaches the repository: frontends, graphs and runtimes go through the methods below. */
  private readonly repository: ModelRepository;
  /** What one request may declare (`--max_tensor_elements`); frontends hand it to their decoders. */
  readonly limits: Readonly<TensorLimits>;
  private readonly observer?: InferenceObserver;
  private readonly changeListeners = new Set<(change: ModelChangeEvent) => void>();
  /** Requests in flight per model. */
  private readonly running = new Map<string, number>();
  private stopping = false;
  /** Triton's statistics extension: counts and durations per served model instance. */
  readonly stats = new InferenceStatistics();
  /** Triton's `--strict-readiness`: the server is ready only while every model that should be served is READY. */
  private readonly strictReadiness: boolean;

  constructor(
    repository: ModelRepository,
    observer?: InferenceObserver,
    options: { limits?: Partial<TensorLimits>; strictReadiness?: boolean } = {},
  ) {
    this.repository = repository;
    this.observer = observer;
    this.limits = Object.freeze(resolveTensorLimits(options.limits));
    this.strictReadiness = options.strictReadiness ?? true;
  }

  live(): boolean {
    return true;
  }

  /**
   * The server's readiness (V2 `/v2/health/ready`, gRPC `ServerReady`), false once shutdown begins. Strict (the
   * default, Triton's `--strict-readiness`): also false while any model that should be served is not READY
   * (`ModelRepository.unready()`: loading, or UNAVAILABLE after a failed or timed-out load or a fault; a version
   * unloaded on purpose does not count). Not strict: the server is up. Either way, models that check their
   * predictor's health (transformers, `--enable_predictor_health_check`) must also report healthy.
   */
  async ready(): Promise<boolean> {
    if (this.stopping) return false;
    if (this.strictReadiness && this.repository.unready().length > 0) return false;
    const checks = this.repository.readyModels().filter((m) => m.enablePredictorHealthCheck);
    if (checks.length === 0) return true;
    const results = await Promise.all(checks.map((m) => m.healthy()));
    return results.every(Boolean);
  }

  markStopping(): void {
    this.stopping = true;
  }

  serverMetadata(): ServerMetadata {
    return { name: SERVER_NAME, version: SERVER_VERSION, extensions: EXTENSIONS };
  }

  async modelReady(name: string, version?: string): Promise<boolean> {
    if (!this.repository.isReady(name, version)) return false;
    return this.repository.get(name, version).healthy();
  }

  async modelMetadata(name: string, version?: string): Promise<ModelMetadata> {
    const model = this.repository.get(name, version);
    const meta = await model.metadata();
    const versions = this.repository.versions(name);
    return { ...meta, name, ...(versions.length > 0 ? { versions } : {}) };
  }

  // --- the repository, as frontends see it ---

  /** The names of every model served or known (any state). */
  modelNames(): string[] {
    return this.repository.names();
  }

  /** True when a model by that name is known (in any state). */
  hasModel(name: string): boolean {
    return this.repository.names().includes(name);
  }

  /** Whether the model (or that version) is READY, without asking its predictor; ModelNotFound when unknown. */
  isModelReady(name: string, version?: string): boolean {
    return this.repository.isReady(name, version);
  }

  /** The served model itself, for in-process callers that speak to it directly (Seldon units, protocol adapters). */
  model(name: string, version?: string): Model {
    return this.repository.get(name, version);
  }

  /** The version that answers for `version` (the latest ready one when undefined); ModelNotFound / ModelNotReady otherwise. */
  resolveVersion(name: string, version?: string): string | undefined {
    return this.repository.resolve(name, version).version;
  }

  /** The version a TF Serving label names in model-settings.json `versionLabels`; undefined for an unknown label. */
  resolveLabel(name: string, label: string): string | undefined {
    return this.repository.resolveLabel(name, label);
  }

  /** The model's ready versions (empty for an unversioned model). */
  versions(name: string): string[] {
    return this.repository.versions(name);
  }

  /** The model's model-settings.json (empty for models registered in code). */
  settingsOf(name: string): ModelSettings {
    return this.repository.settingsOf(name);
  }

  /** The repository index: every model version and its state (only READY ones when `readyOnly`). */
  index(readyOnly = false): ModelIndexEntry[] {
    return this.repository.index(readyOnly);
  }

  /** (Re)loads a model from disk; `change` runs it inside a change of the model already under way. */
  load(name: string, change?: ModelChange): Promise<void> {
    return this.changed("load", name, this.repository.load(name, change));
  }

  /** Unloads every version of a model. */
  unload(name: string, change?: ModelChange): Promise<void> {
    return this.changed("unload", name, this.repository.unload(name, change));
  }

  /** Serves a model folder just installed on disk (an upload), inside the change that installed it. */
  install(name: string, change?: ModelChange): Promise<void> {
    return this.changed("install", name, this.repository.install(name, change));
  }

  /**
   * Called after each successful load, unload or install made through the DataPlane (the repository API, gRPC, an
   * upload; not the poller's own scans): `--workers` passes them on to the other worker processes.
   */
  onModelChange(listener: (change: ModelChangeEvent) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private async changed(action: ModelChangeEvent["action"], name: string, work: Promise<void>): Promise<void> {
    await work;
    for (const listener of this.changeListeners) listener({ action, name });
  }

  /** Runs `task` as the only change of `name` (an upload's swap and load); ModelBusy while another runs. */
  withModelChange<T>(name: string, action: string, task: (change: ModelChange) => Promise<T>): Promise<T> {
    return this.repository.mutations.run(name, action, task);
  }

  // --- inference ---

  /** V2 inference: the request's tensors through the model's pipeline, outputs filtered as asked. */
  async infer(
    name: string,
    version: string | undefined,
    request: InferRequest,
    ctx: RequestContext,
    options: InferOptions = {},
  ): Promise<InferResponse> {
    return this.counted(name, version, toTServeError, async (model, resolved, record) => {
      ctx.limits ??= this.limits;
      ctx.span?.set("tserve.model.version", resolved);
      const run = this.pipeline(model, request, ctx, "predict", record);
      const result = await (options.timeoutMicroseconds ? withRequestTimeout(run, options.timeoutMicroseconds, name) : run);
      const response = toInferResponse(result, name);
      response.modelName = name;
      if (resolved !== undefined) response.modelVersion = resolved;
      if (request.id !== undefined) response.id = request.id;
      if (request.outputs && request.outputs.length > 0) response.outputs = selectOutputs(response.outputs, request);
      record.success(requestBatchSize(request.inputs, this.repository.settingsOf(name).maxBatchSize));
      return response;
    });
  }

  /**
   * V1 predict or explain: the JSON body through the pipeline; the model's answer goes back as is (a transformer whose
   * predictor spoke V2 may answer tensors: the V1 codec, `v1.v1Result`, turns them into predictions).
   */
  async predictV1(
    name: string,
    version: string | undefined,
    body: unknown,
    ctx: RequestContext,
    verb: "predict" | "explain" = "predict",
  ): Promise<unknown> {
    return this.counted(name, version, toTServeError, async (model, resolved, record) => {
      // A runtime that turns the V1 body into tensors (the ONNX runtime) bounds them by the server's limits.
      ctx.limits ??= this.limits;
      ctx.span?.set("tserve.model.version", resolved);
      const result = await this.pipeline(model, body, ctx, verb, record);
      record.success();
      return result;
    });
  }

  /**
   * Runs one call on a served model (the Seldon protocol's predict, route, aggregate …) with the same
   * shutdown check, lookup and success/failure counting as `infer`. Errors pass through unchanged so the
   * caller's protocol can map user errors to their own status and body.
   */
  async invoke<T>(name: string, version: string | undefined, stage: Stage, call: (model: Model) => Promise<T>): Promise<T> {
    return this.counted(name, version, (err) => err, async (model, _resolved, record) => {
      const t = performance.now();
      const result = await call(model);
      this.observer?.stage(name, stage, (performance.now() - t) / 1000);
      record.stage(stage, performance.now() - t);
      record.success();
      return result;
    });
  }

  /**
   * What every call on a served model shares: the shutdown check, the version lookup, the in-flight count, the
   * model's statistics record and the outcome counters. `run` records its own success (it knows the batch size);
   * a failure is recorded here and rethrown through `mapError`.
   */
  private async counted<T>(
    name: string,
    version: string | undefined,
    mapError: (err: unknown) => unknown,
    run: (model: Model, resolved: string | undefined, record: RequestRecord) => Promise<T>,
  ): Promise<T> {
    if (this.stopping) throw new ServerNotReady("Server is shutting down.");
    const { model, version: resolved } = this.repository.resolve(name, version);
    const record = this.stats.begin(model);
    this.enter(name);
    try {
      const result = await run(model, resolved, record);
      this.observer?.outcome(name, resolved, true);
      return result;
    } catch (err) {
      record.failure();
      this.observer?.outcome(name, resolved, false);
      throw mapError(err);
    } finally {
      this.leave(name);
    }
  }

  /**
   * Triton's statistics extension: every READY version's figures (all models, one model, or one version).
   * ModelNotFound for an unknown model or version; InvalidInput when it is known but not READY (Triton's answer).
   */
  statistics(name?: string, version?: string): ModelVersionStatistics[] {
    return this.stats.report(this.repository.index(), (n, v) => this.repository.resolve(n, v).model, name, version);
  }

  /** Requests being answered right now, per model (the in-flight gauge autoscalers read). */
  inFlight(): ReadonlyMap<string, number> {
    return this.running;
  }

  private enter(name: string): void {
    this.running.set(name, (this.running.get(name) ?? 0) + 1);
  }

  private leave(name: string): void {
    this.running.set(name, (this.running.get(name) ?? 1) - 1);
  }

  private async pipeline(
    model: Model,
    payload: unknown,
    ctx: RequestContext,
    verb: "predict" | "explain",
    record?: RequestRecord,
  ): Promise<unknown> {
    // An unsampled span (kept in ctx for outbound calls' traceparent) records nothing: the plain path serves it.
    if (ctx.span?.context.sampled) return this.tracedPipeline(model, payload, ctx, verb, record, ctx.span);
    const obs = this.observer;
    const name = model.name;
    // Hooks are called directly (no per-call async context): stray errors they leave behind (timers, promises)
    // are attributed to the model by their stacks, see model/faults.ts.
    // Hooks may be sync or async (KServe semantics); a sync hook is not wrapped in a promise.
    let t = performance.now();
    let value: unknown = model.preprocess(payload, ctx);
    if (isThenable(value)) value = await value;
    let now = performance.now();
    obs?.stage(name, "preprocess", (now - t) / 1000);
    record?.stage("preprocess", now - t);
    t = now;
    value = verb === "predict" ? model.predict(value, ctx) : model.explain(value, ctx);
    if (isThenable(value)) value = await value;
    now = performance.now();
    obs?.stage(name, verb, (now - t) / 1000);
    record?.stage(verb, now - t);
    t = now;
    value = model.postprocess(value, ctx);
    if (isThenable(value)) value = await value;
    now = performance.now();
    obs?.stage(name, "postprocess", (now - t) / 1000);
    record?.stage("postprocess", now - t);
    return value;
  }

  /** The pipeline with a span per stage (tracing on); `ctx.span` is the stage's own while it runs, for outbound calls. */
  private async tracedPipeline(
    model: Model,
    payload: unknown,
    ctx: RequestContext,
    verb: "predict" | "explain",
    record: RequestRecord | undefined,
    parent: Span,
  ): Promise<unknown> {
    const attributes = { "tserve.model.name": model.name };
    parent.set("tserve.model.name", model.name);
    let value: unknown = payload;
    for (const stage of ["preprocess", verb, "postprocess"] as const) {
      const span = parent.child(stage, "internal", attributes);
      ctx.span = span;
      const t = performance.now();
      try {
        value = stage === "preprocess" ? model.preprocess(value, ctx) : stage === "postprocess" ? model.postprocess(value, ctx) : stage === "predict" ? model.predict(value, ctx) : model.explain(value, ctx);
        if (isThenable(value)) value = await value;
      } catch (err) {
        span.fail((err as Error)?.message);
        throw err;
      } finally {
        span.end();
        ctx.span = parent;
      }
      const ms = performance.now() - t;
      this.observer?.stage(model.name, stage, ms / 1000);
      record?.stage(stage, ms);
    }
    return value;
  }
}

/** Accepts an InferResponse, or a plain `{outputs:[{name, shape, datatype, data}]}` with nested JSON data. */
export function toInferResponse(result: unknown, modelName: string): InferResponse {
  if (isInferResponse(result)) return result;
  const outputs = (result as { outputs?: unknown })?.outputs;
  if (typeof result !== "object" || result === null || !Array.isArray(outputs)) {
    throw new InferenceError(
      `Model ${modelName} returned ${describe(result)} to a V2 request; return an InferResponse ({ outputs: Tensor[] })`,
    );
  }
  return { modelName, outputs: outputs.map((o, i) => toTensor(o, i, modelName)) };
}

function toTensor(o: unknown, i: number, modelName: string): Tensor {
  const t = o as Partial<Tensor> & { data?: unknown };
  if (typeof t?.name !== "string" || !isDatatype(t.datatype) || !Array.isArray(t.shape)) {
    throw new InferenceError(`Model ${modelName} returned an invalid output #${i}: it needs name, datatype and shape`);
  }
  if (ArrayBuffer.isView(t.data) || (Array.isArray(t.data) && t.data.every((e) => e instanceof Uint8Array))) {
    return t as Tensor;
  }
  try {
    return { name: t.name, datatype: t.datatype, shape: t.shape, data: flatten(t.data, t.datatype, t.shape) };
  } catch (err) {
    if (err instanceof TensorValueError)
      throw new InferenceError(`Model ${modelName} output '${t.name}' ${err.message}`);
    throw err;
  }
}

function selectOutputs(outputs: Tensor[], request: InferRequest): Tensor[] {
  return request.outputs!.map((o) => {
    const found = outputs.find((t) => t.name === o.name);
    if (!found) {
      throw new InvalidInput(
        `Unexpected inference output '${o.name}'; the model produces: ${outputs.map((t) => t.name).join(", ")}`,
      );
    }
    return found;
  });
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object without 'outputs'" : `a ${typeof v}`;
}
