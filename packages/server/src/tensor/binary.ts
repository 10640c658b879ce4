import { decodeBytesElements, encodeBytesElements } from "./bytes.ts";
import { type Datatype, storageFor, type TypedArray } from "./datatype.ts";
import { elementCount, isBytesData, type TensorData } from "./tensor.ts";

/**
 * Raw little-endian bytes -> tensor data. Views the caller's memory when it is aligned for the element
 * type and copies only when it is not. Returns an error message on a size mismatch.
 */
export function dataFromBytes(datatype: Datatype, shape: readonly number[], bytes: Uint8Array): TensorData | string {
  const count = elementCount(shape);
  if (datatype === "BYTES") return decodeBytesElements(bytes, count);
  const Ctor = storageFor(datatype);
  const size = Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== count * size) {
    return `has ${bytes.byteLength} bytes, but shape [${shape.join(",")}] of ${datatype} needs ${count * size}`;
  }
  if (bytes.byteOffset % size === 0)
    return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count) as TypedArray;
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Ctor(copy.buffer, 0, count) as TypedArray;
}

/** Tensor data -> raw little-endian bytes (a view for numeric data; BYTES get length prefixes). */
export function dataToBytes(data: TensorData): Uint8Array {
  if (isBytesData(data)) return encodeBytesElements(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
