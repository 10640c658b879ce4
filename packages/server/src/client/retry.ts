/** The clients' retries: net's one policy (backoff with equal jitter, `retries` after the first attempt), on `isRetryable`. */
import { backoffDelay, retry, type RetryPolicy as NetRetryPolicy } from "../net/retry.ts";
import { isRetryable } from "./errors.ts";

export interface RetryPolicy {
  /** Retries after the first attempt (0 = one attempt only). */
  retries: number;
  /** Retry n waits between half and all of min(maxDelayMs, baseDelayMs * 2^n) ms. */
  baseDelayMs: number;
  maxDelayMs: number;
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
}

export { backoffDelay };

/** Runs `attempt` until it succeeds, fails with a non-retryable error (`isRetryable`), or the retries are used up. */
export function withRetries<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T>): Promise<T> {
  const netPolicy: NetRetryPolicy = { retryOn: isRetryable, ...policy };
  return retry(netPolicy, attempt);
}
