/**
 * TensorFlow's TensorProto as Seldon messages carry it in `data.tftensor`: read from either spelling of proto3 JSON
 * (snake_case or lowerCamelCase, values in a `*_val` field or packed in `tensor_content`), and written as Seldon's
 * Python wrapper writes it (json_format.MessageToJson of make_tensor_proto's output).
 */
import { ElementBudget, type TensorLimits } from "../../tensor/index.ts";
import { chargeSeldon, SeldonError } from "./errors.ts";
import { float32ToNumber } from "./grpc/convert.ts";
import { NDArray } from "./ndarray.ts";
import type { SeldonMessage, TfTensor } from "./types.ts";

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
  /** The values came from tensor_content, which holds every value (a single one is not repeated over the shape). */
  fromContent: boolean;
}

/** How tensor_content holds each dtype: bytes per value and how to read one (little-endian, as TensorFlow writes it). */
const CONTENT_READERS: ReadonlyMap<string, readonly [size: number, read: (view: DataView, at: number) => number | boolean]> = new Map([
  ["DT_FLOAT", [4, (v: DataView, at: number) => v.getFloat32(at, true)]],
  ["DT_DOUBLE", [8, (v: DataView, at: number) => v.getFloat64(at, true)]],
  ["DT_HALF", [2, (v: DataView, at: number) => halfToNumber(v.getUint16(at, true))]],
  ["DT_INT8", [1, (v: DataView, at: number) => v.getInt8(at)]],
  ["DT_INT16", [2, (v: DataView, at: number) => v.getInt16(at, true)]],
  ["DT_INT32", [4, (v: DataView, at: number) => v.getInt32(at, true)]],
  ["DT_UINT8", [1, (v: DataView, at: number) => v.getUint8(at)]],
  ["DT_UINT16", [2, (v: DataView, at: number) => v.getUint16(at, true)]],
  ["DT_INT64", [8, (v: DataView, at: number) => Number(v.getBigInt64(at, true))]],
  ["DT_BOOL", [1, (v: DataView, at: number) => v.getUint8(at) !== 0]],
] as const);

/** An IEEE 754 half-precision bit pattern as a number. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
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
  // TensorFlow reads tensor_content first when it holds anything (make_tensor_proto packs >1 value there).
  const content: unknown = tfField(tensor, "tensor_content");
  if (content !== undefined && content !== null && content !== "") {
    if (typeof content !== "string") bad(".tensor_content", `must be a base64 string, got ${kindOf(content)}`);
    const reader = CONTENT_READERS.get(dtype as string);
    if (!reader) bad(".tensor_content", `cannot hold ${dtype as string} values; send them in ${field!}`);
    const [size, read] = reader!;
    const bytes = Buffer.from(content as string, "base64");
    if (bytes.byteLength % size !== 0) {
      bad(".tensor_content", `${bytes.byteLength} bytes is not a whole number of ${dtype as string} values (${size} bytes each)`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const values = new Array<number | boolean>(bytes.byteLength / size);
    for (let i = 0; i < values.length; i++) values[i] = read(view, i * size);
    return { dtype: dtype as string, field: field!, shape, values, fromContent: true };
  }
  const values: unknown = tfField(tensor, field!) ?? [];
  if (!Array.isArray(values)) bad(`.${field}`, `must be a list, got ${kindOf(values)}`);
  return { dtype: dtype as string, field: field!, shape, values: values as unknown[], fromContent: false };
}

const CHECKED_LIMIT = Symbol.for("tserve.seldon.tftensorLimit");

/**
 * Remembers, on a TensorProto parseSeldonMessage accepted, the element limit it was checked against, so the
 * component's later conversion allows the same (a hidden key: JSON and copies do not carry it).
 */
export function markTfTensorChecked(t: object, limit: number): void {
  Object.defineProperty(t, CHECKED_LIMIT, { value: limit, enumerable: false, configurable: true });
}

/**
 * A TensorProto as an NDArray. A single value is repeated over the whole shape, as TensorProto allows; the shape
 * is first checked against `limits.maxTensorElements`, so a one-value tensor cannot ask for more memory than that.
 */
export function tfTensorToArray(t: TfTensor, limits?: Partial<TensorLimits>): NDArray {
  const { dtype, field, shape, values, fromContent } = readTfTensor(t);
  const checked = (t as unknown as Record<symbol, unknown>)[CHECKED_LIMIT];
  const budget = new ElementBudget(limits ?? (typeof checked === "number" ? { maxTensorElements: checked } : undefined));
  const size = chargeSeldon(() => budget.shape(shape, "data.tftensor"));
  // TensorProto repeats a single value over the whole shape (tensor_content holds them all).
  const broadcast = values.length === 1 && size > 1 && !fromContent;
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

/** The integer dtypes an answer may keep, with the values each can hold. */
const INT_RANGES: ReadonlyMap<string, readonly [min: number, max: number]> = new Map([
  ["DT_INT8", [-128, 127]],
  ["DT_INT16", [-32768, 32767]],
  ["DT_INT32", [-2147483648, 2147483647]],
  ["DT_UINT8", [0, 255]],
  ["DT_UINT16", [0, 65535]],
  ["DT_INT64", [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]],
] as const);

/**
 * The dtype of an answer: a float request (DT_FLOAT, DT_DOUBLE; DT_HALF answers DT_FLOAT) keeps its dtype for any
 * numeric answer, as numpy keeps float32 through a model's arithmetic; integers keep the request's integer dtype while
 * they fit it; otherwise integers are DT_INT64 and other numbers DT_DOUBLE (numpy's defaults).
 */
function answerTfDtype(a: NDArray, requestDtype: string | undefined): string {
  if (a.dtype === "bool") return "DT_BOOL";
  if (!a.isNumeric) return "DT_STRING";
  if (requestDtype === "DT_FLOAT" || requestDtype === "DT_HALF") return "DT_FLOAT";
  if (requestDtype === "DT_DOUBLE") return "DT_DOUBLE";
  if (a.dtype !== "int64") return "DT_DOUBLE";
  const range = requestDtype === undefined ? undefined : INT_RANGES.get(requestDtype);
  if (range && (a.data as Float64Array).every((v) => v >= range[0] && v <= range[1])) return requestDtype!;
  return "DT_INT64";
}

/** A float as proto3 JSON writes it: a number, or "NaN" / "Infinity" / "-Infinity". */
function protoJsonFloat(v: number): number | string {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

/**
 * An array as a TensorProto in proto3 JSON, as Seldon's Python wrapper answers (json_format.MessageToJson of
 * make_tensor_proto): lowerCamelCase fields, int64 sizes and values as decimal strings, floats as float32 writes them.
 * `requestDtype` (the request's tftensor dtype) is kept where the values allow it: a DT_FLOAT request gets DT_FLOAT.
 */
export function arrayToTfTensor(a: NDArray, requestDtype?: string): TfTensor {
  const dtype = answerTfDtype(a, requestDtype);
  const tensorShape = a.shape.length > 0 ? { dim: a.shape.map((size) => ({ size: String(size) })) } : {};
  const out: TfTensor = { dtype, tensorShape };
  // proto3 JSON leaves out an empty repeated field.
  if (a.size === 0) return out;
  const numbers = a.data as Float64Array;
  switch (dtype) {
    case "DT_FLOAT":
      out.floatVal = Array.from(numbers, (v) => protoJsonFloat(float32ToNumber(v)));
      break;
    case "DT_DOUBLE":
      out.doubleVal = Array.from(numbers, protoJsonFloat);
      break;
    case "DT_INT64":
      out.int64Val = Array.from(numbers, (v) => String(v));
      break;
    case "DT_BOOL":
      out.boolVal = a.data as boolean[];
      break;
    case "DT_STRING":
      out.stringVal = (a.data as unknown[]).map((v) => Buffer.from(String(v)).toString("base64"));
      break;
    default:
      out.intVal = Array.from(numbers);
  }
  return out;
}

/** The dtype of a request's tftensor, when it carried one. */
export function requestTfDtype(request: SeldonMessage | undefined): string | undefined {
  const t = request?.data?.tftensor;
  const dtype = t && typeof t === "object" ? tfField(t, "dtype") : undefined;
  return typeof dtype === "string" ? dtype : undefined;
}
