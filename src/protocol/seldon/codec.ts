import { isTServeError } from "../../errors/index.ts";
import { ElementBudget, type TensorLimits } from "../../tensor/index.ts";
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

const TF_VALUE_FIELDS: ReadonlyMap<string, keyof TfTensor> = new Map<string, keyof TfTensor>([
  ["DT_FLOAT", "float_val"],
  ["DT_DOUBLE", "double_val"],
  ["DT_HALF", "float_val"],
  ["DT_INT8", "int_val"],
  ["DT_INT16", "int_val"],
  ["DT_INT32", "int_val"],
  ["DT_UINT8", "int_val"],
  ["DT_UINT16", "int_val"],
  ["DT_INT64", "int64_val"],
  ["DT_BOOL", "bool_val"],
  ["DT_STRING", "string_val"],
]);

/** proto3 JSON may spell a field in lowerCamelCase (`tensorShape`, `floatVal`): MessageToJson, and so Seldon's clients, do. */
function tfField(t: TfTensor, field: string): unknown {
  const r = t as unknown as Record<string, unknown>;
  const own = (key: string) => (Object.hasOwn(r, key) ? r[key] : undefined);
  return own(field) ?? own(field.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()));
}

/** A TensorProto's parts, checked: the dtype, the field holding its values, its shape and those values. */
export interface TfTensorParts {
  dtype: string;
  field: keyof TfTensor;
  shape: number[];
  values: unknown[];
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/**
 * Reads a TensorProto (REST JSON, or what the gRPC conversion makes of one) without trusting any of it: a dtype
 * we know, `tensor_shape.dim` a list of `{size}` with sizes integers >= 0 (numbers or int64 digit strings) and
 * the values a list. Anything else is a 400 naming the field under `path`.
 */
export function readTfTensor(t: unknown, path = "data.tftensor"): TfTensorParts {
  const bad = (field: string, problem: string): never => {
    throw new SeldonError(`Invalid request data: ${path}${field}: ${problem}`);
  };
  if (typeof t !== "object" || t === null || Array.isArray(t)) bad("", `must be an object, got ${kindOf(t)}`);
  const tensor = t as TfTensor;
  const dtype: unknown = tfField(tensor, "dtype");
  const field = typeof dtype === "string" ? TF_VALUE_FIELDS.get(dtype) : undefined;
  if (!field) {
    bad(".dtype", `unsupported dtype ${JSON.stringify(dtype) ?? "(none)"}; use one of ${[...TF_VALUE_FIELDS.keys()].join(", ")}`);
  }
  const tensorShape = tfField(tensor, "tensor_shape");
  let dims: unknown = [];
  if (tensorShape !== undefined && tensorShape !== null) {
    if (typeof tensorShape !== "object" || Array.isArray(tensorShape)) bad(".tensor_shape", `must be an object, got ${kindOf(tensorShape)}`);
    dims = tfField(tensorShape as TfTensor, "dim") ?? [];
  }
  if (!Array.isArray(dims)) bad(".tensor_shape.dim", `must be a list of {"size": n}, got ${kindOf(dims)}`);
  const shape = (dims as unknown[]).map((d, i) => {
    if (typeof d !== "object" || d === null || Array.isArray(d)) bad(`.tensor_shape.dim[${i}]`, `must be an object {"size": n}, got ${kindOf(d)}`);
    const size: unknown = (d as Record<string, unknown>).size ?? 0;
    const n = typeof size === "number" ? size : typeof size === "string" && /^\d{1,16}$/.test(size) ? Number(size) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < 0) bad(`.tensor_shape.dim[${i}].size`, `must be an integer >= 0, got ${JSON.stringify(size) ?? kindOf(size)}`);
    return n;
  });
  const values: unknown = tfField(tensor, field!) ?? [];
  if (!Array.isArray(values)) bad(`.${field}`, `must be a list, got ${kindOf(values)}`);
  return { dtype: dtype as string, field: field!, shape, values: values as unknown[] };
}

const CHECKED_LIMIT = Symbol.for("tserve.seldon.tftensorLimit");

/**
 * Remembers, on a TensorProto parseSeldonMessage accepted, the element limit it was checked against, so the
 * component's later conversion allows the same (a hidden key: JSON and copies do not carry it).
 */
export function markTfTensorChecked(t: object, limit: number): void {
  Object.defineProperty(t, CHECKED_LIMIT, { value: limit, enumerable: false, configurable: true });
}

/** Runs a budget charge, turning its refusal into Seldon's 400 with the same words. */
export function chargeSeldon<T>(charge: () => T): T {
  try {
    return charge();
  } catch (err) {
    if (isTServeError(err) && err.status === 400 && !(err instanceof SeldonError)) {
      throw new SeldonError(`Invalid request data: ${err.message}`, 400, "MICROSERVICE_BAD_DATA", { cause: err });
    }
    throw err;
  }
}

/**
 * A TensorProto as an NDArray. A single value is repeated over the whole shape, as TensorProto allows; the shape
 * is first checked against `limits.maxTensorElements`, so a one-value tensor cannot ask for more memory than that.
 */
export function tfTensorToArray(t: TfTensor, limits?: Partial<TensorLimits>): NDArray {
  const { dtype, field, shape, values } = readTfTensor(t);
  const checked = (t as unknown as Record<symbol, unknown>)[CHECKED_LIMIT];
  const budget = new ElementBudget(limits ?? (typeof checked === "number" ? { maxTensorElements: checked } : undefined));
  const size = chargeSeldon(() => budget.shape(shape, "data.tftensor"));
  // TensorProto repeats a single value over the whole shape.
  const broadcast = values.length === 1 && size > 1;
  if (!broadcast && values.length !== size) {
    throw new SeldonError(`data.tftensor: shape [${shape.join(", ")}] needs ${size} values, got ${values.length}`);
  }
  if (dtype === "DT_STRING" || dtype === "DT_BOOL") {
    const convert: (v: unknown) => unknown =
      dtype === "DT_STRING" ? (v) => Buffer.from(String(v), "base64").toString("utf8") : (v) => Boolean(v);
    const out = broadcast ? new Array<unknown>(size).fill(convert(values[0])) : values.map(convert);
    return new NDArray(out, shape, dtype === "DT_STRING" ? "string" : "bool");
  }
  // The dtype says float or int, whatever the values look like: a DT_FLOAT [1, 2] stays a float array.
  const data = new Float64Array(size);
  if (broadcast) data.fill(Number(values[0]));
  else for (let i = 0; i < size; i++) data[i] = Number(values[i]);
  return new NDArray(data, shape, field === "float_val" || field === "double_val" ? "float64" : "int64");
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
