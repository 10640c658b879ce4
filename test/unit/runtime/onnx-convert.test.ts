import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { InvalidInput } from "../../../packages/server/src/errors/index.ts";
import { datatypeOfOrt, fromOrtTensor, ortTypeOf, toOrtTensor } from "../../../packages/server/src/runtime/onnx/convert.ts";
import { DATATYPES, fromUtf8, type Tensor, utf8 } from "../../../packages/server/src/tensor/index.ts";

describe("toOrtTensor", () => {
  it("shares the FP32 typed array's memory with the ORT tensor", () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = toOrtTensor({ name: "x", datatype: "FP32", shape: [2, 3], data });
    expect(t.type).toBe("float32");
    expect(t.dims).toEqual([2, 3]);
    const ortData = t.data as Float32Array;
    expect(ortData.buffer).toBe(data.buffer);
    data[0] = 42;
    expect(ortData[0]).toBe(42);
  });

  it("shares INT64 memory, including a view at an offset into a larger buffer", () => {
    const backing = new BigInt64Array([99n, -1n, 2n ** 62n]);
    const data = backing.subarray(1);
    const t = toOrtTensor({ name: "ids", datatype: "INT64", shape: [2], data });
    expect(t.type).toBe("int64");
    const ortData = t.data as BigInt64Array;
    expect(ortData.buffer).toBe(backing.buffer);
    expect(Array.from(ortData)).toEqual([-1n, 2n ** 62n]);
  });

  it("turns BYTES elements into JS strings", () => {
    const t = toOrtTensor({ name: "s", datatype: "BYTES", shape: [3], data: [utf8("ab"), utf8(""), utf8("é")] });
    expect(t.type).toBe("string");
    expect(t.data).toEqual(["ab", "", "é"]);
    expect(t.dims).toEqual([3]);
  });

  it("maps BOOL, FP16 and the integer types to their ORT types", () => {
    const cases: [Tensor, string][] = [
      [{ name: "b", datatype: "BOOL", shape: [2], data: new Uint8Array([1, 0]) }, "bool"],
      [{ name: "h", datatype: "FP16", shape: [1], data: new Uint16Array([0x3c00]) }, "float16"],
      [{ name: "u8", datatype: "UINT8", shape: [1], data: new Uint8Array([1]) }, "uint8"],
      [{ name: "i32", datatype: "INT32", shape: [1], data: new Int32Array([1]) }, "int32"],
      [{ name: "f64", datatype: "FP64", shape: [1], data: new Float64Array([1]) }, "float64"],
    ];
    for (const [tensor, type] of cases) {
      const t = toOrtTensor(tensor);
      expect(t.type, tensor.datatype).toBe(type);
      expect(Array.from(t.data as ArrayLike<number>)).toEqual(Array.from(tensor.data as ArrayLike<number>));
    }
  });

  it("rejects BF16 (unsupported by onnxruntime) with a 400 InvalidInput naming the input", () => {
    let caught: unknown;
    try {
      toOrtTensor({ name: "weights", datatype: "BF16", shape: [1], data: new Uint16Array([0x3f80]) });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidInput);
    expect((caught as InvalidInput).status).toBe(400);
    expect((caught as InvalidInput).message).toContain("'weights'");
    expect((caught as InvalidInput).message).toContain("BF16");
  });
});

describe("fromOrtTensor", () => {
  it("maps float32 back to FP32 and uses the data in place", () => {
    const data = new Float32Array([0.5, 1.5]);
    const out = fromOrtTensor("y", new ort.Tensor("float32", data, [1, 2]));
    expect(out).toMatchObject({ name: "y", datatype: "FP32", shape: [1, 2] });
    expect(out.data).toBe(data);
  });

  it("maps int64 to INT64 with numeric dims", () => {
    const out = fromOrtTensor("label", new ort.Tensor("int64", new BigInt64Array([3n, -4n]), [2]));
    expect(out.datatype).toBe("INT64");
    expect(out.shape).toEqual([2]);
    expect(out.data).toEqual(new BigInt64Array([3n, -4n]));
  });

  it("maps string tensors to BYTES with UTF-8 elements", () => {
    const out = fromOrtTensor("words", new ort.Tensor("string", ["hé", ""], [2]));
    expect(out.datatype).toBe("BYTES");
    expect((out.data as Uint8Array[]).map(fromUtf8)).toEqual(["hé", ""]);
    expect(Array.from((out.data as Uint8Array[])[0])).toEqual([0x68, 0xc3, 0xa9]);
  });

  it("maps bool to BOOL stored as one byte per element", () => {
    const out = fromOrtTensor("mask", new ort.Tensor("bool", new Uint8Array([1, 0, 1]), [3]));
    expect(out.datatype).toBe("BOOL");
    expect(out.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(out.data as Uint8Array)).toEqual([1, 0, 1]);
  });

  it("maps float16, uint8, int8, int16, uint16, int32, uint32, uint64 and float64 back", () => {
    const cases: [ort.Tensor, string][] = [
      [new ort.Tensor("float16", new Uint16Array([0x3c00]), [1]), "FP16"],
      [new ort.Tensor("uint8", new Uint8Array([1]), [1]), "UINT8"],
      [new ort.Tensor("int8", new Int8Array([1]), [1]), "INT8"],
      [new ort.Tensor("int16", new Int16Array([1]), [1]), "INT16"],
      [new ort.Tensor("uint16", new Uint16Array([1]), [1]), "UINT16"],
      [new ort.Tensor("int32", new Int32Array([1]), [1]), "INT32"],
      [new ort.Tensor("uint32", new Uint32Array([1]), [1]), "UINT32"],
      [new ort.Tensor("uint64", new BigUint64Array([1n]), [1]), "UINT64"],
      [new ort.Tensor("float64", new Float64Array([1]), [1]), "FP64"],
    ];
    for (const [tensor, datatype] of cases) expect(fromOrtTensor("o", tensor).datatype).toBe(datatype);
  });

  it("round-trips through toOrtTensor for every datatype onnxruntime supports", () => {
    const inputs: Tensor[] = [
      { name: "a", datatype: "FP32", shape: [2], data: new Float32Array([1, -1]) },
      { name: "b", datatype: "INT64", shape: [1, 1], data: new BigInt64Array([5n]) },
      { name: "c", datatype: "BOOL", shape: [2], data: new Uint8Array([0, 1]) },
      { name: "d", datatype: "FP16", shape: [1], data: new Uint16Array([0xc100]) },
      { name: "e", datatype: "BYTES", shape: [2], data: [utf8("x"), utf8("yz")] },
    ];
    for (const t of inputs) {
      const back = fromOrtTensor(t.name, toOrtTensor(t));
      expect(back.datatype, t.datatype).toBe(t.datatype);
      expect(back.shape).toEqual(t.shape);
      expect(back.data).toEqual(t.data);
    }
  });

  it("refuses an ORT type tserve cannot represent, naming the output", () => {
    const fake = { type: "complex64", dims: [1], data: new Float32Array(2) } as unknown as ort.Tensor;
    expect(() => fromOrtTensor("z", fake)).toThrow(/'z'/);
  });
});

describe("ortTypeOf / datatypeOfOrt", () => {
  it("cover every datatype except BF16, and invert each other", () => {
    for (const d of DATATYPES) {
      const type = ortTypeOf(d);
      if (d === "BF16") {
        expect(type).toBeUndefined();
        continue;
      }
      expect(type, d).toBeDefined();
      expect(datatypeOfOrt(type as string)).toBe(d);
    }
    expect(datatypeOfOrt("bfloat16")).toBeUndefined();
  });
});
