import { InvalidInput } from "../errors/index.ts";
import type { InferResponse } from "../protocol/types.ts";
import {
  bf16ToNumber,
  fromUtf8,
  halfToNumber,
  isBytesData,
  type Parameters,
  type Tensor,
  type TypedArray,
  toNested,
} from "../tensor/index.ts";

/** The answer to an inference call, with accessors that turn each output into the JS value you want. */
export class InferResult {
  readonly response: InferResponse;

  constructor(response: InferResponse) {
    this.response = response;
  }

  get modelName(): string {
    return this.response.modelName;
  }

  get modelVersion(): string | undefined {
    return this.response.modelVersion;
  }

  get id(): string | undefined {
    return this.response.id;
  }

  get parameters(): Parameters | undefined {
    return this.response.parameters;
  }

  get outputs(): readonly Tensor[] {
    return this.response.outputs;
  }

  /** The output tensor named `name`; throws, listing the outputs there are, when there is none. */
  output(name: string): Tensor {
    const found = this.response.outputs.find((t) => t.name === name);
    if (found) return found;
    const names = this.response.outputs.map((t) => `'${t.name}'`);
    throw new InvalidInput(
      `The response of model '${this.modelName}' has no output '${name}'; available outputs: ${names.length > 0 ? names.join(", ") : "none"}`,
    );
  }

  /**
   * The output's flat data: a typed array for numeric types (BOOL as 0/1 in a Uint8Array, INT64 as a
   * BigInt64Array, FP16/BF16 converted to a Float32Array), the raw elements for BYTES.
   */
  asTypedArray(name: string): TypedArray | Uint8Array[] {
    const t = this.output(name);
    if (t.datatype === "FP16" || t.datatype === "BF16") {
      const bits = t.data as Uint16Array;
      const decode = t.datatype === "FP16" ? halfToNumber : bf16ToNumber;
      const out = new Float32Array(bits.length);
      for (let i = 0; i < bits.length; i++) out[i] = decode(bits[i]);
      return out;
    }
    return t.data;
  }

  /** The output as nested JS arrays of its shape: numbers, booleans for BOOL, strings for BYTES. */
  asNested(name: string): unknown {
    const t = this.output(name);
    return toNested(t.data, t.datatype, t.shape);
  }

  /** A BYTES output's elements decoded as UTF-8, flat. */
  asStrings(name: string): string[] {
    const t = this.output(name);
    if (!isBytesData(t.data)) {
      throw new InvalidInput(`Output '${name}' is ${t.datatype}, not BYTES; use asTypedArray() or asNested()`);
    }
    return t.data.map(fromUtf8);
  }
}
