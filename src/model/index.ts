export { DataPlane, EXTENSIONS, type InferenceObserver, SERVER_NAME, SERVER_VERSION, type Stage } from "./dataplane.ts";
export { type FaultKind, type FaultOwner, type FaultScope, readableStack } from "./faults.ts";
export { applyPredictorSettings, isModel, isModelClass, Model, type ModelOptions, type Protocol, type RequestContext } from "./model.ts";
export {
  discoverModel,
  listModelDirs,
  type ModelLoader,
  ModelRepository,
  type ModelSource,
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
