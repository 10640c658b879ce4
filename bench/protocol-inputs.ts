/**
 * The inputs of the protocols stage, each pre-encoded once for every protocol so that all of them deliver
 * exactly the same FP32 tensor to the model:
 *   - iris: the 2x4 input of the core stage (bench/iris.ts), to model `iris`;
 *   - image: a 1x3x224x224 input to model `classifier`, seeded pseudo-random values in [-1, 1] with three
 *     decimals (so the JSON text parses to the same float32 values the binary and gRPC bodies carry).
 */
import { encodeInferRequest } from "./grpc-proto.ts";
import { IRIS_CLASSES, IRIS_INPUT, IRIS_INPUT_NAME, IRIS_INPUT_SHAPE, IRIS_OUTPUT_NAME } from "./iris.ts";
import type { HttpRequestSpec } from "./scenarios.ts";

export type InputId = "iris" | "image";

export interface ModelInput {
  id: InputId;
  /** e.g. "iris 2x4" */
  title: string;
  modelName: string;
  /** ONNX file, relative to the repository root (for the in-process baseline). */
  onnxPath: string;
  inputName: string;
  outputName: string;
  shape: number[];
  data: Float32Array;
  /** Expected output: rows x cols FP32. */
  rows: number;
  cols: number;
  /** The output is a probability distribution (rows sum to 1). */
  softmax: boolean;
  restJson: HttpRequestSpec;
  restBinary: HttpRequestSpec;
  /** ModelInferRequest, protobuf-encoded, tensor in raw_input_contents. */
  grpcRequest: Buffer;
}

export const IMAGE_SHAPE = [1, 3, 224, 224];
export const IMAGE_SEED = 0x5eed_2024;

/** mulberry32: a tiny seeded PRNG, so the "random" image is the same on every run and machine. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values in [-1, 1] with three decimals. */
export function imageValues(count: number, seed = IMAGE_SEED): number[] {
  const next = mulberry32(seed);
  return Array.from({ length: count }, () => Math.round(next() * 2000 - 1000) / 1000);
}

function float32Bytes(data: Float32Array): Buffer {
  const out = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) out.writeFloatLE(data[i], i * 4);
  return out;
}

/** V2 infer, JSON: {"inputs":[{"name","shape","datatype":"FP32","data":[...]}]} with the given data text. */
function v2Json(path: string, inputName: string, shape: number[], dataText: string): HttpRequestSpec {
  return {
    method: "POST",
    path,
    headers: { "content-type": "application/json" },
    body: Buffer.from(
      `{"inputs":[{"name":${JSON.stringify(inputName)},"shape":${JSON.stringify(shape)},"datatype":"FP32","data":${dataText}}]}`,
    ),
  };
}

/** V2 infer with the binary tensor extension, input and output both binary. */
function v2Binary(path: string, inputName: string, shape: number[], data: Float32Array, outputName: string) {
  const tensor = float32Bytes(data);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: inputName, shape, datatype: "FP32", parameters: { binary_data_size: tensor.length } }],
      outputs: [{ name: outputName, parameters: { binary_data: true } }],
    }),
  );
  const spec: HttpRequestSpec = {
    method: "POST",
    path,
    headers: {
      "content-type": "application/octet-stream",
      "inference-header-content-length": String(header.length),
    },
    body: Buffer.concat([header, tensor]),
  };
  return spec;
}

function build(
  id: InputId,
  title: string,
  modelName: string,
  onnxPath: string,
  outputName: string,
  cols: number,
  shape: number[],
  values: readonly number[],
  dataText: string,
  softmax: boolean,
): ModelInput {
  const data = Float32Array.from(values);
  const path = `/v2/models/${modelName}/infer`;
  return {
    id,
    title,
    modelName,
    onnxPath,
    inputName: IRIS_INPUT_NAME,
    outputName,
    shape,
    data,
    rows: shape[0],
    cols,
    softmax,
    restJson: v2Json(path, IRIS_INPUT_NAME, shape, dataText),
    restBinary: v2Binary(path, IRIS_INPUT_NAME, shape, data, outputName),
    grpcRequest: encodeInferRequest(modelName, IRIS_INPUT_NAME, shape, data, outputName),
  };
}

export function protocolInputs(): ModelInput[] {
  const image = imageValues(IMAGE_SHAPE.reduce((a, b) => a * b, 1));
  return [
    build(
      "iris",
      `iris ${IRIS_INPUT_SHAPE.join("x")}`,
      "iris",
      "examples/iris/models/iris/1/model.onnx",
      IRIS_OUTPUT_NAME,
      IRIS_CLASSES,
      [...IRIS_INPUT_SHAPE],
      IRIS_INPUT,
      // Written out literally, as the core stage's V2 JSON body.
      "[6.8,2.8,4.8,1.4,6.0,3.4,4.5,1.6]",
      true,
    ),
    build(
      "image",
      `image ${IMAGE_SHAPE.join("x")}`,
      "classifier",
      "examples/custom-model/model/classifier.onnx",
      "logits",
      10,
      IMAGE_SHAPE,
      image,
      JSON.stringify(image),
      false,
    ),
  ];
}

/** The transformer stage: V1 bodies. The fixture transformer divides by 10, so it gets millimetres. */
export const IRIS_LABELS = ["setosa", "versicolor", "virginica"] as const;
export const TRANSFORMER_V1_BODY = Buffer.from('{"instances":[[68,28,48,14],[60,34,45,16]]}');
