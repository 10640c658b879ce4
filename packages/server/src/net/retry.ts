/**
 * The one retry policy for outbound calls: exponential backoff with jitter. Pure (no Node modules), so the
 * browser-safe REST client and the gRPC client use it as well as the Node-side callers.
 *
 * Counting: `retries: N` means at most N retries after the first attempt, N + 1 attempts in all; `retries: 0`
 * sends once. A caller configured by total attempts (S3_MAX_ATTEMPTS) passes `attempts - 1`.
 */
import { abortError, NetworkError, TimeoutError } from "./errors.ts";

export interface RetryPolicy {
  /** Retries after the first attempt (0 = none). */
  retries: number;
  /** Retry n (0-based) waits between half and all of min(maxDelayMs, baseDelayMs * 2^n). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Which failures are worth another attempt; default `isTransientFailure`. */
  retryOn?: (error: unknown) => boolean;
  /** Called before each retry (1-based) with the delay about to be waited, e.g. to log it. */
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
  /** Stops the retries (and the wait between them) with the signal's reason. */
  signal?: AbortSignal;
}

/** Node system codes of connections that never reached the server or were cut: sending again is safe. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(["ECONNREFUSED", "ECONNRESET"]);
/** HTTP statuses that say "not now": a proxy with no upstream (502) or a server not ready (503). */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([502, 503]);

/**
 * The default retry conditions: a refused or reset connection, or an error carrying HTTP status 502/503.
 * Timeouts are never retried (the server may still be working on the request).
 */
export function isTransientFailure(err: unknown): boolean {
  if (typeof err !== "object" || err === null || err instanceof TimeoutError) return false;
  if (err instanceof NetworkError) return TRANSIENT_CODES.has(err.code);
  const { code, status } = err as { code?: unknown; status?: unknown };
  if (typeof code === "string" && TRANSIENT_CODES.has(code)) return true;
  return typeof status === "number" && TRANSIENT_STATUSES.has(status);
}

/**
 * "Equal jitter": half of the exponential delay fixed, half random, so callers do not retry in lockstep yet
 * still back off (full jitter could retry at once). `retry` is 0 for the wait before the first retry.
 */
export function backoffDelay(retry: number, policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">): number {
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(delay / 2 + (Math.random() * delay) / 2);
}

/** Runs `attempt` (given the 0-based attempt number) until it succeeds, fails for good, or the retries are used up. */
export async function retry<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T>): Promise<T> {
  const retryOn = policy.retryOn ?? isTransientFailure;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= policy.retries || policy.signal?.aborted || !retryOn(err)) throw err;
      const delay = backoffDelay(n, policy);
      policy.onRetry?.(err, n + 1, delay);
      await sleep(delay, policy.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
