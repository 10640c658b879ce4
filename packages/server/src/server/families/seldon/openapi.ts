import { seldon } from "../../../protocol/index.ts";
import { jsonContent, type OpenApiPart, op, ref } from "../../openapi/index.ts";

const message = jsonContent(ref("SeldonMessage"));
const post = (tag: string, summary: string, body = message) => ({ post: op({ tag, summary, body, ok: message, error: "SeldonStatus" }) });
const get = (tag: string, summary: string, ok: Record<string, unknown> | string = jsonContent({ type: "object" })) => ({ get: op({ tag, summary, ok, error: "SeldonStatus" }) });

/** A Seldon component's REST API in OpenAPI (GET works too on the microservice paths, with `json=` or a form). */
export function seldonOpenApi(modelName: string): OpenApiPart {
  const tag = `Seldon component (${modelName})`;
  return {
    tags: [{ name: tag, description: "Seldon Core's microservice API" }],
    paths: {
      "/api/v1.0/predictions": post(tag, "Predict"),
      "/api/v0.1/predictions": post(tag, "Predict (v0.1)"),
      "/predict": post(tag, "Predict (microservice path)"),
      "/api/v1.0/feedback": post(tag, "Send feedback", jsonContent(ref("SeldonFeedback"))),
      "/send-feedback": post(tag, "Send feedback (microservice path)", jsonContent(ref("SeldonFeedback"))),
      "/transform-input": post(tag, "Transform input"),
      "/transform-output": post(tag, "Transform output"),
      "/route": post(tag, "Route"),
      "/aggregate": post(tag, "Aggregate", jsonContent(ref("SeldonMessageList"))),
      "/health/ping": get(tag, "Liveness (pong)", "pong"),
      "/health/status": get(tag, "health_status()"),
      "/api/v1.0/metadata": get(tag, "Model metadata"),
      "/metadata": get(tag, "Model metadata (microservice path)"),
    },
    schemas: seldon.SELDON_SCHEMAS,
  };
}

/** A Seldon graph's executor API in OpenAPI. */
export function seldonGraphOpenApi(): OpenApiPart {
  const tag = "Seldon graph";
  return {
    tags: [{ name: tag, description: "Seldon Core's executor API for the served SeldonDeployment" }],
    paths: {
      "/api/v1.0/predictions": post(tag, "Run the graph"),
      "/api/v0.1/predictions": post(tag, "Run the graph (v0.1)"),
      "/api/v1.0/feedback": post(tag, "Send feedback through the graph", jsonContent(ref("SeldonFeedback"))),
      "/api/v0.1/feedback": post(tag, "Send feedback (v0.1)", jsonContent(ref("SeldonFeedback"))),
      "/api/v1.0/metadata": get(tag, "Graph metadata"),
      "/api/v1.0/metadata/{model}": {
        get: op({ tag, summary: "One unit's metadata", parameters: [{ name: "model", in: "path", required: true, schema: { type: "string" } }], ok: jsonContent({ type: "object" }), error: "SeldonStatus" }),
      },
      "/api/v1.0/health/status": get(tag, "Health"),
      "/ready": get(tag, "Readiness"),
      "/live": get(tag, "Liveness", "ok"),
    },
    schemas: seldon.SELDON_SCHEMAS,
  };
}
