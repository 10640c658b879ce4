import type { NDArray } from "../../packages/server/src/index.ts";
import { irisMetadata, nearestMean, SPECIES } from "./iris.ts";

/** model-b: names the species from the petals alone (length and width), which tell the three apart far better. */
export default class PetalModel {
  readonly classNames = SPECIES;

  predict(X: NDArray): NDArray {
    return nearestMean(X, [2, 3]);
  }

  initMetadata() {
    return irisMetadata("petal-model");
  }
}
