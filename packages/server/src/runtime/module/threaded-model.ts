import { Worker } from "node:worker_threads";
import {
  BadGateway,
  type ErrorKind,
  InferenceError,
  InvalidInput,
  NotAcceptable,
  TServeError,
  Unauthenticated,
  Unsupported,
  UpstreamTimeout,
} from "../../errors/index.ts";
import { Model, type ModelOptions, type RequestContext } from "../../model/index.ts";
import type { ModelMetadata } from "../../protocol/index.ts";
import { isInferRequest } from "../../protocol/index.ts";
import type { TensorMetadata } from "../../tensor/index.ts";

/**
 * A TypeScript/JavaScript model on worker threads (`instanceCount` ≥ 1 in its model-settings.json): each of the
 * `instances` workers (model-worker.mjs) builds its own instance of the user's class and runs the model's whole
 * pipeline (preprocess → predict/explain → postprocess) there, so a CPU-heavy predict does not block the event
 * loop. On the main thread this model's preprocess/postprocess are the identity and predict/explain forward the
 * request to the worker with the fewest requests in flight. Errors come back as the same TServeError status and
 * message they would have on the main thread.
 */

/** An error as it crosses from a worker (see model-worker.mjs). */
interface WireError {
  message: string;
  name: string;
  status?: number;
  kind?: ErrorKind;
  code?: string;
  tserve: boolean;
  isError: boolean;
  rangeOverflow: boolean;
}

interface ReadyMessage {
  type: "ready";
  metadata: ModelMetadata;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  platform: string;
  transformer: boolean;
}

type WorkerMessage =
  | ReadyMessage
  | { type: "load-error"; error: WireError }
  | { id: number; result: unknown; responseHeaders?: Record<string, string> }
  | { id: number; error: WireError };

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  ctx: RequestContext;
}

interface Slot {
  worker: Worker;
  state: "loading" | "ready" | "dead";
  loaded: Promise<ReadyMessage>;
  exited: Promise<number>;
  inFlight: Map<number, Pending>;
  crash?: Error;
  loadError?: Error;
}

const WORKER_URL = new URL("./model-worker.mjs", import.meta.url);
/** Sources run as .ts (tsx); a build runs .js files beside this one. */
const EXT = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const LOADER_URL = new URL(`./load-module${EXT}`, import.meta.url).href;
const PROTOCOL_URL = new URL(`../../protocol/types${EXT}`, import.meta.url).href;

/** How long unload() waits for a worker's own model.unload() before terminating the thread. */
const UNLOAD_WAIT_MS = 30_000;

/** What the worker's model declared, before the main side copies it. */
export interface DeclaredMetadata {
  inputs?: TensorMetadata[];
  outputs?: TensorMetadata[];
}

export class ThreadedModuleModel extends Model {
  private readonly file: string;
  private readonly options: ModelOptions;
  private readonly instances: number;
  private readonly declared: DeclaredMetadata;
  private slots: Slot[] = [];
  private workerMetadata?: ModelMetadata;
  private released = false;
  private nextId = 1;
  private cursor = 0;

  constructor(file: string, name: string, options: ModelOptions, instances: number, declared: DeclaredMetadata = {}) {
    // Predictor settings are not applied here: a transformer forwards to a remote predictor, which threads do
    // not speed up; load() refuses that combination.
    super(name);
    this.file = file;
    this.options = { modelDir: options.modelDir, parameters: options.parameters, version: options.version };
    this.instances = Math.max(1, Math.floor(instances));
    this.declared = declared;
    if (options.predictorHost) this.predictorHost = options.predictorHost;
  }

  /** The worker threads currently serving this model (tests look at them). */
  get workers(): Worker[] {
    return this.slots.map((s) => s.worker);
  }

  override async load(): Promise<void> {
    if (this.predictorHost) throw this.transformerError();
    this.released = false;
    this.slots = [];
    for (let i = 0; i < this.instances; i++) this.slots.push(this.start());
    let first: ReadyMessage;
    try {
      [first] = await Promise.all(this.slots.map((s) => s.loaded));
    } catch (err) {
      this.released = true;
      await Promise.all(this.slots.map((s) => this.stop(s, true)));
      throw err;
    }
    if (first.transformer) {
      this.released = true;
      await Promise.all(this.slots.map((s) => this.stop(s, false)));
      throw this.transformerError();
    }
    this.inputs = first.inputs;
    this.outputs = first.outputs;
    this.platform = first.platform;
    this.workerMetadata = first.metadata;
    this.ready = true;
  }

  override async unload(): Promise<void> {
    this.ready = false;
    if (this.released) return;
    this.released = true;
    await Promise.all(this.slots.map((s) => this.stop(s, false)));
  }

  override preprocess(payload: unknown): unknown {
    return payload;
  }

  override postprocess(result: unknown): unknown {
    return result;
  }

  override predict(payload: unknown, ctx: RequestContext): Promise<unknown> {
    return this.send("infer", payload, ctx);
  }

  override explain(payload: unknown, ctx: RequestContext): Promise<unknown> {
    return this.send("explain", payload, ctx);
  }

  override metadata(): ModelMetadata {
    return this.workerMetadata ?? { name: this.name, platform: this.platform, inputs: this.inputs, outputs: this.outputs };
  }

  private transformerError(): InvalidInput {
    return new InvalidInput(
      `Model ${this.name} sets instanceCount (worker threads) and is a transformer (predictorHost): its predict forwards ` +
        `to a remote predictor, which threads do not speed up; remove instanceCount from its model-settings.json`,
    );
  }

  private start(): Slot {
    // execArgv: the worker registers tsx itself and needs none of the parent's flags (`node -e`, a loader).
    const worker = new Worker(WORKER_URL, {
      workerData: {
        loaderUrl: LOADER_URL,
        protocolUrl: PROTOCOL_URL,
        file: this.file,
        name: this.name,
        options: this.options,
        declared: this.declared,
      },
      execArgv: [],
    });
    let settle!: { resolve(m: ReadyMessage): void; reject(e: Error): void };
    const loaded = new Promise<ReadyMessage>((resolve, reject) => (settle = { resolve, reject }));
    loaded.catch(() => {}); // observed by whoever waits on it
    const exited = new Promise<number>((resolve) => worker.once("exit", resolve));
    const slot: Slot = { worker, state: "loading", loaded, exited, inFlight: new Map() };

    worker.on("message", (msg: WorkerMessage) => {
      if ("type" in msg) {
        if (msg.type === "ready") {
          if (slot.state === "loading") slot.state = "ready";
          if (slot.inFlight.size === 0) worker.unref();
          settle.resolve(msg);
        } else {
          slot.loadError = rebuildError(msg.error);
          settle.reject(slot.loadError);
        }
        return;
      }
      const pending = slot.inFlight.get(msg.id);
      if (!pending) return;
      slot.inFlight.delete(msg.id);
      if (slot.inFlight.size === 0 && slot.state === "ready") worker.unref();
      if ("error" in msg) {
        pending.reject(rebuildError(msg.error));
      } else {
        if (msg.responseHeaders) Object.assign(pending.ctx.responseHeaders, msg.responseHeaders);
        pending.resolve(msg.result);
      }
    });
    worker.on("error", (err) => {
      slot.crash = err;
    });
    worker.on("exit", (code) => {
      const served = slot.state === "ready";
      slot.state = "dead";
      const why = slot.crash ? `: ${slot.crash.message}` : "";
      settle.reject(
        slot.loadError ??
          new InferenceError(`The worker thread for model ${this.name} exited (code ${code}) before loading the model${why}`, {
            cause: slot.crash,
          }),
      );
      const inFlight = [...slot.inFlight.values()];
      slot.inFlight.clear();
      if (inFlight.length > 0) {
        const err = this.released
          ? new InferenceError(`Model ${this.name} was unloaded while this request was in flight`)
          : slot.loadError
            ? new InferenceError(`A new worker thread could not load model ${this.name}: ${slot.loadError.message}`)
            : new InferenceError(
                `The worker thread running model ${this.name} stopped (exit code ${code}${why}) while running this request`,
                { cause: slot.crash },
              );
        for (const p of inFlight) p.reject(err);
      }
      // A worker that served and died is replaced at once; one that failed to load waits for the next request.
      if (!this.released && served) {
        const index = this.slots.indexOf(slot);
        if (index >= 0) this.slots[index] = this.start();
      }
    });
    return slot;
  }

  /** Asks a worker to unload its model and end; `now` (or one that does not end in time) is terminated. */
  private async stop(slot: Slot, now: boolean): Promise<void> {
    if (slot.state === "dead") return;
    if (now) {
      await slot.worker.terminate();
      return;
    }
    slot.worker.ref(); // until it has exited, so `await unload()` completes
    try {
      slot.worker.postMessage({ kind: "unload" });
    } catch {
      // Already gone.
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), UNLOAD_WAIT_MS);
      timer.unref();
    });
    const outcome = await Promise.race([slot.exited, timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") await slot.worker.terminate();
  }

  /** The worker with the fewest requests in flight (ties: round robin); loaded workers first. */
  private pick(): Slot {
    let candidates = this.slots.filter((s) => s.state === "ready");
    if (candidates.length === 0) candidates = this.slots.filter((s) => s.state === "loading");
    if (candidates.length === 0) {
      // Every worker failed to come back: try again for this request.
      for (let i = 0; i < this.slots.length; i++) this.slots[i] = this.start();
      candidates = this.slots;
    }
    let best: Slot | undefined;
    let bestIndex = 0;
    for (let k = 0; k < candidates.length; k++) {
      const index = (this.cursor + k) % candidates.length;
      const s = candidates[index];
      if (!best || s.inFlight.size < best.inFlight.size) {
        best = s;
        bestIndex = index;
      }
    }
    this.cursor = (bestIndex + 1) % candidates.length;
    return best!;
  }

  private send(kind: "infer" | "explain", payload: unknown, ctx: RequestContext): Promise<unknown> {
    if (this.released || this.slots.length === 0) {
      return Promise.reject(new InferenceError(`Model ${this.name} is not loaded in its worker threads`));
    }
    const transfer: ArrayBuffer[] = [];
    let message: unknown;
    const id = this.nextId++;
    try {
      message = {
        id,
        kind,
        payload: compact(payload, transfer),
        isV2: isInferRequest(payload),
        ctx: { headers: ctx.headers, protocol: ctx.protocol, requestId: ctx.requestId, limits: ctx.limits },
      };
    } catch (err) {
      return Promise.reject(err as Error);
    }
    const slot = this.pick();
    return new Promise<unknown>((resolve, reject) => {
      slot.inFlight.set(id, { resolve, reject, ctx });
      slot.worker.ref(); // a request in flight keeps the process alive until it is answered
      try {
        slot.worker.postMessage(message, transfer);
      } catch (err) {
        slot.inFlight.delete(id);
        if (slot.inFlight.size === 0 && slot.state === "ready") slot.worker.unref();
        reject(err as Error);
      }
    });
  }
}

/** Error classes rebuilt by their code, so `instanceof` holds on the main thread too. */
const BY_CODE: Record<string, (message: string) => TServeError> = {
  TSERVE_INVALID_INPUT: (m) => new InvalidInput(m),
  TSERVE_INFERENCE_ERROR: (m) => new InferenceError(m),
  TSERVE_UNSUPPORTED: (m) => new Unsupported(m),
  TSERVE_BAD_GATEWAY: (m) => new BadGateway(m),
  TSERVE_UPSTREAM_TIMEOUT: (m) => new UpstreamTimeout(m),
  TSERVE_NOT_ACCEPTABLE: (m) => new NotAcceptable(m),
  TSERVE_UNAUTHENTICATED: (m) => new Unauthenticated(m),
};

/**
 * The error a worker reported, as the main thread would have seen it: a TServeError with the same status, kind,
 * code and message; any other error with the same name, message and status (toTServeError then maps it as usual).
 */
function rebuildError(e: WireError): Error {
  if (e.tserve) {
    const status = e.status ?? 500;
    const known = e.code ? BY_CODE[e.code]?.(e.message) : undefined;
    const err =
      known?.status === status ? known : new TServeError(e.message, e.kind ?? "INTERNAL", status, e.code ?? "TSERVE_USER_ERROR");
    err.name = e.name;
    return err;
  }
  if (!e.isError) return new InferenceError(e.message);
  const err = e.rangeOverflow ? new RangeError(e.message) : new Error(e.message);
  err.name = e.name;
  if (e.status !== undefined) (err as Error & { status?: number }).status = e.status;
  return err;
}

/**
 * Gives every typed array in a payload a buffer of its own, listed to transfer: a decoded tensor may be a view
 * into a large request body, which structured clone would copy whole.
 */
function compact(value: unknown, transfer: ArrayBuffer[], depth = 0): unknown {
  if (typeof value !== "object" || value === null || depth > 16) return value;
  if (ArrayBuffer.isView(value)) {
    if (value instanceof DataView) return value;
    const bytes = new Uint8Array(value.byteLength);
    bytes.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    transfer.push(bytes.buffer);
    if (Buffer.isBuffer(value)) return bytes;
    const Ctor = value.constructor as new (buffer: ArrayBuffer) => ArrayBufferView;
    return new Ctor(bytes.buffer);
  }
  if (Array.isArray(value)) {
    if (value.length === 0 || typeof value[0] !== "object") return value;
    return value.map((v) => compact(v, transfer, depth + 1));
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) out[k] = compact((value as Record<string, unknown>)[k], transfer, depth + 1);
  return out;
}
