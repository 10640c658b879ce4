import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { InvalidInput } from "../errors/index.ts";
import { type Model, type ModelLoader, type ModelSource, setRemotePredictorFactory } from "../model/index.ts";
import { loadModuleModel, MODULE_EXTENSIONS, MODULE_FILES } from "./module/load-module.ts";
import { OnnxModel } from "./onnx/onnx-model.ts";
import { ClientPredictor } from "./remote/remote-predictor.ts";
import { loadSeldonComponent } from "./seldon/load-component.ts";
import { loadOpenBayesModel, openBayesRuntimeOf } from "./openbayes/index.ts"; // OpenBayes

export { importUserModule, loadModuleModel, MODULE_EXTENSIONS } from "./module/load-module.ts";
export { datatypeOfOrt, fromOrtTensor, ortTypeOf, toOrtTensor } from "./onnx/convert.ts";
export { OnnxModel, type OnnxModelOptions } from "./onnx/onnx-model.ts";
export { ClientPredictor, forwardableHeaders } from "./remote/remote-predictor.ts";
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

// Transformers (models with a predictorHost) forward through the inference clients.
setRemotePredictorFactory((settings) => new ClientPredictor(settings));

/** Picks the runtime from model-settings.json or from the files present: *.onnx -> onnx, a .ts/.js module -> module. */
export const loadModel: ModelLoader = async (source: ModelSource, version): Promise<Model> => {
  const { settings } = source;
  const files = (await readdir(version.dir)).sort();
  const options = { modelDir: version.dir, parameters: settings.parameters, version: version.version };
  let model: Model;
  const onnxFile = settings.modelFile?.endsWith(".onnx")
    ? settings.modelFile
    : files.includes("model.onnx")
      ? "model.onnx"
      : files.find((f) => f.endsWith(".onnx"));
  const moduleFile =
    settings.modelFile && MODULE_EXTENSIONS.test(settings.modelFile)
      ? settings.modelFile
      : (MODULE_FILES.find((f) => files.includes(f)) ??
        files.find((f) => MODULE_EXTENSIONS.test(f) && !f.endsWith(".d.ts")));
  // OpenBayes: start.sh (custom) or predictor.ts/js (openbayes) decide before any *.onnx beside them.
  const openbayesRuntime = settings.runtime ? undefined : openBayesRuntimeOf(files);
  const runtime = settings.runtime ?? openbayesRuntime ?? (onnxFile ? "onnx" : moduleFile ? "module" : undefined);
  if (runtime === "onnx") {
    if (!onnxFile) throw new InvalidInput(`No .onnx file in ${version.dir}`);
    model = new OnnxModel(source.name, {
      ...options,
      path: join(version.dir, onnxFile),
      inputs: settings.inputs,
      outputs: settings.outputs,
    });
  } else if (runtime === "seldon") {
    if (!moduleFile) throw new InvalidInput(`No component module (model.ts / model.js) in ${version.dir}`);
    model = await loadSeldonComponent(join(version.dir, moduleFile), source.name, {
      ...options,
      args: settings.parameters,
      unitId: process.env.PREDICTIVE_UNIT_ID ?? source.name,
      image: process.env.PREDICTIVE_UNIT_IMAGE,
      includeMetricsInResponse: process.env.INCLUDE_METRICS_IN_CLIENT_RESPONSE?.toLowerCase() !== "false",
      modelMetadataEnv: process.env.MODEL_METADATA,
    });
  } else if (runtime === "openbayes" || runtime === "custom") {
    // OpenBayes: a predictor class wrapped by runtime/openbayes, or start.sh run as its own server.
    model = await loadOpenBayesModel(runtime, version.dir, source.name, { ...options, modelFile: settings.modelFile, fallbackModule: moduleFile });
  } else if (runtime === "module") {
    if (!moduleFile) throw new InvalidInput(`No model module (model.ts / model.js) in ${version.dir}`);
    model = await loadModuleModel(join(version.dir, moduleFile), source.name, options);
    if (settings.inputs && model.inputs.length === 0) model.inputs = settings.inputs;
    if (settings.outputs && model.outputs.length === 0) model.outputs = settings.outputs;
  } else {
    throw new InvalidInput(
      `Cannot tell how to serve ${basename(source.dir)}: no .onnx file or model module found in ${version.dir} (files: ${files.join(", ") || "none"})`,
    );
  }
  model.name = source.name;
  return model;
};
