/** Errors the inference clients throw: one class for any failed call, two subclasses for the transport. */
import { TRANSIENT_CODES, TRANSIENT_STATUSES } from "../net/retry.ts";

export interface InferenceServerErrorOptions {
  /** HTTP status (for gRPC, the HTTP status that matches the gRPC code). */
  status: number;
  /** gRPC status code, set by the gRPC client (14 = UNAVAILABLE). */
  code?: number;
  /** The parsed error body (`{"error": "..."}` for V1/V2 REST), or its text. */
  body?: unknown;
  cause?: unknown;
}

/** A call that failed: the server answered with an error, or could not be reached in time. */
export class InferenceServerError extends Error {
  readonly status: number;
  readonly code?: number;
  readonly body?: unknown;

  constructor(message: string, options: InferenceServerErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.status = options.status;
    if (options.code !== undefined) this.code = options.code;
    if (options.body !== undefined) this.body = options.body;
  }
}

/** No answer within the client's timeout (504, Gateway Timeout). */
export class InferenceTimeoutError extends InferenceServerError {
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number, options: { code?: number; cause?: unknown } = {}) {
    super(message, { status: 504, ...options });
    this.timeoutMs = timeoutMs;
  }
}

/** The server could not be reached, or dropped the connection (503); `systemCode` is Node's, e.g. ECONNREFUSED. */
export class InferenceConnectionError extends InferenceServerError {
  readonly systemCode: string | undefined;

  constructor(message: string, systemCode: string | undefined, options: { code?: number; cause?: unknown } = {}) {
    super(message, { status: 503, ...options });
    this.systemCode = systemCode;
  }
}

/** gRPC's UNAVAILABLE status code. */
export const GRPC_UNAVAILABLE = 14;

// The conditions are net's (the one retry policy): refused/reset connections, HTTP 502/503.
const RETRYABLE_SYSTEM_CODES = TRANSIENT_CODES;
const RETRYABLE_HTTP_STATUSES = TRANSIENT_STATUSES;

/**
 * True when trying the same call again may succeed: connection refused or reset, HTTP 502/503, or gRPC
 * UNAVAILABLE. Timeouts are not retried (the server may still be working on the request).
 */
export function isRetryable(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  if (err instanceof InferenceTimeoutError) return false;
  if (err instanceof InferenceConnectionError) {
    return err.systemCode !== undefined && RETRYABLE_SYSTEM_CODES.has(err.systemCode);
  }
  const { code, status } = err as { code?: unknown; status?: unknown };
  // A gRPC status decides on its own: RESOURCE_EXHAUSTED may map to 503 but is not worth retrying.
  if (typeof code === "number") return code === GRPC_UNAVAILABLE;
  // A bare Node system error (e.g. from a custom transport).
  if (typeof code === "string") return RETRYABLE_SYSTEM_CODES.has(code);
  return err instanceof InferenceServerError && typeof status === "number" && RETRYABLE_HTTP_STATUSES.has(status);
}
