/**
 * The `X` a Seldon component receives: an n-dimensional array with a shape, row-major data and nested
 * access, like the numpy array Seldon's Python wrapper hands to `predict(X, names, meta)`.
 */

export type NDArrayDtype = "float64" | "int64" | "bool" | "string" | "object";

export type NDArrayData = Float64Array | unknown[];

const NDARRAY_MARK = Symbol.for("tserve.NDArray");

function product(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class NDArray implements Iterable<unknown> {
  /** Recognised across copies of tserve. */
  readonly [NDARRAY_MARK] = true;
  readonly shape: number[];
  readonly dtype: NDArrayDtype;
  /** Row-major values: a Float64Array for numbers, a plain array otherwise. */
  readonly data: NDArrayData;

  constructor(data: NDArrayData | ArrayLike<number>, shape?: readonly number[], dtype?: NDArrayDtype) {
    const values: NDArrayData =
      data instanceof Float64Array || Array.isArray(data) ? data : Float64Array.from(data as ArrayLike<number>);
    this.shape = shape ? [...shape] : [values.length];
    if (!this.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new RangeError(`shape [${this.shape.join(", ")}] must hold non-negative integers`);
    }
    if (product(this.shape) !== values.length) {
      throw new RangeError(`shape [${this.shape.join(", ")}] needs ${product(this.shape)} values, got ${values.length}`);
    }
    this.data = values;
    this.dtype = dtype ?? inferDtype(values);
  }

  /** Builds an array from nested JS arrays, a typed array, an NDArray or a scalar. Ragged input becomes a 1-D object array. */
  static from(value: unknown): NDArray {
    if (isNDArray(value)) return value;
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      // numpy keeps an integer array integral (and BigInt64Array needs Number() to convert at all).
      const isFloat = value instanceof Float32Array || value instanceof Float64Array;
      return new NDArray(Float64Array.from(value as unknown as ArrayLike<number | bigint>, Number), undefined, isFloat ? "float64" : "int64");
    }
    if (!Array.isArray(value)) return new NDArray([value], [], undefined);
    const shape = shapeOf(value);
    if (!shape) return new NDArray([...value], [value.length], "object");
    const flat: unknown[] = [];
    flattenInto(value, shape.length, flat);
    const dtype = inferDtype(flat);
    return new NDArray(dtype === "float64" || dtype === "int64" ? Float64Array.from(flat as number[]) : flat, shape, dtype);
  }

  get ndim(): number {
    return this.shape.length;
  }

  get size(): number {
    return this.data.length;
  }

  /** Rows along the first axis (numpy's `len`). */
  get length(): number {
    return this.shape.length === 0 ? 0 : this.shape[0];
  }

  get isNumeric(): boolean {
    return this.dtype === "float64" || this.dtype === "int64";
  }

  /** `x.get(i, j)` is `X[i][j]`: a scalar with every index given, a sub-array otherwise. Negative indices count from the end. */
  get(...index: number[]): unknown {
    if (index.length > this.shape.length) throw new RangeError(`${index.length} indices for a ${this.ndim}-D array`);
    let offset = 0;
    let stride = this.size;
    for (let axis = 0; axis < index.length; axis++) {
      const dim = this.shape[axis];
      let i = index[axis];
      if (i < 0) i += dim;
      if (!Number.isInteger(i) || i < 0 || i >= dim) throw new RangeError(`index ${index[axis]} is out of bounds for axis ${axis} with size ${dim}`);
      stride /= dim;
      offset += i * stride;
    }
    if (index.length === this.shape.length) return this.data[offset];
    const sub = this.data.slice(offset, offset + stride);
    return new NDArray(sub, this.shape.slice(index.length), this.dtype);
  }

  /** Row `i` (a sub-array, or a scalar for 1-D arrays). */
  at(i: number): unknown {
    return this.get(i);
  }

  reshape(...shape: number[]): NDArray {
    const known = shape.filter((d) => d !== -1);
    const dims = shape.length - known.length === 1 ? shape.map((d) => (d === -1 ? this.size / product(known) : d)) : shape;
    if (!dims.every(Number.isInteger)) throw new RangeError(`cannot reshape ${this.size} values into [${shape.join(", ")}]`);
    return new NDArray(this.data, dims, this.dtype);
  }

  /** Applies `fn` to every value, keeping the shape. */
  map(fn: (value: any, index: number) => unknown): NDArray {
    const out: unknown[] = new Array(this.size);
    for (let i = 0; i < this.size; i++) out[i] = fn(this.data[i], i);
    const dtype = inferDtype(out);
    return new NDArray(dtype === "float64" || dtype === "int64" ? Float64Array.from(out as number[]) : out, this.shape, dtype);
  }

  /** Nested JS arrays (numpy's `tolist()`). */
  toArray(): any {
    if (this.shape.length === 0) return this.data[0];
    return nest(this.data, this.shape, 0, 0);
  }

  tolist(): any {
    return this.toArray();
  }

  toJSON(): unknown {
    return this.toArray();
  }

  *[Symbol.iterator](): Iterator<unknown> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
}

export function isNDArray(value: unknown): value is NDArray {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[NDARRAY_MARK] === true;
}

function inferDtype(values: ArrayLike<unknown>): NDArrayDtype {
  if (values instanceof Float64Array) {
    for (let i = 0; i < values.length; i++) if (!Number.isInteger(values[i])) return "float64";
    return "int64";
  }
  let kind: NDArrayDtype | undefined;
  let allInts = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const k: NDArrayDtype =
      typeof v === "number" ? "float64" : typeof v === "boolean" ? "bool" : typeof v === "string" ? "string" : "object";
    if (k === "float64" && !Number.isInteger(v)) allInts = false;
    if (kind === undefined) kind = k;
    else if (kind !== k) return "object";
  }
  if (kind === undefined) return "float64";
  return kind === "float64" && allInts ? "int64" : kind;
}

/** The shape of a rectangular nested array, or undefined when it is ragged. */
function shapeOf(value: unknown[]): number[] | undefined {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return isRectangular(value, shape, 0) ? shape : undefined;
}

function isRectangular(value: unknown, shape: number[], axis: number): boolean {
  if (axis === shape.length) return !Array.isArray(value);
  if (!Array.isArray(value) || value.length !== shape[axis]) return false;
  for (const v of value) if (!isRectangular(v, shape, axis + 1)) return false;
  return true;
}

function flattenInto(value: unknown, depth: number, out: unknown[]): void {
  if (depth === 0) {
    out.push(value);
    return;
  }
  for (const v of value as unknown[]) flattenInto(v, depth - 1, out);
}

function nest(data: NDArrayData, shape: number[], axis: number, offset: number): unknown[] {
  const dim = shape[axis];
  if (axis === shape.length - 1) {
    const row = new Array(dim);
    for (let i = 0; i < dim; i++) row[i] = data[offset + i];
    return row;
  }
  const stride = product(shape.slice(axis + 1));
  const out = new Array(dim);
  for (let i = 0; i < dim; i++) out[i] = nest(data, shape, axis + 1, offset + i * stride);
  return out;
}
