import { defineFlags } from "../../../config/flags.ts";
import { dataPlaneModels, GraphRouter, type InferenceGraph } from "../../../graph/index.ts";
import { defineFamily } from "../../family.ts";
import { registerGraphRoutes } from "./routes.ts";
import { graphOpenApi } from "./openapi.ts";

export interface GraphFamilyOptions {
  /** A KServe InferenceGraph served on POST / (its serviceName steps call this server's models in-process). */
  graph?: InferenceGraph;
  /** Serve only the graph, on every path (`tserve graph`), like KServe's router. */
  graphStandalone?: boolean;
  /** serviceName -> URL for steps whose model is not served here (default http://{name}.{namespace}/v1/models/{name}:predict). */
  serviceUrlTemplate?: string;
  /** Header name patterns forwarded to graph steps (default: PROPAGATE_HEADERS from the environment). */
  propagateHeaders?: string[];
  /**
   * How long one graph step call may take, in ms, when the graph sets no `routerTimeouts.serviceClient` and the
   * step no `timeout` of its own (default 60 s; 504 past it).
   */
  graphStepTimeoutMs?: number;
}

/** The step timeout flag, shared by `tserve graph` and `tserve serve --graph`. */
export const GRAPH_STEP_TIMEOUT_FLAG = defineFlags({
  graph_step_timeout: {
    aliases: ["graph-step-timeout"],
    type: "number",
    check: "positive",
    unit: "seconds",
    default: 60,
    help: "seconds one graph step call may take when neither the step's timeout nor the graph's routerTimeouts.serviceClient sets one (504 past it)",
  },
});

/** How a graph reaches the services it does not find here, and which headers it passes on (also `tserve graph`'s). */
export const GRAPH_ROUTING_FLAGS = defineFlags({
  service_url_template: { type: "string", help: "graph serviceName -> URL for models not served here, with {name} and {namespace} (default http://{name}.{namespace}/v1/models/{name}:predict)" },
  propagate_headers: { type: "string", env: "PROPAGATE_HEADERS", help: "comma-separated header name patterns a graph forwards to its steps" },
  ...GRAPH_STEP_TIMEOUT_FLAG,
});

export const GRAPH_FLAGS = defineFlags({
  graph: { type: "string", help: "a KServe InferenceGraph (YAML/JSON) served on POST /; its serviceName steps call these models in-process" },
  ...GRAPH_ROUTING_FLAGS,
});

/** A KServe InferenceGraph on POST / (standalone: every path), with /readyz; steps call local models in-process. */
export const graphFamily = defineFamily<GraphFamilyOptions>({
  name: "graph",
  flags: GRAPH_FLAGS,
  mount: ({ dataplane, metrics, logger, options, isDraining }) => {
    if (!options.graph) return undefined;
    const router = new GraphRouter(options.graph, {
      localModels: dataPlaneModels(dataplane),
      serviceUrlTemplate: options.serviceUrlTemplate,
      propagateHeaders: options.propagateHeaders,
      observer: metrics,
      stepTimeoutSeconds: options.graphStepTimeoutMs === undefined ? undefined : options.graphStepTimeoutMs / 1000,
    });
    for (const p of router.headerPolicy.invalid) logger.log("warn", `ignoring invalid header pattern '${p}'`);
    const standalone = options.graphStandalone === true;
    return {
      routes: (app) => registerGraphRoutes(app, { router, standalone, isReady: () => !isDraining() }),
      ownsAllPaths: standalone,
      openapi: () => graphOpenApi(standalone),
      serverWide: { protocol: "graph" },
      handle: router,
    };
  },
});
