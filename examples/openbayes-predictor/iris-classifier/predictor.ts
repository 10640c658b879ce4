/**
 * An OpenBayes predictor, the shape of OpenBayes's pytorch/object-detector example: the constructor asks for the
 * `onnx` session of the model beside it (iris.onnx), `config` and `modelDir`; predict asks for `json` (the request,
 * JSON or MessagePack) and `params` (the query string). It answers the classes whose probability is above the
 * request's threshold, best first, for each flower.
 *
 *   node bin/tserve.js serve examples/openbayes-predictor/iris-classifier
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Tensor } from "onnxruntime-node";
import { type PredictArgs, type PredictorInit, ServingError } from "../../../packages/server/src/index.ts";

const FEATURES = 4;

interface Request {
  /** Keep classes whose probability is above this (default 0.5). */
  threshold?: number;
  /** One flower's 4 measurements, or a list of flowers. */
  features: number[] | number[][];
}

export default class Predictor {
  private readonly onnx: PredictorInit["onnx"];
  private readonly labels: string[];

  constructor({ onnx, config, modelDir }: PredictorInit) {
    this.onnx = onnx;
    // Files beside the predictor are read from its folder (OpenBayes runs predictor.py in its own directory).
    this.labels = JSON.parse(readFileSync(join(modelDir, "labels.json"), "utf8")) as string[];
    // Past 8 requests in flight, answer 503 at once instead of queueing.
    config.limitConcurrency(8);
  }

  async predict({ json, params }: PredictArgs) {
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      throw new ServingError('send an object: {"threshold": 0.5, "features": [[6.8, 2.8, 4.8, 1.4]]}', 400);
    }
    const { threshold = 0.5, features } = json as Request;
    if (typeof threshold !== "number" || threshold < 0 || threshold > 1) {
      throw new ServingError("threshold must be a number between 0 and 1", 400);
    }
    const rows = Array.isArray(features) && features.every(Array.isArray) ? (features as number[][]) : [features as number[]];
    if (!rows.every((r) => Array.isArray(r) && r.length === FEATURES && r.every((v) => typeof v === "number"))) {
      throw new ServingError(`features must be ${FEATURES} numbers (sepal length, sepal width, petal length, petal width), or a list of them`, 400);
    }
    const input = new Tensor("float32", Float32Array.from(rows.flat()), [rows.length, FEATURES]);
    const { probabilities } = await this.onnx.run({ input });
    const p = probabilities.data as Float32Array;
    // ?top=N keeps at most N classes per flower.
    const top = params.top === undefined ? this.labels.length : Number(params.top);
    if (!Number.isInteger(top) || top < 1) throw new ServingError("?top must be a whole number >= 1", 400);
    const predictions = rows.map((_, i) => {
      const found = this.labels
        .map((label, j) => ({ label, score: round(p[i * this.labels.length + j]) }))
        .filter((c) => c.score > threshold)
        .sort((a, b) => b.score - a.score)
        .slice(0, top);
      return { classes: found.map((c) => c.label), scores: found.map((c) => c.score) };
    });
    return { threshold, predictions };
  }
}

/** Four decimals: what a client needs, and the same on every machine. */
function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
