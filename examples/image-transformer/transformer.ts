/**
 * An image transformer, the TypeScript version of KServe's `ImageTransformer` example. It has no model
 * of its own. `preprocess` turns `{"instances": [{"image": {"b64": "..."}}]}` into a float32
 * [N, 3, 224, 224] batch. The default `predict` sends that batch to a separate predictor over V1, V2 REST
 * or gRPC V2. `postprocess` turns the logits that come back into the top 5 labels with softmax scores.
 *
 * Serve it in front of a predictor with:
 *   node bin/tserve.js serve examples/image-transformer/transformer.ts --model_name classifier \
 *     --predictor_host localhost:8085 --predictor_protocol v1     # or v2, or grpc-v2 with the gRPC port
 */
import { readFile } from "node:fs/promises";
// Inside this repository; an installed app would import from "tserve".
import {
  InferInput,
  type InferRequest,
  type InferResponse,
  InferResult,
  InferenceError,
  InvalidInput,
  isInferRequest,
  isInferResponse,
  markInferRequest,
  Model,
  type RequestContext,
  toNested,
} from "../../packages/server/src/index.ts";
// The preprocessing and the labels are the custom-model example's, so both examples classify alike.
import { CROP, decodeBase64, imageToTensor, softmax, stackBatch, topK } from "../custom-model/image.ts";
import { LABELS_PATH, TOP_K } from "../custom-model/model.ts";

/** The predictor's tensor names: `input` FP32 [-1, 3, 224, 224] -> `logits` FP32 [-1, 10]. */
export const INPUT_NAME = "input";
export const OUTPUT_NAME = "logits";

export interface Score {
  label: string;
  score: number;
}

/** The transformer's answer: per image, the 5 most likely classes, highest score first. */
export interface TransformerResponse {
  predictions: Score[][];
}

/** What `preprocess` hands the predictor: V1 JSON rows, or a V2 request with one binary FP32 tensor. */
export type PredictorRequest = { instances: number[][][][] } | InferRequest;

/**
 * No constructor is needed: the CLI constructs `new ImageTransformer(name, options)` and sets the
 * `--predictor_*` flags on it (`predictorHost`, `predictorProtocol`, ...). The default `predict` calls the
 * predictor's model of the same name, as KServe does; set `predictorModelName` to forward elsewhere.
 */
export default class ImageTransformer extends Model {
  labels: string[] = [];

  override async load(): Promise<void> {
    const labels: unknown = JSON.parse(await readFile(LABELS_PATH, "utf8"));
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === "string")) {
      throw new Error(`${LABELS_PATH} must be a JSON array of class names`);
    }
    this.labels = labels;
    this.ready = true;
  }

  /** Decodes and preprocesses every image (in parallel) into one batch, in the predictor's protocol. */
  override async preprocess(payload: unknown, _context: RequestContext): Promise<PredictorRequest> {
    const images = await Promise.all(
      readImages(payload).map((bytes, i) => imageToTensor(bytes, `instances[${i}].image.b64`)),
    );
    const shape = [images.length, 3, CROP, CROP];
    const batch = stackBatch(images);
    if (this.predictorProtocol === "v1") {
      // TF Serving row format: one [3, 224, 224] nested array per instance. JSON numbers round-trip
      // float32 values exactly, so the predictor sees the same tensor as over V2.
      return { instances: toNested(batch, "FP32", shape) as number[][][][] };
    }
    // V2 REST sends this as a binary tensor, gRPC as raw_input_contents: no JSON for 600 kB per image.
    const input = new InferInput(INPUT_NAME, shape, "FP32", batch);
    return markInferRequest({ inputs: [input.toTensor()] });
  }

  /** Logits from either protocol -> softmax -> top 5 `{label, score}` per image. */
  override postprocess(result: unknown, _context: RequestContext): TransformerResponse {
    const { logits, rows } = readLogits(result, this.labels.length);
    const probs = softmax(logits, rows, this.labels.length);
    const predictions: Score[][] = [];
    for (let i = 0; i < rows; i++) {
      const row = probs.subarray(i * this.labels.length, (i + 1) * this.labels.length);
      predictions.push(topK(row, TOP_K).map((c) => ({ label: this.labels[c], score: row[c] })));
    }
    return { predictions };
  }
}

/** Checks the V1 body and returns the decoded bytes of each `instances[i].image.b64`; problems are 400s. */
function readImages(payload: unknown): Uint8Array[] {
  if (isInferRequest(payload)) {
    throw new InvalidInput(
      'This transformer takes V1 requests: POST {"instances": [{"image": {"b64": "..."}}]} to /v1/models/<name>:predict',
    );
  }
  const instances = (payload as { instances?: unknown } | null)?.instances;
  if (!Array.isArray(instances) || instances.length === 0) {
    throw new InvalidInput('Expected a JSON body {"instances": [{"image": {"b64": "<base64 image>"}}, ...]}');
  }
  return instances.map((inst, i) => {
    const b64 = (inst as { image?: { b64?: unknown } } | null)?.image?.b64;
    if (typeof b64 !== "string") {
      throw new InvalidInput(`instances[${i}] must look like {"image": {"b64": "<base64 image>"}}`);
    }
    return decodeBase64(b64, `instances[${i}].image.b64`);
  });
}

/**
 * The predictor's answer as flat logits: a V2 InferResponse with output `logits` (REST binary or gRPC),
 * or V1 `{"predictions": [[10 logits], ...]}`. Anything else is the predictor's fault (500).
 */
function readLogits(result: unknown, classes: number): { logits: ArrayLike<number>; rows: number } {
  if (isInferResponse(result)) {
    const response = new InferResult(result as InferResponse);
    const tensor = response.output(OUTPUT_NAME);
    if (tensor.datatype !== "FP32" || tensor.shape.length !== 2 || tensor.shape[1] !== classes) {
      throw new InferenceError(
        `The predictor's '${OUTPUT_NAME}' is ${tensor.datatype} [${tensor.shape.join(", ")}], expected FP32 [N, ${classes}]`,
      );
    }
    return { logits: response.asTypedArray(OUTPUT_NAME) as Float32Array, rows: tensor.shape[0] };
  }
  const predictions = (result as { predictions?: unknown } | null)?.predictions;
  if (
    !Array.isArray(predictions) ||
    !predictions.every((r) => Array.isArray(r) && r.length === classes && r.every((v) => typeof v === "number"))
  ) {
    throw new InferenceError(`Expected the predictor to answer {"predictions": [[${classes} logits], ...]}`);
  }
  return { logits: (predictions as number[][]).flat(), rows: predictions.length };
}
