import { describe, expect, it } from "vitest";
import { remotePredictorFactory } from "../../../packages/server/src/model/index.ts";
import { ModelServer } from "../../../packages/server/src/index.ts";
import { builtinRuntimes, clientPredictorFactory, seldonUnitFromEnv } from "../../../packages/server/src/runtime/index.ts";

describe("explicit wiring", () => {
  it("importing tserve installs no remote predictor; the server installs its registry's", () => {
    expect(remotePredictorFactory()).toBeUndefined();
    new ModelServer({ enableGrpc: false });
    expect(remotePredictorFactory()).toBe(clientPredictorFactory);
    const fake = () => ({ predict: async () => 1, explain: async () => 2, isModelReady: async () => true, close: async () => undefined });
    new ModelServer({ enableGrpc: false, runtimes: builtinRuntimes({ remotePredictor: fake }) });
    expect(remotePredictorFactory()).toBe(fake);
  });

  it("Seldon's unit settings come from the environment the configuration layer passes", () => {
    expect(seldonUnitFromEnv({})).toEqual({ unitId: undefined, image: undefined, includeMetricsInResponse: true, modelMetadata: undefined });
    expect(
      seldonUnitFromEnv({
        PREDICTIVE_UNIT_ID: "u1",
        PREDICTIVE_UNIT_IMAGE: "img:1",
        INCLUDE_METRICS_IN_CLIENT_RESPONSE: "FALSE",
        MODEL_METADATA: "name: m",
      }),
    ).toEqual({ unitId: "u1", image: "img:1", includeMetricsInResponse: false, modelMetadata: "name: m" });
  });
});
