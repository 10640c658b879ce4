import { fromUtf8, isWellFormedText, utf8 } from "./bytes.ts";
import { allocate, type Datatype, INTEGER_RANGE, isBigIntDatatype, type NumericDatatype } from "./datatype.ts";
import { bf16ToNumber, halfToNumber, numberToBf16, numberToHalf } from "./half.ts";
import { elementCount, isBytesData, type TensorData } from "./tensor.ts";

/** Thrown for any malformed tensor value; the codec turns it into InvalidInput naming the tensor. */
export class TensorValueError extends Error {}

/**
 * An INT64/UINT64 element given as a JS number beyond ±2^53: the number may be a rounded JSON literal, so it is
 * refused rather than guessed at. A codec that still has the JSON text may read it again exactly
 * (protocol/exact-json.ts) and retry; otherwise it is a TensorValueError like any other.
 */
export class InexactIntegerError extends TensorValueError {}

export type Nested = unknown[];

/**
 * The shape of a rectangular nested array, from its first elements along each axis.
 * `flatten` checks every other element against it.
 */
export function inferShape(value: unknown): number[] {
  const shape: number[] = [];
  let cur = value;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0];
  }
  return shape;
}

/**
 * Nested or flat JSON data -> typed storage for `datatype`, checking the element count against `shape`
 * (nesting is optional, as in the Open Inference Protocol: [[1,2],[3,4]] and [1,2,3,4] are equal).
 */
export function flatten(value: unknown, datatype: Datatype, shape: readonly number[]): TensorData {
  const count = elementCount(shape);
  const flat: unknown[] = [];
  collect(value, flat);
  if (flat.length !== count) {
    throw new TensorValueError(
      `has ${flat.length} elements, but shape [${shape.join(",")}] needs ${count} (the product of the shape)`,
    );
  }
  return fromFlatValues(flat, datatype);
}

/** Flattens a rectangular nested array whose shape is given, checking every row's length. */
export function flattenRectangular(value: unknown, datatype: Datatype, shape: readonly number[]): TensorData {
  const flat: unknown[] = [];
  collectRect(value, shape, 0, flat);
  return fromFlatValues(flat, datatype);
}

/**
 * Row `index` of a tensor of `shape` (rows along axis 0, `rowSize` elements each), written into `out` (storage for
 * all rows), checking that it is rectangular. `scratch` is a reusable array for the row's flattened values.
 */
export function writeRow(
  row: unknown,
  index: number,
  rowSize: number,
  datatype: Datatype,
  shape: readonly number[],
  out: TensorData,
  scratch: unknown[],
): void {
  if (shape.length === 1 && Array.isArray(row)) throw new TensorValueError("is not rectangular: unexpected array at depth 1");
  scratch.length = 0;
  collectRect(row, shape, 1, scratch);
  writeFlatValues(scratch, datatype, out, index * rowSize);
}

function collect(value: unknown, out: unknown[]): void {
  if (!Array.isArray(value)) {
    out.push(value);
    return;
  }
  for (const v of value) {
    if (Array.isArray(v)) collect(v, out);
    else out.push(v);
  }
}

function collectRect(value: unknown, shape: readonly number[], depth: number, out: unknown[]): void {
  if (depth === shape.length) {
    if (Array.isArray(value)) throw new TensorValueError(`is nested deeper than its shape [${shape.join(",")}]`);
    out.push(value);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[depth]) {
    throw new TensorValueError(
      `is not rectangular: expected ${shape[depth]} elements at depth ${depth} (shape [${shape.join(",")}])`,
    );
  }
  if (depth === shape.length - 1) {
    for (const v of value) {
      if (Array.isArray(v)) throw new TensorValueError(`is not rectangular: unexpected array at depth ${depth + 1}`);
      out.push(v);
    }
    return;
  }
  for (const v of value) collectRect(v, shape, depth + 1, out);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  // A bigint here is a JSON integer literal read exactly: to the client it is a number.
  return typeof v === "bigint" ? "a number" : `a ${typeof v}`;
}

export function fromFlatValues(flat: readonly unknown[], datatype: Datatype): TensorData {
  const out = datatype === "BYTES" ? new Array<Uint8Array>(flat.length) : allocate(datatype, flat.length);
  writeFlatValues(flat, datatype, out, 0);
  return out;
}

/**
 * Writes plain JS values into `out` (storage for `datatype`, from `allocate`, or an array for BYTES) starting at
 * `offset`, checking each one; errors name the element by its index in `out`. Lets a caller fill one tensor a
 * row at a time.
 */
export function writeFlatValues(flat: readonly unknown[], datatype: Datatype, out: TensorData, offset: number): void {
  const n = flat.length;
  if (datatype === "BYTES") {
    const d = out as Uint8Array[];
    for (let i = 0; i < n; i++) {
      const v = flat[i];
      if (typeof v === "string") {
        // A lone surrogate has no UTF-8 form: TextEncoder would silently write U+FFFD in its place.
        if (!isWellFormedText(v)) {
          throw new TensorValueError(
            `element ${offset + i} is a string with an unpaired UTF-16 surrogate, which has no UTF-8 bytes for BYTES`,
          );
        }
        d[offset + i] = utf8(v);
      } else if (v instanceof Uint8Array) d[offset + i] = v;
      else throw new TensorValueError(`element ${offset + i} is ${describe(v)}, expected a string for BYTES`);
    }
    return;
  }
  if (datatype === "BOOL") {
    const d = out as Uint8Array;
    for (let i = 0; i < n; i++) {
      const v = flat[i];
      if (v === true || v === 1) d[offset + i] = 1;
      else if (v === false || v === 0) d[offset + i] = 0;
      else throw new TensorValueError(`element ${offset + i} is ${describe(v)}, expected true or false for BOOL`);
    }
    return;
  }
  if (isBigIntDatatype(datatype)) {
    const d = out as BigInt64Array | BigUint64Array;
    const [lo, hi] = INTEGER_RANGE[datatype]!;
    const [blo, bhi] = datatype === "INT64" ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
    for (let i = 0; i < n; i++) {
      const v = flat[i];
      if (typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi) {
        d[offset + i] = BigInt(v);
        continue;
      }
      // Integers beyond 2^53 arrive as bigints or digit strings; they must still fit, never wrap.
      const big = typeof v === "bigint" ? v : typeof v === "string" && /^-?\d+$/.test(v) ? BigInt(v) : undefined;
      if (big === undefined || big < blo || big > bhi) {
        const message = `element ${offset + i} is ${describeNumber(v)}, expected an integer in [${blo}, ${bhi}] for ${datatype}`;
        if (typeof v === "number" && Number.isInteger(v) && Number.isFinite(v)) {
          throw new InexactIntegerError(`${message} (a number beyond ±2^53 is not exact: send such values as digit strings)`);
        }
        throw new TensorValueError(message);
      }
      d[offset + i] = big;
    }
    return;
  }
  const range = INTEGER_RANGE[datatype];
  if (range) {
    const [lo, hi] = range;
    const d = out as Exclude<TensorData, BigInt64Array | BigUint64Array | Uint8Array[]>;
    for (let i = 0; i < n; i++) {
      const v = flat[i];
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
        throw new TensorValueError(
          `element ${offset + i} is ${describeNumber(v)}, expected an integer in [${lo}, ${hi}] for ${datatype}`,
        );
      }
      d[offset + i] = v;
    }
    return;
  }
  const d = out as Float32Array | Float64Array | Uint16Array;
  const encode = datatype === "FP16" ? numberToHalf : datatype === "BF16" ? numberToBf16 : undefined;
  for (let i = 0; i < n; i++) {
    let v = flat[i];
    if (typeof v !== "number") {
      // An integer literal read exactly (protocol/exact-json.ts) is, for a float, the number JSON.parse gives.
      if (typeof v === "bigint") v = Number(v);
      // TF Serving accepts these tokens; JSON.parse cannot, so clients send them as strings.
      else if (v === "NaN") v = Number.NaN;
      else if (v === "Infinity") v = Number.POSITIVE_INFINITY;
      else if (v === "-Infinity") v = Number.NEGATIVE_INFINITY;
      else throw new TensorValueError(`element ${offset + i} is ${describe(v)}, expected a number for ${datatype}`);
    }
    d[offset + i] = encode ? encode(v as number) : (v as number);
  }
}

function describeNumber(v: unknown): string {
  return typeof v === "number" || typeof v === "bigint" ? String(v) : describe(v);
}

/** Typed storage -> plain JS values (numbers, booleans, strings) in a flat array. */
export function toFlatValues(data: TensorData, datatype: Datatype): unknown[] {
  if (isBytesData(data)) return data.map(fromUtf8);
  const n = data.length;
  const out: unknown[] = new Array(n);
  if (datatype === "BOOL") {
    for (let i = 0; i < n; i++) out[i] = data[i] !== 0;
  } else if (datatype === "FP16" || datatype === "BF16") {
    const decode = datatype === "FP16" ? halfToNumber : bf16ToNumber;
    for (let i = 0; i < n; i++) out[i] = decode(data[i] as number);
  } else if (isBigIntDatatype(datatype)) {
    // Beyond 2^53 a JSON number loses precision; such values stay exact only in binary form.
    for (let i = 0; i < n; i++) out[i] = Number(data[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = data[i];
  }
  return out;
}

/**
 * Flat values for JSON: like toFlatValues, but 64-bit integers beyond 2^53 become digit strings and
 * NaN/±Infinity become the TF Serving tokens, since JSON numbers would round them or turn them into null.
 * fromFlatValues reads both back exactly.
 */
export function toJsonValues(data: TensorData, datatype: Datatype): unknown[] {
  const flat = toFlatValues(data, datatype);
  if (isBigIntDatatype(datatype)) {
    const d = data as BigInt64Array | BigUint64Array;
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    const min = BigInt(Number.MIN_SAFE_INTEGER);
    for (let i = 0; i < d.length; i++) if (d[i] > max || d[i] < min) flat[i] = d[i].toString();
  } else if (datatype === "FP32" || datatype === "FP64" || datatype === "FP16" || datatype === "BF16") {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i] as number;
      if (!Number.isFinite(v)) flat[i] = Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
    }
  }
  return flat;
}

/** Flat values -> nested arrays of `shape` (a scalar shape [] gives the single value). */
export function nest(flat: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  if (shape.length === 1) return flat.slice();
  const build = (depth: number, offset: number): unknown[] => {
    const size = shape[depth];
    const out: unknown[] = new Array(size);
    if (depth === shape.length - 1) {
      for (let i = 0; i < size; i++) out[i] = flat[offset + i];
      return out;
    }
    let stride = 1;
    for (let k = depth + 1; k < shape.length; k++) stride *= shape[k];
    for (let i = 0; i < size; i++) out[i] = build(depth + 1, offset + i * stride);
    return out;
  };
  return build(0, 0);
}

export function toNested(data: TensorData, datatype: Datatype, shape: readonly number[]): unknown {
  return nest(toFlatValues(data, datatype), shape);
}

export function isNumericDatatype(d: Datatype): d is NumericDatatype {
  return d !== "BYTES";
}
