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
  | "NOT_ACCEPTABLE";

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
  }
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

export class Overloaded extends TServeError {
  constructor(message: string) {
    super(message, "UNAVAILABLE", 503, "TSERVE_OVERLOADED");
  }
}

export class InferenceError extends TServeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "INTERNAL", 500, "TSERVE_INFERENCE_ERROR", options);
  }
}

export class NotAcceptable extends TServeError {
  constructor(message: string) {
    super(message, "NOT_ACCEPTABLE", 406, "TSERVE_NOT_ACCEPTABLE");
  }
}

/** Wraps anything thrown by user code or a runtime into a TServeError, keeping ours as they are. */
export function toTServeError(err: unknown): TServeError {
  if (err instanceof TServeError) return err;
  if (err instanceof Error) {
    return new InferenceError(`${err.name} : ${err.message}`, { cause: err });
  }
  return new InferenceError(String(err));
}
