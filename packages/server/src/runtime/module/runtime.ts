import { join } from "node:path";
import { InvalidInput } from "../../errors/index.ts";
import type { Model } from "../../model/index.ts";
import type { Runtime, RuntimeFolder } from "../registry.ts";
import { batchModulePredict } from "./batching.ts";
import { loadModuleModel, MODULE_EXTENSIONS, MODULE_FILES } from "./load-module.ts";
import { ThreadedModuleModel } from "./threaded-model.ts";

/** The module of a folder: settings' modelFile when it is one, else model.ts/.mts/.js/.mjs, else the first module (not .d.ts). */
export function moduleFileOf({ files, settings }: Pick<RuntimeFolder, "files" | "settings">): string | undefined {
  if (settings.modelFile && MODULE_EXTENSIONS.test(settings.modelFile)) return settings.modelFile;
  return MODULE_FILES.find((f) => files.includes(f)) ?? files.find((f) => MODULE_EXTENSIONS.test(f) && !f.endsWith(".d.ts"));
}

/**
 * A TypeScript/JavaScript module exporting a Model class or instance; settings' inputs/outputs fill in empty metadata.
 * With `instanceCount` ≥ 1 the model runs on that many worker threads (each its own instance), see threaded-model.ts.
 */
export const moduleRuntime: Runtime = {
  name: "module",
  description: "a TypeScript/JavaScript module (model.ts) exporting a tserve Model class or instance",
  priority: 10,
  recognise: (folder) => moduleFileOf(folder) !== undefined,
  recogniseFile: (file) => MODULE_EXTENSIONS.test(file),
  async create({ source, dir, files, settings, version }) {
    const file = moduleFileOf({ files, settings });
    if (!file) throw new InvalidInput(`No model module (model.ts / model.js) in ${dir}`);
    const options = { modelDir: dir, parameters: settings.parameters, version };
    const instances = settings.instanceCount ?? 0;
    let model: Model;
    if (instances >= 1) {
      // Settings' inputs/outputs are filled in by each worker, into its own instance's (see model-worker.mjs).
      model = new ThreadedModuleModel(join(dir, file), source.name, options, instances, { inputs: settings.inputs, outputs: settings.outputs });
    } else {
      model = await loadModuleModel(join(dir, file), source.name, options);
      if (settings.inputs && model.inputs.length === 0) model.inputs = settings.inputs;
      if (settings.outputs && model.outputs.length === 0) model.outputs = settings.outputs;
    }
    batchModulePredict(model, settings);
    return model;
  },
};
