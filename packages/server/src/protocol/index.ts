export { exactJson, rememberJsonSource } from "./exact-json.ts";
export { isPlainObject, parseJsonBody } from "./json.ts";
export {
  type InferRequest,
  type InferResponse,
  isInferRequest,
  isInferResponse,
  type ModelIndexEntry,
  type ModelMetadata,
  type ModelState,
  markInferRequest,
  type RequestedOutput,
  type ServerMetadata,
} from "./types.ts";
export {
  DEFAULT_MAX_QUEUE_SIZE,
  datatypeOfTritonType,
  type TritonConfigSource,
  tritonDataType,
  tritonMaxBatchSize,
  tritonModelConfig,
} from "./triton-config.ts";
export { type BatchStat, type DurationStat, encodeModelStatistics, type ModelVersionStatistics } from "./triton-stats.ts";
export * as v1 from "./v1/index.ts";
export * as v2 from "./v2/index.ts";
export * as grpc from "./grpc/index.ts";
export * as seldon from "./seldon/index.ts";
