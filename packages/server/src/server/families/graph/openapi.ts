import { jsonContent, type OpenApiPart, op } from "../../openapi/index.ts";

const TAG = "InferenceGraph";

/** A KServe InferenceGraph's routes in OpenAPI: the body goes to the first step as it is (its shape is the steps' protocol). */
export function graphOpenApi(standalone: boolean): OpenApiPart {
  const run = {
    ...op({
      tag: TAG,
      summary: standalone ? "Run the graph (every path and method runs it)" : "Run the graph",
      description: "The JSON body is passed to the first step unchanged (a V1 or V2 body, as the steps expect); the last step's answer comes back.",
      body: jsonContent({}),
      ok: jsonContent({}),
    }),
  };
  return {
    tags: [{ name: TAG, description: "KServe InferenceGraph router" }],
    paths: {
      "/": { post: run },
      "/readyz": { get: op({ tag: TAG, summary: "Readiness of the graph router", ok: "ok" }) },
    },
  };
}
