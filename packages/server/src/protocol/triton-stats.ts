/**
 * Triton's statistics extension on the wire (`GET /v2/models[/{m}[/versions/{v}]]/stats`, gRPC ModelStatistics):
 * `{"model_stats": [...]}` with Triton's field names, in the order Triton writes them. The same object is the gRPC
 * ModelStatisticsResponse message: its keys are grpc_service.proto's field names.
 */

/** `{count, ns}` as Triton reports it. */
export interface DurationStat {
  count: number;
  ns: number;
}

/** One batch size's executions (Triton's InferBatchStatistics). */
export interface BatchStat {
  batchSize: number;
  computeInput: DurationStat;
  computeInfer: DurationStat;
  computeOutput: DurationStat;
}

/** One model version's statistics. */
export interface ModelVersionStatistics {
  name: string;
  /** "" for a model without numbered versions. */
  version: string;
  /** When it last answered successfully, in ms since the epoch (0: never). */
  lastInference: number;
  /** Inferences: the batch elements of successful requests (1 per request when the model does not batch). */
  inferenceCount: number;
  /** Runs of the model. */
  executionCount: number;
  inferenceStats: {
    success: DurationStat;
    fail: DurationStat;
    queue: DurationStat;
    computeInput: DurationStat;
    computeInfer: DurationStat;
    computeOutput: DurationStat;
    cacheHit: DurationStat;
    cacheMiss: DurationStat;
  };
  batchStats: BatchStat[];
}

const pair = (d: DurationStat) => ({ count: d.count, ns: d.ns });

/** Triton's ModelStatisticsResponse, as JSON (and as the gRPC message). */
export function encodeModelStatistics(stats: readonly ModelVersionStatistics[]): { model_stats: Record<string, unknown>[] } {
  return {
    model_stats: stats.map((s) => {
      const i = s.inferenceStats;
      return {
        name: s.name,
        version: s.version,
        last_inference: s.lastInference,
        inference_count: s.inferenceCount,
        execution_count: s.executionCount,
        inference_stats: {
          success: pair(i.success),
          fail: pair(i.fail),
          queue: pair(i.queue),
          compute_input: pair(i.computeInput),
          compute_infer: pair(i.computeInfer),
          compute_output: pair(i.computeOutput),
          cache_hit: pair(i.cacheHit),
          cache_miss: pair(i.cacheMiss),
        },
        response_stats: {},
        batch_stats: s.batchStats.map((b) => ({
          batch_size: b.batchSize,
          compute_input: pair(b.computeInput),
          compute_infer: pair(b.computeInfer),
          compute_output: pair(b.computeOutput),
        })),
        memory_usage: [],
      };
    }),
  };
}
