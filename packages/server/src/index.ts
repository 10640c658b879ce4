/** tserve's public API: what a model file or a program embedding the server imports. */
export * from "./client/index.ts";
export * from "./errors/index.ts";
export {
  DataPlane,
  isModel,
  isModelClass,
  Model,
  type ModelOptions,
  ModelRepository,
  type ModelSettings,
  ModelSettingsSchema,
  modelSettingsSchema,
  type PredictorProtocol,
  type PredictorSettings,
  type Protocol,
  type RequestContext,
} from "./model/index.ts";
export {
  type InferRequest,
  type InferResponse,
  isInferRequest,
  isInferResponse,
  type ModelMetadata,
  markInferRequest,
  type RequestedOutput,
} from "./protocol/index.ts";
export {
  NDArray,
  isNDArray,
  SeldonError,
  SeldonResponse,
  type SeldonFeedback,
  type SeldonMessage,
  type SeldonMeta,
  type SeldonMetric,
  type SeldonParameter,
} from "./protocol/seldon/index.ts";
export {
  OnnxModel,
  type OnnxModelOptions,
  SeldonComponent,
  type SeldonComponentLike,
  SeldonNotImplementedError,
  loadSeldonComponent,
} from "./runtime/index.ts";
// Runtimes: a ModelServer serves models with a RuntimeRegistry (ModelServerOptions.runtimes); add one with register().
export { builtinRuntimes, type Runtime, type RuntimeFolder, RuntimeRegistry, type RuntimeTarget } from "./runtime/index.ts";
// OpenBayes predictors (predictor.ts) and custom start.sh servers.
export { type PredictArgs, ServingError } from "./protocol/openbayes/index.ts";
export {
  CustomServerModel,
  loadOpenBayesPredictor,
  OpenBayesPredictor,
  type OpenBayesPredictorOptions,
  type PredictorClass,
  type PredictorConfig,
  type PredictorInit,
} from "./runtime/index.ts";
export {
  type Assembly,
  BUILTIN_FAMILIES,
  defineFamily,
  type FamilyContext,
  type FamilyMount,
  type OpenApiPart,
  type ModelControlMode,
  ModelServer,
  type ModelServerOptions,
  type ProtocolFamily,
} from "./server/index.ts";
// Tracing: the span a model's hooks see as ctx.span, and the OTLP tracer ModelServerOptions.tracer takes.
export { OtlpTracer, type OtlpTracerOptions, type Span, type SpanContext, type SpanKind, type Tracer } from "./net/index.ts";
export * from "./tensor/index.ts";
