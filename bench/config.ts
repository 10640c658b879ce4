import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Everything the harness reads from the environment, resolved once. */
export interface BenchConfig {
  /** Repository root (the folder holding package.json). */
  rootDir: string;
  quick: boolean;
  /** Measured duration of each load run, seconds. */
  durationSec: number;
  /** Warm-up before each measured load run, seconds (results discarded). */
  warmupSec: number;
  /** autocannon connection counts; also the in-process concurrency levels. */
  connections: number[];
  /** Measured session.run() calls per in-process concurrency level. */
  ortIterations: number;
  ortWarmupIterations: number;
  modelRepository: string;
  /** tserve entry point relative to rootDir (BENCH_TSERVE_BIN, default bin/tserve.js). */
  tserveBin: string;
  onnxModelPath: string;
  /** Scenario names to run (empty = all). */
  scenarioFilter: string[];
  skipTserve: boolean;
  writeResults: boolean;
  strict: boolean;
  resultsPath: string;
  outDir: string;
  /** How long to wait for a server to become ready, ms. */
  readyTimeoutMs: number;
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function envFlag(name: string): boolean {
  const raw = process.env[name];
  return raw !== undefined && raw !== "" && raw !== "0" && raw.toLowerCase() !== "false";
}

function envList(name: string): string[] {
  const raw = process.env[name];
  if (raw === undefined) return [];
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/** Environment variables the harness understands (echoed into the report's command line). */
export const BENCH_ENV_VARS = [
  "BENCH_QUICK",
  "BENCH_DURATION",
  "BENCH_WARMUP",
  "BENCH_CONNECTIONS",
  "BENCH_ORT_ITERATIONS",
  "BENCH_SCENARIOS",
  "BENCH_SKIP_TSERVE",
  "BENCH_NO_WRITE",
  "BENCH_STRICT",
  "BENCH_TSERVE_BIN",
] as const;

export function loadConfig(): BenchConfig {
  const rootDir = fileURLToPath(new URL("..", import.meta.url));
  const quick = envFlag("BENCH_QUICK");
  const connections = envList("BENCH_CONNECTIONS").map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_CONNECTIONS entries must be positive integers, got ${c}`);
    return n;
  });
  const ortIterations = Math.round(envNumber("BENCH_ORT_ITERATIONS", quick ? 10_000 : 50_000));
  return {
    rootDir,
    quick,
    durationSec: envNumber("BENCH_DURATION", quick ? 3 : 10),
    warmupSec: envNumber("BENCH_WARMUP", 2),
    connections: connections.length > 0 ? connections : [1, 32],
    ortIterations,
    ortWarmupIterations: Math.min(2_000, ortIterations),
    modelRepository: "examples/iris/models",
    tserveBin: process.env.BENCH_TSERVE_BIN ?? "bin/tserve.js",
    onnxModelPath: join(rootDir, "examples/iris/models/iris/1/model.onnx"),
    scenarioFilter: envList("BENCH_SCENARIOS"),
    skipTserve: envFlag("BENCH_SKIP_TSERVE"),
    writeResults: !envFlag("BENCH_NO_WRITE"),
    strict: envFlag("BENCH_STRICT"),
    resultsPath: join(rootDir, "bench/RESULTS.md"),
    outDir: join(rootDir, "bench/.out"),
    readyTimeoutMs: 60_000,
  };
}
