/**
 * The one error hierarchy. Every layer throws these; each protocol family maps them once to its own body.
 * It lives in its own leaf folder so codecs (which may not import model/) can throw the same errors.
 */
export type ErrorKind =
  | "INVALID_ARG"
  | "NOT_FOUND"
  | "PAYLOAD_TOO_LARGE"
  | "UNSUPPORTED"
  | "UNAVAILABLE"
  | "INTERNAL"
  | "NOT_ACCEPTABLE"
  | "DEADLINE_EXCEEDED"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "CONFLICT";

const BRAND = Symbol.for("tserve.error");

export class TServeError extends Error {
  readonly kind: ErrorKind;
  readonly status: number;
  /** A stable, machine-readable code, Fastify style (`TSERVE_INVALID_INPUT`). */
  readonly code: string;

  constructor(message: string, kind: ErrorKind, status: number, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.kind = kind;
    this.status = status;
    this.code = code;
    // Recognised across copies of tserve (a user's model may import its own copy).
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }
}

export function isTServeError(err: unknown): err is TServeError {
  return (
    err instanceof TServeError ||
    (typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[BRAND] === true)
  );
}

function kindForStatus(status: number): ErrorKind {
  if (status === 404) return "NOT_FOUND";
  if (status === 413) return "PAYLOAD_TOO_LARGE";
  if (status === 501) return "UNSUPPORTED";
  if (status === 503) return "UNAVAILABLE";
  if (status === 406) return "NOT_ACCEPTABLE";
  if (status === 504) return "DEADLINE_EXCEEDED";
  if (status === 401) return "UNAUTHENTICATED";
  if (status === 403) return "PERMISSION_DENIED";
  if (status === 409) return "CONFLICT";
  return status >= 500 ? "INTERNAL" : "INVALID_ARG";
}

export class InvalidInput extends TServeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "INVALID_ARG", 400, "TSERVE_INVALID_INPUT", options);
  }
}

export class ModelNotFound extends TServeError {
  readonly modelName: string;
  constructor(modelName: string, version?: string) {
    super(
      version === undefined
        ? `Model with name ${modelName} does not exist.`
        : `Model with name ${modelName} and version ${version} does not exist.`,
      "NOT_FOUND",
      404,
      "TSERVE_MODEL_NOT_FOUND",
    );
    this.modelName = modelName;
  }
}

export class NotFound extends TServeError {
  constructor(message = "Not Found") {
    super(message, "NOT_FOUND", 404, "TSERVE_NOT_FOUND");
  }
}

export class PayloadTooLarge extends TServeError {
  constructor(limit: number) {
    super(
      `Request body is larger than the maximum of ${limit} bytes (set --max_buffer_size to raise it).`,
      "PAYLOAD_TOO_LARGE",
      413,
      "TSERVE_PAYLOAD_TOO_LARGE",
    );
  }
}

export class Unsupported extends TServeError {
  constructor(message: string) {
    super(message, "UNSUPPORTED", 501, "TSERVE_UNSUPPORTED");
  }
}

export class ModelNotReady extends TServeError {
  constructor(modelName: string, reason?: string) {
    super(
      `Model with name ${modelName} is not ready.${reason ? ` ${reason}` : ""}`,
      "UNAVAILABLE",
      503,
      "TSERVE_MODEL_NOT_READY",
    );
  }
}

export class ServerNotReady extends TServeError {
  constructor(message = "Server is not ready.") {
    super(message, "UNAVAILABLE", 503, "TSERVE_SERVER_NOT_READY");
  }
}

/** Too much work queued: refused at once (REST 503 with `Retry-After`, gRPC UNAVAILABLE) rather than queued without bound. */
export class Overloaded extends TServeError {
  /** What REST clients are told to wait before retrying (`Retry-After`, whole seconds). */
  readonly retryAfterSeconds: number;
  constructor(message: string, options: { retryAfterSeconds?: number } = {}) {
    super(message, "UNAVAILABLE", 503, "TSERVE_OVERLOADED");
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
  }
}

export class InferenceError extends TServeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "INTERNAL", 500, "TSERVE_INFERENCE_ERROR", options);
  }
}

/** Another service (a remote predictor) answered with something that is not a valid answer. */
export class BadGateway extends TServeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "INTERNAL", 502, "TSERVE_BAD_GATEWAY", options);
  }
}

/** A call to another service (a remote predictor) took longer than its timeout. */
export class UpstreamTimeout extends TServeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "DEADLINE_EXCEEDED", 504, "TSERVE_UPSTREAM_TIMEOUT", options);
  }
}

export class NotAcceptable extends TServeError {
  constructor(message: string) {
    super(message, "NOT_ACCEPTABLE", 406, "TSERVE_NOT_ACCEPTABLE");
  }
}

/** The caller presented no valid credentials (REST 401 with WWW-Authenticate, gRPC UNAUTHENTICATED). */
export class Unauthenticated extends TServeError {
  constructor(message: string) {
    super(message, "UNAUTHENTICATED", 401, "TSERVE_UNAUTHENTICATED");
  }
}

/** The server's configuration does not allow this, whoever asks (REST 403, gRPC PERMISSION_DENIED). */
export class PermissionDenied extends TServeError {
  constructor(message: string, code = "TSERVE_FORBIDDEN") {
    super(message, "PERMISSION_DENIED", 403, code);
  }
}

/** Another load, unload, upload or repository poll is changing this model right now (REST 409, gRPC ABORTED). */
export class ModelBusy extends TServeError {
  readonly modelName: string;
  constructor(modelName: string, running: string, wanted: string) {
    super(
      `Model ${modelName} is busy: ${/^[aeiou]/i.test(running) ? "an" : "a"} ${running} is in progress, so this ${wanted} was refused; try again once it has finished.`,
      "CONFLICT",
      409,
      "TSERVE_MODEL_BUSY",
    );
    this.modelName = modelName;
  }
}

/** Wraps anything thrown by user code or a runtime into a TServeError, keeping ours as they are. */
export function toTServeError(err: unknown): TServeError {
  if (isTServeError(err)) return err;
  // Errors from HTTP-minded libraries (http-errors, undici…) carry their own status: keep it.
  const status =
    (err as { status?: unknown; statusCode?: unknown } | null)?.status ??
    (err as { statusCode?: unknown } | null)?.statusCode;
  if (
    err instanceof Error &&
    typeof status === "number" &&
    Number.isInteger(status) &&
    status >= 400 &&
    status <= 599
  ) {
    return new TServeError(err.message, kindForStatus(status), status, "TSERVE_USER_ERROR", { cause: err });
  }
  // A request nested deeper than the stack (JSON arrays thousands of levels deep) is bad input, not a crash.
  if (err instanceof RangeError && err.message.includes("Maximum call stack size exceeded")) {
    return new InvalidInput("The request is nested too deeply to process", { cause: err });
  }
  if (err instanceof Error) {
    return new InferenceError(`${err.name} : ${err.message}`, { cause: err });
  }
  return new InferenceError(String(err));
}
