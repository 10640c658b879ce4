import { Unsupported } from "../errors/index.ts";
import type { ModelMetadata } from "../protocol/index.ts";
import type { TensorMetadata } from "../tensor/index.ts";
import {
  createRemotePredictor,
  type PredictorProtocol,
  type PredictorSettings,
  type RemotePredictor,
  validatePredictorSettings,
} from "./predictor.ts";
import type { RequestContext } from "./request-context.ts";

// Its own module so predictor.ts can use it without importing the Model class back.
export type { Protocol, RequestContext } from "./request-context.ts";

/** Options a runtime or the repository hands to a model's constructor. */
export interface ModelOptions extends PredictorSettings {
  /** The model's own folder (for modules loaded from a repository). */
  modelDir?: string;
  /** `parameters` from model-settings.json. */
  parameters?: Record<string, unknown>;
  /** The version being loaded, for versioned repositories. */
  version?: string;
}

const MODEL_MARK = Symbol.for("tserve.Model");

/** Receives a model's batches (rows and requests per run), queue waits and queue depth; the server's metrics. */
export interface EngineObserver {
  batch(rows: number, requests: number): void;
  queueWait(seconds: number): void;
  depth(queued: number): void;
}

/**
 * A served model, with KServe's lifecycle: `load()` once, then per request
 * `preprocess -> predict -> postprocess` (or `explain`). Every hook may be sync or async.
 *
 * `predict` receives a V1 JSON body (`{"instances": [...]}`) or a decoded V2 `InferRequest`
 * (see `isInferRequest`), whichever protocol the client used, after `preprocess`.
 */
export class Model {
  /** Lets the loader recognise subclasses even when two copies of tserve are installed. */
  static readonly [MODEL_MARK] = true;

  name: string;
  ready = false;
  /** Declared inputs and outputs, reported by the default `metadata()`. */
  inputs: TensorMetadata[] = [];
  outputs: TensorMetadata[] = [];
  /** V2 platform string, e.g. `onnx_onnxv1`. */
  platform = "";
  /** Set by the server before load(): where the model's execution engine (batching, queue) reports. */
  engineObserver?: EngineObserver;

  /** Set these (or pass them to the constructor) to make this model a transformer: `predict` then forwards. */
  predictorHost?: string;
  predictorProtocol: PredictorProtocol = "v1";
  predictorUseSsl = false;
  predictorRequestTimeoutSeconds = 600;
  predictorRequestRetries = 0;
  enablePredictorHealthCheck = false;
  predictorModelName?: string;
  private remote?: RemotePredictor;

  constructor(name: string, options: ModelOptions = {}) {
    this.name = name;
    applyPredictorSettings(this, options);
  }

  /** The client for `predictorHost`, created on first use. */
  protected predictor(): RemotePredictor {
    if (!this.predictorHost) throw new Unsupported(`Model ${this.name} has no predictorHost to forward to`);
    this.remote ??= createRemotePredictor({
      predictorHost: this.predictorHost,
      predictorProtocol: this.predictorProtocol,
      predictorUseSsl: this.predictorUseSsl,
      predictorRequestTimeoutSeconds: this.predictorRequestTimeoutSeconds,
      predictorRequestRetries: this.predictorRequestRetries,
    });
    return this.remote;
  }

  /** Loads weights or connects to resources; the default just marks the model ready. */
  load(): void | Promise<void> {
    this.ready = true;
  }

  /** Releases resources; called on unload and shutdown. */
  unload(): void | Promise<void> {
    this.ready = false;
    const remote = this.remote;
    this.remote = undefined;
    return remote?.close();
  }

  /** Readiness beyond `ready`: with the predictor health check on, the predictor must be ready too. */
  async healthy(): Promise<boolean> {
    if (!this.ready) return false;
    if (!this.enablePredictorHealthCheck || !this.predictorHost) return true;
    try {
      return await this.predictor().isModelReady(this.predictorModelName ?? this.name);
    } catch {
      return false;
    }
  }

  preprocess(payload: any, _context: RequestContext): any {
    return payload;
  }

  /** Forwards to `predictorHost` when one is set (a transformer); otherwise a model must override it. */
  predict(payload: any, context: RequestContext): any {
    if (this.predictorHost) return this.predictor().predict(this.predictorModelName ?? this.name, payload, context);
    throw new Unsupported(`Model ${this.name} does not implement predict`);
  }

  postprocess(result: any, _context: RequestContext): any {
    return result;
  }

  explain(payload: any, context: RequestContext): any {
    if (this.predictorHost) return this.predictor().explain(this.predictorModelName ?? this.name, payload, context);
    throw new Unsupported(`Model ${this.name} does not support explain`);
  }

  metadata(): ModelMetadata | Promise<ModelMetadata> {
    return { name: this.name, platform: this.platform, inputs: this.inputs, outputs: this.outputs };
  }
}

const PREDICTOR_KEYS: (keyof PredictorSettings)[] = [
  "predictorHost",
  "predictorProtocol",
  "predictorUseSsl",
  "predictorRequestTimeoutSeconds",
  "predictorRequestRetries",
  "enablePredictorHealthCheck",
  "predictorModelName",
];

/** Copies the predictor settings that are given onto a model (the CLI's flags reach module models this way). */
export function applyPredictorSettings(model: Model, settings: PredictorSettings): void {
  validatePredictorSettings(settings);
  for (const k of PREDICTOR_KEYS) {
    if (settings[k] !== undefined) (model as unknown as Record<string, unknown>)[k] = settings[k];
  }
}

export function isModelClass(value: unknown): value is new (name: string, options?: ModelOptions) => Model {
  return typeof value === "function" && (value as unknown as Record<symbol, unknown>)[MODEL_MARK] === true;
}

export function isModel(value: unknown): value is Model {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Model).predict === "function" &&
    typeof (value as Model).name === "string"
  );
}
