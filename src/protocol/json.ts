import { InvalidInput } from "../errors/index.ts";

const decoder = new TextDecoder("utf-8", { fatal: false });

/** Parses a JSON request body; a syntax error becomes a 400 that quotes the parser. */
export function parseJsonBody(body: Uint8Array | string, what = "request body"): unknown {
  const text = typeof body === "string" ? body : decoder.decode(body);
  if (text.length === 0) throw new InvalidInput(`The ${what} is empty; expected JSON.`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidInput(`Unrecognized request format: ${what} is not valid JSON (${(err as Error).message})`);
  }
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
