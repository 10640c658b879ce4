import { InvalidInput } from "../../errors/index.ts";
import type { DataPlane, Model } from "../../model/index.ts";
import { CustomServerModel, isCustomServerModel } from "./custom-model.ts";
import { isOpenBayesPredictor, type OpenBayesLogger } from "./predictor.ts";

/** Whether a model is served the OpenBayes way (a predictor class or a start.sh server). */
export function isOpenBayesModel(value: unknown): boolean {
  return isOpenBayesPredictor(value) || isCustomServerModel(value);
}

/** Hands the server's logger and grace period to an OpenBayes model (other models are left alone). */
export function configureOpenBayesModel(model: Model, server: { logger: OpenBayesLogger; gracePeriodMs?: number }): void {
  if (isOpenBayesPredictor(model)) model.logger = server.logger;
  if (isCustomServerModel(model)) {
    model.logger = server.logger;
    if (server.gracePeriodMs !== undefined) model.stopGraceMs = server.gracePeriodMs;
  }
}

/** What the OpenBayes routes serve: one model, as a predictor (GET / and POST /) or a proxied custom server. */
export interface OpenBayesServing {
  modelName: string;
  mode: "predictor" | "custom";
}

/**
 * Decides the OpenBayes routes after the models are loaded. `true` (or `{ modelName }`) asks for them: the model
 * must have started, else its failure is the server's startup error, as with OpenBayes. Left undefined, they
 * are on when the server's only model is a loaded OpenBayes model; `false` turns them off.
 */
export function resolveOpenBayesServing(
  dataplane: Pick<DataPlane, "modelNames" | "isModelReady" | "index" | "model">,
  option: boolean | { modelName: string } | undefined,
): OpenBayesServing | undefined {
  if (option === false) return undefined;
  const names = dataplane.modelNames();
  let modelName: string;
  if (option === undefined) {
    if (names.length !== 1 || !dataplane.isModelReady(names[0])) return undefined;
    modelName = names[0];
    if (!isOpenBayesModel(dataplane.model(modelName))) return undefined;
  } else if (option === true) {
    if (names.length !== 1) {
      throw new InvalidInput(`OpenBayes mode serves exactly one predictor; this server has ${names.length} models (${names.join(", ")}). Name one with openbayes: { modelName }.`);
    }
    modelName = names[0];
  } else {
    modelName = option.modelName;
  }
  if (!names.includes(modelName)) throw new InvalidInput(`OpenBayes mode: there is no model named ${modelName}`);
  if (!dataplane.isModelReady(modelName)) {
    const row = dataplane.index().find((r) => r.name === modelName && r.state !== "READY");
    throw new InvalidInput(`The OpenBayes predictor ${modelName} did not start: ${row?.reason || row?.state || "not ready"}`);
  }
  const model = dataplane.model(modelName);
  if (!isOpenBayesModel(model)) {
    throw new InvalidInput(`Model ${modelName} is not an OpenBayes predictor: serve a plain class with predict({ json }) (predictor.ts) or a folder with start.sh`);
  }
  return { modelName, mode: model instanceof CustomServerModel || isCustomServerModel(model) ? "custom" : "predictor" };
}
