import { compatFlags, defineFlags } from "../../../config/flags.ts";
import { isSeldonComponent } from "../../../runtime/index.ts";
import { seldonStatusBody } from "../../../protocol/seldon/index.ts";
import { sendSeldonError } from "../../errors.ts";
import { defineFamily, type FamilyMount } from "../../family.ts";
import { addSeldonGrpcServices } from "./grpc.ts";
import { registerSeldonRoutes } from "./routes.ts";
import { seldonOpenApi } from "./openapi.ts";

export interface SeldonFamilyOptions {
  /**
   * Serve Seldon's microservice API (/predict, /api/v1.0/predictions, /route, /aggregate, /send-feedback,
   * /health/*, /metadata) for this component (`true`: the only served model), beside V1/V2.
   */
  seldon?: boolean | { modelName: string };
}

/** Seldon's and KServe's flags accepted so existing command lines keep working; they have no effect here. */
const SELDON_COMPAT = ["threads", "max_requests", "max_requests_jitter", "keepalive", "metrics_port", "single_threaded", "tracing"] as const;

export const SELDON_FLAGS = defineFlags({
  seldon: { type: "boolean", default: false, help: "serve the module as a Seldon component: Seldon's REST API (/api/v1.0/predictions, /route, /aggregate, /send-feedback, /health/*, /metadata) beside V1/V2; --http_port defaults to 9000" },
  parameters: { type: "string", env: "PREDICTIVE_UNIT_PARAMETERS", help: 'Seldon component constructor parameters: [{"name":"alpha","value":"0.5","type":"FLOAT"}] (INT, FLOAT, DOUBLE, STRING, BOOL)' },
  service_type: {
    aliases: ["service-type"],
    type: "enum",
    values: ["MODEL", "ROUTER", "TRANSFORMER", "OUTPUT_TRANSFORMER", "COMBINER", "OUTLIER_DETECTOR"],
    ignoreCase: true,
    default: "MODEL",
    help: "Seldon service type; every Seldon route is served whatever it is",
  },
  ...compatFlags(SELDON_COMPAT, "Seldon"),
});

/** A Seldon server's errors outside any route: Seldon's status object, with its reason. */
export const SELDON_SERVER_ERRORS: NonNullable<FamilyMount["serverWide"]> = {
  protocol: "seldon",
  errorReply: (reply, err) => sendSeldonError(reply, err),
  clientErrorBody: (status, message) => seldonStatusBody(message, status >= 500 ? "MICROSERVICE_INTERNAL_ERROR" : "MICROSERVICE_BAD_DATA"),
};

/** Seldon Core's microservice API for one component, over REST and gRPC (seldon.protos.*). */
export const seldonFamily = defineFamily<SeldonFamilyOptions & { seldonGraph?: unknown }>({
  name: "seldon",
  flags: SELDON_FLAGS,
  // Every Seldon component reports its custom metrics (metrics(), timers) through /metrics, in a graph too.
  setupModel: (model, { metrics }) => {
    if (isSeldonComponent(model)) model.metricsSink = metrics;
  },
  mount: ({ dataplane, logger, options }) => {
    const option = options.seldon;
    if (!option) return undefined;
    if (options.seldonGraph) throw new Error("Serve either one Seldon component (seldon) or a Seldon graph (seldonGraph), not both");
    let modelName: string;
    if (option === true) {
      const names = dataplane.modelNames();
      if (names.length !== 1) {
        throw new Error(`Seldon mode serves exactly one component; this server has ${names.length} models (${names.join(", ")}). Name one with seldon: { modelName }.`);
      }
      modelName = names[0];
    } else {
      modelName = option.modelName;
    }
    return {
      routes: (app) => registerSeldonRoutes(app, dataplane, { modelName, logger }),
      grpc: (server) => addSeldonGrpcServices(server, { dataplane, modelName: () => modelName, logger }),
      serverWide: SELDON_SERVER_ERRORS,
      openapi: () => seldonOpenApi(modelName),
    };
  },
});
