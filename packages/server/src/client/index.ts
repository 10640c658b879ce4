export {
  GRPC_UNAVAILABLE,
  InferenceConnectionError,
  InferenceServerError,
  type InferenceServerErrorOptions,
  InferenceTimeoutError,
  isRetryable,
} from "./errors.ts";
export { type GRPCCallOptions, type GRPCClientOptions, type GRPCInferOptions, InferenceGRPCClient } from "./grpc.ts";
export {
  InferInput,
  type InferInputData,
  InferRequestedOutput,
  type NestedArray,
  type RequestedOutputOptions,
  type SetDataOptions,
} from "./infer-input.ts";
export { InferResult } from "./infer-result.ts";
export {
  type CallOptions,
  InferenceRESTClient,
  type InferOptions,
  type PredictOptions,
  type RESTClientOptions,
} from "./rest.ts";
export { backoffDelay, type RetryPolicy, withRetries } from "./retry.ts";
