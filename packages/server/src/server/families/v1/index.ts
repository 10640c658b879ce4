import { defineFamily } from "../../family.ts";
import { v1OpenApi } from "./openapi.ts";
import { registerV1Routes } from "./routes.ts";

/** KServe V1 with TF Serving's REST dialect: /v1/models/{m}[:predict|:explain|:classify|:regress], metadata, labels. */
export const v1Family = defineFamily({
  name: "v1",
  modelRoutes: true,
  mount: ({ dataplane }) => {
    let root = true;
    return {
      // KServe's liveness on GET / unless another family (an OpenBayes predictor) claimed the root.
      routes: (app, { claimed }) => {
        root = !claimed.has("/");
        registerV1Routes(app, dataplane, { root });
      },
      openapi: () => v1OpenApi(dataplane, root),
    };
  },
});
