/**
 * A custom image classifier, the TypeScript version of KServe's AlexNetModel example:
 * `{"instances": [{"image": {"b64": "..."}}]}` -> top-5 softmax scores and class names per image.
 *
 * Serve it with:  node bin/tserve.js serve examples/custom-model/model.ts --model_name custom-model
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
// Inside this repository; an installed app would import from "tserve".
import {
  InvalidInput,
  isInferRequest,
  Model,
  ModelNotReady,
  type ModelOptions,
  OnnxModel,
  type RequestContext,
} from "../../packages/server/src/index.ts";
import { CROP, decodeBase64, imageToTensor, softmax, stackBatch, topK } from "./image.ts";

/** Files live next to this module, wherever the server was started from. */
export const CLASSIFIER_PATH = fileURLToPath(new URL("./model/classifier.onnx", import.meta.url));
export const LABELS_PATH = fileURLToPath(new URL("./model/labels.json", import.meta.url));

export const TOP_K = 5;

/** The response: like the KServe example's `{"predictions": [[5 values]]}`, plus the matching labels. */
export interface ClassifierResponse {
  /** Per image, the 5 highest softmax probabilities, highest first. */
  predictions: number[][];
  /** Per image, the class names of those 5 probabilities, in the same order. */
  classes: string[][];
}

export class ImageClassifier extends Model {
  private readonly options: ModelOptions;
  private classifier?: OnnxModel;
  labels: string[] = [];

  constructor(name: string, options: ModelOptions = {}) {
    super(name);
    this.options = options;
    // What the V2 metadata endpoint reports for this model: encoded images in, top-5 out.
    this.inputs = [{ name: "image", datatype: "BYTES", shape: [-1] }];
    this.outputs = [
      { name: "predictions", datatype: "FP32", shape: [-1, TOP_K] },
      { name: "classes", datatype: "BYTES", shape: [-1, TOP_K] },
    ];
  }

  /** Creates the ONNX session and reads the labels, once, before the server reports ready. */
  override async load(): Promise<void> {
    const labels: unknown = JSON.parse(await readFile(LABELS_PATH, "utf8"));
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === "string")) {
      throw new Error(`${LABELS_PATH} must be a JSON array of class names`);
    }
    const classifier = new OnnxModel(`${this.name}-classifier`, {
      path: CLASSIFIER_PATH,
      // model-settings.json style parameters, e.g. intraOpNumThreads, go through to the session.
      parameters: this.options.parameters,
    });
    await classifier.load();
    const logits = classifier.outputs.find((o) => o.name === "logits");
    if (logits?.shape[1] !== labels.length) {
      throw new Error(
        `${CLASSIFIER_PATH} has ${logits?.shape[1] ?? "no 'logits'"} classes but ${LABELS_PATH} has ${labels.length} labels`,
      );
    }
    this.classifier = classifier;
    this.labels = labels;
    this.ready = true;
  }

  override async unload(): Promise<void> {
    this.ready = false;
    await this.classifier?.unload();
    this.classifier = undefined;
  }

  /** Decodes and preprocesses every image (in parallel), then classifies them as one batch. */
  override async predict(payload: unknown, _context: RequestContext): Promise<ClassifierResponse> {
    const classifier = this.classifier;
    if (!classifier) throw new ModelNotReady(this.name, "It is not loaded.");
    const images = await Promise.all(
      readImages(payload).map((bytes, i) => imageToTensor(bytes, `instances[${i}].image.b64`)),
    );
    const n = images.length;
    const [logits] = await classifier.run([
      { name: "input", datatype: "FP32", shape: [n, 3, CROP, CROP], data: stackBatch(images) },
    ]);
    const classes = this.labels.length;
    const probs = softmax(logits.data as Float32Array, n, classes);
    const response: ClassifierResponse = { predictions: [], classes: [] };
    for (let i = 0; i < n; i++) {
      const row = probs.subarray(i * classes, (i + 1) * classes);
      const top = topK(row, TOP_K);
      response.predictions.push(top.map((c) => row[c]));
      response.classes.push(top.map((c) => this.labels[c]));
    }
    return response;
  }
}

/** Checks the V1 body and returns the decoded bytes of each `instances[i].image.b64`; problems are 400s. */
function readImages(payload: unknown): Uint8Array[] {
  if (isInferRequest(payload)) {
    throw new InvalidInput('This model takes V1 requests: POST {"instances": [{"image": {"b64": "..."}}]} to :predict');
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
