import { InvalidInput } from "../../errors/index.ts";
import {
  flattenRectangular,
  formatShape,
  inferShape,
  nest,
  type Tensor,
  type TensorMetadata,
  TensorValueError,
  toJsonValues,
} from "../../tensor/index.ts";
import { isPlainObject } from "../json.ts";
import { type InferRequest, markInferRequest } from "../types.ts";

/** Which of the two TF Serving / KServe V1 request layouts a body used; the response mirrors it. */
export type V1Format = "row" | "columnar";

export interface V1Request {
  request: InferRequest;
  format: V1Format;
}

/**
 * A V1 body (`instances` rows or `inputs` columns) -> tensors for a model with the given inputs.
 * Row format stacks instances along a new axis 0; columnar takes each tensor as it is.
 */
export function v1ToInferRequest(body: unknown, inputs: readonly TensorMetadata[]): V1Request {
  if (!isPlainObject(body)) throw new InvalidInput("Expected a JSON object with 'instances' or 'inputs'");
  const hasInstances = body.instances !== undefined;
  const hasInputs = body.inputs !== undefined;
  if (hasInstances && hasInputs) throw new InvalidInput("Expecting only one of 'inputs' or 'instances', not both");
  if (!hasInstances && !hasInputs) throw new InvalidInput("Missing 'inputs' or 'instances' key");
  if (inputs.length === 0) throw new InvalidInput("This model declares no inputs");
  const tensors = hasInstances ? rowsToTensors(body.instances, inputs) : columnsToTensors(body.inputs, inputs);
  return { request: markInferRequest({ inputs: tensors }), format: hasInstances ? "row" : "columnar" };
}

function rowsToTensors(instances: unknown, inputs: readonly TensorMetadata[]): Tensor[] {
  if (!Array.isArray(instances)) throw new InvalidInput('Expected "instances" to be a list');
  if (instances.length === 0) throw new InvalidInput('"instances" is empty; send at least one instance');
  const named = inputs.length > 1 || isNamedInstance(instances[0], inputs);
  if (!named) return [stack(inputs[0], instances)];
  return inputs.map((meta) => {
    const column = instances.map((inst, i) => {
      if (!isPlainObject(inst)) {
        throw new InvalidInput(
          `instances[${i}] must be an object keyed by input name (${inputs.map((m) => m.name).join(", ")})`,
        );
      }
      if (!(meta.name in inst)) throw new InvalidInput(`instances[${i}] is missing input '${meta.name}'`);
      return inst[meta.name];
    });
    return stack(meta, column);
  });
}

function isNamedInstance(first: unknown, inputs: readonly TensorMetadata[]): boolean {
  return isPlainObject(first) && !("b64" in first) && inputs.some((m) => m.name in first);
}

function stack(meta: TensorMetadata, rows: unknown[]): Tensor {
  const values = meta.datatype === "BYTES" ? rows.map(decodeB64) : rows;
  const shape = [values.length, ...inferShape(values[0])];
  return toTensor(meta, values, shape);
}

function columnsToTensors(columns: unknown, inputs: readonly TensorMetadata[]): Tensor[] {
  const named = isPlainObject(columns) && !("b64" in columns) && inputs.some((m) => m.name in columns);
  if (!named) {
    if (inputs.length > 1) {
      throw new InvalidInput(
        `'inputs' must be an object keyed by input name (${inputs.map((m) => m.name).join(", ")})`,
      );
    }
    return [column(inputs[0], columns)];
  }
  const obj = columns as Record<string, unknown>;
  return inputs.map((meta) => {
    if (!(meta.name in obj)) throw new InvalidInput(`'inputs' is missing input '${meta.name}'`);
    return column(meta, obj[meta.name]);
  });
}

function column(meta: TensorMetadata, value: unknown): Tensor {
  const v = meta.datatype === "BYTES" ? decodeB64(value) : value;
  return toTensor(meta, v, inferShape(v));
}

function toTensor(meta: TensorMetadata, values: unknown, shape: number[]): Tensor {
  try {
    return { name: meta.name, datatype: meta.datatype, shape, data: flattenRectangular(values, meta.datatype, shape) };
  } catch (err) {
    if (err instanceof TensorValueError) {
      throw new InvalidInput(`Input '${meta.name}' (${meta.datatype} ${formatShape(meta.shape)}) ${err.message}`);
    }
    throw err;
  }
}

/** TF Serving's `{"b64": "..."}` binary values -> bytes, anywhere in a nested value. */
function decodeB64(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeB64);
  if (isPlainObject(value) && typeof value.b64 === "string") return new Uint8Array(Buffer.from(value.b64, "base64"));
  return value;
}

/** Tensors -> `{"predictions": ...}` (row) or `{"outputs": ...}` (columnar), TF Serving style. */
export function tensorsToV1(outputs: readonly Tensor[], format: V1Format): Record<string, unknown> {
  if (format === "columnar") {
    if (outputs.length === 1) return { outputs: tensorValue(outputs[0]) };
    const obj: Record<string, unknown> = {};
    for (const t of outputs) obj[t.name] = tensorValue(t);
    return { outputs: obj };
  }
  if (outputs.length === 1) {
    const t = outputs[0];
    return { predictions: t.shape.length === 0 ? [tensorValue(t)] : tensorValue(t) };
  }
  const batch = outputs[0].shape[0] ?? 1;
  for (const t of outputs) {
    if (t.shape.length === 0) {
      // TF Serving refuses this too: a scalar has no rows to split into instances.
      throw new InvalidInput(
        `Output '${t.name}' is a scalar, so it cannot be split into rows; use the columnar 'inputs' format`,
      );
    }
    if (t.shape[0] !== batch) {
      throw new InvalidInput(
        `Outputs have different batch sizes (${outputs.map((o) => `${o.name}:${o.shape[0]}`).join(", ")}); use the columnar 'inputs' format`,
      );
    }
  }
  const perOutput = outputs.map((t) => tensorValue(t) as unknown[]);
  const rows: Record<string, unknown>[] = new Array(batch);
  for (let i = 0; i < batch; i++) {
    const row: Record<string, unknown> = {};
    outputs.forEach((t, k) => {
      row[t.name] = perOutput[k][i];
    });
    rows[i] = row;
  }
  return { predictions: rows };
}

function tensorValue(t: Tensor): unknown {
  if (t.datatype === "BYTES" && t.name.endsWith("_bytes")) {
    const flat = (t.data as Uint8Array[]).map((b) => ({ b64: Buffer.from(b).toString("base64") }));
    return nest(flat, t.shape);
  }
  return nest(toJsonValues(t.data, t.datatype), t.shape);
}
