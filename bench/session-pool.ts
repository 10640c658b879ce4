/**
 * Inline ONNX sessions (createOrtSession: the native binding on the JS thread) against pooled ones
 * (createPooledSession: worker threads), on the iris model (one row: all overhead) and on the MLP fixture
 * (batch 64: real work). For each: runs/s, per-run latency, and how long the event loop was held up.
 * Every lane yields to the event loop between its runs, as separate requests do in the server; so an
 * inline session's stall is the sum of the runs that one loop turn executes.
 *
 *   npx tsx bench/session-pool.ts [--runs 5000] [--mlp-runs 1000]
 */
import { resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as ort from "onnxruntime-node";
import { createPooledSession } from "../packages/server/src/runtime/onnx/session-pool.ts";
import { createOrtSession, type OrtSession } from "../packages/server/src/runtime/onnx/session.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import { SampleBuffer, summarize } from "./stats.ts";

const IRIS = resolve(import.meta.dirname, "../examples/iris/models/iris/1/model.onnx");
const MLP = resolve(import.meta.dirname, "../test/fixtures/models/mlp/model.onnx");
const OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "all",
  intraOpNumThreads: 1, // OnnxModel's default
};

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Case {
  model: string;
  session: string;
  inFlight: number;
  runs: number;
  runsPerSec: number;
  p50ms: number;
  p99ms: number;
  loopDelayP99ms: number;
  loopDelayMaxMs: number;
}

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

async function measure(
  model: string,
  name: string,
  session: OrtSession,
  feeds: Record<string, ort.Tensor>,
  fetches: string[],
  runs: number,
  inFlight: number,
): Promise<Case> {
  for (let i = 0; i < Math.min(200, runs); i++) await session.run(feeds, fetches); // warm-up
  const latencies = new SampleBuffer();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  let started = 0;
  const lane = async () => {
    while (started < runs) {
      started++;
      const t = performance.now();
      await session.run(feeds, fetches);
      latencies.push(performance.now() - t);
      await nextTurn();
    }
  };
  loop.enable();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  const elapsed = performance.now() - t0;
  loop.disable();
  const s = summarize(latencies.values());
  return {
    model,
    session: name,
    inFlight,
    runs,
    runsPerSec: Math.round((runs / elapsed) * 1000),
    p50ms: round(s.p50),
    p99ms: round(s.p99),
    loopDelayP99ms: round(loop.percentile(99) / 1e6),
    loopDelayMaxMs: round(loop.max / 1e6),
  };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

async function compare(
  model: string,
  path: string,
  feeds: Record<string, ort.Tensor>,
  fetches: string[],
  runs: number,
): Promise<Case[]> {
  const out: Case[] = [];
  const inline = await createOrtSession(path, OPTIONS);
  const pool1 = await createPooledSession(path, OPTIONS, { instances: 1 });
  const pool2 = await createPooledSession(path, OPTIONS, { instances: 2 });
  try {
    for (const inFlight of [1, 32]) {
      out.push(await measure(model, "inline", inline, feeds, fetches, runs, inFlight));
      out.push(await measure(model, "pool x1", pool1, feeds, fetches, runs, inFlight));
      out.push(await measure(model, "pool x2", pool2, feeds, fetches, runs, inFlight));
    }
  } finally {
    await inline.release();
    await pool1.release();
    await pool2.release();
  }
  return out;
}

const runs = arg("runs", 5000);
const mlpRuns = arg("mlp-runs", 1000);
const irisFeeds = { input: new ort.Tensor("float32", new Float32Array([6.8, 2.8, 4.8, 1.4]), [1, 4]) };
const mlpData = new Float32Array(64 * 256);
for (let i = 0; i < mlpData.length; i++) mlpData[i] = Math.sin(i);
const mlpFeeds = { x: new ort.Tensor("float32", mlpData, [64, 256]) };

console.log(describeMachine(machineInfo()));
const results = [
  ...(await compare("iris, 1 row", IRIS, irisFeeds, ["probabilities"], runs)),
  ...(await compare("mlp, batch 64", MLP, mlpFeeds, ["y"], mlpRuns)),
];
console.table(results);
