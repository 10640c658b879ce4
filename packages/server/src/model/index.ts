export { DataPlane, EXTENSIONS, toInferResponse, type InferenceObserver, type InferOptions, type ModelChangeEvent, SERVER_NAME, SERVER_VERSION, type Stage } from "./dataplane.ts";
export { InferenceStatistics, requestBatchSize } from "./stats.ts";
export { type FaultKind, type FaultOwner, type FaultScope, readableStack } from "./faults.ts";
export { applyPredictorSettings, type EngineObserver, isModel, isModelClass, Model, type ModelOptions, type Protocol, type RequestContext } from "./model.ts";
export { discoverModel, listModelDirs, type ModelSource } from "./discovery.ts";
export {
  type ModelLoader,
  ModelRepository,
  type RepositoryEvents,
} from "./repository.ts";
export { ModelChange, ModelMutations } from "./mutations.ts";
export { fingerprint as modelFolderFingerprint, RepositoryPoller, type RepositoryPollerOptions } from "./repository-poller.ts";
export {
  type ModelSettings,
  type ParseSettingsOptions,
  parseModelSettings,
  readModelSettings,
  SETTINGS_FILE,
  selectVersions,
  type VersionPolicy,
} from "./settings.ts";
export {
  ModelSettingsSchema,
  modelSettingsSchema,
  type ModelSettingsSchemaOptions,
  TensorMetadataSchema,
  VersionPolicySchema,
} from "./settings-schema.ts";
export { closest, levenshtein, type SchemaProblemOptions, schemaProblem } from "./schema-errors.ts";
export {
  createRemotePredictor,
  isPredictorProtocol,
  type PredictorProtocol,
  type PredictorSettings,
  type RemotePredictor,
  type RemotePredictorFactory,
  remotePredictorFactory,
  setRemotePredictorFactory,
  validatePredictorSettings,
} from "./predictor.ts";
