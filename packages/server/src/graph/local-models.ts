import { toTServeError } from "../errors/index.ts";
import type { DataPlane } from "../model/index.ts";
import { v1 } from "../protocol/index.ts";
import { jsonMessage, type StepMessage } from "./message.ts";
import type { LocalModels } from "./targets.ts";

/**
 * The models of this process as graph targets: a step body goes to the model's pipeline exactly as a
 * V1 `:predict` body would, without an HTTP hop.
 */
export function dataPlaneModels(dataplane: DataPlane): LocalModels {
  return {
    has(name) {
      try {
        return dataplane.isModelReady(name);
      } catch {
        return false;
      }
    },
    async call(name, body, headers, span): Promise<StepMessage> {
      let json: unknown;
      try {
        json = JSON.parse(body.toString("utf8"));
      } catch (err) {
        return jsonMessage(400, { error: `Unrecognized request format: ${(err as Error).message}` });
      }
      try {
        const result = await dataplane.predictV1(name, undefined, json, {
          headers,
          protocol: "v1",
          requestId: headers["x-request-id"],
          responseHeaders: {},
          span,
        });
        return jsonMessage(200, v1.v1Result(result));
      } catch (err) {
        const e = toTServeError(err);
        return jsonMessage(e.status, { error: e.message });
      }
    },
  };
}
