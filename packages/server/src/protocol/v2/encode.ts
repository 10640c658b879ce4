import { dataToBytes, type Tensor, toJsonValues } from "../../tensor/index.ts";
import { jsonParameters } from "../json.ts";
import type { InferRequest, InferResponse, ModelMetadata } from "../types.ts";

export interface EncodedBody {
  body: Buffer;
  contentType: string;
  /** Set when binary outputs follow the JSON header. */
  inferenceHeaderContentLength?: number;
}

/**
 * Decides per output whether it goes out as binary: the output's own `binary_data` parameter wins,
 * then the request-level `binary_data_output` (KServe's precedence), else JSON.
 */
function wantsBinary(name: string, request: InferRequest | undefined): boolean {
  const own = request?.outputs?.find((o) => o.name === name)?.parameters?.binary_data;
  if (typeof own === "boolean") return own;
  return request?.parameters?.binary_data_output === true;
}

export function encodeInferResponse(response: InferResponse, request?: InferRequest): EncodedBody {
  const blobs: Uint8Array[] = [];
  const outputs = response.outputs.map((t) => encodeOutput(t, wantsBinary(t.name, request), blobs));
  const json: Record<string, unknown> = { model_name: response.modelName };
  if (response.modelVersion !== undefined) json.model_version = response.modelVersion;
  if (response.id !== undefined) json.id = response.id;
  if (response.parameters !== undefined) json.parameters = jsonParameters(response.parameters);
  json.outputs = outputs;
  const header = Buffer.from(JSON.stringify(json));
  if (blobs.length === 0) return { body: header, contentType: "application/json" };
  return {
    body: Buffer.concat([header, ...blobs]),
    contentType: "application/octet-stream",
    inferenceHeaderContentLength: header.byteLength,
  };
}

function encodeOutput(t: Tensor, binary: boolean, blobs: Uint8Array[]): Record<string, unknown> {
  const out: Record<string, unknown> = { name: t.name, datatype: t.datatype, shape: t.shape };
  if (binary) {
    const bytes = dataToBytes(t.data);
    if (bytes.byteLength > 0) blobs.push(bytes);
    out.parameters = jsonParameters({ ...t.parameters, binary_data_size: bytes.byteLength });
  } else {
    if (t.parameters !== undefined) out.parameters = jsonParameters(t.parameters);
    out.data = toJsonValues(t.data, t.datatype);
  }
  return out;
}

export function encodeModelMetadata(m: ModelMetadata): Record<string, unknown> {
  const out: Record<string, unknown> = { name: m.name };
  if (m.versions && m.versions.length > 0) out.versions = m.versions;
  out.platform = m.platform;
  out.inputs = m.inputs;
  out.outputs = m.outputs;
  if (m.properties) out.properties = m.properties;
  return out;
}
