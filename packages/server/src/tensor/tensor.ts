import type { Datatype, TypedArray } from "./datatype.ts";

/** BYTES elements are raw byte strings; numeric data is a typed array in row-major order. */
export type TensorData = TypedArray | Uint8Array[];

/** Request/tensor parameters; 64-bit gRPC integers beyond 2^53 arrive as bigint to stay exact. */
export type Parameters = Record<string, string | number | boolean | bigint>;

export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
  parameters?: Parameters;
}

/** Metadata of a model input or output; -1 marks a variable dimension. */
export interface TensorMetadata {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function isBytesData(data: TensorData): data is Uint8Array[] {
  return Array.isArray(data);
}

/** True when `shape` fits `pattern`, where -1 in the pattern matches any size. */
export function shapeMatches(shape: readonly number[], pattern: readonly number[]): boolean {
  if (shape.length !== pattern.length) return false;
  for (let i = 0; i < shape.length; i++) {
    if (pattern[i] !== -1 && pattern[i] !== shape[i]) return false;
  }
  return true;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}
