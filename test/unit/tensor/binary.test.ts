import { describe, expect, it } from "vitest";
import { dataFromBytes, dataToBytes, fromUtf8, type TensorData, utf8 } from "../../../packages/server/src/tensor/index.ts";

/** Little-endian bytes written independently of the code under test. */
function le(write: (view: DataView) => void, length: number, offset = 0): Uint8Array {
  const backing = new Uint8Array(offset + length);
  write(new DataView(backing.buffer, offset, length));
  return backing.subarray(offset);
}

function ok(result: TensorData | string): TensorData {
  if (typeof result === "string") throw new Error(`unexpected error: ${result}`);
  return result;
}

describe("dataFromBytes", () => {
  it("reads FP32 little-endian values", () => {
    const bytes = le((v) => {
      v.setFloat32(0, 1.5, true);
      v.setFloat32(4, -2, true);
    }, 8);
    expect(ok(dataFromBytes("FP32", [2], bytes))).toEqual(new Float32Array([1.5, -2]));
  });

  it("reads INT64 little-endian values exactly", () => {
    const bytes = le((v) => {
      v.setBigInt64(0, -(2n ** 63n), true);
      v.setBigInt64(8, 2n ** 62n + 1n, true);
    }, 16);
    expect(ok(dataFromBytes("INT64", [2], bytes))).toEqual(new BigInt64Array([-(2n ** 63n), 2n ** 62n + 1n]));
  });

  it("reads UINT16, INT8 and BOOL with their native sizes", () => {
    expect(ok(dataFromBytes("UINT16", [2], new Uint8Array([0x01, 0x02, 0xff, 0xff])))).toEqual(
      new Uint16Array([0x0201, 0xffff]),
    );
    expect(ok(dataFromBytes("INT8", [2], new Uint8Array([0xff, 0x7f])))).toEqual(new Int8Array([-1, 127]));
    expect(ok(dataFromBytes("BOOL", [3], new Uint8Array([1, 0, 1])))).toEqual(new Uint8Array([1, 0, 1]));
  });

  it("keeps FP16 bit patterns", () => {
    const d = ok(dataFromBytes("FP16", [2], new Uint8Array([0x00, 0x3c, 0x00, 0xc1])));
    expect(d).toEqual(new Uint16Array([0x3c00, 0xc100]));
  });

  it("is zero-copy when the bytes are aligned: same ArrayBuffer, writes visible both ways", () => {
    const bytes = le(
      (v) => {
        v.setFloat32(0, 1, true);
        v.setFloat32(4, 2, true);
      },
      8,
      8,
    );
    expect(bytes.byteOffset).toBe(8);
    const d = ok(dataFromBytes("FP32", [2], bytes)) as Float32Array;
    expect(d.buffer).toBe(bytes.buffer);
    expect(d.byteOffset).toBe(8);
    d[0] = 5;
    expect(new DataView(bytes.buffer, bytes.byteOffset).getFloat32(0, true)).toBe(5);
  });

  it("copies when the bytes are misaligned for the element size, with the right values", () => {
    const bytes = le(
      (v) => {
        v.setFloat32(0, 3.25, true);
        v.setFloat32(4, -7, true);
      },
      8,
      1,
    );
    const d = ok(dataFromBytes("FP32", [2], bytes)) as Float32Array;
    expect(d).toEqual(new Float32Array([3.25, -7]));
    expect(d.buffer).not.toBe(bytes.buffer);
  });

  it("copies FP64 at a 4-byte (not 8-byte) aligned offset", () => {
    const bytes = le((v) => v.setFloat64(0, Math.PI, true), 8, 4);
    const d = ok(dataFromBytes("FP64", [1], bytes)) as Float64Array;
    expect(d[0]).toBe(Math.PI);
    expect(d.buffer).not.toBe(bytes.buffer);
  });

  it("views one-byte types at any offset", () => {
    const bytes = new Uint8Array([9, 1, 2, 3]).subarray(1);
    const d = ok(dataFromBytes("UINT8", [3], bytes)) as Uint8Array;
    expect(d.buffer).toBe(bytes.buffer);
    expect(Array.from(d)).toEqual([1, 2, 3]);
  });

  it("reports a byte-length mismatch with the sizes, shape and datatype", () => {
    const msg = dataFromBytes("FP32", [2, 2], new Uint8Array(12));
    expect(typeof msg).toBe("string");
    expect(msg).toContain("12");
    expect(msg).toContain("16");
    expect(msg).toContain("[2,2]");
    expect(msg).toContain("FP32");
  });

  it("reports too many bytes as well", () => {
    const msg = dataFromBytes("INT32", [1], new Uint8Array(5));
    expect(typeof msg).toBe("string");
    expect(msg).toContain("5");
    expect(msg).toContain("4");
  });

  it("accepts zero bytes for a zero-sized shape", () => {
    const d = ok(dataFromBytes("FP32", [2, 0], new Uint8Array(0)));
    expect(d).toBeInstanceOf(Float32Array);
    expect((d as Float32Array).length).toBe(0);
  });

  it("decodes BYTES from length-prefixed elements", () => {
    const d = ok(dataFromBytes("BYTES", [2], new Uint8Array([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0])));
    expect((d as Uint8Array[]).map(fromUtf8)).toEqual(["ab", ""]);
  });

  it("reports a BYTES element count that does not match the shape", () => {
    const msg = dataFromBytes("BYTES", [3], new Uint8Array([1, 0, 0, 0, 0x61]));
    expect(typeof msg).toBe("string");
    expect(msg).toContain("1");
    expect(msg).toContain("3");
  });

  it("reports a truncated BYTES prefix", () => {
    expect(typeof dataFromBytes("BYTES", [1], new Uint8Array([1, 0]))).toBe("string");
  });
});

describe("dataToBytes", () => {
  it("returns a view of numeric data (same memory, little-endian)", () => {
    const backing = new Float32Array([0, 1.5, -2]);
    const data = backing.subarray(1);
    const bytes = dataToBytes(data);
    expect(bytes.buffer).toBe(backing.buffer);
    expect(bytes.byteOffset).toBe(4);
    expect(bytes.byteLength).toBe(8);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    expect(view.getFloat32(0, true)).toBe(1.5);
    expect(view.getFloat32(4, true)).toBe(-2);
  });

  it("length-prefixes BYTES elements", () => {
    expect(Array.from(dataToBytes([utf8("ab"), utf8("")]))).toEqual([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0]);
  });

  it("round-trips with dataFromBytes", () => {
    const data = new BigUint64Array([0n, 2n ** 64n - 1n, 12345678901234567890n]);
    expect(ok(dataFromBytes("UINT64", [3], dataToBytes(data)))).toEqual(data);
  });
});
