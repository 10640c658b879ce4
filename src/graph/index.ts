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
export { DEFAULT_SERVICE_URL_TEMPLATE, HttpTarget, type LocalModels, LocalTarget, type StepTarget } from "./targets.ts";
