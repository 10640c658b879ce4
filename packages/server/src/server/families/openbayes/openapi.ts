import { jsonContent, type OpenApiPart, op } from "../../openapi/index.ts";

const TAG = "OpenBayes";
const OBJECT = { type: "object", additionalProperties: true };

/** OpenBayes serving in OpenAPI: a predictor's GET / and POST /, or a custom server's health routes (the rest is proxied). */
export function openBayesOpenApi(modelName: string, mode: string): OpenApiPart {
  const error = { description: "Error", content: jsonContent({ type: "object", properties: { error: { type: "string" } } }) };
  const health = (what: string) => ({ get: { ...op({ tag: TAG, summary: `tserve's ${what} of the custom server`, ok: jsonContent(OBJECT) }), responses: { "200": { description: "OK" }, "503": error } } });
  if (mode === "custom") {
    return {
      tags: [{ name: TAG, description: `OpenBayes custom server (start.sh) for ${modelName}: every other path is proxied to it` }],
      paths: { "/v2/health/live": health("liveness"), "/v2/health/ready": health("readiness") },
    };
  }
  return {
    tags: [{ name: TAG, description: `OpenBayes predictor ${modelName}` }],
    paths: {
      "/": {
        get: op({ tag: TAG, summary: "Predictor status", ok: jsonContent({ type: "object", properties: { status: { type: "string" }, model: { type: "string" } } }) }),
        post: {
          ...op({ tag: TAG, summary: "Predict", description: "The body is handed to the predictor as OpenBayes does: JSON, a form, MessagePack, or raw bytes; the answer's type follows what predict returns and Accept." }),
          requestBody: { required: false, content: { "application/json": { schema: {} }, "multipart/form-data": { schema: OBJECT }, "application/x-msgpack": { schema: { type: "string" } }, "application/octet-stream": { schema: { type: "string" } } } },
          responses: { "200": { description: "The predictor's answer", content: { "application/json": { schema: {} } } }, default: error },
        },
      },
    },
  };
}
