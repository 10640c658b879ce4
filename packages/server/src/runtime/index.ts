import type { ModelLoader } from "../model/index.ts";
import { builtinRuntimes } from "./builtin.ts";

export { type BuiltinRuntimeOptions, builtinRuntimes } from "./builtin.ts";
export { type Runtime, type RuntimeFolder, RuntimeRegistry, type RuntimeTarget } from "./registry.ts";
export { MODEL_SETTINGS_SCHEMA_FILE, modelSettingsSchemaText } from "./schemas.ts";
export { moduleFileOf, moduleRuntime } from "./module/runtime.ts";
export { onnxFileOf, onnxRuntime } from "./onnx/runtime.ts";
export { customProcessRuntime, openBayesRuntime } from "./openbayes/runtime.ts";
export { type SeldonRuntimeOptions, seldonRuntime, seldonUnitFromEnv, type SeldonUnitSettings } from "./seldon/runtime.ts";
export { importUserModule, loadModuleModel, MODULE_EXTENSIONS } from "./module/load-module.ts";
export { datatypeOfOrt, fromOrtTensor, ortTypeOf, toOrtTensor } from "./onnx/convert.ts";
export { OnnxModel, type OnnxModelOptions } from "./onnx/onnx-model.ts";
export { setOrtLogLevel } from "./onnx/session.ts";
export { ClientPredictor, clientPredictorFactory, forwardableHeaders } from "./remote/remote-predictor.ts";
export {
  isSeldonComponent,
  SeldonComponent,
  type SeldonComponentLike,
  type SeldonComponentOptions,
  type SeldonMethod,
  type SeldonMetricsSink,
  SeldonNotImplementedError,
} from "./seldon/component.ts";
export { type LoadComponentOptions, loadSeldonComponent } from "./seldon/load-component.ts";
export * from "./openbayes/index.ts"; // OpenBayes predictors and start.sh servers

/**
 * The built-in runtimes as a loader, without Seldon's environment or a remote predictor installed: a server
 * builds its own registry (ModelServerOptions.runtimes) instead.
 */
export const loadModel: ModelLoader = (source, version) => builtinRuntimes().create(source, version);
