/**
 * cat-dog-classifier: the first step of the dog-breed pipeline (KServe's InferenceGraph tutorial).
 * `{"instances": [{"image": {"b64": "..."}}]}` -> `{"predictions": ["dog"]}` or `{"predictions": ["It's a cat!"]}`,
 * one answer per image: the label (from labels.json) of the most likely class.
 *
 * Serve it alone with:  node bin/tserve.js serve examples/dog-breed-pipeline/models/cat-dog-classifier
 */
import { fileURLToPath } from "node:url";
import type { ModelOptions, RequestContext } from "../../../../packages/server/src/index.ts";
import { topK } from "../../../custom-model/image.ts";
import { OnnxImageClassifier, type Probabilities } from "../../image-classifier.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));

export interface CatDogResponse {
  /** Per image, `labels.json[argmax]`: "dog" or "It's a cat!". */
  predictions: string[];
}

export default class CatDogClassifier extends OnnxImageClassifier {
  constructor(name: string, options: ModelOptions = {}) {
    super(name, { ...options, modelDir: options.modelDir ?? HERE });
    this.outputs = [{ name: "predictions", datatype: "BYTES", shape: [-1] }];
  }

  override postprocess(probabilities: Probabilities, _context: RequestContext): CatDogResponse {
    return { predictions: probabilities.map((row) => this.labels[topK(row, 1)[0]]) };
  }
}
