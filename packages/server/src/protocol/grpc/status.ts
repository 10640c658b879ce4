import type { ErrorKind, TServeError } from "../../errors/index.ts";

/** gRPC status codes (google.rpc.Code); plain numbers so codecs need no gRPC library. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

const BY_KIND: Record<ErrorKind, number> = {
  INVALID_ARG: GrpcStatus.INVALID_ARGUMENT,
  NOT_ACCEPTABLE: GrpcStatus.INVALID_ARGUMENT,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  PAYLOAD_TOO_LARGE: GrpcStatus.RESOURCE_EXHAUSTED,
  UNSUPPORTED: GrpcStatus.UNIMPLEMENTED,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  INTERNAL: GrpcStatus.INTERNAL,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  // A concurrent change of the same model: gRPC's code for "retry at a higher level".
  CONFLICT: GrpcStatus.ABORTED,
};

/** Our error -> its gRPC status (Triton's mapping). */
export function grpcStatusOf(err: TServeError): number {
  return BY_KIND[err.kind] ?? GrpcStatus.INTERNAL;
}

const HTTP_BY_GRPC: Record<number, number> = {
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 413,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
  [GrpcStatus.UNAUTHENTICATED]: 401,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.CANCELLED]: 499,
  [GrpcStatus.ABORTED]: 409,
};

/** A gRPC status -> the HTTP status a REST caller would have seen for the same failure. */
export function httpStatusOfGrpc(code: number): number {
  return HTTP_BY_GRPC[code] ?? 500;
}

/**
 * The longest status message we send, measured as it travels: grpc-js percent-encodes `grpc-message` (encodeURI)
 * into the trailers, and trailers must fit the peer's header list limit (grpc-js/Node ~64 KiB, gRPC C-core 8–16
 * KiB). A longer message (one that quotes a huge model name or shape) would not reach the client at all.
 */
export const MAX_STATUS_DETAILS = 4096;

/** Lone UTF-16 surrogates -> U+FFFD (encodeURI throws on them, and they are not UTF-8). */
function wellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}

/** Bytes the code point at `i` takes in the trailer: 1 for what encodeURI leaves alone, 3 per UTF-8 byte otherwise. */
function wireLength(s: string, i: number): number {
  const cp = s.codePointAt(i)!;
  if (cp < 0x80) return encodeURI(s[i]!).length;
  return cp < 0x800 ? 6 : cp < 0x10000 ? 9 : 12;
}

/**
 * A status message safe to send as gRPC trailers: at most `max` bytes on the wire (plus a short marker). A longer
 * one keeps its beginning and its end (where "… not found" or "… is not ready" usually is) and says how many
 * characters were cut from the middle, e.g. `Model aaaa… (90000 characters cut) …aaaa not found`. Cuts fall
 * between code points, never inside a surrogate pair.
 */
export function boundedStatusDetails(details: string, max = MAX_STATUS_DETAILS): string {
  const text = wellFormed(details);
  // Every UTF-16 unit takes at most 9 bytes percent-encoded.
  if (text.length * 9 <= max || encodeURI(text).length <= max) return text;
  const headBudget = Math.floor((max * 3) / 4);
  let head = 0;
  for (let used = 0; head < text.length; ) {
    const n = wireLength(text, head);
    if (used + n > headBudget) break;
    used += n;
    head += n === 12 ? 2 : 1;
  }
  let tail = text.length;
  for (let left = max - headBudget; tail > head; ) {
    const start = tail >= 2 && /[\uDC00-\uDFFF]/.test(text[tail - 1]!) ? tail - 2 : tail - 1;
    const n = wireLength(text, start);
    if (n > left) break;
    left -= n;
    tail = start;
  }
  let cut = 0;
  for (let i = head; i < tail; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) cut++;
  }
  if (cut === 0) return text;
  return `${text.slice(0, head)}… (${cut} characters cut) …${text.slice(tail)}`;
}
