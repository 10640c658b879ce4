import { configureOpenBayesModel, resolveOpenBayesServing } from "../../../runtime/index.ts";
import { defineFamily } from "../../family.ts";
import { openBayesOpenApi } from "./openapi.ts";
import { registerOpenBayesRoutes } from "./routes.ts";

export interface OpenBayesFamilyOptions {
  /**
   * OpenBayes serving for one model (`true`: the only served model): a predictor class answers GET / and POST /,
   * a start.sh server gets every path proxied. Left undefined, it is on when the only model is one of these;
   * when asked for, a predictor that fails to start fails start().
   */
  openbayes?: boolean | { modelName: string };
  /** How long a custom server (start.sh) gets to exit after SIGTERM on stop, in ms. */
  gracePeriodMs?: number;
}

/** Other families' options that own the server's root: with any of them set, OpenBayes stays off. */
interface RootOwners {
  graph?: unknown;
  seldon?: unknown;
  seldonGraph?: unknown;
}

/** OpenBayes serving: a predictor on GET / and POST /, or a start.sh server proxied on every path. */
export const openbayesFamily = defineFamily<OpenBayesFamilyOptions & RootOwners>({
  name: "openbayes",
  setupModel: (model, { logger, options }) => configureOpenBayesModel(model, { logger, gracePeriodMs: options.gracePeriodMs }),
  mount: ({ dataplane, logger, options }) => {
    if (options.graph || options.seldon || options.seldonGraph) return undefined;
    // Decided once the models are loaded; a predictor asked for that did not start fails start().
    const serving = resolveOpenBayesServing(dataplane, options.openbayes);
    if (!serving) return undefined;
    const custom = serving.mode === "custom";
    return {
      routes: (app) => registerOpenBayesRoutes(app, dataplane, { ...serving, logger }),
      claims: ["/"],
      openapi: () => openBayesOpenApi(serving.modelName, serving.mode),
      ownsAllPaths: custom,
      serverWide: { protocol: "openbayes" },
    };
  },
});
