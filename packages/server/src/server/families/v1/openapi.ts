import type { DataPlane } from "../../../model/index.ts";
import type { ModelMetadata } from "../../../protocol/index.ts";
import { v1 } from "../../../protocol/index.ts";
import { exampleFits, exampleShape, jsonContent, nested, type OpenApiPart, op, pathParam, ref, segment } from "../../openapi/index.ts";

const TAG = "KServe V1";
const model = pathParam("model", "model name");

/** A ready-to-run V1 body from the model's input metadata: `{"instances": [row]}`, or undefined when no example fits. */
export function v1Example(meta: ModelMetadata): { instances: unknown[] } | undefined {
  if (meta.inputs.length === 0 || !meta.inputs.every(exampleFits)) return undefined;
  // Row format: the first dimension is the batch.
  const row = (shape: number[], datatype: string) => nested(exampleShape(shape).slice(1), datatype);
  if (meta.inputs.length === 1) return { instances: [row(meta.inputs[0].shape, meta.inputs[0].datatype)] };
  return { instances: [Object.fromEntries(meta.inputs.map((i) => [i.name, row(i.shape, i.datatype)]))] };
}

/** The V1 and TF Serving routes in OpenAPI, with a predict operation per loaded model whose metadata gives an example. */
export async function v1OpenApi(dataplane: DataPlane, root: boolean): Promise<OpenApiPart> {
  const predictBody = jsonContent(ref("V1PredictRequest"));
  const predictOk = jsonContent(ref("V1PredictResponse"));
  const paths: OpenApiPart["paths"] = {
    "/v1/models": { get: op({ tag: TAG, summary: "List the models", ok: jsonContent(ref("V1ModelList")), error: "V1Error" }) },
    "/v1/models/{model}": { get: op({ tag: TAG, summary: "Model status (KServe ready + TF Serving model_version_status)", parameters: [model], ok: jsonContent(ref("V1ModelStatus")), error: "V1Error" }) },
    "/v1/models/{model}/metadata": { get: op({ tag: TAG, summary: "TF Serving model metadata (signature_def)", parameters: [model], ok: jsonContent(ref("V1Metadata")), error: "V1Error" }) },
    "/v1/models/{model}:predict": { post: op({ tag: TAG, summary: "Predict", parameters: [model], body: predictBody, ok: predictOk, error: "V1Error" }) },
    "/v1/models/{model}:explain": { post: op({ tag: TAG, summary: "Explain", parameters: [model], body: predictBody, ok: jsonContent({}), error: "V1Error" }) },
    "/v1/models/{model}:classify": { post: op({ tag: TAG, summary: "TF Serving classify", parameters: [model], body: jsonContent(ref("V1ExamplesRequest")), ok: jsonContent(ref("V1ExamplesResponse")), error: "V1Error" }) },
    "/v1/models/{model}:regress": { post: op({ tag: TAG, summary: "TF Serving regress", parameters: [model], body: jsonContent(ref("V1ExamplesRequest")), ok: jsonContent(ref("V1ExamplesResponse")), error: "V1Error" }) },
    "/v1/models/{model}/versions/{version}:predict": {
      post: op({ tag: TAG, summary: "Predict with one version (also /labels/{label})", parameters: [model, pathParam("version", "version number")], body: predictBody, ok: predictOk, error: "V1Error" }),
    },
  };
  if (root) paths["/"] = { get: op({ tag: TAG, summary: "Liveness", ok: jsonContent({ type: "object", properties: { status: { type: "string" } } }) }) };
  for (const name of dataplane.modelNames()) {
    const meta = await dataplane.modelMetadata(name).catch(() => undefined);
    const example = meta && v1Example(meta);
    if (!example) continue;
    paths[`/v1/models/${segment(name)}:predict`] = {
      post: op({ tag: TAG, summary: `${name}: predict`, operationId: `v1_predict_${name}`, body: jsonContent(ref("V1PredictRequest"), example), ok: predictOk, error: "V1Error" }),
    };
  }
  return { tags: [{ name: TAG, description: "KServe V1 and TF Serving's REST dialect" }], paths, schemas: v1.V1_SCHEMAS };
}
