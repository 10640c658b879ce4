import { randomBytes } from "node:crypto";
import { InvalidInput } from "../../errors/index.ts";
import { parseRewritten, rememberJsonSource, rewriteJsonLiterals } from "../exact-json.ts";

/**
 * TF Serving's JSON dialect: float values may be the bare tokens `NaN`, `Infinity` and `-Infinity` (rapidjson's
 * kParseNanAndInfFlag also takes `Inf` / `-Inf`), in requests and in responses. JSON.parse and JSON.stringify
 * know neither, so V1 bodies go through these two functions.
 */

const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * A float that JSON cannot hold (NaN, ±Infinity) inside a V1 answer. `JSON.stringify` writes it as the string
 * `"NaN"` (what in-process consumers such as graph steps have always seen, and what a float input accepts back);
 * `stringifyV1` writes the bare token, as TF Serving does.
 */
export class NonFiniteNumber {
  readonly value: number;
  constructor(value: number) {
    this.value = value;
  }
  get token(): "NaN" | "Infinity" | "-Infinity" {
    return Number.isNaN(this.value) ? "NaN" : this.value > 0 ? "Infinity" : "-Infinity";
  }
  toJSON(): string {
    return this.token;
  }
}

const HAS_NON_FINITE = Symbol.for("tserve.v1.nonFinite");

/** Marks an answer that holds NonFiniteNumber values, so only those answers pay for the slower writer. */
export function markNonFinite<T extends object>(value: T): T {
  (value as Record<symbol, boolean>)[HAS_NON_FINITE] = true;
  return value;
}

function hasNonFinite(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[HAS_NON_FINITE] === true;
}

/** JSON text for a V1 answer; NonFiniteNumber values (and raw NaN/±Infinity numbers in marked answers) become bare tokens. */
export function stringifyV1(value: unknown): string {
  if (!hasNonFinite(value)) return JSON.stringify(value);
  const sentinel = `\u0000${randomBytes(6).toString("hex")}:`;
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key, v) {
    const original = this[key];
    if (original instanceof NonFiniteNumber) return sentinel + original.token;
    if (typeof v === "number" && !Number.isFinite(v)) return sentinel + new NonFiniteNumber(v).token;
    return v;
  });
  // JSON.stringify escapes the NUL, so the sentinel appears as \u0000 in the text.
  const quoted = JSON.stringify(sentinel).slice(1, -1);
  return text.replaceAll(new RegExp(`"${escapeRegExp(quoted)}(NaN|Infinity|-Infinity)"`, "g"), "$1");
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Parses a V1 request body. Standard JSON takes the fast path; a body with `NaN`/`Infinity` tokens is parsed
 * again with those tokens (outside strings) read as numbers. The source is remembered, so integer literals beyond
 * ±2^53 can be read exactly for an INT64/UINT64 input later (protocol/exact-json.ts).
 */
export function parseV1Json(body: Uint8Array | string): unknown {
  const text = typeof body === "string" ? body : decoder.decode(body);
  if (text.trim().length === 0) throw new InvalidInput("JSON Parse error: The document is empty");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    value = parseWithNonFiniteTokens(text, err as Error);
  }
  rememberJsonSource(value, body);
  return value;
}

function parseWithNonFiniteTokens(text: string, err: Error): unknown {
  const rewritten = rewriteJsonLiterals(text, { nonFinite: true });
  if (rewritten) {
    try {
      return parseRewritten(rewritten);
    } catch {
      // Report the original error, whose offsets refer to the text the client sent.
    }
  }
  throw new InvalidInput(`JSON Parse error: ${err.message}`);
}
