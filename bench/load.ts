/**
 * Thin wrapper around autocannon's programmatic API: warm-up run (discarded), then the measured run.
 *
 * Latency percentiles are computed from autocannon's per-response timings (float ms) rather than its own
 * histogram, which records whole milliseconds and would print p50 = 0 ms for a fast loopback server.
 */
import autocannon from "autocannon";
import type { HttpRequestSpec } from "./scenarios.ts";
import { SampleBuffer, summarize } from "./stats.ts";

export interface LoadOptions {
  baseUrl: string;
  request: HttpRequestSpec;
  connections: number;
  durationSec: number;
  warmupSec: number;
  title?: string;
  /** Receives the measured run's 2xx latencies (ms), e.g. to pool several runs' samples. */
  collect?: (latenciesMs: Float64Array) => void;
}

export interface LoadResult {
  connections: number;
  durationSec: number;
  /** Completed 2xx responses per second over the measured run. */
  requestsPerSec: number;
  /** All responses, any status. */
  responses: number;
  ok2xx: number;
  non2xx: number;
  /** Connection errors, including timeouts. */
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Latency of 2xx responses, ms. */
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  /** Problems seen during warm-up (not part of the figures, but worth knowing). */
  warmupNon2xx: number;
  warmupErrors: number;
}

interface RawRun {
  result: autocannon.Result;
  latenciesMs: Float64Array;
}

function runOnce(options: LoadOptions, durationSec: number): Promise<RawRun> {
  const { request } = options;
  const samples = new SampleBuffer();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: new URL(request.path, options.baseUrl).href,
        method: request.method,
        headers: request.headers,
        body: request.body,
        connections: options.connections,
        pipelining: 1,
        duration: durationSec,
        timeout: 10,
        title: options.title,
      },
      (err: unknown, result: autocannon.Result) => {
        if (err) reject(err instanceof Error ? err : new Error(String(err)));
        else resolve({ result, latenciesMs: samples.values() });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) samples.push(responseTime);
    });
  });
}

function statusCodes(result: autocannon.Result): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) out[code] = stat.count ?? 0;
  return out;
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const warmup = options.warmupSec > 0 ? await runOnce(options, options.warmupSec) : null;
  const { result, latenciesMs } = await runOnce(options, options.durationSec);
  options.collect?.(latenciesMs);
  const latency = summarize(latenciesMs);
  const responses = result.requests.total;
  const ok2xx = result["2xx"];
  return {
    connections: options.connections,
    durationSec: result.duration,
    requestsPerSec: result.duration > 0 ? ok2xx / result.duration : 0,
    responses,
    ok2xx,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: statusCodes(result),
    p50Ms: latency.p50,
    p99Ms: latency.p99,
    meanMs: latency.mean,
    maxMs: latency.max,
    warmupNon2xx: warmup?.result.non2xx ?? 0,
    warmupErrors: warmup?.result.errors ?? 0,
  };
}

/** True if the run's numbers are not trustworthy (some requests failed). */
export function isInvalid(result: LoadResult): boolean {
  return result.non2xx > 0 || result.errors > 0;
}
