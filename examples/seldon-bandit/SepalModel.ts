import type { NDArray } from "../../packages/server/src/index.ts";
import { irisMetadata, nearestMean, SPECIES } from "./iris.ts";

/** model-a: names the species from the sepals alone (length and width), which overlap between versicolor and virginica. */
export default class SepalModel {
  readonly classNames = SPECIES;

  predict(X: NDArray): NDArray {
    return nearestMean(X, [0, 1]);
  }

  initMetadata() {
    return irisMetadata("sepal-model");
  }
}
