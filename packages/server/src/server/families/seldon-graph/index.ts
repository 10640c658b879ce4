import { defineFlags } from "../../../config/flags.ts";
import { dataPlaneSeldonUnits, graphNodes, SeldonGraphExecutor, type SeldonGraphSpec } from "../../../graph/index.ts";
import { isSeldonComponent } from "../../../runtime/index.ts";
import { defineFamily } from "../../family.ts";
import { SELDON_SERVER_ERRORS } from "../seldon/index.ts";
import { registerSeldonGraphRoutes } from "./routes.ts";
import { seldonGraphOpenApi } from "../seldon/openapi.ts";

export interface SeldonGraphFamilyOptions {
  /**
   * A SeldonDeployment graph served with Seldon's executor API (/api/v1.0/predictions, /api/v1.0/feedback,
   * /api/v1.0/metadata, /ready, /live). Nodes named like a model served here run in-process; nodes with an
   * endpoint are called over REST; RANDOM_ABTEST is built in.
   */
  seldonGraph?: SeldonGraphSpec;
  /** How long one graph component call may take, in ms (504 past it). */
  seldonGraphTimeoutMs?: number;
}

export const SELDON_GRAPH_FLAGS = defineFlags({
  seldon_graph: { aliases: ["seldon-graph"], type: "string", help: "a SeldonDeployment (YAML/JSON) whose graph is served on /api/v1.0/predictions and /api/v1.0/feedback; nodes with modelUri are loaded here, nodes with an endpoint are called over REST" },
  seldon_graph_timeout: { type: "number", check: "positive", unit: "seconds", default: 60, help: "seconds one Seldon graph component call may take (504 past it)" },
});

/** Seldon's executor (the service orchestrator) in front of a SeldonDeployment's graph. */
export const seldonGraphFamily = defineFamily<SeldonGraphFamilyOptions>({
  name: "seldon-graph",
  flags: SELDON_GRAPH_FLAGS,
  mount: ({ dataplane, metrics, logger, options, isDraining }) => {
    const spec = options.seldonGraph;
    if (!spec) return undefined;
    // The graph's components report their custom metrics under this deployment and predictor.
    for (const node of graphNodes(spec.graph)) {
      const model = dataplane.hasModel(node.name) && dataplane.isModelReady(node.name) ? dataplane.model(node.name) : undefined;
      if (isSeldonComponent(model)) model.deployment = { deploymentName: spec.deploymentName, predictorName: spec.predictorName };
    }
    const executor = new SeldonGraphExecutor(spec, {
      resolveUnit: dataPlaneSeldonUnits(dataplane),
      observer: metrics.seldonGraphObserver(spec),
      timeoutMs: options.seldonGraphTimeoutMs,
    });
    return {
      openapi: seldonGraphOpenApi,
      routes: (app) => registerSeldonGraphRoutes(app, { executor, logger, metrics, isReady: () => !isDraining(), limits: dataplane.limits }),
      serverWide: SELDON_SERVER_ERRORS,
      close: () => executor.close(),
    };
  },
});
