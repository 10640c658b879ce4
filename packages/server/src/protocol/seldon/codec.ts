import type { TensorLimits } from "../../tensor/index.ts";
import { SeldonError } from "./errors.ts";
import { isNDArray, NDArray } from "./ndarray.ts";
import { arrayToTfTensor, requestTfDtype, tfTensorToArray } from "./tftensor.ts";
import type { DefaultData, PayloadKind, SeldonMessage, SeldonMeta, SeldonMetric } from "./types.ts";

/** Which payload field a message carries (responses mirror it). */
export function payloadKind(msg: SeldonMessage | undefined): PayloadKind {
  if (!msg) return "none";
  if (msg.data) {
    if (msg.data.tensor) return "tensor";
    if (msg.data.tftensor) return "tftensor";
    return "ndarray";
  }
  if (msg.binData !== undefined) return "binData";
  if (msg.strData !== undefined) return "strData";
  if (msg.jsonData !== undefined) return "jsonData";
  return "none";
}

/**
 * What a component method receives: `data` as an NDArray (tensor reshaped, ndarray as given, no data -> empty),
 * `strData` as a string, `binData` as bytes, `jsonData` as the parsed value.
 */
export function messagePayload(msg: SeldonMessage | undefined, limits?: Partial<TensorLimits>): NDArray | string | Uint8Array | unknown {
  if (!msg) return new NDArray(new Float64Array(0), [0]);
  if (msg.data) return dataToArray(msg.data, limits);
  if (msg.binData !== undefined) return Buffer.from(msg.binData, "base64");
  if (msg.strData !== undefined) return msg.strData;
  if (msg.jsonData !== undefined) return msg.jsonData;
  throw new SeldonError("Invalid request data type: expected data, binData, strData or jsonData");
}

/** `data.names`, or [] */
export function messageNames(msg: SeldonMessage | undefined): string[] {
  return msg?.data?.names ?? [];
}

/**
 * `data` as an NDArray. A tftensor's shape is checked against `limits` (default: the limit parseSeldonMessage
 * checked it against, else DEFAULT_MAX_TENSOR_ELEMENTS) before its values are broadcast over it.
 */
export function dataToArray(data: DefaultData, limits?: Partial<TensorLimits>): NDArray {
  try {
    return toArray(data, limits);
  } catch (err) {
    // Shapes no array can hold, or nesting deeper than the stack: the request's fault, not a server error.
    if (err instanceof RangeError) throw new SeldonError(`Invalid request data: ${err.message}`);
    throw err;
  }
}

function toArray(data: DefaultData, limits: Partial<TensorLimits> | undefined): NDArray {
  if (data.tensor) {
    const { shape, values } = data.tensor;
    try {
      return new NDArray(Float64Array.from(values), shape);
    } catch (err) {
      throw new SeldonError(`data.tensor: ${(err as Error).message}`);
    }
  }
  if (data.tftensor) return tfTensorToArray(data.tftensor, limits);
  if (data.ndarray) return NDArray.from(data.ndarray);
  return new NDArray(new Float64Array(0), [0]);
}

const RESPONSE_MARK = Symbol.for("tserve.SeldonResponse");

/**
 * Returned from a component method to attach per-request tags and metrics to this answer only:
 * `return new SeldonResponse(X, { runtime: "tag" }, [{ type: "COUNTER", key: "rows", value: X.length }])`.
 */
export class SeldonResponse<T = unknown> {
  readonly [RESPONSE_MARK] = true;
  constructor(
    readonly data: T,
    readonly tags?: Record<string, unknown>,
    readonly metrics?: SeldonMetric[] | SeldonMetric,
  ) {}

  static create<T>(data: T, tags?: Record<string, unknown>, metrics?: SeldonMetric[] | SeldonMetric): SeldonResponse<T> {
    return new SeldonResponse(data, tags, metrics);
  }
}

export function isSeldonResponse(value: unknown): value is SeldonResponse {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[RESPONSE_MARK] === true;
}

export interface ResponseParts {
  /** class names for >= 2-D results (else t:0 … t:n-1). */
  classNames?: string[];
  /** Tags in precedence order, later wins: request tags come first automatically. */
  tags?: (Record<string, unknown> | undefined)[];
  /** Metrics to add after the request's (metrics() then runtime); omitted when includeMetrics is false. */
  metrics?: SeldonMetric[];
  includeMetrics?: boolean;
  /** This unit's {id: image}; incoming requestPath entries win. */
  requestPath?: Record<string, string>;
  /** Only echo the puid (route answers). */
  puidOnly?: boolean;
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Seldon's construct_response_json: the payload field by result type, mirrored data kind, names and meta. */
export function buildResponse(result: unknown, request: SeldonMessage | undefined, parts: ResponseParts = {}): SeldonMessage {
  const out: SeldonMessage = {};
  if (result instanceof Uint8Array) out.binData = Buffer.from(result.buffer, result.byteOffset, result.byteLength).toString("base64");
  else if (typeof result === "string") out.strData = result;
  else if (isPlainRecord(result)) out.jsonData = result;
  else if (Array.isArray(result) || isNDArray(result) || (ArrayBuffer.isView(result) && !(result instanceof DataView))) {
    out.data = arrayData(NDArray.from(result), payloadKind(request), parts.classNames, requestTfDtype(request));
  } else {
    throw new SeldonError(`Unknown data type returned as payload (must be list or np array): ${describe(result)}`);
  }
  out.meta = buildMeta(request?.meta, parts);
  return out;
}

/** `requestTfDtype`: the request's tftensor dtype, which a tftensor answer keeps where it can (see arrayToTfTensor). */
export function arrayData(arr: NDArray, requestKind: PayloadKind, classNames?: string[], requestTfDtype?: string): DefaultData {
  const names = arr.ndim >= 2 ? (classNames ?? Array.from({ length: arr.shape[1] }, (_, i) => `t:${i}`)) : [];
  if (!arr.isNumeric || requestKind === "ndarray") return { names, ndarray: arr.toArray() };
  if (requestKind === "tftensor") return { names, tftensor: arrayToTfTensor(arr, requestTfDtype) };
  return { names, tensor: { shape: arr.shape, values: Array.from(arr.data as Float64Array) } };
}

export function buildMeta(requestMeta: SeldonMeta | undefined, parts: ResponseParts): SeldonMeta {
  const meta: SeldonMeta = {};
  if (requestMeta?.puid !== undefined) meta.puid = requestMeta.puid;
  if (parts.puidOnly) return meta;
  const tags: Record<string, unknown> = { ...requestMeta?.tags };
  for (const t of parts.tags ?? []) if (t) Object.assign(tags, t);
  if (Object.keys(tags).length > 0) meta.tags = tags;
  const metrics = [...(requestMeta?.metrics ?? []), ...(parts.includeMetrics === false ? [] : (parts.metrics ?? []))];
  if (metrics.length > 0) meta.metrics = metrics;
  if (requestMeta?.routing && Object.keys(requestMeta.routing).length > 0) meta.routing = { ...requestMeta.routing };
  const requestPath = { ...parts.requestPath, ...requestMeta?.requestPath };
  if (Object.keys(requestPath).length > 0) meta.requestPath = requestPath;
  return meta;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return `${typeof v} ${String(v)}`;
}
