import { Unsupported } from "../errors/index.ts";
import type { ModelMetadata } from "../protocol/index.ts";
import type { TensorMetadata } from "../tensor/index.ts";

export type Protocol = "v1" | "v2" | "grpc-v2";

/** What a model hook knows about the request besides its payload. */
export interface RequestContext {
  /** Request headers, lower-cased names. */
  headers: Record<string, string | string[] | undefined>;
  /** The wire protocol the request came in on. */
  protocol: Protocol;
  /** `x-request-id` when the client sent one. */
  requestId?: string;
  /** Headers a hook wants added to the response. */
  responseHeaders: Record<string, string>;
}

/** Options a runtime or the repository hands to a model's constructor. */
export interface ModelOptions {
  /** The model's own folder (for modules loaded from a repository). */
  modelDir?: string;
  /** `parameters` from model-settings.json. */
  parameters?: Record<string, unknown>;
  /** The version being loaded, for versioned repositories. */
  version?: string;
}

const MODEL_MARK = Symbol.for("tserve.Model");

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

  constructor(name: string) {
    this.name = name;
  }

  /** Loads weights or connects to resources; the default just marks the model ready. */
  load(): void | Promise<void> {
    this.ready = true;
  }

  /** Releases resources; called on unload and shutdown. */
  unload(): void | Promise<void> {
    this.ready = false;
  }

  preprocess(payload: any, _context: RequestContext): any {
    return payload;
  }

  predict(_payload: any, _context: RequestContext): any {
    throw new Unsupported(`Model ${this.name} does not implement predict`);
  }

  postprocess(result: any, _context: RequestContext): any {
    return result;
  }

  explain(_payload: any, _context: RequestContext): any {
    throw new Unsupported(`Model ${this.name} does not support explain`);
  }

  metadata(): ModelMetadata | Promise<ModelMetadata> {
    return { name: this.name, platform: this.platform, inputs: this.inputs, outputs: this.outputs };
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
