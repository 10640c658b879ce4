import { join } from "node:path";
import { InvalidInput } from "../../errors/index.ts";
import { moduleFileOf } from "../module/runtime.ts";
import type { Runtime } from "../registry.ts";
import { loadSeldonComponent } from "./load-component.ts";

/** What Seldon's operator tells a component about its place in the deployment (its environment variables). */
export interface SeldonUnitSettings {
  /** PREDICTIVE_UNIT_ID: this unit's id in a graph (default: the model's name). */
  unitId?: string;
  /** PREDICTIVE_UNIT_IMAGE: the image reported in meta.requestPath. */
  image?: string;
  /** INCLUDE_METRICS_IN_CLIENT_RESPONSE (default true). */
  includeMetricsInResponse?: boolean;
  /** MODEL_METADATA (JSON or YAML) merged over initMetadata(). */
  modelMetadata?: string;
}

/** Seldon's environment variables as SeldonUnitSettings; the configuration layer passes `process.env`. */
export function seldonUnitFromEnv(env: Readonly<Record<string, string | undefined>>): SeldonUnitSettings {
  return {
    unitId: env.PREDICTIVE_UNIT_ID,
    image: env.PREDICTIVE_UNIT_IMAGE,
    includeMetricsInResponse: env.INCLUDE_METRICS_IN_CLIENT_RESPONSE?.toLowerCase() !== "false",
    modelMetadata: env.MODEL_METADATA,
  };
}

export interface SeldonRuntimeOptions {
  /** The unit's settings, asked for at each load (so a server picks up what its environment says then). */
  unit?: () => SeldonUnitSettings;
}

/** A Seldon-style component class (predict(X, names, meta), route, aggregate …); chosen by name only. */
export function seldonRuntime(options: SeldonRuntimeOptions = {}): Runtime {
  return {
    name: "seldon",
    description: "a Seldon-style component class (predict(X, names, meta), route, aggregate …) in a module",
    async create({ source, dir, files, settings, version }) {
      const file = moduleFileOf({ files, settings });
      if (!file) throw new InvalidInput(`No component module (model.ts / model.js) in ${dir}`);
      const unit = options.unit?.() ?? {};
      return loadSeldonComponent(join(dir, file), source.name, {
        modelDir: dir,
        parameters: settings.parameters,
        version,
        args: settings.parameters,
        unitId: unit.unitId ?? source.name,
        image: unit.image,
        includeMetricsInResponse: unit.includeMetricsInResponse ?? true,
        modelMetadataEnv: unit.modelMetadata,
      });
    },
  };
}
