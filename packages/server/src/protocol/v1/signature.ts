import { InvalidInput } from "../../errors/index.ts";
import type { Datatype, TensorMetadata } from "../../tensor/index.ts";
import type { ModelMetadata } from "../types.ts";

/** A tserve model has exactly one signature, TF Serving's default key. */
export const SERVING_DEFAULT = "serving_default";
export const PREDICT_METHOD = "tensorflow/serving/predict";

/**
 * TF Serving's `signature_name`: optional, a string, and here either "" or "serving_default" (an ONNX graph has
 * one signature). Anything else is TF Serving's 400 (`http_rest_api_handler.cc` GetInfoMap), naming the one we have.
 */
export function checkSignatureName(body: Record<string, unknown>): void {
  if (!("signature_name" in body)) return;
  const name = body.signature_name;
  if (typeof name !== "string") {
    throw new InvalidInput("JSON Value not formatted correctly. 'signature_name' key must be a string value.");
  }
  if (name !== "" && name !== SERVING_DEFAULT) {
    throw new InvalidInput(
      `Serving signature name: "${name}" not found in signature def; the only signature is "${SERVING_DEFAULT}"`,
    );
  }
}

const TF_DTYPES: Record<Datatype, string> = {
  BOOL: "DT_BOOL",
  UINT8: "DT_UINT8",
  UINT16: "DT_UINT16",
  UINT32: "DT_UINT32",
  UINT64: "DT_UINT64",
  INT8: "DT_INT8",
  INT16: "DT_INT16",
  INT32: "DT_INT32",
  INT64: "DT_INT64",
  FP16: "DT_HALF",
  BF16: "DT_BFLOAT16",
  FP32: "DT_FLOAT",
  FP64: "DT_DOUBLE",
  BYTES: "DT_STRING",
};

export function tfDtype(datatype: Datatype): string {
  return TF_DTYPES[datatype] ?? "DT_INVALID";
}

/** TensorInfo as TF Serving prints it (proto field names, primitive fields always present; int64 as strings). */
function tensorInfo(m: TensorMetadata): Record<string, unknown> {
  return {
    dtype: tfDtype(m.datatype),
    tensor_shape: { dim: m.shape.map((d) => ({ size: String(d), name: "" })), unknown_rank: false },
    name: m.name,
  };
}

function tensorInfoMap(list: readonly TensorMetadata[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of list) out[m.name] = tensorInfo(m);
  return out;
}

/**
 * `GET /v1/models/{m}[/versions/{n}|/labels/{l}]/metadata`: TF Serving's GetModelMetadataResponse with only
 * `signature_def`, whose one signature `serving_default` lists the model's inputs and outputs (-1 = dynamic). Every
 * SignatureDef field is printed, as TF Serving's JSON does (always_print_fields_with_no_presence): inputs, outputs,
 * method_name and `defaults` (default input values: none here, `{}`).
 */
export function modelMetadataToTfServing(meta: ModelMetadata, version: string | undefined): Record<string, unknown> {
  const modelSpec: Record<string, unknown> = { name: meta.name, signature_name: "" };
  if (version !== undefined) modelSpec.version = version;
  return {
    model_spec: modelSpec,
    metadata: {
      signature_def: {
        signature_def: {
          [SERVING_DEFAULT]: {
            inputs: tensorInfoMap(meta.inputs),
            outputs: tensorInfoMap(meta.outputs),
            method_name: PREDICT_METHOD,
            defaults: {},
          },
        },
      },
    },
  };
}
