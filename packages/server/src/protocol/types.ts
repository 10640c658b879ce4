import type { Parameters, Tensor, TensorMetadata } from "../tensor/index.ts";

/** Protocol-agnostic inference request: what every V2 frontend (REST JSON, binary, gRPC) decodes into. */
export interface InferRequest {
  id?: string;
  parameters?: Parameters;
  inputs: Tensor[];
  /** Requested outputs, in the order the response should list them; absent means "all". */
  outputs?: RequestedOutput[];
}

export interface RequestedOutput {
  name: string;
  parameters?: Parameters;
}

export interface InferResponse {
  modelName: string;
  modelVersion?: string;
  id?: string;
  parameters?: Parameters;
  outputs: Tensor[];
}

export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
  properties?: Record<string, string>;
}

export interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

export interface ModelIndexEntry {
  name: string;
  version?: string;
  state: ModelState;
  reason: string;
}

export type ModelState = "UNKNOWN" | "LOADING" | "READY" | "UNLOADING" | "UNAVAILABLE";

const INFER_REQUEST = Symbol.for("tserve.InferRequest");

/** Marks a value as a decoded V2 request so models can tell it apart from a V1 JSON body. */
export function markInferRequest<T extends InferRequest>(request: T): T {
  // A symbol key is invisible to JSON.stringify and Object.keys, and cheaper than defineProperty.
  (request as unknown as Record<symbol, boolean>)[INFER_REQUEST] = true;
  return request;
}

export function isInferRequest(value: unknown): value is InferRequest {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[INFER_REQUEST] === true;
}

export function isInferResponse(value: unknown): value is InferResponse {
  return (
    typeof value === "object" &&
    value !== null &&
    Array.isArray((value as InferResponse).outputs) &&
    typeof (value as InferResponse).modelName === "string"
  );
}
