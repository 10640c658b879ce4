export { DataPlane, EXTENSIONS, type InferenceObserver, SERVER_NAME, SERVER_VERSION, type Stage } from "./dataplane.ts";
export { applyPredictorSettings, isModel, isModelClass, Model, type ModelOptions, type Protocol, type RequestContext } from "./model.ts";
export {
  discoverModel,
  listModelDirs,
  type ModelLoader,
  ModelRepository,
  type ModelSource,
  type RepositoryEvents,
} from "./repository.ts";
export {
  type ModelSettings,
  parseModelSettings,
  readModelSettings,
  SETTINGS_FILE,
  selectVersions,
  type VersionPolicy,
} from "./settings.ts";
export {
  createRemotePredictor,
  isPredictorProtocol,
  type PredictorProtocol,
  type PredictorSettings,
  type RemotePredictor,
  type RemotePredictorFactory,
  setRemotePredictorFactory,
  validatePredictorSettings,
} from "./predictor.ts";
