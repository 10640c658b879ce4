/** What the two example models share: Fisher's iris classes, their mean measurements, and a nearest-mean classifier. */
import { NDArray, SeldonError } from "../../packages/server/src/index.ts";

export const SPECIES = ["setosa", "versicolor", "virginica"];

/** The four measurements of a flower, in the order a request's rows carry them. */
export const FEATURES = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"];

/** Each species' mean measurements over the 150 flowers of the iris data set (in FEATURES order). */
export const CLASS_MEANS = [
  [5.006, 3.428, 1.462, 0.246],
  [5.936, 2.77, 4.26, 1.326],
  [6.588, 2.974, 5.552, 2.026],
];

/** Seldon metadata of a model that takes rows of FEATURES and answers rows of SPECIES probabilities. */
export function irisMetadata(name: string) {
  return {
    name,
    versions: ["1"],
    platform: "tserve",
    inputs: [{ messagetype: "ndarray", schema: { names: FEATURES, shape: [FEATURES.length] } }],
    outputs: [{ messagetype: "ndarray", schema: { names: SPECIES, shape: [SPECIES.length] } }],
  };
}

/**
 * One row of species probabilities per flower: a softmax over minus the squared distance to each species' mean,
 * measured on the given columns only. Refuses anything that is not rows of four numbers with Seldon's 400.
 */
export function nearestMean(X: NDArray, columns: number[]): NDArray {
  if (X.ndim !== 2 || X.shape[1] !== FEATURES.length || !X.isNumeric) {
    throw new SeldonError(`Expected rows of ${FEATURES.length} numbers (${FEATURES.join(", ")}), got shape [${X.shape.join(", ")}]`, 400);
  }
  const out = new Float64Array(X.shape[0] * SPECIES.length);
  for (let row = 0; row < X.shape[0]; row++) {
    const scores = CLASS_MEANS.map((mean) => -columns.reduce((sum, c) => sum + ((X.get(row, c) as number) - mean[c]) ** 2, 0));
    const top = Math.max(...scores);
    const exp = scores.map((s) => Math.exp(s - top));
    const total = exp.reduce((a, b) => a + b, 0);
    exp.forEach((e, k) => (out[row * SPECIES.length + k] = e / total));
  }
  return new NDArray(out, [X.shape[0], SPECIES.length]);
}
