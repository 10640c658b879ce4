import { isTServeError, TServeError, toTServeError } from "../../errors/index.ts";

function kindFor(status: number) {
  if (status === 404) return "NOT_FOUND" as const;
  if (status === 406) return "NOT_ACCEPTABLE" as const;
  if (status === 413) return "PAYLOAD_TOO_LARGE" as const;
  if (status === 503) return "UNAVAILABLE" as const;
  if (status === 504) return "DEADLINE_EXCEEDED" as const;
  return status >= 500 ? ("INTERNAL" as const) : ("INVALID_ARG" as const);
}

const SERVING_ERROR = Symbol.for("tserve.openbayes.ServingError");

/**
 * OpenBayes's `serv.ServingError`: `throw new ServingError("threshold must be a number", 422)` answers 422 with
 * `{"error": "threshold must be a number"}`. The status defaults to 400 and must be 400–599 (else 500).
 */
export class ServingError extends TServeError {
  constructor(message: string, status = 400, options?: { cause?: unknown }) {
    const code = Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
    super(message, kindFor(code), code, "TSERVE_OPENBAYES_SERVING_ERROR", options);
    Object.defineProperty(this, SERVING_ERROR, { value: true, enumerable: false });
  }
}

/** Recognised across copies of tserve (a predictor may import its own). */
export function isServingError(err: unknown): err is ServingError {
  return err instanceof ServingError || (typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[SERVING_ERROR] === true);
}

/** What an OpenBayes route answers for an error; `internal` errors are the ones to log with their stack. */
export interface OpenBayesErrorReply {
  status: number;
  body: { error: string };
  internal: boolean;
}

/**
 * ServingError and tserve's own errors keep their status and message; anything else a predictor throws is a
 * 500 (whose stack the route logs).
 */
export function openBayesErrorReply(err: unknown): OpenBayesErrorReply {
  if (isServingError(err)) return { status: err.status, body: { error: err.message }, internal: false };
  if (isTServeError(err)) {
    // Our own 5xx (a runtime failure) are worth a stack in the log; a full queue or a draining server are not.
    return { status: err.status, body: { error: err.message }, internal: err.status >= 500 && err.kind !== "UNAVAILABLE" };
  }
  const mapped = toTServeError(err);
  return { status: mapped.status, body: { error: mapped.message }, internal: mapped.status >= 500 };
}
