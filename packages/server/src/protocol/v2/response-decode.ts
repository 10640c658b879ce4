import { InvalidInput } from "../../errors/index.ts";
import {
  dataFromBytes,
  flatten,
  isDatatype,
  type Parameters,
  type Tensor,
  TensorValueError,
} from "../../tensor/index.ts";
import { isPlainObject } from "../json.ts";
import type { InferResponse } from "../types.ts";
import { decodeShape } from "./decode.ts";

const decoder = new TextDecoder();

/**
 * Decodes a V2 REST inference response: plain JSON, or a JSON header followed by binary outputs
 * (Triton's binary tensor extension; `inferenceHeaderLength` is the `Inference-Header-Content-Length` header).
 */
export function decodeInferResponse(body: Uint8Array, inferenceHeaderLength?: string): InferResponse {
  // A plain view, so BYTES elements (views into the body) are Uint8Arrays even when the body is a Buffer.
  body = new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  let jsonLength = body.byteLength;
  if (inferenceHeaderLength !== undefined) {
    if (!/^\d+$/.test(inferenceHeaderLength.trim())) {
      throw new InvalidInput(
        `Inference-Header-Content-Length of the response must be a non-negative integer, got '${inferenceHeaderLength}'`,
      );
    }
    jsonLength = Number(inferenceHeaderLength);
    if (jsonLength > body.byteLength) {
      throw new InvalidInput(
        `Inference-Header-Content-Length (${jsonLength}) is larger than the response body (${body.byteLength} bytes)`,
      );
    }
  }
  const text = decoder.decode(body.subarray(0, jsonLength));
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidInput(`The inference response is not valid JSON (${(err as Error).message})`);
  }
  return decodeInferResponseJson(json, body.subarray(jsonLength));
}

/** Decodes the JSON part of a response; `binary` holds the bytes after the JSON header. */
export function decodeInferResponseJson(json: unknown, binary: Uint8Array = new Uint8Array(0)): InferResponse {
  if (!isPlainObject(json)) throw new InvalidInput("The inference response must be a JSON object");
  const { model_name, model_version, id, parameters, outputs } = json;
  if (typeof model_name !== "string") throw new InvalidInput("The inference response has no string 'model_name'");
  if (model_version !== undefined && typeof model_version !== "string" && typeof model_version !== "number") {
    throw new InvalidInput("'model_version' of the inference response must be a string");
  }
  if (id !== undefined && typeof id !== "string")
    throw new InvalidInput("'id' of the inference response must be a string");
  if (!Array.isArray(outputs)) throw new InvalidInput("The inference response has no 'outputs' list");

  let offset = 0;
  const tensors: Tensor[] = outputs.map((output, i) => {
    if (!isPlainObject(output)) throw new InvalidInput(`Response outputs[${i}] must be an object`);
    const name = output.name;
    if (typeof name !== "string" || name.length === 0) {
      throw new InvalidInput(`Response outputs[${i}] needs a string 'name'`);
    }
    const what = `Output '${name}'`;
    const datatype = output.datatype;
    if (!isDatatype(datatype)) throw new InvalidInput(`${what} has unknown datatype ${JSON.stringify(datatype)}`);
    const shape = decodeShape(output.shape, what);
    const params = responseParameters(output.parameters);
    const size = params?.binary_data_size;
    let data: Tensor["data"];
    if (size !== undefined) {
      if (typeof size !== "number" || !Number.isInteger(size) || size < 0) {
        throw new InvalidInput(`${what}: binary_data_size must be a non-negative integer`);
      }
      if (offset + size > binary.byteLength) {
        throw new InvalidInput(
          `${what}: expecting ${size} bytes of binary data but only ${binary.byteLength - offset} remain in the response body`,
        );
      }
      const decoded = dataFromBytes(datatype, shape, binary.subarray(offset, offset + size));
      if (typeof decoded === "string") throw new InvalidInput(`${what}: binary data ${decoded}`);
      data = decoded;
      offset += size;
    } else if (output.data !== undefined) {
      try {
        data = flatten(output.data, datatype, shape);
      } catch (err) {
        if (err instanceof TensorValueError) throw new InvalidInput(`${what} data ${err.message}`);
        throw err;
      }
    } else {
      throw new InvalidInput(`${what} has neither 'data' nor parameters.binary_data_size`);
    }
    const tensor: Tensor = { name, datatype, shape, data };
    if (params) {
      const { binary_data_size: _, ...rest } = params;
      if (Object.keys(rest).length > 0) tensor.parameters = rest;
    }
    return tensor;
  });
  if (offset !== binary.byteLength) {
    throw new InvalidInput(
      `The inference response has ${binary.byteLength - offset} unexpected bytes after the binary data its outputs declare`,
    );
  }

  const response: InferResponse = { modelName: model_name, outputs: tensors };
  if (model_version !== undefined) response.modelVersion = String(model_version);
  if (id !== undefined) response.id = id;
  const responseParams = responseParameters(parameters);
  if (responseParams) response.parameters = responseParams;
  return response;
}

/**
 * Response parameters, read leniently: servers such as MLServer nest objects (e.g. `headers`) in them,
 * which `Parameters` cannot hold, so only string, number and boolean values are kept.
 */
function responseParameters(value: unknown): Parameters | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw new InvalidInput("'parameters' in an inference response must be an object");
  const out: Parameters = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = v;
  }
  return out;
}
