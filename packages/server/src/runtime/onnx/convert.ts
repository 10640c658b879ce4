import * as ort from "onnxruntime-node";
import { InvalidInput } from "../../errors/index.ts";
import {
  type Datatype,
  exactUtf8,
  isBytesData,
  isWellFormedText,
  type Tensor,
  type TypedArray,
  utf8,
} from "../../tensor/index.ts";

const TO_ORT: Partial<Record<Datatype, ort.Tensor.Type>> = {
  BOOL: "bool",
  UINT8: "uint8",
  UINT16: "uint16",
  UINT32: "uint32",
  UINT64: "uint64",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  FP16: "float16",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
};

const FROM_ORT: Record<string, Datatype> = Object.fromEntries(
  Object.entries(TO_ORT).map(([k, v]) => [v as string, k as Datatype]),
);

export function ortTypeOf(datatype: Datatype): ort.Tensor.Type | undefined {
  return TO_ORT[datatype];
}

export function datatypeOfOrt(type: string): Datatype | undefined {
  return FROM_ORT[type];
}

/** tserve tensor -> ORT tensor, sharing the typed array's memory (BYTES become JS strings, see ortStrings). */
export function toOrtTensor(t: Tensor): ort.Tensor {
  const type = TO_ORT[t.datatype];
  if (!type) throw new InvalidInput(`Input '${t.name}': datatype ${t.datatype} is not supported by onnxruntime`);
  if (isBytesData(t.data)) return new ort.Tensor("string", ortStrings(t.name, t.data), t.shape);
  return new ort.Tensor(type as "float32", t.data as Float32Array, t.shape);
}

/**
 * BYTES elements -> the JS strings an ONNX string tensor is made of, or InvalidInput (400) naming the input and
 * the element when one cannot be carried exactly. onnxruntime-node takes JS strings and hands each to the runtime
 * as a NUL-terminated UTF-8 C string: bytes that are not UTF-8 would come back as U+FFFD, and a NUL byte ends the
 * string there (`\0\xffbin` arrives as ""), so such elements are refused instead of changed. (A batched run that
 * fails this way is run again request by request by the engine's Batcher: only the request that sent it gets the 400.)
 */
export function ortStrings(name: string, data: readonly (Uint8Array | string)[]): string[] {
  const out = new Array<string>(data.length);
  for (let i = 0; i < data.length; i++) {
    const e = data[i];
    // Tensors built in code (a transformer's, a graph step's) may hold strings: the same rules apply to them.
    const text = typeof e === "string" ? (isWellFormedText(e) ? e : undefined) : exactUtf8(e);
    const nul = typeof e === "string" ? e.includes("\0") : e.includes(0);
    if (text === undefined || nul) {
      const what = [text === undefined ? "is not valid UTF-8" : "", nul ? "holds a NUL byte" : ""].filter(Boolean).join(" and ");
      const why = nul ? " (onnxruntime ends a string at its first NUL)" : "";
      throw new InvalidInput(`Input '${name}' element ${i} ${what}, which an ONNX string tensor cannot carry${why}`);
    }
    out[i] = text;
  }
  return out;
}

/** ORT tensor -> tserve tensor; numeric data is used in place. */
export function fromOrtTensor(name: string, value: ort.Tensor): Tensor {
  const datatype = FROM_ORT[value.type];
  if (!datatype) throw new Error(`Output '${name}' has ORT type ${value.type}, which tserve cannot represent`);
  const shape = value.dims.map(Number);
  if (datatype === "BYTES") return { name, datatype, shape, data: (value.data as string[]).map(utf8) };
  let data = value.data as TypedArray;
  // ORT hands bool outputs back as Uint8Array already; guard against other views.
  if (datatype === "BOOL" && !(data instanceof Uint8Array)) data = Uint8Array.from(data as ArrayLike<number>);
  return { name, datatype, shape, data };
}
