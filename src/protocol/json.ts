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
