/**
 * dog-breed-classifier: the second step of the dog-breed pipeline (KServe's InferenceGraph tutorial).
 * `{"instances": [{"image": {"b64": "..."}}]}` -> `{"predictions": [{"Kuvasz": 0.99, ...}]}`: per image, the
 * 5 most likely breeds (labels.json) with their softmax probabilities, most likely first.
 *
 * Serve it alone with:  node bin/tserve.js serve examples/dog-breed-pipeline/models/dog-breed-classifier
 */
import { fileURLToPath } from "node:url";
import type { ModelOptions, RequestContext } from "../../../../packages/server/src/index.ts";
import { topK } from "../../../custom-model/image.ts";
import { OnnxImageClassifier, type Probabilities } from "../../image-classifier.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
export const TOP_K = 5;

export interface DogBreedResponse {
  /** Per image, breed -> probability for the top 5, in descending order of probability. */
  predictions: Record<string, number>[];
}

export default class DogBreedClassifier extends OnnxImageClassifier {
  constructor(name: string, options: ModelOptions = {}) {
    super(name, { ...options, modelDir: options.modelDir ?? HERE });
    this.outputs = [{ name: "predictions", datatype: "BYTES", shape: [-1] }];
  }

  override postprocess(probabilities: Probabilities, _context: RequestContext): DogBreedResponse {
    // Breed names are not integer-like, so the objects keep this insertion order in JSON.
    return {
      predictions: probabilities.map((row) => Object.fromEntries(topK(row, TOP_K).map((c) => [this.labels[c], row[c]]))),
    };
  }
}
