/**
 * Rows in, rows out: what adaptive batching does to tensors. Which requests may share a run (their compatibility
 * key), how their tensors are joined along the first dimension into fresh arrays, and how each batched output is
 * cut back into the rows each request brought, in the order each caller asked for its outputs.
 */
import { InferenceError } from "../errors/index.ts";
import { elementCount, formatShape, storageFor, type Tensor, type TensorData, type TypedArray } from "../tensor/index.ts";

/** Any typed array's `set`, typed loosely: a batch joins arrays of one storage type, bigint or number alike. */
type Settable = { set(source: ArrayLike<unknown>, offset: number): void };

/**
 * One batched tensor from the same-named tensor of each request (all of one datatype and the same dimensions
 * after the first, as the batcher's compatibility key guarantees). Numeric data is one allocation plus one
 * `set()` per part; BYTES data is one array holding every part's elements (the elements themselves are shared).
 */
export function concatRows(parts: readonly Tensor[], totalRows: number): Tensor {
  const first = parts[0];
  const shape = first.shape.slice();
  shape[0] = totalRows;
  let length = 0;
  for (const part of parts) length += part.data.length;
  let data: TensorData;
  if (Array.isArray(first.data)) {
    // BYTES: Uint8Array[] (or string[] from a user's code); the batcher never mixes the two in one batch.
    const out = new Array<Uint8Array>(length);
    let k = 0;
    for (const part of parts) {
      const elements = part.data as Uint8Array[];
      for (let i = 0; i < elements.length; i++) out[k++] = elements[i];
    }
    data = out;
  } else {
    const Storage = storageFor(first.datatype as Exclude<Tensor["datatype"], "BYTES">);
    const out = new Storage(length) as TypedArray;
    let offset = 0;
    for (const part of parts) {
      (out as Settable).set(part.data as TypedArray, offset);
      offset += part.data.length;
    }
    data = out;
  }
  const tensor: Tensor = { name: first.name, datatype: first.datatype, shape, data };
  if (first.parameters !== undefined) tensor.parameters = { ...first.parameters };
  return tensor;
}

/** The error for a batched output whose first dimension is not the batch: the model is not batch-major. */
function notBatchMajor(output: Tensor, totalRows: number): InferenceError {
  return new InferenceError(
    `Output '${output.name}' of a batched run has shape ${formatShape(output.shape)}, but the batch had ${totalRows} ` +
      `rows: the model's outputs are not batch-major (first dimension = the batch), so its requests cannot be ` +
      `batched. Turn batching off for this model (maxBatchSize 0 or 1).`,
  );
}

/**
 * Cuts one batched output into one tensor per request, `rows[i]` first-dimension entries each, in order.
 * Each part is a fresh copy of its rows (numeric and BYTES alike): no caller can reach another's rows.
 * Throws InferenceError when the output's first dimension is not the batch's rows or its data does not fill
 * its shape.
 */
export function splitRows(output: Tensor, rows: readonly number[], totalRows: number): Tensor[] {
  const shape = output.shape;
  if (!Array.isArray(shape) || shape.length === 0 || shape[0] !== totalRows) throw notBatchMajor(output, totalRows);
  const data = output.data as TensorData | string[] | undefined;
  const count = elementCount(shape);
  if (data === undefined || data === null || typeof data.length !== "number" || data.length !== count) {
    throw new InferenceError(
      `Output '${output.name}' of a batched run holds ${data?.length ?? "no"} elements, but its shape ` +
        `${formatShape(shape)} needs ${count}.`,
    );
  }
  const perRow = totalRows === 0 ? 0 : count / totalRows;
  const rest = shape.slice(1);
  const parts: Tensor[] = new Array<Tensor>(rows.length);
  let start = 0;
  for (let i = 0; i < rows.length; i++) {
    const end = start + rows[i] * perRow;
    const part: Tensor = {
      name: output.name,
      datatype: output.datatype,
      shape: [rows[i], ...rest],
      // A copy, not a view: an encoder that reaches for the underlying buffer must never see another caller's rows.
      data: Array.isArray(data) ? (data.slice(start, end) as Uint8Array[]) : (data as TypedArray).slice(start, end),
    };
    if (output.parameters !== undefined) part.parameters = { ...output.parameters };
    parts[i] = part;
    start = end;
  }
  return parts;
}

function paramsKey(params: Tensor["parameters"]): string {
  if (params === undefined) return "";
  const keys = Object.keys(params).sort();
  // typeof keeps 1 (number), "1" (string) and 1n (bigint) apart; JSON.stringify cannot take bigint itself.
  return JSON.stringify(
    keys.map((k) => {
      const v = params[k] as unknown;
      return [k, typeof v, typeof v === "bigint" ? String(v) : JSON.stringify(v)];
    }),
  );
}

/** "s" when every element is a string, "b" when every one is a Uint8Array, else undefined (never mixed in a batch). */
function bytesKind(data: readonly unknown[]): "s" | "b" | undefined {
  if (data.length === 0) return "b";
  const strings = typeof data[0] === "string";
  for (const e of data) {
    if (strings ? typeof e !== "string" : !(e instanceof Uint8Array)) return undefined;
  }
  return strings ? "s" : "b";
}

/**
 * A request's rows and compatibility key: input names, datatypes, dimensions after the first, parameters and the
 * set of requested outputs. `key` is undefined when the request cannot be merged with others: no inputs, a rank-0
 * input, inputs disagreeing on the first dimension, 0 or more than `maxBatchSize` rows, repeated input names, or
 * data that does not fill its shape (the model, run on it alone, reports that as it would without batching).
 */
export function describeRequest(
  inputs: readonly Tensor[],
  outputNames: readonly string[],
  maxBatchSize: number,
): { rows: number; key: string | undefined } {
  const first = inputs[0];
  if (first === undefined || !Array.isArray(first.shape) || first.shape.length === 0) return { rows: 1, key: undefined };
  const rows = first.shape[0];
  const alone = { rows: Number.isSafeInteger(rows) && rows >= 0 ? rows : 1, key: undefined };
  // Unbatched (maxBatchSize 1), nothing is ever merged: no key to build.
  if (!Number.isSafeInteger(rows) || rows < 1 || rows > maxBatchSize || maxBatchSize <= 1) return alone;
  const parts: string[] = [];
  const names = new Set<string>();
  for (const t of inputs) {
    if (!Array.isArray(t.shape) || t.shape.length === 0 || t.shape[0] !== rows || names.has(t.name)) return alone;
    names.add(t.name);
    const data = t.data as unknown;
    const count = elementCount(t.shape);
    let kind: string | undefined;
    if (Array.isArray(data)) {
      kind = t.datatype === "BYTES" ? bytesKind(data) : undefined;
    } else if (t.datatype !== "BYTES") {
      const Storage = storageFor(t.datatype) as unknown; // undefined for a datatype that is not one
      if (typeof Storage === "function" && data instanceof Storage) kind = "";
    }
    if (kind === undefined || (data as { length: number }).length !== count) return alone;
    parts.push(JSON.stringify([t.name, t.datatype, t.shape.slice(1), kind, paramsKey(t.parameters)]));
  }
  parts.sort(); // input order does not matter: a batch takes each tensor by name
  const outputs = JSON.stringify(outputNames.slice().sort());
  return { rows, key: `${outputs}\n${parts.join("\n")}` };
}

/** The tensor called `name` among a request's inputs, looked for first at index `hint` (where the head has it). */
export function tensorNamed(inputs: readonly Tensor[], name: string, hint: number): Tensor {
  const at = inputs[hint];
  if (at !== undefined && at.name === name) return at;
  return inputs.find((t) => t.name === name)!;
}

function sameOrder(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The batch's outputs in the order one caller asked for them. The run answers in the order of the batch's
 * (the head request's) names; a caller who listed the same names in another order gets them rearranged, matched
 * by name and, for outputs the run left unnamed, by position.
 */
export function outputsFor(split: readonly Tensor[][], batchNames: readonly string[], wanted: readonly string[]): number[] {
  if (sameOrder(batchNames, wanted)) return split.map((_, i) => i);
  const taken = new Set<number>();
  return wanted.map((name) => {
    let index = split.findIndex((parts, i) => !taken.has(i) && parts[0]?.name === name);
    if (index < 0) index = batchNames.findIndex((n, i) => n === name && !taken.has(i));
    if (index < 0 || index >= split.length) {
      throw new InferenceError(`The batched run returned no output '${name}' (it returned ${split.length} outputs).`);
    }
    taken.add(index);
    return index;
  });
}
