import { isTServeError, TServeError, toTServeError } from "../../errors/index.ts";
import type { SeldonStatus } from "./types.ts";

/** Seldon's failure reasons, as they appear in `status.reason`. */
export type SeldonReason =
  | "MICROSERVICE_BAD_DATA"
  | "MICROSERVICE_INTERNAL_ERROR"
  | "MICROSERVICE_BAD_METRIC"
  | "MICROSERVICE_BAD_METADATA"
  | "MICROSERVICE_BAD_PARAMETER"
  | (string & {});

function kindFor(status: number) {
  if (status === 404) return "NOT_FOUND" as const;
  if (status === 503) return "UNAVAILABLE" as const;
  if (status === 504) return "DEADLINE_EXCEEDED" as const;
  return status >= 500 ? ("INTERNAL" as const) : ("INVALID_ARG" as const);
}

/**
 * Seldon's `SeldonMicroserviceException`: `throw new SeldonError("bad X", 403)` answers 403 with
 * `{"status":{"status":1,"info":"bad X","code":-1,"reason":"MICROSERVICE_BAD_DATA"}}`.
 */
export class SeldonError extends TServeError {
  readonly reason: SeldonReason;

  constructor(message: string, status = 400, reason: SeldonReason = "MICROSERVICE_BAD_DATA", options?: { cause?: unknown }) {
    super(message, kindFor(status), status, "TSERVE_SELDON_ERROR", options);
    this.reason = reason;
  }
}

/** The HTTP status and body Seldon sends for an error. */
export interface SeldonErrorReply {
  status: number;
  body: unknown;
}

/** `{"status":{"status":1,"info":…,"code":-1,"reason":…}}` */
export function seldonStatusBody(info: string, reason: SeldonReason): { status: SeldonStatus } {
  return { status: { status: 1, info, code: -1, reason } };
}

/**
 * Maps anything thrown while serving a Seldon call to Seldon's reply. A user error class that carries a status
 * (`statusCode`/`status`) and a `toJSON()`/`toDict()`/`to_dict()` body is answered with exactly that, as
 * Seldon's custom error handlers do; our own errors map by status; anything else is a 500 internal error.
 */
export function seldonErrorReply(err: unknown): SeldonErrorReply {
  if (err instanceof SeldonError || (isTServeError(err) && typeof (err as SeldonError).reason === "string")) {
    const e = err as SeldonError;
    return { status: e.status, body: seldonStatusBody(e.message, e.reason) };
  }
  if (!isTServeError(err) && err !== null && typeof err === "object") {
    const e = err as Record<string, unknown>;
    const status = e.statusCode ?? e.status_code ?? e.status;
    const toBody = [e.toDict, e.to_dict, e.toJSON].find((f) => typeof f === "function");
    if (typeof status === "number" && Number.isInteger(status) && status >= 400 && status <= 599) {
      const body = typeof toBody === "function" ? (toBody as () => unknown).call(err) : seldonStatusBody(String(e.message ?? ""), status >= 500 ? "MICROSERVICE_INTERNAL_ERROR" : "MICROSERVICE_BAD_DATA");
      return { status, body };
    }
  }
  const mapped = toTServeError(err);
  // Seldon's info is str(e): the user's message, without the "Error : " prefix KServe-style bodies carry.
  const info = !isTServeError(err) && err instanceof Error ? err.message : mapped.message;
  return { status: mapped.status, body: seldonStatusBody(info, mapped.status >= 500 ? "MICROSERVICE_INTERNAL_ERROR" : "MICROSERVICE_BAD_DATA") };
}

/** Runs a budget charge, turning its refusal into Seldon's 400 with the same words. */
export function chargeSeldon<T>(charge: () => T): T {
  try {
    return charge();
  } catch (err) {
    if (isTServeError(err) && err.status === 400 && !(err instanceof SeldonError)) {
      throw new SeldonError(`Invalid request data: ${err.message}`, 400, "MICROSERVICE_BAD_DATA", { cause: err });
    }
    throw err;
  }
}
