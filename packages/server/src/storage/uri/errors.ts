/** Storage download errors: the shared hierarchy, plus which failures are worth another attempt. */
import { BadGateway, InvalidInput, NotFound, TServeError, UpstreamTimeout } from "../../errors/index.ts";

/** The storage service refused our credentials (401/403). */
export class StorageAccessDenied extends TServeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "INVALID_ARG", 403, "TSERVE_STORAGE_ACCESS_DENIED", options);
  }
}

const RETRYABLE = Symbol("tserve.storage.retryable");

/** Marks an error as transient (5xx, 429, connection reset, timeout): another attempt may succeed. */
export function retryable<E extends Error>(err: E): E {
  Object.defineProperty(err, RETRYABLE, { value: true, enumerable: false });
  return err;
}

export function isRetryable(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[RETRYABLE] === true;
}

/** Turns a non-2xx answer into a typed error naming what was asked for (`what`, already redacted). */
export function statusError(status: number, what: string, detail?: string): Error {
  const suffix = detail ? `: ${detail}` : "";
  if (status === 404) return new NotFound(`${what} was not found (404)${suffix}`);
  if (status === 401 || status === 403) {
    return new StorageAccessDenied(`Access to ${what} was denied (${status})${suffix}; check the storage credentials`);
  }
  if (status === 408 || status === 504) return retryable(new UpstreamTimeout(`${what} timed out upstream (${status})${suffix}`));
  if (status === 429 || status >= 500) return retryable(new BadGateway(`${what} answered ${status}${suffix}`));
  if (status === 400) return new InvalidInput(`${what} was refused as a bad request (400)${suffix}`);
  return new BadGateway(`${what} answered ${status}${suffix}`);
}

const TLS_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH)/;

/** Turns a socket-level failure into a typed error; connection resets and refusals are worth retrying. */
export function connectionError(err: unknown, what: string, hint?: string): Error {
  if (err instanceof TServeError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === "string" ? e.code : "";
  if (TLS_CODES.test(code)) {
    return new BadGateway(`TLS verification failed for ${what} (${code})${hint ? `; ${hint}` : ""}`, { cause: err });
  }
  if (code === "ENOTFOUND") return new BadGateway(`Cannot resolve the host of ${what} (ENOTFOUND)`, { cause: err });
  const reason = code || (e?.message ?? String(err));
  return retryable(new BadGateway(`Could not download ${what}: ${reason}`, { cause: err }));
}
