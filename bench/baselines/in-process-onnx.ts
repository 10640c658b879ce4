/**
 * Baseline B: the model with no server at all. onnxruntime-node session.run() in this process on the same
 * model and the same input (by default the 2x4 iris input), sequentially and with N run() promises in
 * flight. This is the ceiling a server could approach if HTTP, parsing and serialization were free.
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
  /** Measured runs per concurrency level (an upper bound when maxDurationMs is set). */
  iterations: number;
  warmupIterations: number;
  concurrencies: number[];
  /** Stop a level after this long even if fewer than `iterations` runs completed. */
  maxDurationMs?: number;
  /** FP32 input (default: the iris 2x4 input) and the output to read (default: probabilities or the first). */
  input?: { data: Float32Array; shape: readonly number[] };
  outputName?: string;
  log?: (message: string) => void;
}

function toMatrix(data: ArrayLike<number>, dims: readonly number[]): number[][] {
  const [rows, cols] = dims.length === 2 ? dims : [1, data.length];
  const out: number[][] = [];
  for (let r = 0; r < rows; r++) out.push(Array.from({ length: cols }, (_, c) => Number(data[r * cols + c])));
  return out;
}

/**
 * Runs `total` calls of `once` (or fewer, once `maxMs` have passed), keeping `concurrency` in flight;
 * records each call's latency (µs). Returns the elapsed ms and the number of calls completed.
 */
async function drive(
  once: () => Promise<unknown>,
  total: number,
  concurrency: number,
  samples: SampleBuffer | null,
  maxMs = Number.POSITIVE_INFINITY,
): Promise<{ elapsedMs: number; completed: number }> {
  let started = 0;
  let completed = 0;
  const t0 = performance.now();
  const deadline = t0 + maxMs;
  const worker = async (): Promise<void> => {
    while (started < total && performance.now() < deadline) {
      started++;
      const s = performance.now();
      await once();
      samples?.push((performance.now() - s) * 1_000);
      completed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { elapsedMs: performance.now() - t0, completed };
}

export async function benchInProcessOnnx(modelPath: string, options: InProcessOptions): Promise<InProcessReport> {
  if (!existsSync(modelPath)) throw new Error(`ONNX model not found: ${modelPath}`);
  const log = options.log ?? (() => {});
  // Default session options, like a server that does not tune onnxruntime.
  const session = await InferenceSession.create(modelPath);
  try {
    const inputName = session.inputNames[0];
    const wantedOutput = options.outputName ?? IRIS_OUTPUT_NAME;
    const outputName = session.outputNames.includes(wantedOutput) ? wantedOutput : session.outputNames[0];
    const input = options.input?.data ?? Float32Array.from(IRIS_INPUT);
    const shape = [...(options.input?.shape ?? IRIS_INPUT_SHAPE)];
    // A fresh tensor per call, as a server builds one per request.
    const once = (): Promise<InferenceSession.ReturnType> =>
      session.run({ [inputName]: new Tensor("float32", input, shape) }, [outputName]);

    const first = (await once())[outputName];
    const output = toMatrix(first.data as Float32Array, first.dims);

    const results: InProcessResult[] = [];
    for (const concurrency of options.concurrencies) {
      await drive(once, options.warmupIterations, concurrency, null, options.maxDurationMs);
      const samples = new SampleBuffer();
      const { elapsedMs, completed } = await drive(
        once,
        options.iterations,
        concurrency,
        samples,
        options.maxDurationMs,
      );
      const summary = summarize(samples.values());
      const result: InProcessResult = {
        concurrency,
        iterations: completed,
        elapsedMs,
        runsPerSec: (completed / elapsedMs) * 1_000,
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
