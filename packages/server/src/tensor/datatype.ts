/** Open Inference Protocol datatypes and how each one is stored in memory. */
export const DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "BF16",
  "FP32",
  "FP64",
  "BYTES",
] as const;

export type Datatype = (typeof DATATYPES)[number];
export type NumericDatatype = Exclude<Datatype, "BYTES">;

export type TypedArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

type TypedArrayConstructor =
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

/** FP16 and BF16 keep their raw 16-bit patterns in a Uint16Array; BOOL is one byte per element (0 or 1). */
const STORAGE: Record<NumericDatatype, TypedArrayConstructor> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  BF16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

const DATATYPE_SET: ReadonlySet<string> = new Set(DATATYPES);

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === "string" && DATATYPE_SET.has(value);
}

/** Bytes per element, or undefined for BYTES (variable length). */
export function byteSize(datatype: Datatype): number | undefined {
  return datatype === "BYTES" ? undefined : STORAGE[datatype].BYTES_PER_ELEMENT;
}

export function storageFor(datatype: NumericDatatype): TypedArrayConstructor {
  return STORAGE[datatype];
}

export function allocate(datatype: NumericDatatype, length: number): TypedArray {
  return new STORAGE[datatype](length);
}

export function isBigIntDatatype(datatype: Datatype): datatype is "INT64" | "UINT64" {
  return datatype === "INT64" || datatype === "UINT64";
}

export function isFloatDatatype(datatype: Datatype): datatype is "FP16" | "BF16" | "FP32" | "FP64" {
  return datatype === "FP16" || datatype === "BF16" || datatype === "FP32" || datatype === "FP64";
}

/** Integer ranges for types stored as JS numbers; used to reject values that would wrap silently. */
export const INTEGER_RANGE: Partial<Record<Datatype, readonly [number, number]>> = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
