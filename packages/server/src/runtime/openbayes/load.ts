import { readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { InvalidInput } from "../../errors/index.ts";
import { isModel, isModelClass, type ModelOptions, type ModelSource } from "../../model/index.ts";
import { importUserModule, MODULE_EXTENSIONS } from "../module/load-module.ts";
import { CustomServerModel } from "./custom-model.ts";
import { OpenBayesPredictor, type OpenBayesPredictorOptions, type PredictorClass } from "./predictor.ts";

/** The file that makes a folder OpenBayes's custom mode: it is run instead of any predictor. */
export const START_SCRIPT = "start.sh";
/** The files that make a folder an OpenBayes predictor, in the order they are tried. */
export const PREDICTOR_FILES = ["predictor.ts", "predictor.mts", "predictor.js", "predictor.mjs"];

export type OpenBayesRuntime = "openbayes" | "custom";

/** What a folder's files say: start.sh -> custom, predictor.ts/js -> openbayes, else nothing. */
export function openBayesRuntimeOf(files: string[]): OpenBayesRuntime | undefined {
  if (files.includes(START_SCRIPT)) return "custom";
  if (PREDICTOR_FILES.some((f) => files.includes(f))) return "openbayes";
  return undefined;
}

/**
 * The module's default export when it is a predictor class: a class that is not a tserve Model (predict may be a
 * method or a field; load() checks the instance has one), or an old-style constructor function with predict.
 */
function predictorClassOf(mod: Record<string, unknown>): PredictorClass | undefined {
  const dflt = (mod.default as Record<string, unknown> | undefined)?.default ?? mod.default;
  if (typeof dflt !== "function" || isModelClass(dflt) || isModel(dflt)) return undefined;
  const isClass = /^class[\s{]/.test(Function.prototype.toString.call(dflt));
  const proto = (dflt as { prototype?: Record<string, unknown> }).prototype;
  return isClass || typeof proto?.predict === "function" ? (dflt as PredictorClass) : undefined;
}

/** Whether a module's default export is an OpenBayes predictor class (not a tserve Model subclass). */
export async function isOpenBayesPredictorModule(file: string): Promise<boolean> {
  try {
    return predictorClassOf(await importUserModule(file)) !== undefined;
  } catch {
    // A module that does not even import is the module runtime's to report.
    return false;
  }
}

/**
 * Decides whether a model source is served the OpenBayes way, and marks it so: `runtime` openbayes/custom in
 * its settings, a folder with start.sh or predictor.ts/js, or a module file whose default export is a
 * predictor class.
 */
export async function detectOpenBayesSource(source: ModelSource): Promise<boolean> {
  const { settings } = source;
  if (settings.runtime === "openbayes" || settings.runtime === "custom") return true;
  const dir = source.versions[source.versions.length - 1]?.dir ?? source.dir;
  if (settings.runtime === "module" && settings.modelFile && MODULE_EXTENSIONS.test(settings.modelFile)) {
    if (!(await isOpenBayesPredictorModule(join(dir, settings.modelFile)))) return false;
    source.settings = { ...settings, runtime: "openbayes" };
    return true;
  }
  if (settings.runtime !== undefined) return false;
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    return false;
  }
  return openBayesRuntimeOf(files) !== undefined;
}

/** Imports a predictor module and wraps its default export. */
export async function loadOpenBayesPredictor(file: string, name: string, options: OpenBayesPredictorOptions = {}): Promise<OpenBayesPredictor> {
  const mod = await importUserModule(file);
  const cls = predictorClassOf(mod);
  if (!cls) {
    const dflt = (mod.default as Record<string, unknown> | undefined)?.default ?? mod.default;
    throw new InvalidInput(
      isModelClass(dflt)
        ? `${file} exports a tserve Model; serve it as a module model (OpenBayes predictors are plain classes with predict({ json }))`
        : `${file} does not export an OpenBayes predictor: export default class Predictor { predict({ json }) { … } }`,
    );
  }
  return new OpenBayesPredictor(cls, name, { ...options, source: basename(file) });
}

export interface OpenBayesLoadOptions extends ModelOptions {
  /** model-settings.json's modelFile. */
  modelFile?: string;
  /** The module the generic rules picked (model.ts …), used when there is no predictor.ts. */
  fallbackModule?: string;
}

/** The runtime loader's OpenBayes branch: a custom start.sh server, or a predictor module. */
export async function loadOpenBayesModel(
  runtime: OpenBayesRuntime,
  dir: string,
  name: string,
  options: OpenBayesLoadOptions = {},
): Promise<CustomServerModel | OpenBayesPredictor> {
  const { modelFile, fallbackModule, ...modelOptions } = options;
  const files = await readdir(dir);
  const parameters = modelOptions.parameters ?? {};
  if (runtime === "custom") {
    if (!files.includes(START_SCRIPT)) throw new InvalidInput(`No ${START_SCRIPT} in ${dir} (runtime "custom" runs it)`);
    const seconds = parameters.startTimeoutSeconds ?? parameters.start_timeout_seconds;
    return new CustomServerModel(name, { ...modelOptions, dir, startTimeoutMs: typeof seconds === "number" ? seconds * 1000 : undefined });
  }
  const file =
    modelFile && MODULE_EXTENSIONS.test(modelFile) ? modelFile : (PREDICTOR_FILES.find((f) => files.includes(f)) ?? fallbackModule);
  if (!file) throw new InvalidInput(`No predictor module (predictor.ts / predictor.js) in ${dir}`);
  return loadOpenBayesPredictor(join(dir, file), name, { ...modelOptions, modelDir: dir });
}
