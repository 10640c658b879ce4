import { InvalidInput } from "../../errors/index.ts";
import {
  type Datatype,
  dataFromBytes,
  dataToBytes,
  type ElementBudget,
  elementBudget,
  fromFlatValues,
  isBytesData,
  isDatatype,
  type Parameters,
  type Tensor,
  type TensorLimits,
  type TensorMetadata,
  TensorValueError,
  toFlatValues,
} from "../../tensor/index.ts";
import { type InferRequest, type InferResponse, markInferRequest, type ModelMetadata, type RequestedOutput } from "../types.ts";
import type {
  InferParameterMessage,
  InferTensorContentsMessage,
  InferTensorMessage,
  ModelInferRequestMessage,
  ModelInferResponseMessage,
  ModelMetadataResponseMessage,
} from "./messages.ts";

/** Which `InferTensorContents` field carries each datatype (FP16/BF16 have none: they must be raw). */
const CONTENTS_FIELD: Partial<Record<Datatype, keyof InferTensorContentsMessage>> = {
  BOOL: "bool_contents",
  INT8: "int_contents",
  INT16: "int_contents",
  INT32: "int_contents",
  INT64: "int64_contents",
  UINT8: "uint_contents",
  UINT16: "uint_contents",
  UINT32: "uint_contents",
  UINT64: "uint64_contents",
  FP32: "fp32_contents",
  FP64: "fp64_contents",
  BYTES: "bytes_contents",
};

export function decodeParameters(map: Record<string, InferParameterMessage> | undefined): Parameters | undefined {
  if (!map) return undefined;
  const keys = Object.keys(map);
  if (keys.length === 0) return undefined;
  const out: Parameters = {};
  for (const k of keys) {
    const p = map[k];
    switch (p.parameter_choice) {
      case "bool_param":
        out[k] = p.bool_param === true;
        break;
      case "int64_param":
        out[k] = exactInteger(p.int64_param);
        break;
      case "uint64_param":
        out[k] = exactInteger(p.uint64_param);
        break;
      case "double_param":
        out[k] = Number(p.double_param);
        break;
      case "string_param":
        out[k] = p.string_param ?? "";
        break;
      default:
        throw new InvalidInput(`Parameter '${k}' has no value set`);
    }
  }
  return out;
}

/** A 64-bit integer as a number when that is exact, else as a bigint. */
function exactInteger(value: string | number | undefined): number | bigint {
  const n = Number(value ?? 0);
  return Number.isSafeInteger(n) ? n : BigInt(value ?? 0);
}

const INT64_MAX = 2n ** 63n - 1n;

export function encodeParameters(params: Parameters | undefined): Record<string, InferParameterMessage> | undefined {
  if (!params) return undefined;
  const out: Record<string, InferParameterMessage> = {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === "boolean") out[k] = { bool_param: v };
    else if (typeof v === "string") out[k] = { string_param: v };
    else if (typeof v === "bigint") out[k] = v > INT64_MAX ? { uint64_param: v.toString() } : { int64_param: v.toString() };
    else if (Number.isInteger(v)) out[k] = { int64_param: v };
    else out[k] = { double_param: v };
  }
  return out;
}

function decodeShape(shape: InferTensorMessage["shape"], what: string): number[] {
  const out = (shape ?? []).map(Number);
  for (const d of out) {
    if (!Number.isInteger(d) || d < 0) throw new InvalidInput(`${what} has an invalid shape [${out.join(",")}]`);
  }
  return out;
}

function contentsCount(c: InferTensorContentsMessage | undefined): number {
  if (!c) return 0;
  let n = 0;
  for (const v of Object.values(c)) if (Array.isArray(v)) n += v.length;
  return n;
}

/**
 * One tensor from its message: raw bytes when given (one entry per tensor, in order), else the typed
 * `contents` field for its datatype.
 */
function decodeTensor(t: InferTensorMessage, raw: Uint8Array | undefined, what: string, budget: ElementBudget): Tensor {
  const name = t.name ?? "";
  if (!name) throw new InvalidInput(`${what} needs a name`);
  if (!isDatatype(t.datatype)) throw new InvalidInput(`${what} '${name}' has unknown datatype ${JSON.stringify(t.datatype)}`);
  const datatype = t.datatype;
  const shape = decodeShape(t.shape, `${what} '${name}'`);
  // Charged before anything is sized from the shape; the count is exact once the budget accepts it.
  const count = budget.shape(shape, `${what} '${name}'`, datatype);
  const tensor: Tensor = { name, datatype, shape, data: new Uint8Array(0) };
  const params = decodeParameters(t.parameters);
  if (params) tensor.parameters = params;
  if (raw !== undefined) {
    if (contentsCount(t.contents) > 0) {
      throw new InvalidInput(`${what} '${name}' sets 'contents' although raw contents are used; use one or the other`);
    }
    const data = dataFromBytes(datatype, shape, raw);
    if (typeof data === "string") throw new InvalidInput(`${what} '${name}': raw contents ${data}`);
    tensor.data = data;
    return tensor;
  }
  const field = CONTENTS_FIELD[datatype];
  if (!field) throw new InvalidInput(`${what} '${name}' is ${datatype}, which has no typed contents field: send it in raw contents`);
  const values = (t.contents?.[field] ?? []) as unknown[];
  if (values.length !== count) {
    throw new InvalidInput(`${what} '${name}' has ${values.length} elements in ${field}, but shape [${shape.join(",")}] needs ${count}`);
  }
  try {
    tensor.data = fromFlatValues(datatype === "INT64" || datatype === "UINT64" ? values.map(String) : values, datatype);
  } catch (err) {
    if (err instanceof TensorValueError) throw new InvalidInput(`${what} '${name}' ${err.message}`);
    throw err;
  }
  return tensor;
}

function decodeTensors(
  tensors: InferTensorMessage[] | undefined,
  raw: Uint8Array[] | undefined,
  what: string,
  limits?: Partial<TensorLimits>,
): Tensor[] {
  const budget = elementBudget(limits);
  const list = tensors ?? [];
  const rawList = raw ?? [];
  if (rawList.length > 0 && rawList.length !== list.length) {
    throw new InvalidInput(`Expected ${list.length} raw contents entries (one per ${what.toLowerCase()}), got ${rawList.length}`);
  }
  const seen = new Set<string>();
  return list.map((t, i) => {
    const tensor = decodeTensor(t, rawList.length > 0 ? rawList[i] : undefined, what, budget);
    if (seen.has(tensor.name)) throw new InvalidInput(`${what} '${tensor.name}' appears more than once`);
    seen.add(tensor.name);
    return tensor;
  });
}

/**
 * ModelInferRequest -> the internal request, plus the target model and version. The inputs' shapes together may
 * declare at most `limits.maxTensorElements` elements (default DEFAULT_MAX_TENSOR_ELEMENTS).
 */
export function decodeModelInferRequest(
  msg: ModelInferRequestMessage,
  limits?: Partial<TensorLimits>,
): { modelName: string; modelVersion?: string; request: InferRequest } {
  if (!msg.model_name) throw new InvalidInput("model_name is required");
  const inputs = decodeTensors(msg.inputs, msg.raw_input_contents, "Input", limits);
  if (inputs.length === 0) throw new InvalidInput("The request has no inputs");
  const request: InferRequest = { inputs };
  if (msg.id) request.id = msg.id;
  const params = decodeParameters(msg.parameters);
  if (params) request.parameters = params;
  if (msg.outputs && msg.outputs.length > 0) {
    const seen = new Set<string>();
    request.outputs = msg.outputs.map((o): RequestedOutput => {
      if (seen.has(o.name ?? "")) throw new InvalidInput(`Output '${o.name}' is requested more than once`);
      seen.add(o.name ?? "");
      const p = decodeParameters(o.parameters);
      return p ? { name: o.name ?? "", parameters: p } : { name: o.name ?? "" };
    });
  }
  return { modelName: msg.model_name, modelVersion: msg.model_version || undefined, request: markInferRequest(request) };
}

/** Tensors go out as raw contents: no per-element protobuf encoding, exact for every datatype. */
function encodeTensorsRaw(tensors: readonly Tensor[]): { tensors: InferTensorMessage[]; raw: Uint8Array[] } {
  const out: InferTensorMessage[] = new Array(tensors.length);
  const raw: Uint8Array[] = new Array(tensors.length);
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    const m: InferTensorMessage = { name: t.name, datatype: t.datatype, shape: t.shape };
    const params = encodeParameters(t.parameters);
    if (params) m.parameters = params;
    out[i] = m;
    raw[i] = dataToBytes(t.data);
  }
  return { tensors: out, raw };
}

/** Tensors in typed `contents` fields (for peers that do not read raw contents). FP16/BF16 cannot be sent this way. */
function encodeTensorContents(t: Tensor): InferTensorMessage {
  const field = CONTENTS_FIELD[t.datatype];
  if (!field) throw new InvalidInput(`Tensor '${t.name}' is ${t.datatype}; it can only be sent as raw contents`);
  let values: unknown[];
  if (isBytesData(t.data)) values = t.data;
  else if (t.datatype === "INT64" || t.datatype === "UINT64") values = Array.from(t.data as BigInt64Array, String);
  else values = toFlatValues(t.data, t.datatype);
  const m: InferTensorMessage = { name: t.name, datatype: t.datatype, shape: t.shape, contents: { [field]: values } };
  const params = encodeParameters(t.parameters);
  if (params) m.parameters = params;
  return m;
}

export function encodeModelInferResponse(response: InferResponse): ModelInferResponseMessage {
  const { tensors, raw } = encodeTensorsRaw(response.outputs);
  const msg: ModelInferResponseMessage = { model_name: response.modelName, outputs: tensors, raw_output_contents: raw };
  if (response.modelVersion !== undefined) msg.model_version = response.modelVersion;
  if (response.id !== undefined) msg.id = response.id;
  const params = encodeParameters(response.parameters);
  if (params) msg.parameters = params;
  return msg;
}

/** The client side: an internal request -> ModelInferRequest (raw contents unless `raw` is false). */
export function encodeModelInferRequest(
  modelName: string,
  request: InferRequest,
  options: { modelVersion?: string; raw?: boolean } = {},
): ModelInferRequestMessage {
  const msg: ModelInferRequestMessage = { model_name: modelName };
  if (options.modelVersion) msg.model_version = options.modelVersion;
  if (request.id) msg.id = request.id;
  const params = encodeParameters(request.parameters);
  if (params) msg.parameters = params;
  if (options.raw === false) {
    msg.inputs = request.inputs.map(encodeTensorContents);
  } else {
    const { tensors, raw } = encodeTensorsRaw(request.inputs);
    msg.inputs = tensors;
    msg.raw_input_contents = raw;
  }
  if (request.outputs) {
    msg.outputs = request.outputs.map((o) => {
      const p = encodeParameters(o.parameters);
      return p ? { name: o.name, parameters: p } : { name: o.name };
    });
  }
  return msg;
}

/** The client side: ModelInferResponse -> the internal response. */
export function decodeModelInferResponse(msg: ModelInferResponseMessage, limits?: Partial<TensorLimits>): InferResponse {
  const response: InferResponse = {
    modelName: msg.model_name ?? "",
    outputs: decodeTensors(msg.outputs, msg.raw_output_contents, "Output", limits),
  };
  if (msg.model_version) response.modelVersion = msg.model_version;
  if (msg.id) response.id = msg.id;
  const params = decodeParameters(msg.parameters);
  if (params) response.parameters = params;
  return response;
}

function encodeMetadataTensor(t: TensorMetadata): { name: string; datatype: string; shape: number[] } {
  return { name: t.name, datatype: t.datatype, shape: t.shape };
}

export function encodeModelMetadata(m: ModelMetadata): ModelMetadataResponseMessage {
  const msg: ModelMetadataResponseMessage = {
    name: m.name,
    versions: m.versions ?? [],
    platform: m.platform,
    inputs: m.inputs.map(encodeMetadataTensor),
    outputs: m.outputs.map(encodeMetadataTensor),
  };
  if (m.properties) msg.properties = m.properties;
  return msg;
}

export function decodeModelMetadata(msg: ModelMetadataResponseMessage): ModelMetadata {
  const tensor = (t: ModelMetadataResponseMessage["inputs"][number]): TensorMetadata => ({
    name: t.name,
    datatype: t.datatype as Datatype,
    shape: (t.shape ?? []).map(Number),
  });
  const out: ModelMetadata = {
    name: msg.name,
    platform: msg.platform ?? "",
    inputs: (msg.inputs ?? []).map(tensor),
    outputs: (msg.outputs ?? []).map(tensor),
  };
  if (msg.versions && msg.versions.length > 0) out.versions = msg.versions;
  if (msg.properties && Object.keys(msg.properties).length > 0) out.properties = msg.properties;
  return out;
}
