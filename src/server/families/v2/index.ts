import { defineFamily } from "../../family.ts";
import { addInferenceService } from "./grpc.ts";
import { registerV2Routes } from "./routes.ts";

/** Open Inference Protocol V2: REST (with the binary tensor extension) and gRPC's GRPCInferenceService. */
export const v2Family = defineFamily({
  name: "v2",
  modelRoutes: true,
  mount: ({ dataplane, logger, modelControl }) => ({
    routes: (app) => registerV2Routes(app, dataplane),
    grpc: (server) => addInferenceService(server, { dataplane, logger, modelControl }),
  }),
});
