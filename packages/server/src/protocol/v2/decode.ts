import { InvalidInput } from "../../errors/index.ts";
import {
  dataFromBytes,
  type ElementBudget,
  elementBudget,
  elementCount,
  flatten,
  InexactIntegerError,
  isDatatype,
  type Parameters,
  type Tensor,
  type TensorLimits,
  TensorValueError,
} from "../../tensor/index.ts";
import { exactJson } from "../exact-json.ts";
import { isPlainObject, parseJsonBody } from "../json.ts";
import { type InferRequest, markInferRequest, type RequestedOutput } from "../types.ts";

/**
 * Decodes a V2 REST inference body: plain JSON, or JSON followed by binary tensors
 * (Triton's binary tensor extension, announced by `Inference-Header-Content-Length`). The inputs' shapes
 * together may declare at most `limits.maxTensorElements` elements (default DEFAULT_MAX_TENSOR_ELEMENTS).
 */
export function decodeInferRequest(
  body: Uint8Array,
  inferenceHeaderLength?: string | string[],
  limits?: Partial<TensorLimits>,
): InferRequest {
  let jsonLength = body.byteLength;
  if (inferenceHeaderLength !== undefined) {
    const raw = Array.isArray(inferenceHeaderLength) ? inferenceHeaderLength[0] : inferenceHeaderLength;
    if (!/^\d+$/.test(raw.trim())) {
      throw new InvalidInput(`Inference-Header-Content-Length must be a non-negative integer, got '${raw}'`);
    }
    jsonLength = Number(raw);
    if (jsonLength > body.byteLength) {
      throw new InvalidInput(
        `Inference-Header-Content-Length (${jsonLength}) is larger than the request body (${body.byteLength} bytes)`,
      );
    }
    if (jsonLength === 0) {
      throw new InvalidInput(
        "Inference-Header-Content-Length: 0 (a raw binary request without a JSON header) is not supported; send a JSON header",
      );
    }
  }
  const json = parseJsonBody(body.subarray(0, jsonLength), "inference request header");
  return decodeInferRequestJson(json, body.subarray(jsonLength), limits);
}

/** Decodes the JSON part; `binary` holds the bytes after the JSON header (empty for plain JSON). */
export function decodeInferRequestJson(
  json: unknown,
  binary: Uint8Array = new Uint8Array(0),
  limits?: Partial<TensorLimits> | ElementBudget,
): InferRequest {
  if (!isPlainObject(json)) throw new InvalidInput("Inference request must be a JSON object");
  const { id, parameters, inputs, outputs } = json;
  if (id !== undefined && typeof id !== "string") throw new InvalidInput("'id' must be a string");
  if (!Array.isArray(inputs)) throw new InvalidInput('Expected "inputs" to be a list');
  if (inputs.length === 0) throw new InvalidInput('"inputs" must name at least one input tensor');
  const requestParams = decodeParameters(parameters, "request");

  const budget = elementBudget(limits);
  let offset = 0;
  const tensors: Tensor[] = new Array(inputs.length);
  const seen = new Set<string>();
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    if (!isPlainObject(input)) throw new InvalidInput(`inputs[${i}] must be an object`);
    const name = input.name;
    if (typeof name !== "string" || name.length === 0) throw new InvalidInput(`inputs[${i}] needs a string 'name'`);
    if (seen.has(name)) throw new InvalidInput(`Input '${name}' appears more than once`);
    seen.add(name);
    const datatype = input.datatype;
    if (!isDatatype(datatype)) {
      throw new InvalidInput(`Input '${name}' has unknown datatype ${JSON.stringify(datatype)}`);
    }
    const shape = decodeShape(input.shape, `Input '${name}'`);
    budget.shape(shape, `Input '${name}'`, datatype);
    const params = decodeParameters(input.parameters, `input '${name}'`);
    const binarySize = params?.binary_data_size;
    const hasData = input.data !== undefined;
    if (hasData && binarySize !== undefined) {
      throw new InvalidInput(`Input '${name}' sets both 'data' and 'binary_data_size'; use one`);
    }
    let data: Tensor["data"];
    if (binarySize !== undefined) {
      if (typeof binarySize !== "number" || !Number.isInteger(binarySize) || binarySize < 0) {
        throw new InvalidInput(`Input '${name}': binary_data_size must be a non-negative integer`);
      }
      if (offset + binarySize > binary.byteLength) {
        throw new InvalidInput(
          `Input '${name}': expecting ${binarySize} bytes of binary data but only ${binary.byteLength - offset} remain in the request body`,
        );
      }
      const decoded = dataFromBytes(datatype, shape, binary.subarray(offset, offset + binarySize));
      if (typeof decoded === "string") throw new InvalidInput(`Input '${name}': binary data ${decoded}`);
      data = decoded;
      offset += binarySize;
    } else if (hasData) {
      data = decodeJsonData(json, i, input.data, name, datatype, shape);
    } else {
      throw new InvalidInput(`Input '${name}' has neither 'data' nor parameters.binary_data_size`);
    }
    const tensor: Tensor = { name, datatype, shape, data };
    if (params) {
      const { binary_data_size: _, ...rest } = params;
      if (Object.keys(rest).length > 0) tensor.parameters = rest;
    }
    tensors[i] = tensor;
  }
  if (offset !== binary.byteLength) {
    throw new InvalidInput(
      `The request body has ${binary.byteLength - offset} unexpected bytes after the binary data the inputs declare`,
    );
  }

  const request: InferRequest = { inputs: tensors };
  if (id !== undefined) request.id = id;
  if (requestParams) request.parameters = requestParams;
  if (outputs !== undefined) request.outputs = decodeRequestedOutputs(outputs);
  return markInferRequest(request);
}

/**
 * `inputs[index].data` -> tensor data. An INT64/UINT64 value beyond ±2^53 has been rounded by JSON.parse: the
 * data is then taken from the body's exact reading (exact-json.ts), when its source is known.
 */
function decodeJsonData(json: unknown, index: number, value: unknown, name: string, datatype: Tensor["datatype"], shape: number[]): Tensor["data"] {
  try {
    try {
      return flatten(value, datatype, shape);
    } catch (err) {
      const exact = err instanceof InexactIntegerError ? exactInputData(json, index, name) : undefined;
      if (exact === undefined) throw err;
      return flatten(exact, datatype, shape);
    }
  } catch (err) {
    if (err instanceof TensorValueError) throw new InvalidInput(`Input '${name}' data ${err.message}`);
    throw err;
  }
}

function exactInputData(json: unknown, index: number, name: string): unknown {
  const exact = exactJson(json);
  if (!isPlainObject(exact) || !Array.isArray(exact.inputs)) return undefined;
  const input: unknown = exact.inputs[index];
  return isPlainObject(input) && input.name === name ? input.data : undefined;
}

function decodeRequestedOutputs(outputs: unknown): RequestedOutput[] {
  if (!Array.isArray(outputs)) throw new InvalidInput("'outputs' must be a list");
  const seen = new Set<string>();
  return outputs.map((o, i) => {
    if (!isPlainObject(o) || typeof o.name !== "string") throw new InvalidInput(`outputs[${i}] needs a string 'name'`);
    if (seen.has(o.name)) throw new InvalidInput(`Output '${o.name}' is requested more than once`);
    seen.add(o.name);
    const params = decodeParameters(o.parameters, `output '${o.name}'`);
    return params ? { name: o.name, parameters: params } : { name: o.name };
  });
}

export function decodeShape(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape)) throw new InvalidInput(`${what} needs a 'shape' list`);
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw new InvalidInput(`${what} has an invalid shape ${JSON.stringify(shape)}: dimensions must be integers >= 0`);
    }
  }
  if (elementCount(shape) > 2 ** 32) throw new InvalidInput(`${what} shape ${JSON.stringify(shape)} is too large`);
  return shape as number[];
}

export function decodeParameters(value: unknown, where: string): Parameters | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw new InvalidInput(`'parameters' of ${where} must be an object`);
  for (const [k, v] of Object.entries(value)) {
    const t = typeof v;
    if (t !== "string" && t !== "number" && t !== "boolean") {
      throw new InvalidInput(`Parameter '${k}' of ${where} must be a string, number or boolean`);
    }
  }
  return value as Parameters;
}
