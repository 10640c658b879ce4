/**
 * A small closed-loop gRPC load generator on @grpc/grpc-js, the gRPC counterpart of autocannon in load.ts.
 *
 * One channel (one HTTP/2 connection) is opened per load run and reused by every call; `concurrency` calls
 * are kept in flight for the whole duration, each caller issuing its next call as soon as the previous one
 * answered. The request message is protobuf-encoded once by the caller and sent as raw bytes (identity
 * serializer), and responses are not decoded (identity deserializer) — only their byte length is checked
 * against the pre-flight answer — so, as with autocannon, the client spends as little CPU as possible.
 *
 * Results use the same LoadResult shape as the HTTP runs: a call ending in a gRPC status other than OK counts
 * as "non-2xx" (keyed by the numeric status code, OK = "0"), UNAVAILABLE / DEADLINE_EXCEEDED as errors.
 */
import * as grpc from "@grpc/grpc-js";
import { openChannel } from "./grpc-proto.ts";
import type { LoadResult } from "./load.ts";
import { SampleBuffer, summarize } from "./stats.ts";

export interface GrpcLoadOptions {
  /** host:port */
  target: string;
  /** Full method path, e.g. /inference.GRPCInferenceService/ModelInfer */
  path: string;
  /** The pre-encoded request message. */
  request: Buffer;
  /** Calls kept in flight. */
  concurrency: number;
  durationSec: number;
  warmupSec: number;
  /** If set, an OK response of another byte length counts as a failed call ("bad-size"). */
  expectedResponseBytes?: number;
  /** Deadline per call, ms (default 10000, as autocannon's timeout in load.ts). */
  timeoutMs?: number;
}

interface PhaseResult {
  elapsedSec: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latenciesMs: Float64Array;
}

const identity = (b: Buffer): Buffer => b;

function runPhase(client: grpc.Client, options: GrpcLoadOptions, durationSec: number): Promise<PhaseResult> {
  const samples = new SampleBuffer();
  const statusCodes: Record<string, number> = {};
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const metadata = new grpc.Metadata();
  const t0 = performance.now();
  const end = t0 + durationSec * 1_000;
  let lastDone = t0;

  const count = (key: string): void => {
    statusCodes[key] = (statusCodes[key] ?? 0) + 1;
  };

  const caller = (): Promise<void> =>
    new Promise((resolve) => {
      const next = (): void => {
        if (performance.now() >= end) {
          resolve();
          return;
        }
        const started = performance.now();
        client.makeUnaryRequest(
          options.path,
          identity,
          identity,
          options.request,
          metadata,
          { deadline: Date.now() + timeoutMs },
          (err, response) => {
            const done = performance.now();
            lastDone = Math.max(lastDone, done);
            if (err) {
              count(String(err.code));
              if (err.code === grpc.status.DEADLINE_EXCEEDED) {
                timeouts++;
                errors++;
              } else if (err.code === grpc.status.UNAVAILABLE) errors++;
              else non2xx++;
            } else if (
              response === undefined ||
              (options.expectedResponseBytes !== undefined && response.length !== options.expectedResponseBytes)
            ) {
              count("bad-size");
              non2xx++;
            } else {
              count("0");
              ok++;
              samples.push(done - started);
            }
            next();
          },
        );
      };
      next();
    });

  return Promise.all(Array.from({ length: options.concurrency }, caller)).then(() => ({
    elapsedSec: (lastDone - t0) / 1_000,
    ok,
    non2xx,
    errors,
    timeouts,
    statusCodes,
    latenciesMs: samples.values(),
  }));
}

function waitForReady(client: grpc.Client, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    client.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
  });
}

/** Warm-up (discarded), then the measured run, on one channel. */
export async function runGrpcLoad(options: GrpcLoadOptions): Promise<LoadResult> {
  const client = openChannel(options.target);
  try {
    await waitForReady(client, 10_000);
    const warmup = options.warmupSec > 0 ? await runPhase(client, options, options.warmupSec) : null;
    const run = await runPhase(client, options, options.durationSec);
    const latency = summarize(run.latenciesMs);
    return {
      connections: options.concurrency,
      durationSec: run.elapsedSec,
      requestsPerSec: run.elapsedSec > 0 ? run.ok / run.elapsedSec : 0,
      responses: run.ok + run.non2xx,
      ok2xx: run.ok,
      non2xx: run.non2xx,
      errors: run.errors,
      timeouts: run.timeouts,
      statusCodes: run.statusCodes,
      p50Ms: latency.p50,
      p99Ms: latency.p99,
      meanMs: latency.mean,
      maxMs: latency.max,
      warmupNon2xx: warmup?.non2xx ?? 0,
      warmupErrors: warmup?.errors ?? 0,
    };
  } finally {
    client.close();
  }
}
