export { CustomProcess, type CustomProcessOptions } from "./custom-process.ts";
export { CustomServerModel, type CustomServerOptions, isCustomServerModel } from "./custom-model.ts";
export {
  detectOpenBayesSource,
  isOpenBayesPredictorModule,
  loadOpenBayesModel,
  loadOpenBayesPredictor,
  type OpenBayesLoadOptions,
  type OpenBayesRuntime,
  openBayesRuntimeOf,
  PREDICTOR_FILES,
  START_SCRIPT,
} from "./load.ts";
export {
  isOpenBayesPredictor,
  type OpenBayesLogger,
  OpenBayesPredictor,
  type OpenBayesPredictorOptions,
  type PredictorClass,
  type PredictorConfig,
  type PredictorInit,
  type PredictorLike,
  PREDICTOR_INIT_ARGUMENTS,
} from "./predictor.ts";
export { configureOpenBayesModel, isOpenBayesModel, type OpenBayesServing, resolveOpenBayesServing } from "./serving.ts";
