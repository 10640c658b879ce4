/**
 * Baseline B: the model with no server at all. onnxruntime-node session.run() in this process on the same
 * model and the same 2x4 input, sequentially and with N run() promises in flight. This is the ceiling a
 * server could approach if HTTP, parsing and serialization were free.
 */
import { existsSync } from "node:fs";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { IRIS_INPUT, IRIS_INPUT_SHAPE, IRIS_OUTPUT_NAME } from "../iris.ts";
import { SampleBuffer, summarize } from "../stats.ts";

export interface InProcessResult {
  concurrency: number;
  iterations: number;
  elapsedMs: number;
  runsPerSec: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

export interface InProcessReport {
  modelPath: string;
  inputName: string;
  outputName: string;
  /** The model's answer for the benchmark input, used to cross-check the servers. */
  output: number[][];
  results: InProcessResult[];
}

export interface InProcessOptions {
  iterations: number;
  warmupIterations: number;
  concurrencies: number[];
  log?: (message: string) => void;
}

function toMatrix(data: ArrayLike<number>, dims: readonly number[]): number[][] {
  const [rows, cols] = dims.length === 2 ? dims : [1, data.length];
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) out.push(Array.from({ length: cols }, (_, c) => Number(data[r * cols + c])));
  return out;
}

/** Runs `total` calls of `once`, keeping `concurrency` in flight; records each call's latency (µs). */
async function drive(
  once: () => Promise<unknown>,
  total: number,
  concurrency: number,
  samples: SampleBuffer | null,
): Promise<number> {
  let started = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (started < total) {
      started++;
      const s = performance.now();
      await once();
      samples?.push((performance.now() - s) * 1_000);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return performance.now() - t0;
}

export async function benchInProcessOnnx(modelPath: string, options: InProcessOptions): Promise<InProcessReport> {
  if (!existsSync(modelPath)) throw new Error(`ONNX model not found: ${modelPath}`);
  const log = options.log ?? (() => {});
  // Default session options, like a server that does not tune onnxruntime.
  const session = await InferenceSession.create(modelPath);
  try {
    const inputName = session.inputNames[0];
    const outputName = session.outputNames.includes(IRIS_OUTPUT_NAME) ? IRIS_OUTPUT_NAME : session.outputNames[0];
    const input = Float32Array.from(IRIS_INPUT);
    // A fresh tensor per call, as a server builds one per request.
    const once = (): Promise<InferenceSession.ReturnType> =>
      session.run({ [inputName]: new Tensor("float32", input, [...IRIS_INPUT_SHAPE]) }, [outputName]);

    const first = (await once())[outputName];
    const output = toMatrix(first.data as Float32Array, first.dims);

    const results: InProcessResult[] = [];
    for (const concurrency of options.concurrencies) {
      await drive(once, options.warmupIterations, concurrency, null);
      const samples = new SampleBuffer();
      const elapsedMs = await drive(once, options.iterations, concurrency, samples);
      const summary = summarize(samples.values());
      const result: InProcessResult = {
        concurrency,
        iterations: options.iterations,
        elapsedMs,
        runsPerSec: (options.iterations / elapsedMs) * 1_000,
        p50Us: summary.p50,
        p99Us: summary.p99,
        meanUs: summary.mean,
      };
      log(
        `in-process session.run x${concurrency}: ${result.runsPerSec.toFixed(0)} runs/s, ` +
          `p50 ${result.p50Us.toFixed(1)} µs, p99 ${result.p99Us.toFixed(1)} µs`,
      );
      results.push(result);
    }
    return { modelPath, inputName, outputName, output, results };
  } finally {
    await session.release();
  }
}
