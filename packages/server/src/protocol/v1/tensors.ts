import { InvalidInput } from "../../errors/index.ts";
import {
  allocate,
  type Datatype,
  type ElementBudget,
  elementBudget,
  flattenRectangular,
  formatShape,
  InexactIntegerError,
  inferShape,
  isBigIntDatatype,
  nest,
  type Tensor,
  type TensorLimits,
  type TensorMetadata,
  TensorValueError,
  toFlatValues,
  writeRow,
} from "../../tensor/index.ts";
import { exactJson } from "../exact-json.ts";
import { isPlainObject } from "../json.ts";
import { type InferRequest, isInferResponse, markInferRequest } from "../types.ts";
import { decodeB64Values, isB64Object } from "./b64.ts";
import { markNonFinite, NonFiniteNumber } from "./json.ts";
import { checkSignatureName } from "./signature.ts";

/** Which of the two TF Serving / KServe V1 request layouts a body used; the response mirrors it. */
export type V1Format = "row" | "columnar";

export interface V1Request {
  request: InferRequest;
  format: V1Format;
}

/**
 * A V1 body (`instances` rows or `inputs` columns) -> tensors for a model with the given inputs, with TF Serving's
 * rules and messages (`util/json_tensor.cc`). Row format stacks instances along a new axis 0; columnar takes each
 * tensor as it is. `signature_name` may be absent, "" or "serving_default" (the one signature a tserve model has).
 * The tensors together may hold at most `limits.maxTensorElements` elements (default DEFAULT_MAX_TENSOR_ELEMENTS).
 */
export function v1ToInferRequest(body: unknown, inputs: readonly TensorMetadata[], limits?: Partial<TensorLimits>): V1Request {
  const steps = v1ToInferRequestSteps(body, inputs, limits);
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/**
 * `v1ToInferRequest` as steps: the generator pauses after each instance checked and each row written, so a caller
 * holding a large body (tens of MiB of rows) can run it in slices and let other requests through between them
 * (src/engine/steps.ts). Run to the end, it is `v1ToInferRequest`.
 */
export function* v1ToInferRequestSteps(
  body: unknown,
  inputs: readonly TensorMetadata[],
  limits?: Partial<TensorLimits>,
): Generator<void, V1Request, void> {
  if (!isPlainObject(body)) {
    throw new InvalidInput(
      `Is not object: the request body must be a JSON object with 'instances' or 'inputs', got ${describeJson(body)}`,
    );
  }
  checkSignatureName(body);
  const hasInstances = "instances" in body;
  const hasInputs = "inputs" in body;
  if (hasInstances && hasInputs) {
    throw new InvalidInput("Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist");
  }
  if (!hasInstances && !hasInputs) throw new InvalidInput("Missing 'inputs' or 'instances' key");
  if (inputs.length === 0) throw new InvalidInput("Failed to get input map for signature: this model declares no inputs");
  const convert = (b: Record<string, unknown>) =>
    hasInstances ? rowsToTensors(b.instances, inputs, elementBudget(limits)) : columnsToTensors(b.inputs, inputs, elementBudget(limits));
  let tensors: Tensor[];
  try {
    tensors = yield* convert(body);
  } catch (err) {
    // An INT64/UINT64 value beyond ±2^53 that JSON.parse rounded: convert again from the body's exact reading.
    const exact = err instanceof InvalidInput && err.cause instanceof InexactIntegerError ? exactJson(body) : undefined;
    if (!isPlainObject(exact)) throw err;
    tensors = yield* convert(exact);
  }
  return { request: markInferRequest({ inputs: tensors }), format: hasInstances ? "row" : "columnar" };
}

/** An object that names inputs (a `{"b64": ...}` value is a value, not a name map). */
function isNamedObject(v: unknown): v is Record<string, unknown> {
  return isPlainObject(v) && !isB64Object(v);
}

function inputNames(inputs: readonly TensorMetadata[]): string {
  return inputs
    .map((m) => m.name)
    .sort()
    .join(",");
}

/** Per input, the shape every instance must repeat (TF Serving's size_map / shape_map). */
class InstanceShapes {
  private readonly shapes = new Map<string, number[]>();

  check(name: string, value: unknown): void {
    const shape = inferShape(value);
    const seen = this.shapes.get(name);
    if (!seen) {
      this.shapes.set(name, shape);
      return;
    }
    const size = shape.reduce((a, b) => a * b, 1);
    const expected = seen.reduce((a, b) => a * b, 1);
    if (size !== expected) throw new Error(`Expecting tensor size: ${expected} but got: ${size}`);
    if (shape.length !== seen.length || shape.some((d, i) => d !== seen[i])) {
      throw new Error(`Expecting shape [${seen.join(",")}] but got: [${shape.join(",")}]`);
    }
  }
}

function* rowsToTensors(instances: unknown, inputs: readonly TensorMetadata[], budget: ElementBudget): Generator<void, Tensor[], void> {
  if (!Array.isArray(instances)) throw new InvalidInput("Expecting 'instances' to be a list/array");
  if (instances.length === 0) throw new InvalidInput("No values in 'instances' array");
  const named = isNamedObject(instances[0]);
  if (!named && inputs.length > 1) {
    throw new InvalidInput(
      `instances is a plain list, but expecting list of objects as multiple input tensors are required (${inputNames(inputs)})`,
    );
  }
  const byName = new Map(inputs.map((m) => [m.name, m]));
  const shapes = new InstanceShapes();
  const columns = new Map<string, unknown[]>(inputs.map((m) => [m.name, new Array(instances.length)]));
  for (let i = 0; i < instances.length; i++) {
    const elem = instances[i];
    if (!named) {
      if (isNamedObject(elem)) throw new InvalidInput(`Expecting value/list but got object at item ${i} of input list`);
      const meta = inputs[0];
      const value = meta.datatype === "BYTES" ? decodeB64Values(elem) : elem;
      try {
        shapes.check(meta.name, value);
      } catch (err) {
        throw new InvalidInput(
          `Failed to process element: ${i} of 'instances' list. Error: ${(err as Error).message} (input '${meta.name}')`,
        );
      }
      columns.get(meta.name)![i] = value;
      yield;
      continue;
    }
    if (!isNamedObject(elem)) {
      throw new InvalidInput(`Expecting object but got ${describeJson(elem)} at item ${i} of input list`);
    }
    for (const [key, raw] of Object.entries(elem)) {
      const meta = byName.get(key);
      const fail = (msg: string): never => {
        throw new InvalidInput(`Failed to process element: ${i} key: ${key} of 'instances' list. Error: ${msg}`);
      };
      if (!meta) fail(`JSON object: does not have named input: ${key} (inputs: ${inputNames(inputs)})`);
      const value = meta!.datatype === "BYTES" ? decodeB64Values(raw) : raw;
      try {
        shapes.check(key, value);
      } catch (err) {
        fail((err as Error).message);
      }
      columns.get(key)![i] = value;
    }
    const missing = inputs.filter((m) => !(m.name in elem)).map((m) => `'${m.name}'`);
    if (missing.length > 0) {
      throw new InvalidInput(
        `Failed to process element: ${i} of 'instances' list. JSON object keys must be equal to: ${inputNames(inputs)} (missing ${missing.join(", ")})`,
      );
    }
    yield;
  }
  const tensors: Tensor[] = [];
  for (const meta of inputs) {
    const rows = columns.get(meta.name)!;
    tensors.push(yield* toTensor(meta, rows, [rows.length, ...inferShape(rows[0])], budget));
  }
  return tensors;
}

function* columnsToTensors(columns: unknown, inputs: readonly TensorMetadata[], budget: ElementBudget): Generator<void, Tensor[], void> {
  if (!isNamedObject(columns)) {
    if (inputs.length > 1) {
      throw new InvalidInput(
        `inputs is a plain value/list, but expecting an object as multiple input tensors are required (${inputNames(inputs)})`,
      );
    }
    return [yield* column(inputs[0], columns, budget)];
  }
  const tensors: Tensor[] = [];
  for (const meta of inputs) {
    if (!(meta.name in columns)) throw new InvalidInput(`Missing named input: ${meta.name} in 'inputs' object.`);
    tensors.push(yield* column(meta, columns[meta.name], budget));
  }
  return tensors;
}

function column(meta: TensorMetadata, value: unknown, budget: ElementBudget): Generator<void, Tensor, void> {
  const v = meta.datatype === "BYTES" ? decodeB64Values(value) : value;
  return toTensor(meta, v, inferShape(v), budget);
}

/** Nested values of the given shape -> a tensor, written one row (along axis 0) per step. */
function* toTensor(meta: TensorMetadata, values: unknown, shape: number[], budget: ElementBudget): Generator<void, Tensor, void> {
  budget.shape(shape, `Input '${meta.name}'`, meta.datatype);
  try {
    if (shape.length === 0 || !Array.isArray(values)) {
      return { name: meta.name, datatype: meta.datatype, shape, data: flattenRectangular(values, meta.datatype, shape) };
    }
    const count = shape.reduce((a, b) => a * b, 1);
    const rowSize = shape[0] === 0 ? 0 : count / shape[0];
    const data = meta.datatype === "BYTES" ? new Array<Uint8Array>(count) : allocate(meta.datatype, count);
    const scratch: unknown[] = [];
    for (let i = 0; i < values.length; i++) {
      writeRow(values[i], i, rowSize, meta.datatype, shape, data, scratch);
      yield;
    }
    return { name: meta.name, datatype: meta.datatype, shape, data };
  } catch (err) {
    if (err instanceof TensorValueError) {
      throw new InvalidInput(`Input '${meta.name}' (${meta.datatype} ${formatShape(meta.shape)}) ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * Tensors -> `{"predictions": ...}` (row) or `{"outputs": ...}` (columnar), TF Serving style: one output is written
 * bare, several by name; BYTES outputs whose name ends in `_bytes` as `{"b64": ...}`; non-finite floats as the
 * NaN/Infinity tokens (see `stringifyV1`).
 */
export function tensorsToV1(outputs: readonly Tensor[], format: V1Format): Record<string, unknown> {
  if (outputs.length === 0) throw new InvalidInput("Cannot convert empty tensor map to JSON");
  let nonFinite = false;
  const value = (t: Tensor): unknown => {
    const v = tensorValue(t);
    nonFinite ||= v.nonFinite;
    return v.value;
  };
  const done = (body: Record<string, unknown>) => (nonFinite ? markNonFinite(body) : body);
  if (format === "columnar") {
    if (outputs.length === 1) return done({ outputs: value(outputs[0]) });
    const obj: Record<string, unknown> = {};
    for (const t of outputs) obj[t.name] = value(t);
    return done({ outputs: obj });
  }
  if (outputs.length === 1) {
    const t = outputs[0];
    // TF Serving refuses a scalar here ("has no shape information"); one scalar output reads fine as one row.
    return done({ predictions: t.shape.length === 0 ? [value(t)] : value(t) });
  }
  const batch = outputs[0].shape[0] ?? 1;
  for (const t of outputs) {
    if (t.shape.length === 0) {
      throw new InvalidInput(
        `Tensor name: ${t.name} has no shape information, so it cannot be split into rows; use the columnar 'inputs' format`,
      );
    }
    if (t.shape[0] !== batch) {
      throw new InvalidInput(
        `Tensor name: ${t.name} has inconsistent batch size: ${t.shape[0]} expecting: ${batch}; use the columnar 'inputs' format`,
      );
    }
  }
  const perOutput = outputs.map((t) => value(t) as unknown[]);
  const rows: Record<string, unknown>[] = new Array(batch);
  for (let i = 0; i < batch; i++) {
    const row: Record<string, unknown> = {};
    outputs.forEach((t, k) => {
      row[t.name] = perOutput[k][i];
    });
    rows[i] = row;
  }
  return done({ predictions: rows });
}

const FLOATS: ReadonlySet<Datatype> = new Set<Datatype>(["FP16", "BF16", "FP32", "FP64"]);

/** One tensor as nested JSON values. */
export function tensorValue(t: Tensor): { value: unknown; nonFinite: boolean } {
  if (t.datatype === "BYTES" && t.name.endsWith("_bytes")) {
    const flat = (t.data as Uint8Array[]).map((b) => ({ b64: Buffer.from(b).toString("base64") }));
    return { value: nest(flat, t.shape), nonFinite: false };
  }
  const flat = toFlatValues(t.data, t.datatype);
  let nonFinite = false;
  if (FLOATS.has(t.datatype)) {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i] as number;
      if (!Number.isFinite(v)) {
        flat[i] = new NonFiniteNumber(v);
        nonFinite = true;
      }
    }
  } else if (isBigIntDatatype(t.datatype)) {
    // Beyond 2^53 a JSON number would round: such values go out as exact digit strings.
    const d = t.data as BigInt64Array | BigUint64Array;
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    const min = BigInt(Number.MIN_SAFE_INTEGER);
    for (let i = 0; i < d.length; i++) if (d[i] > max || d[i] < min) flat[i] = d[i].toString();
  }
  return { value: nest(flat, t.shape), nonFinite };
}

function describeJson(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  if (v instanceof Uint8Array) return "bytes";
  return typeof v === "object" ? (isB64Object(v) ? "b64 object" : "object") : typeof v;
}

/**
 * A V1 answer as the client gets it: tensors (a transformer whose predictor spoke V2 hands back an InferResponse)
 * become row-format predictions; any other answer passes as it is.
 */
export function v1Result(result: unknown): unknown {
  return isInferResponse(result) ? tensorsToV1(result.outputs, "row") : result;
}
