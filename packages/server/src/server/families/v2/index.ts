import { defineFamily } from "../../family.ts";
import { addInferenceService } from "./grpc.ts";
import { v2OpenApi } from "./openapi.ts";
import { registerV2Routes } from "./routes.ts";

/**
 * Open Inference Protocol V2: REST (with the binary tensor extension) and gRPC's GRPCInferenceService, with Triton's
 * model configuration, statistics and classification extensions.
 */
export const v2Family = defineFamily({
  name: "v2",
  modelRoutes: true,
  // Triton's statistics count each instance's queue waits and runs, as its engine reports them.
  setupModel: (model, { dataplane }) => {
    model.engineObserver = dataplane.stats.observeEngine(model, model.engineObserver);
  },
  mount: ({ dataplane, logger, modelControl }) => ({
    routes: (app) => registerV2Routes(app, dataplane),
    grpc: (server) => addInferenceService(server, { dataplane, logger, modelControl }),
    openapi: () => v2OpenApi(dataplane),
  }),
});
