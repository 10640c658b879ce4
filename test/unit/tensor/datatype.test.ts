import { describe, expect, it } from "vitest";
import {
  allocate,
  byteSize,
  DATATYPES,
  type Datatype,
  fromFlatValues,
  isBigIntDatatype,
  isDatatype,
  isFloatDatatype,
  type NumericDatatype,
  storageFor,
} from "../../../packages/server/src/tensor/index.ts";

/** The Open Inference Protocol datatype table (KServe V2 adds BF16): name -> bytes per element. */
const SPEC_SIZES: Record<NumericDatatype, number> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  BF16: 2,
  FP32: 4,
  FP64: 8,
};

/** The JS storage every numeric datatype must use (FP16/BF16 keep raw 16-bit patterns). */
const STORAGE: Record<NumericDatatype, new (n: number) => ArrayBufferView> = {
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

/** One valid JSON element per datatype. */
const SAMPLE: Record<NumericDatatype, unknown> = {
  BOOL: true,
  UINT8: 7,
  UINT16: 7,
  UINT32: 7,
  UINT64: 7,
  INT8: -7,
  INT16: -7,
  INT32: -7,
  INT64: -7,
  FP16: 1.5,
  BF16: 1.5,
  FP32: 1.5,
  FP64: 1.5,
};

const NUMERIC = Object.keys(SPEC_SIZES) as NumericDatatype[];

describe("DATATYPES", () => {
  it("lists exactly the protocol's 13 numeric datatypes plus BYTES", () => {
    expect([...DATATYPES].sort()).toEqual([...NUMERIC, "BYTES"].sort());
  });

  it("recognises every datatype name, case-sensitively", () => {
    for (const d of DATATYPES) expect(isDatatype(d)).toBe(true);
    expect(isDatatype("fp32")).toBe(false);
    expect(isDatatype("FLOAT32")).toBe(false);
    expect(isDatatype("STRING")).toBe(false);
    expect(isDatatype(32)).toBe(false);
    expect(isDatatype(undefined)).toBe(false);
  });
});

describe.each(NUMERIC)("%s storage", (datatype) => {
  it("has the byte size from the protocol table", () => {
    expect(byteSize(datatype)).toBe(SPEC_SIZES[datatype]);
    expect(storageFor(datatype).BYTES_PER_ELEMENT).toBe(SPEC_SIZES[datatype]);
  });

  it("allocates the expected typed array class, zero-filled", () => {
    const a = allocate(datatype, 3);
    expect(a).toBeInstanceOf(STORAGE[datatype]);
    expect(a.length).toBe(3);
    expect(a.byteLength).toBe(3 * SPEC_SIZES[datatype]);
    expect(Array.from(a as ArrayLike<number | bigint>).every((v) => v === 0 || v === 0n)).toBe(true);
  });

  it("stores JSON values in that typed array class", () => {
    const data = fromFlatValues([SAMPLE[datatype], SAMPLE[datatype]], datatype);
    expect(data).toBeInstanceOf(STORAGE[datatype]);
    expect((data as ArrayBufferView).byteLength).toBe(2 * SPEC_SIZES[datatype]);
  });
});

describe("BYTES storage", () => {
  it("has no fixed byte size", () => {
    expect(byteSize("BYTES")).toBeUndefined();
  });

  it("stores each element as its own UTF-8 Uint8Array", () => {
    const data = fromFlatValues(["ab", "é"], "BYTES");
    expect(Array.isArray(data)).toBe(true);
    const elements = data as Uint8Array[];
    expect(elements).toHaveLength(2);
    expect(Array.from(elements[0])).toEqual([0x61, 0x62]);
    expect(Array.from(elements[1])).toEqual([0xc3, 0xa9]);
  });
});

describe("datatype predicates", () => {
  it("isBigIntDatatype is true only for the 64-bit integers", () => {
    const big = DATATYPES.filter((d: Datatype) => isBigIntDatatype(d));
    expect(big.sort()).toEqual(["INT64", "UINT64"]);
  });

  it("isFloatDatatype is true only for the four float types", () => {
    const floats = DATATYPES.filter((d: Datatype) => isFloatDatatype(d));
    expect(floats.sort()).toEqual(["BF16", "FP16", "FP32", "FP64"]);
  });
});
