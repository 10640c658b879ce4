/**
 * What the two models of the dog-breed pipeline share: a `Model` whose folder holds `model.onnx` (input
 * `input` FP32 [N, 3, 224, 224], output `logits` FP32 [N, classes]) and `labels.json` (one name per logit).
 *
 *   preprocess   {"instances": [{"image": {"b64": "<png/jpeg/...>"}}, ...]} -> one [N, 3, 224, 224] batch,
 *                with examples/custom-model/image.ts (shorter side 256, centre 224, ImageNet mean/std)
 *   predict      runs model.onnx through an OnnxModel, softmax -> one probability row per image
 *   postprocess  left to each model: it maps class indices to its labels
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
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
import { CROP, decodeBase64, imageToTensor, softmax, stackBatch } from "../custom-model/image.ts";

/** The preprocessed batch that `preprocess` hands to `predict`. */
export interface ImageBatch {
  count: number;
  /** [count, 3, 224, 224], normalised. */
  pixels: Float32Array;
}

/** One softmax row per image, in request order; each row has one probability per label. */
export type Probabilities = Float32Array[];

export abstract class OnnxImageClassifier extends Model {
  labels: string[] = [];
  /** The model folder: `options.modelDir` from the repository, else the subclass's own folder. */
  readonly dir: string;
  private readonly parameters?: Record<string, unknown>;
  private classifier?: OnnxModel;

  constructor(name: string, options: ModelOptions & { modelDir: string }) {
    super(name, options);
    this.dir = options.modelDir;
    this.parameters = options.parameters;
    this.inputs = [{ name: "image", datatype: "BYTES", shape: [-1] }];
  }

  override async load(): Promise<void> {
    const labelsPath = join(this.dir, "labels.json");
    const labels: unknown = JSON.parse(await readFile(labelsPath, "utf8"));
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === "string")) {
      throw new Error(`${labelsPath} must be a JSON array of class names`);
    }
    const onnxPath = join(this.dir, "model.onnx");
    const classifier = new OnnxModel(`${this.name}-onnx`, { path: onnxPath, parameters: this.parameters });
    await classifier.load();
    const logits = classifier.outputs.find((o) => o.name === "logits");
    if (logits?.shape[1] !== labels.length) {
      await classifier.unload();
      throw new Error(`${onnxPath} has ${logits?.shape[1] ?? "no 'logits'"} classes but ${labelsPath} has ${labels.length} labels`);
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

  /** Checks the V1 body, decodes every `instances[i].image.b64` and stacks the images into one batch. */
  override async preprocess(payload: unknown, _context: RequestContext): Promise<ImageBatch> {
    if (isInferRequest(payload)) {
      throw new InvalidInput('This model takes V1 requests: POST {"instances": [{"image": {"b64": "..."}}]} to :predict');
    }
    const instances = (payload as { instances?: unknown } | null)?.instances;
    if (!Array.isArray(instances) || instances.length === 0) {
      throw new InvalidInput('Expected a JSON body {"instances": [{"image": {"b64": "<base64 image>"}}, ...]}');
    }
    const images = await Promise.all(
      instances.map((inst, i) => {
        const b64 = (inst as { image?: { b64?: unknown } } | null)?.image?.b64;
        const where = `instances[${i}].image.b64`;
        if (typeof b64 !== "string") throw new InvalidInput(`instances[${i}] must look like {"image": {"b64": "<base64 image>"}}`);
        return imageToTensor(decodeBase64(b64, where), where);
      }),
    );
    return { count: images.length, pixels: stackBatch(images) };
  }

  /** Runs model.onnx on the batch; returns the softmax of each image's logits. */
  override async predict(batch: ImageBatch, _context: RequestContext): Promise<Probabilities> {
    const classifier = this.classifier;
    if (!classifier) throw new ModelNotReady(this.name, "It is not loaded.");
    const [logits] = await classifier.run([
      { name: "input", datatype: "FP32", shape: [batch.count, 3, CROP, CROP], data: batch.pixels },
    ]);
    const classes = this.labels.length;
    const probs = softmax(logits.data as Float32Array, batch.count, classes);
    return Array.from({ length: batch.count }, (_, i) => probs.subarray(i * classes, (i + 1) * classes));
  }
}
