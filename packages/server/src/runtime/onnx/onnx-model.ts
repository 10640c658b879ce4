import { basename } from "node:path";
import type * as ort from "onnxruntime-node";
import { InvalidInput } from "../../errors/index.ts";
import { stat } from "node:fs/promises";
import { Batcher, eventLoopBusy, runInSlices } from "../../engine/index.ts";
import type { Span } from "../../net/index.ts";
import { Model, type ModelOptions, type ModelSettings, type RequestContext } from "../../model/index.ts";
import { isInferRequest, v1 } from "../../protocol/index.ts";
import { formatShape, shapeMatches, type Tensor, type TensorMetadata } from "../../tensor/index.ts";
import { datatypeOfOrt, fromOrtTensor, toOrtTensor } from "./convert.ts";
import { createOrtSession, ortLogSeverity, type OrtSession } from "./session.ts";
import { createPooledSession } from "./session-pool.ts";

/** The engine's settings from model-settings.json (src/engine). */
export type OnnxEngineSettings = Pick<ModelSettings, "instanceCount" | "maxBatchSize" | "preferredBatchSizes" | "maxQueueDelayMicroseconds" | "maxQueueSize">;

/** One worker thread per model unless settings say otherwise: inference never runs on the event loop by default. */
export const DEFAULT_INSTANCE_COUNT = 1;
/**
 * The inline fast path (see run()): a small model (file up to this size) also gets a session on the event loop,
 * used for small requests while the loop has room, as long as its runs stay short.
 */
const INLINE_MAX_MODEL_BYTES = 16 * 1024 * 1024;
const INLINE_MAX_INPUT_BYTES = 64 * 1024;
/** The fast path ends when runs average more than this (an EWMA, so one run preempted by the OS does not end it)… */
const INLINE_MAX_MEAN_RUN_MS = 1;
/** …or when one run takes this long. */
const INLINE_MAX_RUN_MS = 50;
/** Unbatched runs handed to one thread at a time (see load()). */
const RUNS_IN_FLIGHT_PER_THREAD = 4;
/** Requests that may wait for a run before new ones get 503 + Retry-After (settings' maxQueueSize; 0: no limit). */
export const DEFAULT_MAX_QUEUE_SIZE = 1024;

export interface OnnxModelOptions extends ModelOptions {
  /** Path of the .onnx file. */
  path: string;
  /** Overrides for the metadata read from the graph (e.g. fixed dims). */
  inputs?: TensorMetadata[];
  outputs?: TensorMetadata[];
  sessionOptions?: ort.InferenceSession.SessionOptions;
  /** Threads, adaptive batching and the queue bound (model-settings.json). */
  engine?: OnnxEngineSettings;
}

/** An ONNX file served with onnxruntime-node; its metadata comes from the graph. */
export class OnnxModel extends Model {
  session?: OrtSession;
  /** Queues runs (bounded), merges compatible requests into one run when batching is on, spreads them over the threads. */
  private batcher?: Batcher;
  /** A session on the event loop for the inline fast path (small models, unbatched, threads on). */
  private inline?: OrtSession;
  /** Moving average of the inline runs' durations, ms. */
  private inlineMeanMs = 0;
  private readonly options: OnnxModelOptions;

  constructor(name: string, options: OnnxModelOptions) {
    super(name);
    this.options = options;
    this.platform = "onnx_onnxv1";
  }

  override async load(): Promise<void> {
    const threads = Number(
      this.options.parameters?.intraOpNumThreads ?? this.options.parameters?.intra_op_threads ?? 1,
    );
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ["cpu"],
      graphOptimizationLevel: "all",
      intraOpNumThreads: threads,
      ...this.options.sessionOptions,
    };
    const engine = this.options.engine ?? {};
    const instances = engine.instanceCount ?? DEFAULT_INSTANCE_COUNT;
    this.session =
      instances === 0
        ? await createOrtSession(this.options.path, sessionOptions)
        : await createPooledSession(this.options.path, { logSeverityLevel: ortLogSeverity(), ...sessionOptions }, { instances });
    if (this.options.inputs) {
      // A typo in settings would otherwise only show as every request failing with "Input ... is missing".
      const names = this.session.inputMetadata.map((m) => m.name);
      const absent = this.options.inputs.filter((m) => !names.includes(m.name)).map((m) => `'${m.name}'`);
      if (absent.length > 0) {
        const session = this.session;
        this.session = undefined;
        await session.release();
        throw new InvalidInput(
          `Model ${this.name}: model-settings.json names input${absent.length > 1 ? "s" : ""} ${absent.join(", ")}, which ${basename(this.options.path)} does not have; its inputs are: ${names.join(", ") || "none"}`,
        );
      }
    }
    this.inputs = this.options.inputs ?? this.session.inputMetadata.map(toMetadata);
    this.outputs = this.options.outputs ?? this.session.outputMetadata.map(toMetadata);
    const batching = (engine.maxBatchSize ?? 0) > 1;
    if (instances > 0 && !batching && (await stat(this.options.path)).size <= INLINE_MAX_MODEL_BYTES) {
      this.inline = await createOrtSession(this.options.path, sessionOptions);
    }
    // On the event loop without batching, a run is a plain synchronous call: nothing to queue.
    if (instances > 0 || batching) {
      this.batcher = new Batcher(
        (inputs, fetches) => this.runSession(inputs, fetches),
        {
          name: this.name,
          maxBatchSize: batching ? engine.maxBatchSize! : 1,
          preferredBatchSizes: batching ? engine.preferredBatchSizes : undefined,
          maxQueueDelayMicroseconds: engine.maxQueueDelayMicroseconds ?? 0,
          maxQueueSize: engine.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE,
          // Unbatched, a few runs per thread are handed over at once so a thread never waits for the next message (iris
          // at 32 connections: +33 % req/s over running on the event loop, bench/RESULTS.md); batched, one per thread,
          // so that requests arriving meanwhile form the next batch.
          maxConcurrentRuns: Math.max(1, instances) * (batching ? 1 : RUNS_IN_FLIGHT_PER_THREAD),
        },
        this.engineObserver,
      );
    }
    this.ready = true;
  }

  override async unload(): Promise<void> {
    this.ready = false;
    this.batcher?.close();
    this.batcher = undefined;
    const inline = this.inline;
    this.inline = undefined;
    await inline?.release();
    const s = this.session;
    this.session = undefined;
    await s?.release();
  }

  /** V2 requests run as they are; a V1 body is turned into tensors by the V1 codec and answered in kind. */
  override predict(payload: unknown, ctx: RequestContext): unknown {
    if (isInferRequest(payload)) {
      const outputs = this.run(
        payload.inputs,
        payload.outputs?.map((o) => o.name),
        ctx?.span,
      );
      if (outputs instanceof Promise) return outputs.then((o) => ({ modelName: this.name, outputs: o }));
      return { modelName: this.name, outputs };
    }
    // A large body's rows are turned into tensors in slices, so other requests are served meanwhile.
    const converted = runInSlices(v1.v1ToInferRequestSteps(payload, this.inputs, ctx?.limits));
    if (converted instanceof Promise) return converted.then((c) => this.runV1(c, ctx?.span));
    return this.runV1(converted, ctx?.span);
  }

  private runV1({ request, format }: v1.V1Request, span?: Span): unknown {
    const outputs = this.run(request.inputs, undefined, span);
    if (outputs instanceof Promise) return outputs.then((o) => v1.tensorsToV1(o, format));
    return v1.tensorsToV1(outputs, format);
  }

  /**
   * Checks the tensors against the model's inputs, then runs them: through the engine's queue (batched with others
   * when batching is on, on a worker thread), or directly on the event loop when the model has no threads.
   */
  run(inputs: Tensor[], outputNames?: readonly string[], span?: Span): Tensor[] | Promise<Tensor[]> {
    const session = this.session;
    if (!session) throw new InvalidInput(`Model ${this.name} is not loaded`);
    const given = new Set<string>();
    for (const t of inputs) {
      const meta = this.inputs.find((m) => m.name === t.name);
      if (!meta) {
        throw new InvalidInput(
          `Model ${this.name} has no input named '${t.name}'; its inputs are: ${this.inputs.map((m) => m.name).join(", ")}`,
        );
      }
      checkInput(t, meta);
      given.add(t.name);
    }
    for (const m of this.inputs) {
      if (!given.has(m.name)) throw new InvalidInput(`Input '${m.name}' (${m.datatype} ${formatShape(m.shape)}) is missing`);
    }
    const fetches = outputNames && outputNames.length > 0 ? outputNames : session.outputNames;
    for (const n of fetches) {
      if (!session.outputNames.includes(n)) {
        throw new InvalidInput(
          `Unexpected inference output '${n}'; the model produces: ${session.outputNames.join(", ")}`,
        );
      }
    }
    if (this.inline && this.batcher?.queued === 0 && this.batcher.running === 0 && small(inputs) && !eventLoopBusy()) {
      return this.runInline(this.inline, inputs, fetches);
    }
    if (this.batcher && span) return this.batcher.submit(inputs, fetches, queueWaitSpan(span));
    return this.batcher ? this.batcher.submit(inputs, fetches) : this.runSession(inputs, fetches);
  }

  /**
   * The inline fast path. Handing a run to a thread costs a round trip (~50 µs here) that a sequential client waits
   * for on every request: iris at one connection went from 4,400 to 2,600 req/s. So while the event loop has room
   * and nothing is queued, a small request to a small model runs right here; runs that average more than
   * INLINE_MAX_MEAN_RUN_MS (or one over INLINE_MAX_RUN_MS) turn the fast path off for good: that model's runs are
   * not small enough to hold the loop.
   */
  private runInline(session: OrtSession, inputs: Tensor[], fetches: readonly string[]): Tensor[] | Promise<Tensor[]> {
    const started = performance.now();
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) feeds[t.name] = toOrtTensor(t);
    const results = session.run(feeds, fetches);
    if (results instanceof Promise) {
      // The public API path (no native binding) defers anyway: no gain from running here.
      this.dropInline();
      return results.then((r) => r.map((t, i) => fromOrtTensor(fetches[i], t)));
    }
    const ms = performance.now() - started;
    this.inlineMeanMs += (ms - this.inlineMeanMs) * 0.05;
    if (ms > INLINE_MAX_RUN_MS || this.inlineMeanMs > INLINE_MAX_MEAN_RUN_MS) this.dropInline();
    return results.map((t, i) => fromOrtTensor(fetches[i], t));
  }

  private dropInline(): void {
    const inline = this.inline;
    this.inline = undefined;
    void inline?.release();
  }

  /** One session run on checked tensors (one request's, or a batch's). */
  private runSession(inputs: Tensor[], fetches: readonly string[]): Tensor[] | Promise<Tensor[]> {
    const session = this.session;
    if (!session) throw new InvalidInput(`Model ${this.name} is not loaded`);
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) feeds[t.name] = toOrtTensor(t);
    const results = session.run(feeds, fetches);
    const convert = (r: ort.Tensor[]) => r.map((t, i) => fromOrtTensor(fetches[i], t));
    return results instanceof Promise ? results.then(convert) : convert(results);
  }
}

/** Whether a request's input data is small enough for the inline fast path. */
function small(inputs: Tensor[]): boolean {
  let bytes = 0;
  for (const t of inputs) {
    if (!ArrayBuffer.isView(t.data)) return false;
    bytes += t.data.byteLength;
  }
  return bytes <= INLINE_MAX_INPUT_BYTES;
}

function checkInput(t: Tensor, meta: TensorMetadata): void {
  if (t.datatype !== meta.datatype) {
    throw new InvalidInput(`Input '${t.name}' has datatype ${t.datatype}, but the model expects ${meta.datatype}`);
  }
  if (!shapeMatches(t.shape, meta.shape)) {
    throw new InvalidInput(
      `Input '${t.name}' has shape ${formatShape(t.shape)}, but the model expects ${formatShape(meta.shape)} (-1 = any size)`,
    );
  }
}

function toMetadata(m: ort.InferenceSession.ValueMetadata): TensorMetadata {
  if (!m.isTensor) throw new Error(`ONNX value '${m.name}' is not a tensor; tserve serves tensor inputs and outputs`);
  const datatype = datatypeOfOrt(m.type);
  if (!datatype) throw new Error(`ONNX value '${m.name}' has type ${m.type}, which tserve does not support`);
  // Symbolic dims ("batch") and unknown dims are variable: -1 in V2 metadata.
  const shape = m.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
  return { name: m.name, datatype, shape };
}

/** Tracing: a span from a request's arrival in the batcher's queue to the start of the batch it joined. */
function queueWaitSpan(parent: Span): (requests: number, rows: number) => void {
  const span = parent.child("queue wait");
  return (requests, rows) => {
    span.set("tserve.batch.size", requests);
    span.set("tserve.batch.rows", rows);
    span.end();
  };
}
