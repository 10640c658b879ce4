import { InvalidInput } from "../../errors/index.ts";
import { isPlainObject } from "../json.ts";

/** TF Serving's binary value: an object with exactly one key, `b64`, holding a base64 string. */
export function isB64Object(v: unknown): v is { b64: string } {
  if (!isPlainObject(v) || typeof v.b64 !== "string") return false;
  for (const k in v) if (k !== "b64") return false;
  return true;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Base64 (standard or URL-safe alphabet, padding optional) -> bytes; anything else is a 400. */
export function decodeBase64(text: string): Uint8Array {
  const unpadded = text.replace(/=+$/, "");
  if (!BASE64.test(text) || unpadded.length % 4 === 1 || (text.length !== unpadded.length && text.length % 4 !== 0)) {
    throw new InvalidInput(`Unable to base64 decode: ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}`);
  }
  return new Uint8Array(Buffer.from(unpadded, "base64"));
}

/** Every `{"b64": ...}` in a nested value -> bytes; other values are left as they are. */
export function decodeB64Values(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeB64Values);
  if (isB64Object(value)) return decodeBase64(value.b64);
  return value;
}
