/**
 * Storage's retry policy on net's one `retry`: transient storage failures only (5xx, 429, resets, timeouts, as
 * `statusError` / `connectionError` mark them), backoff from 250 ms doubling to at most 10 s, with jitter.
 */
import { retry } from "../../net/index.ts";
import { isRetryable } from "./errors.ts";
import { abortError } from "./transport.ts";

export interface RetryOptions {
  /** Total attempts, the first included (S3_MAX_ATTEMPTS): `retries` is one less. */
  maxAttempts: number;
  signal?: AbortSignal;
  /** First backoff in ms; doubled each attempt, capped at 10 s. */
  baseDelayMs?: number;
}

export async function withRetries<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retries = Math.max(1, Math.floor(options.maxAttempts)) - 1;
  const policy = { retries, baseDelayMs: options.baseDelayMs ?? 250, maxDelayMs: 10_000, retryOn: isRetryable, signal: options.signal };
  try {
    // Storage numbers attempts from 1.
    return await retry(policy, (n) => fn(n + 1));
  } catch (err) {
    // Aborted while waiting between attempts: storage's own AbortError.
    if (options.signal?.aborted && (err as Error)?.name === "AbortError" && !(options.signal.reason instanceof Error)) throw abortError(options.signal);
    throw err;
  }
}
