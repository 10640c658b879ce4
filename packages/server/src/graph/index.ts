export { compileHeaderPatterns, type HeaderPolicy, propagatedHeaders } from "./headers.ts";
export { dataPlaneModels } from "./local-models.ts";
export { routerError, type StepMessage } from "./message.ts";
export { type GraphObserver, GraphRouter, type GraphRouterOptions } from "./router.ts";
export {
  type Dependency,
  type GraphNode,
  type GraphStep,
  type InferenceGraph,
  parseGraph,
  type RouterTimeouts,
  type RouterType,
  toGraph,
  validateGraph,
} from "./spec.ts";
export {
  GraphNodeSchema,
  GraphStepSchema,
  INFERENCE_GRAPH_SCHEMA_FILE,
  InferenceGraphSchema,
  InferenceGraphSpecSchema,
  inferenceGraphSchemaText,
  RouterTimeoutsSchema,
} from "./spec-schema.ts";
export { DEFAULT_SERVICE_URL_TEMPLATE, HttpTarget, type LocalModels, LocalTarget, type StepTarget } from "./targets.ts";
export {
  newPuid,
  SeldonGraphExecutor,
  type SeldonGraphExecutorOptions,
  type SeldonGraphMetadata,
  type SeldonGraphObserver,
  type SeldonStepMethod,
} from "./seldon/executor.ts";
export { dataPlaneSeldonUnits, LocalSeldonUnit } from "./seldon/local-unit.ts";
export { RandomABTestUnit } from "./seldon/random-abtest.ts";
export { RemoteSeldonUnit } from "./seldon/remote-unit.ts";
export {
  graphNodes,
  parameterValues,
  parseSeldonDeployment,
  type SeldonGraphNode,
  type SeldonGraphSpec,
  toSeldonGraphSpec,
} from "./seldon/spec.ts";
export {
  SELDON_DEPLOYMENT_SCHEMA_FILE,
  SeldonDeploymentSchema,
  seldonDeploymentSchemaText,
  SeldonEndpointSchema,
  SeldonGraphNodeSchema,
  SeldonParameterSchema,
  SeldonPredictorSchema,
} from "./seldon/spec-schema.ts";
export type { SeldonCallContext, SeldonUnit } from "./seldon/unit.ts";
