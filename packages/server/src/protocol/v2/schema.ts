import { Type } from "@sinclair/typebox";

/**
 * Open Inference Protocol V2 REST bodies as JSON Schemas (TypeBox): the one description the OpenAPI document is
 * built from. decode.ts still decides every 400 by hand (datatype, shape and data checked against each other).
 */
const Datatype = Type.Union(
  ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"].map((d) => Type.Literal(d)),
);
const Parameters = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]));
const Shape = Type.Array(Type.Integer({ minimum: 0 }));

export const V2RequestInput = Type.Object(
  {
    name: Type.String(),
    shape: Shape,
    datatype: Datatype,
    parameters: Type.Optional(Parameters),
    data: Type.Optional(Type.Unknown({ description: "Row-major values (flat or nested); absent when `binary_data_size` is set" })),
  },
  { $id: "V2RequestInput" },
);

export const V2RequestOutput = Type.Object(
  { name: Type.String(), parameters: Type.Optional(Parameters) },
  { $id: "V2RequestOutput", description: "`parameters.binary_data: true` asks for the tensor in the binary part; `classification: N` for Triton's top-N" },
);

export const V2InferRequest = Type.Object(
  {
    id: Type.Optional(Type.String()),
    parameters: Type.Optional(Parameters),
    inputs: Type.Array(Type.Ref("V2RequestInput")),
    outputs: Type.Optional(Type.Array(Type.Ref("V2RequestOutput"))),
  },
  { $id: "V2InferRequest" },
);

export const V2ResponseOutput = Type.Object(
  { name: Type.String(), shape: Shape, datatype: Datatype, parameters: Type.Optional(Parameters), data: Type.Optional(Type.Array(Type.Unknown())) },
  { $id: "V2ResponseOutput" },
);

export const V2InferResponse = Type.Object(
  {
    model_name: Type.String(),
    model_version: Type.Optional(Type.String()),
    id: Type.Optional(Type.String()),
    parameters: Type.Optional(Parameters),
    outputs: Type.Array(Type.Ref("V2ResponseOutput")),
  },
  { $id: "V2InferResponse" },
);

const TensorMetadata = Type.Object({ name: Type.String(), datatype: Type.String(), shape: Type.Array(Type.Integer()) });

export const V2ModelMetadata = Type.Object(
  {
    name: Type.String(),
    versions: Type.Optional(Type.Array(Type.String())),
    platform: Type.String(),
    inputs: Type.Array(TensorMetadata),
    outputs: Type.Array(TensorMetadata),
    parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { $id: "V2ModelMetadata" },
);

export const V2ServerMetadata = Type.Object(
  { name: Type.String(), version: Type.String(), extensions: Type.Array(Type.String()) },
  { $id: "V2ServerMetadata" },
);

export const V2Live = Type.Object({ live: Type.Boolean() }, { $id: "V2Live" });
export const V2Ready = Type.Object({ ready: Type.Boolean(), name: Type.Optional(Type.String()) }, { $id: "V2Ready" });
export const V2ModelList = Type.Object({ models: Type.Array(Type.String()) }, { $id: "V2ModelList" });
export const V2Error = Type.Object({ error: Type.String() }, { $id: "V2Error" });

/** Every V2 schema, for the OpenAPI document's components. */
export const V2_SCHEMAS = [V2RequestInput, V2RequestOutput, V2InferRequest, V2ResponseOutput, V2InferResponse, V2ModelMetadata, V2ServerMetadata, V2Live, V2Ready, V2ModelList, V2Error];
