import { InvalidInput, ModelNotFound } from "../errors/index.ts";
import type { DurationStat, ModelIndexEntry, ModelVersionStatistics } from "../protocol/index.ts";
import type { EngineObserver, Model } from "./model.ts";

/**
 * Triton's statistics extension (`GET /v2/models[/{m}[/versions/{v}]]/stats`, gRPC ModelStatistics): counts and
 * durations per served model instance, so a reload starts from zero as in Triton. Mapped onto tserve's pipeline:
 * success/fail are whole requests in the DataPlane; compute_input = preprocess (and decoding in the runtime),
 * compute_infer = predict less the time the engine's queue reported, compute_output = postprocess; queue = the
 * waits the engine's batcher reports for this instance (Triton counts them per successful request).
 */

const NS_PER_MS = 1e6;

/** Running totals for one model instance (one served version). */
class InstanceTotals {
  lastInference = 0;
  inferenceCount = 0;
  success = { count: 0, ms: 0 };
  fail = { count: 0, ms: 0 };
  queueMs = 0;
  inputMs = 0;
  inferMs = 0;
  outputMs = 0;
  /** Requests that reached predict (any outcome). */
  predicted = 0;
  /** What the engine reported: its runs and the requests they carried. */
  engineRuns = 0;
  engineRequests = 0;
  readonly batches = new Map<number, { count: number; inputMs: number; inferMs: number; outputMs: number }>();
}

/** One request's timings; settles once (a request answered by its timeout ignores what its run reports later). */
export class RequestRecord {
  private readonly totals: InstanceTotals;
  private readonly started = performance.now();
  private inputMs = 0;
  private inferMs = 0;
  private outputMs = 0;
  private settled = false;

  constructor(totals: InstanceTotals) {
    this.totals = totals;
  }

  /** A pipeline stage finished after `ms`: preprocess, predict (or explain) or postprocess. */
  stage(stage: string, ms: number): void {
    if (this.settled) return;
    if (stage === "preprocess") this.inputMs += ms;
    else if (stage === "postprocess") this.outputMs += ms;
    else {
      this.inferMs += ms;
      this.totals.predicted++;
    }
  }

  /** Answered; `batchSize` is the batch elements it carried (1 when the model does not batch). */
  success(batchSize = 1): void {
    if (this.settled) return;
    this.settled = true;
    const t = this.totals;
    t.success.count++;
    t.success.ms += performance.now() - this.started;
    t.inputMs += this.inputMs;
    t.inferMs += this.inferMs;
    t.outputMs += this.outputMs;
    t.inferenceCount += batchSize;
    t.lastInference = Date.now();
    let batch = t.batches.get(batchSize);
    if (!batch) {
      batch = { count: 0, inputMs: 0, inferMs: 0, outputMs: 0 };
      t.batches.set(batchSize, batch);
    }
    batch.count++;
    batch.inputMs += this.inputMs;
    batch.inferMs += this.inferMs;
    batch.outputMs += this.outputMs;
  }

  failure(): void {
    if (this.settled) return;
    this.settled = true;
    this.totals.fail.count++;
    this.totals.fail.ms += performance.now() - this.started;
  }
}

const duration = (count: number, ms: number): DurationStat => ({ count, ns: Math.max(0, Math.round(ms * NS_PER_MS)) });

/** The batch elements one V2 request carries: its first input's first dimension when the model batches, else 1. */
export function requestBatchSize(inputs: readonly { shape: readonly number[] }[], maxBatchSize: number | undefined): number {
  if ((maxBatchSize ?? 0) <= 1) return 1;
  const first = inputs[0]?.shape[0];
  return typeof first === "number" && first > 0 ? first : 1;
}

/** Every model instance's totals; instances are the keys, so an unloaded one's totals go with it. */
export class InferenceStatistics {
  private readonly totals = new WeakMap<Model, InstanceTotals>();

  private of(model: Model): InstanceTotals {
    let t = this.totals.get(model);
    if (!t) {
      t = new InstanceTotals();
      this.totals.set(model, t);
    }
    return t;
  }

  /** Starts timing one request to `model`. */
  begin(model: Model): RequestRecord {
    return new RequestRecord(this.of(model));
  }

  /** An engine observer that counts `model`'s queue waits and runs, then passes every report on to `next`. */
  observeEngine(model: Model, next?: EngineObserver): EngineObserver {
    const t = this.of(model);
    return {
      batch(rows, requests) {
        t.engineRuns++;
        t.engineRequests += requests;
        next?.batch(rows, requests);
      },
      queueWait(seconds) {
        t.queueMs += seconds * 1000;
        next?.queueWait(seconds);
      },
      depth(queued) {
        next?.depth(queued);
      },
    };
  }

  /** One instance's figures under Triton's names. */
  snapshot(model: Model, name: string, version: string | undefined): ModelVersionStatistics {
    const t = this.of(model);
    const ok = t.success.count;
    // Requests the engine did not run (no batcher, an inline fast path) were one run each.
    const executionCount = t.engineRuns + Math.max(0, t.predicted - t.engineRequests);
    return {
      name,
      version: version ?? "",
      lastInference: t.lastInference,
      inferenceCount: t.inferenceCount,
      executionCount,
      inferenceStats: {
        success: duration(ok, t.success.ms),
        fail: duration(t.fail.count, t.fail.ms),
        queue: duration(ok, t.queueMs),
        computeInput: duration(ok, t.inputMs),
        computeInfer: duration(ok, t.inferMs - t.queueMs),
        computeOutput: duration(ok, t.outputMs),
        cacheHit: duration(0, 0),
        cacheMiss: duration(0, 0),
      },
      batchStats: [...t.batches.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([batchSize, b]) => ({
          batchSize,
          computeInput: duration(b.count, b.inputMs),
          // The queue is known per instance, not per request: each batch size bears its share of it.
          computeInfer: duration(b.count, b.inferMs - (ok > 0 ? (t.queueMs * b.count) / ok : 0)),
          computeOutput: duration(b.count, b.outputMs),
        })),
    };
  }

  /**
   * The statistics Triton answers for (name, version): every READY version of every model (no name), of one model
   * (no version) or one version. An unknown model or version is ModelNotFound; one that is known but not READY is
   * InvalidInput, with Triton's wording.
   */
  report(
    index: readonly ModelIndexEntry[],
    instance: (name: string, version: string | undefined) => Model,
    name?: string,
    version?: string,
  ): ModelVersionStatistics[] {
    let rows = index;
    if (name !== undefined && name !== "") {
      rows = index.filter((r) => r.name === name);
      if (rows.length === 0) throw new ModelNotFound(name);
      if (version !== undefined && version !== "") {
        if (!/^\d+$/.test(version)) {
          throw new InvalidInput(`Invalid version '${version}' for model ${name}: versions are positive integers`);
        }
        rows = rows.filter((r) => r.version !== undefined && Number(r.version) === Number(version));
        if (rows.length === 0) throw new ModelNotFound(name, version);
        if (rows.every((r) => r.state !== "READY")) {
          throw new InvalidInput(`requested model version is not available for model '${name}'`);
        }
      } else if (rows.every((r) => r.state !== "READY")) {
        throw new InvalidInput(`requested model '${name}' is not available`);
      }
    }
    return rows.filter((r) => r.state === "READY").map((r) => this.snapshot(instance(r.name, r.version), r.name, r.version));
  }
}
