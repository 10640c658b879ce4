export { DataPlane, EXTENSIONS, type InferenceObserver, SERVER_NAME, SERVER_VERSION, type Stage } from "./dataplane.ts";
export { currentFaultScope, type FaultKind, type FaultOwner, type FaultScope, readableStack, runInFaultScope } from "./faults.ts";
export { applyPredictorSettings, isModel, isModelClass, Model, type ModelOptions, type Protocol, type RequestContext } from "./model.ts";
export {
  discoverModel,
  listModelDirs,
  type ModelLoader,
  ModelRepository,
  type ModelSource,
  type RepositoryEvents,
} from "./repository.ts";
export { ModelMutations } from "./mutations.ts";
export { fingerprint as modelFolderFingerprint, RepositoryPoller, type RepositoryPollerOptions } from "./repository-poller.ts";
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
