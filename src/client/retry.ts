import { isRetryable } from "./errors.ts";

export interface RetryPolicy {
  /** Extra attempts after the first (0 = no retries). */
  retries: number;
  /** Attempt n waits about base * 2^n ms, with jitter, capped by maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  onRetry?: (error: unknown, retry: number, delayMs: number) => void;
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random, so callers do not retry in lockstep. */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">): number {
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.round(delay / 2 + (Math.random() * delay) / 2);
}

/** Runs `attempt` until it succeeds, fails with a non-retryable error, or the retries are used up. */
export async function withRetries<T>(policy: RetryPolicy, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= policy.retries || !isRetryable(err)) throw err;
      const delay = backoffDelay(n, policy);
      policy.onRetry?.(err, n + 1, delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
