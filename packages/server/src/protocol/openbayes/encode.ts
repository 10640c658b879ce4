import { encode } from "@msgpack/msgpack";
import { negotiateAnswer } from "./negotiate.ts";

/** How a predict answer goes on the wire. */
export type EncodedAnswer =
  /** A body with its type (status 200). */
  | { kind: "body"; contentType: string; body: Buffer }
  /** A web Response the predictor built: sent as it is. */
  | { kind: "response"; response: Response }
  /** Nothing OpenBayes can send (undefined, a number …): an empty 500, with why for the log. */
  | { kind: "invalid"; reason: string };

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];

/** `image/png` or `image/jpeg` by magic bytes, else `application/octet-stream`. */
export function bytesContentType(bytes: Uint8Array): string {
  const starts = (magic: number[]) => bytes.byteLength >= magic.length && magic.every((b, i) => bytes[i] === b);
  if (starts(PNG)) return "image/png";
  if (starts(JPEG)) return "image/jpeg";
  return "application/octet-stream";
}

function asBuffer(bytes: Uint8Array | ArrayBuffer): Buffer {
  return bytes instanceof ArrayBuffer ? Buffer.from(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function isResponse(value: unknown): value is Response {
  return value instanceof Response || (typeof value === "object" && value !== null && Object.prototype.toString.call(value) === "[object Response]");
}

function numberOf(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** Values JSON has no form for, made plain: other typed arrays -> lists, bigint -> number (or digits), Map/Set. */
function plainScalar(raw: unknown): { done: true; value: unknown } | { done: false } {
  if (typeof raw === "bigint") return { done: true, value: numberOf(raw) };
  if (ArrayBuffer.isView(raw) && !(raw instanceof Uint8Array) && !(raw instanceof DataView)) {
    return { done: true, value: Array.from(raw as unknown as ArrayLike<number | bigint>, (v) => (typeof v === "bigint" ? numberOf(v) : v)) };
  }
  if (raw instanceof Map) return { done: true, value: Object.fromEntries(raw) };
  if (raw instanceof Set) return { done: true, value: [...raw] };
  return { done: false };
}

/** JSON, with bytes anywhere inside as base64 strings (OpenBayes's rule). */
export function encodeJson(value: unknown): Buffer {
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key: string, converted: unknown) {
    // `this[key]` is the value before its toJSON(): a Buffer would otherwise arrive as {type, data}.
    const raw = this[key];
    if (raw instanceof Uint8Array) return asBuffer(raw).toString("base64");
    if (raw instanceof ArrayBuffer) return Buffer.from(raw).toString("base64");
    const plain = plainScalar(raw);
    return plain.done ? plain.value : converted;
  });
  return Buffer.from(text ?? "null", "utf8");
}

/** MessagePack, with bytes as `bin` and the same plain forms as JSON for everything else. */
export function encodeMsgpack(value: unknown): Buffer {
  const seen = new Set<object>();
  const plain = (v: unknown): unknown => {
    if (v instanceof Uint8Array) return v;
    if (v instanceof ArrayBuffer) return new Uint8Array(v);
    const scalar = plainScalar(v);
    if (scalar.done) return plain(scalar.value);
    if (typeof v !== "object" || v === null || v instanceof Date) return v;
    if (typeof (v as { toJSON?: unknown }).toJSON === "function") return plain((v as { toJSON(): unknown }).toJSON());
    if (seen.has(v)) throw new TypeError("Converting circular structure to MessagePack");
    seen.add(v);
    const out = Array.isArray(v) ? v.map(plain) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
    seen.delete(v);
    return out;
  };
  return asBuffer(encode(plain(value), { ignoreUndefined: true }));
}

/**
 * OpenBayes's answer rules: an object or array -> JSON or MessagePack by Accept (406 when Accept names neither);
 * a string -> text/plain; bytes -> image/png, image/jpeg or application/octet-stream by magic bytes; a web
 * Response -> as it is; anything else -> an empty 500.
 */
export function encodeAnswer(value: unknown, accept: string | undefined): EncodedAnswer {
  if (isResponse(value)) return { kind: "response", response: value };
  if (typeof value === "string") return { kind: "body", contentType: "text/plain; charset=utf-8", body: Buffer.from(value, "utf8") };
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) {
    const body = asBuffer(value);
    return { kind: "body", contentType: bytesContentType(body), body };
  }
  if (typeof value === "object" && value !== null) {
    const { format, contentType } = negotiateAnswer(accept);
    return { kind: "body", contentType, body: format === "json" ? encodeJson(value) : encodeMsgpack(value) };
  }
  const what = value === undefined ? "undefined (nothing)" : value === null ? "null" : `a ${typeof value}`;
  return { kind: "invalid", reason: `predict() returned ${what}; return an object or array (JSON / MessagePack), a string, bytes or a Response` };
}
