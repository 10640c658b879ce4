/** Retries with exponential backoff and jitter, for transient storage failures only (5xx, 429, resets, timeouts). */
import { abortError } from "./transport.ts";
import { isRetryable } from "./errors.ts";

export interface RetryOptions {
  /** Total attempts, the first included (S3_MAX_ATTEMPTS). */
  maxAttempts: number;
  signal?: AbortSignal;
  /** First backoff in ms; doubled each attempt, capped at 10 s, with ±50 % jitter. */
  baseDelayMs?: number;
}

export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const attempts = Math.max(1, Math.floor(options.maxAttempts));
  const base = options.baseDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err) || options.signal?.aborted) throw err;
      const delay = Math.min(base * 2 ** (attempt - 1), 10_000) * (0.5 + Math.random() / 2);
      await sleep(delay, options.signal);
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
