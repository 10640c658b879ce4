import { TServeError } from "../errors/index.ts";

/**
 * Triton's `timeout` request parameter (µs): a request not answered in time fails with Triton's status for it,
 * UNAVAILABLE (REST 503, gRPC UNAVAILABLE), "Request timeout expired". Triton enforces it while the request waits
 * in its queue; tserve enforces it around the whole model run. The run itself is not stopped (a model's code
 * cannot be interrupted); its late answer is dropped.
 */
export function withRequestTimeout<T>(work: Promise<T>, timeoutMicroseconds: number, model: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(
        new TServeError(
          `Request timeout expired: model ${model} did not answer within the request's timeout of ${timeoutMicroseconds} µs`,
          "UNAVAILABLE",
          503,
          "TSERVE_REQUEST_TIMEOUT",
        ),
      );
    }, Math.max(1, Math.ceil(timeoutMicroseconds / 1000)));
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
