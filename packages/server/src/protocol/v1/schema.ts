import { type Static, Type } from "@sinclair/typebox";

/**
 * KServe V1 and TF Serving REST bodies as JSON Schemas (TypeBox): the one description the OpenAPI document is built
 * from. The codec (json.ts, tensors.ts, examples.ts) still decides every 400 by hand, with TF Serving's messages.
 */
const Row = Type.Unknown({ description: "One instance: a number, string, list (nested per the input's shape), {\"b64\": …} or an object of named inputs" });

export const V1PredictRequest = Type.Object(
  {
    instances: Type.Optional(Type.Array(Row, { description: "Row format: one entry per instance" })),
    inputs: Type.Optional(Type.Unknown({ description: "Columnar format (TF Serving): a tensor or an object of named tensors" })),
    signature_name: Type.Optional(Type.String()),
  },
  { $id: "V1PredictRequest", description: "KServe V1 / TF Serving predict request: `instances` or `inputs`" },
);
export type V1PredictRequest = Static<typeof V1PredictRequest>;

export const V1PredictResponse = Type.Object(
  {
    predictions: Type.Optional(Type.Array(Type.Unknown(), { description: "One prediction per instance (row format)" })),
    outputs: Type.Optional(Type.Unknown({ description: "Columnar format answer (TF Serving)" })),
  },
  { $id: "V1PredictResponse" },
);

export const V1ExamplesRequest = Type.Object(
  {
    signature_name: Type.Optional(Type.String()),
    context: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    examples: Type.Array(Type.Record(Type.String(), Type.Unknown()), { description: "tf.Example-like feature maps" }),
  },
  { $id: "V1ExamplesRequest", description: "TF Serving :classify / :regress request" },
);

export const V1ExamplesResponse = Type.Object({ results: Type.Array(Type.Unknown()) }, { $id: "V1ExamplesResponse" });

export const V1ModelStatus = Type.Object(
  {
    name: Type.String(),
    ready: Type.Boolean(),
    model_version_status: Type.Optional(
      Type.Array(
        Type.Object({
          version: Type.String(),
          state: Type.String(),
          status: Type.Object({ error_code: Type.String(), error_message: Type.String() }),
        }),
      ),
    ),
  },
  { $id: "V1ModelStatus" },
);

export const V1ModelList = Type.Object({ models: Type.Array(Type.String()) }, { $id: "V1ModelList" });

export const V1Metadata = Type.Object(
  { model_spec: Type.Record(Type.String(), Type.Unknown()), metadata: Type.Record(Type.String(), Type.Unknown()) },
  { $id: "V1Metadata", description: "TF Serving GetModelMetadataResponse (signature_def)" },
);

export const V1Error = Type.Object({ error: Type.String() }, { $id: "V1Error" });

/** Every V1 schema, for the OpenAPI document's components. */
export const V1_SCHEMAS = [V1PredictRequest, V1PredictResponse, V1ExamplesRequest, V1ExamplesResponse, V1ModelStatus, V1ModelList, V1Metadata, V1Error];
