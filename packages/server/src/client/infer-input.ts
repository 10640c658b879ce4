import { InvalidInput } from "../errors/index.ts";
import type { RequestedOutput } from "../protocol/types.ts";
import { checkTensor, describeData } from "../protocol/v2/request-encode.ts";
import {
  type Datatype,
  flatten,
  isDatatype,
  numberToBf16,
  numberToHalf,
  type Parameters,
  type Tensor,
  type TensorData,
  TensorValueError,
  type TypedArray,
} from "../tensor/index.ts";

/** Nested JS arrays of one element type, e.g. `number[][]`. */
export type NestedArray<T> = readonly (T | NestedArray<T>)[];

/**
 * What `InferInput.setData` takes: a typed array of the datatype's storage class (Float32Array for FP32,
 * BigInt64Array for INT64, Uint8Array for BOOL, Uint16Array raw bits or Float32Array/Float64Array values for
 * FP16/BF16), nested or flat numbers/booleans/bigints, or strings / Uint8Array elements for BYTES.
 */
export type InferInputData =
  | TypedArray
  | NestedArray<number | boolean | bigint>
  | NestedArray<string>
  | NestedArray<Uint8Array>;

export interface SetDataOptions {
  /** Send this input as a binary tensor (default: the `binary` option of `infer`, itself true by default). */
  binary?: boolean;
}

/** One input tensor of an inference request, checked against its shape and datatype as data is set. */
export class InferInput {
  readonly name: string;
  readonly datatype: Datatype;
  private _shape: number[];
  private _data?: TensorData;
  private _binary?: boolean;
  private _parameters?: Parameters;

  constructor(name: string, shape: readonly number[], datatype: Datatype, data?: InferInputData) {
    if (typeof name !== "string" || name.length === 0) throw new InvalidInput("InferInput needs a non-empty name");
    if (!isDatatype(datatype)) {
      throw new InvalidInput(`InferInput '${name}' has unknown datatype ${JSON.stringify(datatype)}`);
    }
    this.name = name;
    this.datatype = datatype;
    this._shape = checkShape(shape, name);
    if (data !== undefined) this.setData(data);
  }

  get shape(): readonly number[] {
    return this._shape;
  }

  /** The data as it will be sent (typed storage, or Uint8Array elements for BYTES), if set. */
  get data(): TensorData | undefined {
    return this._data;
  }

  /** This input's own choice of binary or JSON; undefined follows the request's `binary` option. */
  get binary(): boolean | undefined {
    return this._binary;
  }

  get parameters(): Parameters | undefined {
    return this._parameters;
  }

  /** Changes the shape (e.g. a new batch size); data set later must fit it. */
  setShape(shape: readonly number[]): this {
    this._shape = checkShape(shape, this.name);
    return this;
  }

  setParameters(parameters: Parameters | undefined): this {
    this._parameters = parameters === undefined ? undefined : { ...parameters };
    return this;
  }

  /**
   * Sets the tensor data. Typed arrays are kept as they are (not copied); arrays may be nested or flat.
   * Throws InvalidInput naming this input when the element count is not product(shape) or the values do
   * not fit the datatype.
   */
  setData(data: InferInputData, options: SetDataOptions = {}): this {
    const what = `InferInput '${this.name}'`;
    let tensorData: TensorData;
    if (ArrayBuffer.isView(data)) {
      tensorData = fromTypedArray(data as TypedArray, this.datatype, what);
    } else if (Array.isArray(data)) {
      try {
        tensorData = flatten(data, this.datatype, this._shape);
      } catch (err) {
        if (err instanceof TensorValueError) throw new InvalidInput(`${what} data ${err.message}`);
        throw err;
      }
    } else {
      throw new InvalidInput(`${what} data must be a typed array or an array, not ${describeData(data)}`);
    }
    checkTensor({ datatype: this.datatype, shape: this._shape, data: tensorData }, what);
    this._data = tensorData;
    if (options.binary !== undefined) this._binary = options.binary;
    return this;
  }

  /** The tensor the codecs send. */
  toTensor(): Tensor {
    const what = `InferInput '${this.name}'`;
    if (this._data === undefined) throw new InvalidInput(`${what} has no data; call setData() first`);
    checkTensor({ datatype: this.datatype, shape: this._shape, data: this._data }, what);
    const tensor: Tensor = { name: this.name, datatype: this.datatype, shape: [...this._shape], data: this._data };
    if (this._parameters !== undefined) tensor.parameters = { ...this._parameters };
    return tensor;
  }
}

function checkShape(shape: readonly number[], name: string): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0)) {
    throw new InvalidInput(
      `InferInput '${name}' has an invalid shape ${JSON.stringify(shape)}: dimensions must be integers >= 0`,
    );
  }
  return [...shape];
}

/** FP16/BF16 accept float values (converted to their 16-bit patterns); everything else is checked as it is. */
function fromTypedArray(data: TypedArray, datatype: Datatype, what: string): TensorData {
  if (datatype === "BYTES") {
    throw new InvalidInput(`${what} is BYTES, so its data must be strings or Uint8Array elements, not one typed array`);
  }
  if ((datatype === "FP16" || datatype === "BF16") && (data instanceof Float32Array || data instanceof Float64Array)) {
    const encode = datatype === "FP16" ? numberToHalf : numberToBf16;
    const out = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = encode(data[i]);
    return out;
  }
  return data;
}

export interface RequestedOutputOptions {
  /** Ask for this output as a binary tensor (default: the `binary` option of `infer`, itself true by default). */
  binary?: boolean;
  parameters?: Parameters;
  /**
   * Triton's classification extension (tritonclient's `class_count`): the output comes back as BYTES holding its
   * top N classes, `"score:index[:label]"`, per batch entry.
   */
  classCount?: number;
}

/** An output to return, in the order the response should list it; naming outputs also filters the response. */
export class InferRequestedOutput {
  readonly name: string;
  readonly binary: boolean | undefined;
  readonly parameters: Parameters | undefined;

  constructor(name: string, options: RequestedOutputOptions = {}) {
    if (typeof name !== "string" || name.length === 0) {
      throw new InvalidInput("InferRequestedOutput needs a non-empty name");
    }
    this.name = name;
    this.binary = options.binary;
    this.parameters = options.parameters === undefined ? undefined : { ...options.parameters };
    if (options.classCount !== undefined && options.classCount !== 0) {
      if (!Number.isSafeInteger(options.classCount) || options.classCount < 0) {
        throw new InvalidInput(`InferRequestedOutput '${name}': classCount must be a non-negative integer`);
      }
      this.parameters = { ...this.parameters, classification: options.classCount };
    }
  }

  toRequestedOutput(): RequestedOutput {
    const parameters: Parameters = { ...this.parameters };
    if (this.binary !== undefined) parameters.binary_data = this.binary;
    return Object.keys(parameters).length > 0 ? { name: this.name, parameters } : { name: this.name };
  }
}
