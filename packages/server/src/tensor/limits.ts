/**
 * How many tensor elements one request may declare. Every codec sizes its allocations from what the client
 * declares (a shape, a count, a length prefix); these checks run before any such allocation, so a 100-byte body
 * cannot ask for 300 million floats.
 */
import { InvalidInput } from "../errors/index.ts";

/**
 * 64 Mi elements: as many one-byte elements as the default 64 MiB body (`--max_buffer_size`) can carry, so no
 * request the default body limit admits is refused for its element count, while a declared shape that the body
 * does not carry (a broadcast TensorProto value, a dimension beside a zero) stays within what a real body could
 * have sent. At 8 bytes per element that is 512 MiB: far inside Node's default heap.
 */
export const DEFAULT_MAX_TENSOR_ELEMENTS = 64 * 1024 * 1024;

export const MAX_TENSOR_ELEMENTS_FLAG = "--max_tensor_elements";

export interface TensorLimits {
  /** The most tensor elements one request may declare, across all of its tensors. */
  maxTensorElements: number;
}

/**
 * What one BYTES element counts for. A numeric element is 1 to 8 bytes of a typed array, off the JS heap; a BYTES
 * element is a Uint8Array object of its own (about 100 bytes of heap even when empty, and 4 bytes on the wire),
 * so 16 Mi empty elements in a 64 MiB body would take some 2 GB of heap. Counted 16 times, the default limit lets
 * a request hold 4 Mi BYTES elements.
 */
export const BYTES_ELEMENT_WEIGHT = 16;

/** Fills in defaults and checks a configured limit (a positive integer); throws a RangeError naming the flag. */
export function resolveTensorLimits(limits?: Partial<TensorLimits>): TensorLimits {
  const max = limits?.maxTensorElements ?? DEFAULT_MAX_TENSOR_ELEMENTS;
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`${MAX_TENSOR_ELEMENTS_FLAG} must be a positive integer, got ${String(max)}`);
  }
  return { maxTensorElements: max };
}

function limitOf(limits: Partial<TensorLimits> | undefined): number {
  const max = limits?.maxTensorElements;
  return typeof max === "number" && max >= 0 ? max : DEFAULT_MAX_TENSOR_ELEMENTS;
}

function describeShape(shape: readonly unknown[]): string {
  const shown = shape.length > 8 ? [...shape.slice(0, 8).map(String), "…"] : shape.map(String);
  return `[${shown.join(",")}]`;
}

/**
 * One request's allowance of tensor elements. Each tensor a codec decodes is charged before anything is
 * allocated for it; once the request's tensors together pass the limit, the charge throws InvalidInput (400,
 * INVALID_ARGUMENT over gRPC) naming the limit and the flag that raises it.
 *
 * A shape is charged the product of its non-zero dimensions: a [1000000000, 0] tensor holds no elements but
 * still nests a billion empty rows in JSON, so it counts as a billion.
 */
export class ElementBudget {
  readonly limit: number;
  private spent = 0;

  constructor(limits?: Partial<TensorLimits>) {
    this.limit = limitOf(limits);
  }

  /** Elements charged so far. */
  get used(): number {
    return this.spent;
  }

  /** Elements this request may still declare. */
  get remaining(): number {
    return this.limit - this.spent;
  }

  /**
   * Checks a declared shape (every dimension a non-negative safe integer), charges it and returns its element
   * count. `what` names the tensor in the message (`Input 'x'`); a `datatype` of BYTES charges each element
   * BYTES_ELEMENT_WEIGHT times.
   */
  shape(shape: readonly unknown[], what: string, datatype?: string): number {
    const weight = datatype === "BYTES" ? BYTES_ELEMENT_WEIGHT : 1;
    let count = 1;
    let footprint = weight;
    for (const d of shape) {
      if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
        throw new InvalidInput(`${what}: shape ${describeShape(shape)} must hold integers >= 0`);
      }
      count *= d;
      if (d > 0) footprint *= d;
      // Checked per dimension, so the product is refused before it leaves the range where it is exact.
      if (footprint > this.remaining) this.refuseShape(shape as readonly number[], what, weight);
    }
    this.spent += footprint;
    return count;
  }

  /** Charges `count` elements (a length the client declared, or the number of values it sent). */
  elements(count: number, what: string): void {
    if (!Number.isFinite(count) || count < 0) throw new InvalidInput(`${what}: invalid element count ${count}`);
    if (count > this.remaining) this.refuse(`${what}: ${count} elements`);
    this.spent += count;
  }

  private refuseShape(shape: readonly number[], what: string, weight: number): never {
    let footprint = 1;
    for (const d of shape) if (d > 0) footprint *= d;
    const n = Number.isSafeInteger(footprint) ? String(footprint) : `more than ${Number.MAX_SAFE_INTEGER}`;
    const size = shape.includes(0)
      ? `has no elements but nests ${n} empty arrays`
      : weight > 1
        ? `has ${n} BYTES elements, each counted as ${weight}`
        : `has ${n} elements`;
    this.refuse(`${what}: shape ${describeShape(shape)} ${size}`);
  }

  private refuse(declared: string): never {
    const already = this.spent > 0 ? ` (the request's other tensors already declare ${this.spent})` : "";
    throw new InvalidInput(
      `${declared}, more than the limit of ${this.limit} tensor elements per request${already}; ` +
        `set ${MAX_TENSOR_ELEMENTS_FLAG} to raise it`,
    );
  }
}

/** A fresh budget for one request (limits default to DEFAULT_MAX_TENSOR_ELEMENTS). */
export function elementBudget(limits?: Partial<TensorLimits> | ElementBudget): ElementBudget {
  return limits instanceof ElementBudget ? limits : new ElementBudget(limits);
}
