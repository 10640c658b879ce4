import { InvalidInput } from "../errors/index.ts";
import { rememberJsonSource } from "./exact-json.ts";

const decoder = new TextDecoder("utf-8", { fatal: false });

/**
 * Parses a JSON request body; a syntax error becomes a 400 that quotes the parser. The source is remembered, so
 * integer literals beyond ±2^53 can be read exactly for an INT64/UINT64 tensor later (exact-json.ts).
 */
export function parseJsonBody(body: Uint8Array | string, what = "request body"): unknown {
  const text = typeof body === "string" ? body : decoder.decode(body);
  if (text.length === 0) throw new InvalidInput(`The ${what} is empty; expected JSON.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidInput(`Unrecognized request format: ${what} is not valid JSON (${(err as Error).message})`);
  }
  rememberJsonSource(value, body);
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** JSON cannot carry bigint: parameters that hold one (exact 64-bit gRPC values) go out as digit strings. */
export function jsonParameters<T extends Record<string, unknown>>(params: T): T {
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === "bigint") {
      out ??= { ...params };
      out[k] = v.toString();
    }
  }
  return (out as T) ?? params;
}
