import { InvalidInput } from "../../errors/index.ts";
import { isBytesData, type Parameters, type Tensor, type TensorMetadata, utf8 } from "../../tensor/index.ts";
import type { RequestedOutput } from "../types.ts";

/**
 * Triton's classification extension: a requested output with `"parameters": {"classification": N}` (older clients:
 * `class_count`) comes back as BYTES holding its top N entries by score, best first, each `"score:index"` or
 * `"score:index:label"` when the output has labels. The score is printed as C++'s std::to_string prints it (printf
 * `%f`: six decimals, rounded half to even), the index in decimal. With a batch dimension, each batch entry is
 * classified on its own: shape [batch, N]; otherwise the whole tensor is one entry: shape [N] (N is at most the
 * entry's element count).
 */

/** Triton's cap on the elements of one classified entry. */
export const MAX_CLASSIFICATION_ELEMENTS = 1_000_000;

const SCORED = new Set(["UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP32", "FP64"]);

/** The classification count an output asks for (0: none); InvalidInput when it is not a non-negative integer. */
export function classificationCount(parameters: Parameters | undefined, output: string): number {
  if (!parameters) return 0;
  for (const key of ["classification", "class_count"]) {
    const value = parameters[key];
    if (value === undefined) continue;
    const n = typeof value === "bigint" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
      throw new InvalidInput(`Output '${output}': parameter '${key}' must be a non-negative integer (the number of classes to return), got ${JSON.stringify(typeof value === "bigint" ? String(value) : value)}`);
    }
    return n;
  }
  return 0;
}

/** How the model describes its outputs, for deciding whether an output has a batch dimension. */
export interface ClassificationContext {
  /** The model batches (Triton's max_batch_size > 0): every output's first dimension is the batch. */
  batching: boolean;
  /** The model's declared outputs (their first dimension -1 marks a variable batch dimension). */
  outputs?: readonly TensorMetadata[];
  /** Class labels of an output, by index. */
  labels?(output: string): readonly string[] | undefined;
}

/** Whether `t`'s first dimension is a batch: the model batches, or it declares a variable first dimension (or nothing). */
function hasBatchDimension(t: Tensor, ctx: ClassificationContext): boolean {
  if (t.shape.length < 2) return false;
  if (ctx.batching) return true;
  const declared = ctx.outputs?.find((o) => o.name === t.name);
  return declared === undefined || declared.shape.length === 0 || declared.shape[0] === -1;
}

/** Replaces every requested output that asks for classification with its top-N classes; the others pass unchanged. */
export function classifyOutputs(outputs: Tensor[], requested: readonly RequestedOutput[] | undefined, ctx: ClassificationContext): Tensor[] {
  if (!requested || requested.length === 0) return outputs;
  let result = outputs;
  for (const r of requested) {
    const count = classificationCount(r.parameters, r.name);
    if (count === 0) continue;
    const i = result.findIndex((t) => t.name === r.name);
    if (i < 0) continue;
    if (result === outputs) result = [...outputs];
    result[i] = classify(result[i], count, hasBatchDimension(result[i], ctx), ctx.labels?.(r.name));
  }
  return result;
}

/** One output's top `count` classes per batch entry. */
export function classify(t: Tensor, count: number, batched: boolean, labels?: readonly string[]): Tensor {
  if (!SCORED.has(t.datatype) || isBytesData(t.data)) {
    throw new InvalidInput(`class result not available for output '${t.name}' due to unsupported type '${t.datatype}'`);
  }
  const data = t.data;
  const total = data.length;
  const batch = batched ? t.shape[0] : 1;
  const entry = batch === 0 ? 0 : total / batch;
  if (entry > MAX_CLASSIFICATION_ELEMENTS) {
    throw new InvalidInput(`classification output tensor too large: output '${t.name}' has ${entry} classes per entry (at most ${MAX_CLASSIFICATION_ELEMENTS})`);
  }
  const n = Math.min(count, entry);
  const bigint = typeof data[0] === "bigint";
  const floating = t.datatype === "FP32" || t.datatype === "FP64";
  const strings: Uint8Array[] = [];
  const order = new Array<number>(entry);
  for (let b = 0; b < batch; b++) {
    const base = b * entry;
    for (let k = 0; k < entry; k++) order[k] = k;
    // Best first; equal scores keep index order; NaN sorts last.
    order.sort((x, y) => {
      const a = data[base + x] as number | bigint;
      const c = data[base + y] as number | bigint;
      if (a > c) return -1;
      if (a < c) return 1;
      if (!bigint) {
        const an = Number.isNaN(a);
        const cn = Number.isNaN(c);
        if (an !== cn) return an ? 1 : -1;
      }
      return x - y;
    });
    for (let k = 0; k < n; k++) {
      const index = order[k];
      const value = data[base + index] as number | bigint;
      let text = `${floating ? formatFixed6(value as number) : String(value)}:${index}`;
      const label = labels?.[index];
      if (label) text += `:${label}`;
      strings.push(utf8(text));
    }
  }
  return { name: t.name, datatype: "BYTES", shape: batched ? [batch, n] : [n], data: strings };
}

const MILLION = 1_000_000n;

/**
 * printf's `%f` of a double (what std::to_string(float|double) prints): exact decimal value rounded half to even
 * at six decimals, `-` kept on negative zero, `nan` / `inf` spelled as glibc spells them.
 */
export function formatFixed6(x: number): string {
  if (Number.isNaN(x)) return "nan";
  const negative = x < 0 || Object.is(x, -0);
  const sign = negative ? "-" : "";
  if (!Number.isFinite(x)) return `${sign}inf`;
  // |x| = mantissa * 2^exponent exactly.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, Math.abs(x));
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  let scaled: bigint;
  if (exponent >= 0) {
    scaled = (mantissa << BigInt(exponent)) * MILLION;
  } else {
    const numerator = mantissa * MILLION;
    const denominator = 1n << BigInt(-exponent);
    scaled = numerator / denominator;
    const twice = (numerator % denominator) * 2n;
    if (twice > denominator || (twice === denominator && scaled % 2n === 1n)) scaled += 1n;
  }
  const whole = scaled / MILLION;
  const decimals = (scaled % MILLION).toString().padStart(6, "0");
  return `${sign}${whole}.${decimals}`;
}
