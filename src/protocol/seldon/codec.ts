import { SeldonError } from "./errors.ts";
import { isNDArray, NDArray } from "./ndarray.ts";
import type { DefaultData, PayloadKind, SeldonMessage, SeldonMeta, SeldonMetric, TfTensor } from "./types.ts";

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
export function messagePayload(msg: SeldonMessage | undefined): NDArray | string | Uint8Array | unknown {
  if (!msg) return new NDArray(new Float64Array(0), [0]);
  if (msg.data) return dataToArray(msg.data);
  if (msg.binData !== undefined) return Buffer.from(msg.binData, "base64");
  if (msg.strData !== undefined) return msg.strData;
  if (msg.jsonData !== undefined) return msg.jsonData;
  throw new SeldonError("Invalid request data type: expected data, binData, strData or jsonData");
}

/** `data.names`, or [] */
export function messageNames(msg: SeldonMessage | undefined): string[] {
  return msg?.data?.names ?? [];
}

export function dataToArray(data: DefaultData): NDArray {
  try {
    return toArray(data);
  } catch (err) {
    // Shapes no array can hold, or nesting deeper than the stack: the request's fault, not a server error.
    if (err instanceof RangeError) throw new SeldonError(`Invalid request data: ${err.message}`);
    throw err;
  }
}

function toArray(data: DefaultData): NDArray {
  if (data.tensor) {
    const { shape, values } = data.tensor;
    try {
      return new NDArray(Float64Array.from(values), shape);
    } catch (err) {
      throw new SeldonError(`data.tensor: ${(err as Error).message}`);
    }
  }
  if (data.tftensor) return tfTensorToArray(data.tftensor);
  if (data.ndarray) return NDArray.from(data.ndarray);
  return new NDArray(new Float64Array(0), [0]);
}

const TF_VALUE_FIELDS: Record<string, keyof TfTensor> = {
  DT_FLOAT: "float_val",
  DT_DOUBLE: "double_val",
  DT_HALF: "float_val",
  DT_INT8: "int_val",
  DT_INT16: "int_val",
  DT_INT32: "int_val",
  DT_UINT8: "int_val",
  DT_UINT16: "int_val",
  DT_INT64: "int64_val",
  DT_BOOL: "bool_val",
  DT_STRING: "string_val",
};

/** proto3 JSON may spell a field in lowerCamelCase (`tensorShape`, `floatVal`): MessageToJson, and so Seldon's clients, do. */
function tfField(t: TfTensor, field: string): unknown {
  const r = t as unknown as Record<string, unknown>;
  return r[field] ?? r[field.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())];
}

export function tfTensorToArray(t: TfTensor): NDArray {
  const field = TF_VALUE_FIELDS[t.dtype];
  if (!field) throw new SeldonError(`data.tftensor: unsupported dtype ${JSON.stringify(t.dtype)}`);
  const shape = ((tfField(t, "tensor_shape") as TfTensor["tensor_shape"])?.dim ?? []).map((d) => Number(d.size ?? 0));
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) throw new SeldonError("data.tftensor: tensor_shape sizes must be integers >= 0");
  const size = shape.reduce((a, b) => a * b, 1);
  let values = (tfField(t, field) as unknown[] | undefined) ?? [];
  // TensorProto repeats a single value over the whole shape.
  if (values.length === 1 && size > 1) values = new Array(size).fill(values[0]);
  if (values.length !== size) throw new SeldonError(`data.tftensor: shape [${shape.join(", ")}] needs ${size} values, got ${values.length}`);
  if (t.dtype === "DT_STRING") return new NDArray(values.map((v) => Buffer.from(String(v), "base64").toString("utf8")), shape, "string");
  if (t.dtype === "DT_BOOL") return new NDArray(values.map(Boolean), shape, "bool");
  // The dtype says float or int, whatever the values look like: a DT_FLOAT [1, 2] stays a float array.
  return new NDArray(Float64Array.from(values.map(Number)), shape, field === "float_val" || field === "double_val" ? "float64" : "int64");
}

export function arrayToTfTensor(a: NDArray): TfTensor {
  const tensor_shape = { dim: a.shape.map((size) => ({ size })) };
  if (a.dtype === "int64") return { dtype: "DT_INT64", tensor_shape, int64_val: Array.from(a.data as Float64Array, (v) => String(v)) };
  if (a.dtype === "float64") return { dtype: "DT_DOUBLE", tensor_shape, double_val: Array.from(a.data as Float64Array) };
  if (a.dtype === "bool") return { dtype: "DT_BOOL", tensor_shape, bool_val: a.data as boolean[] };
  return { dtype: "DT_STRING", tensor_shape, string_val: (a.data as unknown[]).map((v) => Buffer.from(String(v)).toString("base64")) };
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
    out.data = arrayData(NDArray.from(result), payloadKind(request), parts.classNames);
  } else {
    throw new SeldonError(`Unknown data type returned as payload (must be list or np array): ${describe(result)}`);
  }
  out.meta = buildMeta(request?.meta, parts);
  return out;
}

export function arrayData(arr: NDArray, requestKind: PayloadKind, classNames?: string[]): DefaultData {
  const names = arr.ndim >= 2 ? (classNames ?? Array.from({ length: arr.shape[1] }, (_, i) => `t:${i}`)) : [];
  if (!arr.isNumeric || requestKind === "ndarray") return { names, ndarray: arr.toArray() };
  if (requestKind === "tftensor") return { names, tftensor: arrayToTfTensor(arr) };
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
