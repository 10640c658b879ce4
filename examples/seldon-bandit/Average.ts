import { type NDArray, SeldonError } from "../../packages/server/src/index.ts";

/**
 * A Seldon COMBINER: the element-wise mean of its children's answers (for two classifiers, the mean of their
 * class probabilities). The answer keeps the children's column names when they agree.
 */
export default class Average {
  private names?: string[];

  aggregate(Xs: NDArray[], namesList: string[][]): NDArray {
    if (Xs.length === 0) throw new SeldonError("Nothing to average: the combiner got no answers", 400);
    const [first, ...rest] = Xs;
    for (const [i, X] of Xs.entries()) {
      if (!X.isNumeric) throw new SeldonError(`Answer ${i} is not numeric; only numbers can be averaged`, 400);
      if (X.shape.join() !== first.shape.join()) {
        throw new SeldonError(`Answers of shapes [${first.shape.join(", ")}] and [${X.shape.join(", ")}] cannot be averaged element by element`, 400);
      }
    }
    const same = namesList.every((names) => names.join("\n") === namesList[0].join("\n"));
    this.names = same && namesList[0].length > 0 ? namesList[0] : undefined;
    return first.map((v: number, i) => rest.reduce((sum, X) => sum + (X.data[i] as number), v) / Xs.length);
  }

  /** The column names of the latest answer (undefined: tserve names them t:0, t:1, …). */
  classNames(): string[] | undefined {
    return this.names;
  }
}
