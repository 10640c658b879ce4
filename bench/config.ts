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
  /** Stages to run, in order (BENCH_STAGES, default all). */
  stages: StageId[];
  /** Protocols stage: measured seconds per cell (BENCH_PROTOCOLS_DURATION; 5, quick 2). */
  protocolsDurationSec: number;
  /** Protocols stage: warm-up seconds per cell (BENCH_PROTOCOLS_WARMUP; default 1). */
  protocolsWarmupSec: number;
  /** Protocols stage: connection / in-flight call counts (BENCH_PROTOCOLS_CONNECTIONS; default 1,16). */
  protocolsConnections: number[];
  /** Protocols stage: in-process session.run() budget per model and concurrency, ms. */
  protocolsOrtBudgetMs: number;
  /** Graph stage: measured seconds per cell and round (BENCH_GRAPH_DURATION; 3, quick 1). */
  graphDurationSec: number;
  /** Graph stage: warm-up seconds before every measured run (BENCH_GRAPH_WARMUP; 1, quick 0.5). */
  graphWarmupSec: number;
  /** Graph stage: autocannon connection counts (BENCH_GRAPH_CONNECTIONS; default 1,16). */
  graphConnections: number[];
  /** Graph stage: rounds over all endpoints per connection count, samples pooled (BENCH_GRAPH_ROUNDS; 3, quick 1). */
  graphRounds: number;
}

/** The benchmark stages, in the order they run; each owns one section of RESULTS.md. */
export const STAGES = ["core", "protocols", "graph", "seldon", "engine"] as const;
export type StageId = (typeof STAGES)[number];

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
  "BENCH_STAGES",
  "BENCH_PROTOCOLS_DURATION",
  "BENCH_PROTOCOLS_WARMUP",
  "BENCH_PROTOCOLS_CONNECTIONS",
  "BENCH_GRAPH_DURATION",
  "BENCH_GRAPH_WARMUP",
  "BENCH_GRAPH_CONNECTIONS",
  "BENCH_GRAPH_ROUNDS",
  "BENCH_SELDON_DURATION",
  "BENCH_SELDON_WARMUP",
  "BENCH_SELDON_CONNECTIONS",
  "BENCH_SELDON_ROUNDS",
  "BENCH_ENGINE_DURATION",
  "BENCH_ENGINE_WARMUP",
  "BENCH_ENGINE_DELAYS",
  "BENCH_ENGINE_PROBE_MS",
  "BENCH_ENGINE_ORT_SECONDS",
  "BENCH_ENGINE_BODY_MIB",
  "BENCH_ENGINE_ENCODING",
] as const;

function positiveIntegers(name: string): number[] {
  return envList(name).map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${name} entries must be positive integers, got ${c}`);
    return n;
  });
}

function stagesFromEnv(): StageId[] {
  const wanted = envList("BENCH_STAGES");
  if (wanted.length === 0) return [...STAGES];
  const unknown = wanted.filter((s) => !(STAGES as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`unknown BENCH_STAGES entry ${unknown.join(", ")}; known: ${STAGES.join(", ")}`);
  return STAGES.filter((s) => wanted.includes(s));
}

export function loadConfig(): BenchConfig {
  const rootDir = fileURLToPath(new URL("..", import.meta.url));
  const quick = envFlag("BENCH_QUICK");
  const connections = positiveIntegers("BENCH_CONNECTIONS");
  const protocolsConnections = positiveIntegers("BENCH_PROTOCOLS_CONNECTIONS");
  const graphConnections = positiveIntegers("BENCH_GRAPH_CONNECTIONS");
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
    stages: stagesFromEnv(),
    protocolsDurationSec: envNumber("BENCH_PROTOCOLS_DURATION", quick ? 2 : 5),
    protocolsWarmupSec: envNumber("BENCH_PROTOCOLS_WARMUP", 1),
    protocolsConnections: protocolsConnections.length > 0 ? protocolsConnections : [1, 16],
    protocolsOrtBudgetMs: quick ? 1_000 : 2_000,
    graphDurationSec: envNumber("BENCH_GRAPH_DURATION", quick ? 1 : 3),
    graphWarmupSec: envNumber("BENCH_GRAPH_WARMUP", quick ? 0.5 : 1),
    graphConnections: graphConnections.length > 0 ? graphConnections : [1, 16],
    graphRounds: Math.max(1, Math.round(envNumber("BENCH_GRAPH_ROUNDS", quick ? 1 : 3))),
  };
}
