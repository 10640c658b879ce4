import { InvalidInput } from "../../errors/index.ts";
import {
  dataToBytes,
  elementCount,
  formatShape,
  isBytesData,
  isDatatype,
  type Parameters,
  storageFor,
  type Tensor,
  type TensorData,
  toJsonValues,
} from "../../tensor/index.ts";
import { jsonParameters } from "../json.ts";
import type { InferRequest, RequestedOutput } from "../types.ts";

export interface EncodeInferRequestOptions {
  /** Send inputs as binary tensors (Triton's extension): all of them, none, or per input. */
  binaryInputs: boolean | ((input: Tensor) => boolean);
  /** Ask for binary outputs: `binary_data` on requested outputs that do not set it, else `binary_data_output`. */
  binaryOutputs?: boolean;
}

export interface EncodedRequest {
  body: Uint8Array;
  headers: Record<string, string>;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/**
 * A V2 inference request -> REST body: plain JSON, or a JSON header followed by the raw tensors
 * (each input with `binary_data_size`, the header length in `Inference-Header-Content-Length`).
 */
export function encodeInferRequest(request: InferRequest, opts: EncodeInferRequestOptions): EncodedRequest {
  if (!Array.isArray(request.inputs) || request.inputs.length === 0) {
    throw new InvalidInput("An inference request needs at least one input tensor");
  }
  const binaryFor = typeof opts.binaryInputs === "function" ? opts.binaryInputs : () => opts.binaryInputs as boolean;
  const blobs: Uint8Array[] = [];
  let anyBinary = false;
  const seen = new Set<string>();
  const inputs = request.inputs.map((t) => {
    checkTensor(t, `Input '${t.name}'`);
    if (seen.has(t.name)) throw new InvalidInput(`Input '${t.name}' appears more than once`);
    seen.add(t.name);
    const out: Record<string, unknown> = { name: t.name, shape: t.shape, datatype: t.datatype };
    if (binaryFor(t)) {
      anyBinary = true;
      const bytes = dataToBytes(t.data);
      if (bytes.byteLength > 0) blobs.push(bytes);
      out.parameters = jsonParameters({ ...t.parameters, binary_data_size: bytes.byteLength });
    } else {
      if (t.parameters !== undefined) out.parameters = jsonParameters(t.parameters);
      out.data = jsonData(t);
    }
    return out;
  });

  const json: Record<string, unknown> = {};
  if (request.id !== undefined) json.id = request.id;
  const parameters: Parameters = { ...request.parameters };
  if (request.outputs === undefined && opts.binaryOutputs && parameters.binary_data_output === undefined) {
    parameters.binary_data_output = true;
  }
  if (Object.keys(parameters).length > 0) json.parameters = jsonParameters(parameters);
  json.inputs = inputs;
  if (request.outputs !== undefined) json.outputs = request.outputs.map((o) => encodeOutput(o, opts.binaryOutputs));

  // TextEncoder and a plain concatenation, not Buffer: the REST client also runs in browsers and edge runtimes.
  const header = utf8Encoder.encode(JSON.stringify(json));
  if (!anyBinary) return { body: header, headers: { "Content-Type": "application/json" } };
  return {
    body: blobs.length === 0 ? header : concatBytes([header, ...blobs]),
    headers: {
      "Content-Type": "application/octet-stream",
      "Inference-Header-Content-Length": String(header.byteLength),
    },
  };
}

function encodeOutput(o: RequestedOutput, binary: boolean | undefined): Record<string, unknown> {
  // An output's own binary_data wins, as it does on the server.
  const parameters: Parameters = { ...o.parameters };
  if (binary && parameters.binary_data === undefined) parameters.binary_data = true;
  return Object.keys(parameters).length > 0 ? { name: o.name, parameters: jsonParameters(parameters) } : { name: o.name };
}

/** JSON values for a tensor, keeping what plain JSON numbers would lose. */
function jsonData(t: Tensor): unknown[] {
  if (isBytesData(t.data)) {
    t.data.forEach((e, i) => {
      try {
        strictUtf8.decode(e);
      } catch {
        throw new InvalidInput(`Input '${t.name}' element ${i} is not valid UTF-8; send BYTES as binary data`);
      }
    });
  }
  const flat = toJsonValues(t.data, t.datatype);
  return flat;
}

/**
 * Checks that a tensor is self-consistent: a known datatype, a valid shape, storage of the datatype's
 * class (a typed array, or `Uint8Array[]` for BYTES) and exactly product(shape) elements.
 */
export function checkTensor(t: { datatype: unknown; shape: unknown; data: TensorData }, what: string): void {
  const { datatype, shape, data } = t;
  if (!isDatatype(datatype)) throw new InvalidInput(`${what} has unknown datatype ${JSON.stringify(datatype)}`);
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0)) {
    throw new InvalidInput(`${what} has an invalid shape ${JSON.stringify(shape)}: dimensions must be integers >= 0`);
  }
  const count = elementCount(shape);
  if (datatype === "BYTES") {
    if (!Array.isArray(data) || !data.every((e) => e instanceof Uint8Array)) {
      throw new InvalidInput(`${what} is BYTES, so its data must be an array of Uint8Array elements`);
    }
  } else {
    const Ctor = storageFor(datatype);
    if (!(data instanceof Ctor)) {
      throw new InvalidInput(
        `${what} is ${datatype}, so its data must be ${withArticle(Ctor.name)}, not ${describeData(data)}`,
      );
    }
  }
  if (data.length !== count) {
    throw new InvalidInput(
      `${what} has ${data.length} elements, but shape ${formatShape(shape)} needs ${count} (the product of the shape)`,
    );
  }
}

/** "a Float32Array", "an Int32Array", "an array", "null": for error messages. */
export function describeData(data: unknown): string {
  if (Array.isArray(data)) return "an array";
  if (ArrayBuffer.isView(data)) return withArticle(data.constructor.name);
  return data === null ? "null" : withArticle(typeof data);
}

function withArticle(word: string): string {
  return `${/^[AEIOUaeiou]/.test(word) ? "an" : "a"} ${word}`;
}
