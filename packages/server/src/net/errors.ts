/** What the outbound HTTP layer throws: every undici and socket failure becomes one of these two, or the caller's abort. */

/** No (complete) answer: refused, reset, unresolvable, TLS refused… `code` is Node's (ECONNREFUSED, ECONNRESET, ENOTFOUND, CERT_…). */
export class NetworkError extends Error {
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NetworkError";
    this.code = code;
  }
}

/** Which limit ran out: connecting, the whole exchange (`timeoutMs`), or a silence (`idleTimeoutMs`). */
export type TimeoutPhase = "connect" | "exchange" | "idle";

export class TimeoutError extends Error {
  readonly timeoutMs: number;
  readonly phase: TimeoutPhase;

  constructor(message: string, timeoutMs: number, phase: TimeoutPhase, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TimeoutError";
    this.timeoutMs = timeoutMs;
    this.phase = phase;
  }
}

/** The error an AbortSignal carries, or a plain AbortError. */
export function abortError(signal: AbortSignal | undefined, message = "The operation was aborted"): Error {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason;
  const err = new Error(message);
  err.name = "AbortError";
  return err;
}

interface UndiciLike {
  code?: unknown;
  message?: unknown;
  socket?: { bytesRead?: number };
}

/**
 * An undici or socket error as a NetworkError / TimeoutError. Messages stay Node's own ("connect ECONNREFUSED
 * 127.0.0.1:80", "socket hang up") so that callers' messages do not change with the transport.
 */
export function toNetError(err: unknown, where: { origin: string; answered: boolean; idleTimeoutMs?: number; connectTimeoutMs?: number }): Error {
  if (err instanceof NetworkError || err instanceof TimeoutError) return err;
  const e = (err ?? {}) as UndiciLike;
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : String(err);
  switch (code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return new TimeoutError(`Connecting to ${where.origin} timed out after ${where.connectTimeoutMs} ms`, where.connectTimeoutMs ?? 0, "connect", { cause: err });
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return new TimeoutError(`${where.origin} sent nothing for ${where.idleTimeoutMs} ms`, where.idleTimeoutMs ?? 0, "idle", { cause: err });
    case "UND_ERR_SOCKET":
    case "UND_ERR_RES_CONTENT_LENGTH_MISMATCH":
      // Node's words for the same events: closed before any answer, or in the middle of one.
      return new NetworkError(where.answered ? "aborted" : "socket hang up", "ECONNRESET", { cause: err });
    case "":
      if (err instanceof Error && err.name === "AbortError") return err;
      return new NetworkError(message, "EUNKNOWN", { cause: err });
    default:
      return new NetworkError(message, code, { cause: err });
  }
}

/** A connection the pool had kept alive was already closed by the server: safe to send the request once more. */
export function isStaleConnection(err: unknown): boolean {
  const e = err as UndiciLike | null;
  return e?.code === "UND_ERR_SOCKET" && (e.socket?.bytesRead ?? 0) > 0;
}
