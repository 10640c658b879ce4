import type { DataPlane } from "../../../model/index.ts";
import type { ModelMetadata } from "../../../protocol/index.ts";
import { v2 } from "../../../protocol/index.ts";
import { exampleFits, exampleShape, jsonContent, nested, type OpenApiPart, op, pathParam, ref, segment } from "../../openapi/index.ts";

const TAG = "Open Inference Protocol V2";
const model = pathParam("name", "model name");
const version = pathParam("version", "model version");

const BINARY_DESCRIPTION =
  "Triton's binary tensor extension: send `application/octet-stream` (or any type) with the `Inference-Header-Content-Length` " +
  "header giving the length of the leading JSON header (a V2InferRequest whose inputs carry `parameters.binary_data_size` " +
  "instead of `data`); the tensors' raw little-endian bytes follow in input order (BYTES elements as 4-byte length + bytes). " +
  "Outputs asked for with `parameters.binary_data: true` come back the same way, with the header's length in the response's " +
  "`Inference-Header-Content-Length`.";

/** A ready-to-run V2 body from the model's input metadata (batch dimension 1). */
export function v2Example(meta: ModelMetadata): unknown {
  if (meta.inputs.length === 0 || !meta.inputs.every(exampleFits)) return undefined;
  return {
    inputs: meta.inputs.map((i) => {
      const shape = exampleShape(i.shape);
      return { name: i.name, shape, datatype: i.datatype, data: (nested(shape, i.datatype) as unknown[]).flat?.(Infinity) ?? [] };
    }),
  };
}

/** The OIP V2 REST routes in OpenAPI (binary extension included), with an infer operation per loaded model. */
export async function v2OpenApi(dataplane: DataPlane): Promise<OpenApiPart> {
  const inferBody = (example?: unknown) => ({
    ...jsonContent(ref("V2InferRequest"), example),
    "application/octet-stream": { schema: { type: "string", contentMediaType: "application/octet-stream", description: BINARY_DESCRIPTION } },
  });
  const headerLength = { name: "Inference-Header-Content-Length", in: "header", required: false, description: "Binary extension: length of the JSON header", schema: { type: "integer", minimum: 0 } };
  const inferOk = { ...jsonContent(ref("V2InferResponse")), "application/octet-stream": { schema: { type: "string", description: "Binary extension answer" } } };
  const get = (summary: string, schema: string, parameters?: unknown[]) => ({ get: op({ tag: TAG, summary, parameters, ok: jsonContent(ref(schema)), error: "V2Error" }) });
  const paths: OpenApiPart["paths"] = {
    "/v2": get("Server metadata", "V2ServerMetadata"),
    "/v2/health/live": get("Server liveness", "V2Live"),
    "/v2/health/ready": get("Server readiness", "V2Ready"),
    "/v2/models": get("List the models", "V2ModelList"),
    "/v2/models/{name}": get("Model metadata", "V2ModelMetadata", [model]),
    "/v2/models/{name}/versions/{version}": get("Model version metadata", "V2ModelMetadata", [model, version]),
    "/v2/models/{name}/ready": get("Model readiness", "V2Ready", [model]),
    "/v2/models/{name}/versions/{version}/ready": get("Model version readiness", "V2Ready", [model, version]),
    "/v2/models/{name}/config": { get: op({ tag: TAG, summary: "Triton model configuration", parameters: [model], ok: jsonContent({ type: "object" }), error: "V2Error" }) },
    "/v2/models/stats": { get: op({ tag: TAG, summary: "Triton statistics, every model", ok: jsonContent({ type: "object" }), error: "V2Error" }) },
    "/v2/models/{name}/stats": { get: op({ tag: TAG, summary: "Triton statistics, one model", parameters: [model], ok: jsonContent({ type: "object" }), error: "V2Error" }) },
    "/v2/models/{name}/infer": { post: op({ tag: TAG, summary: "Infer (JSON or binary extension)", description: BINARY_DESCRIPTION, parameters: [model, headerLength], body: inferBody(), ok: inferOk, error: "V2Error" }) },
    "/v2/models/{name}/versions/{version}/infer": {
      post: op({ tag: TAG, summary: "Infer with one version", parameters: [model, version, headerLength], body: inferBody(), ok: inferOk, error: "V2Error" }),
    },
  };
  for (const name of dataplane.modelNames()) {
    const meta = await dataplane.modelMetadata(name).catch(() => undefined);
    const example = meta && v2Example(meta);
    if (!example) continue;
    paths[`/v2/models/${segment(name)}/infer`] = {
      post: op({ tag: TAG, summary: `${name}: infer`, operationId: `v2_infer_${name}`, parameters: [headerLength], body: inferBody(example), ok: inferOk, error: "V2Error" }),
    };
  }
  return { tags: [{ name: TAG, description: "KServe V2 / Triton REST, with the binary tensor extension" }], paths, schemas: v2.V2_SCHEMAS };
}
