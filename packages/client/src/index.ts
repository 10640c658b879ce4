/**
 * @tserve/client: the REST (fetch) and gRPC inference clients, without the server. The sources live in the server
 * package (packages/server/src/client/), whose remote predictor uses them too, so there is one copy of each class;
 * scripts/build.mjs bundles them from here.
 */
export * from "../../server/src/client/index.ts";
