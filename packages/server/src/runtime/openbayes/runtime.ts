import { Type } from "@sinclair/typebox";
import { moduleFileOf } from "../module/runtime.ts";
import type { Runtime, RuntimeTarget } from "../registry.ts";
import { loadOpenBayesModel, type OpenBayesRuntime, PREDICTOR_FILES, START_SCRIPT } from "./load.ts";

function create(runtime: OpenBayesRuntime) {
  return ({ source, dir, files, settings, version }: RuntimeTarget) =>
    loadOpenBayesModel(runtime, dir, source.name, {
      modelDir: dir,
      parameters: settings.parameters,
      version,
      modelFile: settings.modelFile,
      fallbackModule: moduleFileOf({ files, settings }),
    });
}

/** OpenBayes: a predictor class (predictor.ts) wrapped into a Model; recognised before any *.onnx beside it. */
export const openBayesRuntime: Runtime = {
  name: "openbayes",
  description: "an OpenBayes predictor class (predictor.ts) answering on /",
  priority: 30,
  recognise: ({ files }) => !files.includes(START_SCRIPT) && PREDICTOR_FILES.some((f) => files.includes(f)),
  create: create("openbayes"),
};

const seconds = Type.Number();

/** OpenBayes's custom mode: start.sh run as its own server, every path proxied to it; recognised first. */
export const customProcessRuntime: Runtime = {
  name: "custom",
  description: "a start.sh run as its own server, every request proxied to it (OpenBayes custom mode)",
  priority: 40,
  recognise: ({ files }) => files.includes(START_SCRIPT),
  parametersSchema: Type.Object(
    { startTimeoutSeconds: Type.Optional(seconds), start_timeout_seconds: Type.Optional(seconds) },
    { additionalProperties: true },
  ),
  create: create("custom"),
};
