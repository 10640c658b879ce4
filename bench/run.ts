/**
 * tserve benchmark harness: `npm run bench` (tsx bench/run.ts). Runs its stages in order, each rewriting its
 * own section of bench/RESULTS.md; BENCH_STAGES=core,protocols,graph,seldon,engine selects them (default: all five).
 *
 * Stage "core" measures in one run, side by side:
 *   - tserve (child process) on every scenario in scenarios.ts, at each connection count,
 *   - baseline A: a bare node:http server doing the minimum (read, JSON.parse, canned answer),
 *   - baseline B: in-process onnxruntime-node session.run() on the same model and input,
 * then prints a Markdown report and rewrites the core section of bench/RESULTS.md.
 *
 * Stage "protocols" (protocols.ts): the same model over REST JSON, REST binary and gRPC for a small and a
 * large input, against in-process onnxruntime and a bare grpc-js server, plus the transformer hop; it
 * rewrites the protocols section.
 *
 * Stage "graph" (graph.ts): the InferenceGraph router — one in-process step (tserve serve --graph) vs the same
 * server's direct :predict, a Sequence of 4 for the per-step slope, one HTTP step (tserve graph) vs the iris
 * server it calls, Ensemble fan-out of 4 (in-process and HTTP), with bare node:http as the loopback floor; it
 * rewrites the graph section.
 *
 * Stage "seldon" (seldon.ts): a Seldon Core identity component (tserve serve bench/fixtures/seldon-identity.ts
 * --seldon) through POST /api/v1.0/predictions, ndarray and tensor payloads, against a bare node:http server doing
 * the least work for the same answer, with the identity as a tserve V1 module model for reference; rounds
 * interleaved, medians, server CPU per request and the Seldon codec timed in-process; it rewrites the seldon section.
 *
 * Stage "engine" (engine.ts): the execution engine — tserve --workers 1 and 2 against bare node:http on one process
 * and on 2 node:cluster workers (identity module model), iris against bare node:http, the MLP fixture one row per
 * request with adaptive batching (several delays) against in-process onnxruntime at the server's mean batch size and
 * against batching off, /v2/health/live latency from a second load generator meanwhile (also with instanceCount 0),
 * a ~60 MiB JSON body's decode stall, and every server's RSS; it rewrites the engine section.
 *
 * Environment: BENCH_STAGES=core,protocols, BENCH_NO_WRITE=1 (print only), BENCH_TSERVE_BIN=<path>
 * (default bin/tserve.js), BENCH_QUICK=1 (short runs: core 3 s, protocols 2 s per cell).
 * Core stage: BENCH_DURATION=<s>, BENCH_WARMUP=<s>, BENCH_CONNECTIONS=1,32, BENCH_ORT_ITERATIONS=<n>,
 * BENCH_SCENARIOS=v1-json,..., BENCH_SKIP_TSERVE=1 (baselines only, RESULTS.md untouched),
 * BENCH_STRICT=1 (exit 1 when a target FAILs).
 * Protocols stage: BENCH_PROTOCOLS_DURATION=<s> (default 5), BENCH_PROTOCOLS_WARMUP=<s> (default 1),
 * BENCH_PROTOCOLS_CONNECTIONS=1,16.
 * Graph stage: BENCH_GRAPH_DURATION=<s> (default 3 per round), BENCH_GRAPH_WARMUP=<s> (default 1),
 * BENCH_GRAPH_ROUNDS=<n> (default 3), BENCH_GRAPH_CONNECTIONS=1,16.
 * Seldon stage: BENCH_SELDON_DURATION=<s> (default 3 per round), BENCH_SELDON_WARMUP=<s> (default 1),
 * BENCH_SELDON_ROUNDS=<n> (default 3), BENCH_SELDON_CONNECTIONS=1,16.
 * Engine stage: BENCH_ENGINE_DURATION=<s> (default 8 per cell), BENCH_ENGINE_WARMUP=<s> (default 2),
 * BENCH_ENGINE_DELAYS=<µs,…> (default 0,2000,5000), BENCH_ENGINE_PROBE_MS=<ms> (default 10),
 * BENCH_ENGINE_ORT_SECONDS=<s> (default 2), BENCH_ENGINE_BODY_MIB=<MiB> (default 60), BENCH_ENGINE_ENCODING=json|binary
 * (how each MLP request carries its row; default json); BENCH_STRICT=1 also makes a FAILed engine target exit 1.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { benchInProcessOnnx, type InProcessReport } from "./baselines/in-process-onnx.ts";
import { BENCH_ENV_VARS, type BenchConfig, loadConfig } from "./config.ts";
import { isInvalid, type LoadResult, runLoad } from "./load.ts";
import { machineInfo } from "./machine.ts";
import { installCleanupHandlers, stopAll } from "./processes.ts";
import { runEngineStage } from "./engine.ts";
import { runGraphStage } from "./graph.ts";
import { runProtocolsStage } from "./protocols.ts";
import { runSeldonStage } from "./seldon.ts";
import {
  type BenchRun,
  type Cell,
  collectFailures,
  renderMarkdown,
  type ScenarioOutcome,
  verdict,
  writeResultsSection,
} from "./report.ts";
import { type Scenario, type ScenarioLeg, selectScenarios, type TargetId } from "./scenarios.ts";
import { type RunningTarget, TARGET_STARTERS } from "./targets.ts";
import { compareWithReference, verifyLeg } from "./verify.ts";

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function shout(lines: string[]): void {
  const bar = "!".repeat(78);
  process.stderr.write(`\n${bar}\n${lines.map((l) => `!!! ${l}`).join("\n")}\n${bar}\n\n`);
}

function commandLine(): string {
  const env = BENCH_ENV_VARS.filter((name) => process.env[name] !== undefined).map(
    (name) => `${name}=${process.env[name]}`,
  );
  const base = process.env.npm_lifecycle_event === "bench" ? "npm run bench" : "npx tsx bench/run.ts";
  return [...env, base].join(" ");
}

function describeLoad(label: string, r: LoadResult): string {
  const flag = isInvalid(r) ? `  <-- ${r.non2xx} NON-2XX, ${r.errors} ERRORS` : "";
  return (
    `${label.padEnd(34)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  ` +
    `p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms${flag}`
  );
}

async function runInProcess(config: BenchConfig): Promise<{ report: InProcessReport | null; error?: string }> {
  try {
    log(
      `in-process onnxruntime: ${relative(config.rootDir, config.onnxModelPath)}, ${config.ortIterations} runs per level`,
    );
    const report = await benchInProcessOnnx(config.onnxModelPath, {
      iterations: config.ortIterations,
      warmupIterations: config.ortWarmupIterations,
      concurrencies: config.connections,
      log,
    });
    return { report };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    log(`in-process baseline skipped: ${error}`);
    return { report: null, error };
  }
}

async function startTargets(config: BenchConfig, scenarios: Scenario[], warnings: string[]) {
  const wanted = new Set<TargetId>();
  for (const s of scenarios) {
    wanted.add(s.subject.target);
    if (s.baseline) wanted.add(s.baseline.target);
  }
  if (config.skipTserve) wanted.delete("tserve");
  const running = new Map<TargetId, RunningTarget>();
  for (const id of wanted) {
    log(`starting ${id} ...`);
    try {
      const target = await TARGET_STARTERS[id](config);
      log(
        `${target.label} ready at ${target.baseUrl} after ${Math.round(target.readyAfterMs)} ms (log: ${relative(config.rootDir, target.process.logPath)})`,
      );
      running.set(id, target);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      shout([`could not start ${id}:`, ...message.split("\n")]);
      warnings.push(`could not start ${id}: ${message.split("\n")[0]}`);
    }
  }
  return running;
}

async function preflightLeg(
  scenario: Scenario,
  role: "subject" | "baseline",
  leg: ScenarioLeg,
  running: Map<TargetId, RunningTarget>,
  reference: number[][] | undefined,
  warnings: string[],
): Promise<string | null> {
  const target = running.get(leg.target);
  if (!target) return `${leg.target} is not running`;
  const result = await verifyLeg(target.baseUrl, leg);
  if (!result.ok) return `${target.label} ${leg.request.method} ${leg.request.path} failed pre-flight: ${result.error}`;
  if (result.note) warnings.push(`${scenario.name} (${target.label}): ${result.note}`);
  if (role === "subject") {
    const mismatch = compareWithReference(`${scenario.name} (${target.label})`, result.values, reference);
    if (mismatch) warnings.push(mismatch);
  }
  const rounded = result.values.map((row) => row.map((v) => Number(v.toFixed(4))));
  log(`pre-flight ${scenario.name} ${target.label}: 200 ${JSON.stringify(rounded)}`);
  return null;
}

/** Checks both legs answer 200 with the expected shape; returns why not, or null if the scenario may run. */
async function preflight(
  scenario: Scenario,
  running: Map<TargetId, RunningTarget>,
  reference: number[][] | undefined,
  warnings: string[],
): Promise<string | null> {
  const subject = await preflightLeg(scenario, "subject", scenario.subject, running, reference, warnings);
  if (subject || !scenario.baseline) return subject;
  return preflightLeg(scenario, "baseline", scenario.baseline, running, undefined, warnings);
}

async function measureLeg(
  config: BenchConfig,
  scenario: Scenario,
  leg: ScenarioLeg | null,
  running: Map<TargetId, RunningTarget>,
  connections: number,
): Promise<LoadResult | null> {
  const target = leg ? running.get(leg.target) : undefined;
  if (!leg || !target) return null;
  if (!target.process.isRunning()) {
    shout([`${target.label} is no longer running; skipping ${scenario.name} @${connections}`, target.process.tail(10)]);
    return null;
  }
  const result = await runLoad({
    baseUrl: target.baseUrl,
    request: leg.request,
    connections,
    durationSec: config.durationSec,
    warmupSec: config.warmupSec,
    title: `${scenario.name} ${target.id} c${connections}`,
  });
  log(describeLoad(`${scenario.name} ${target.label} c=${connections}`, result));
  if (isInvalid(result)) {
    shout([
      `${scenario.name} against ${target.label} with ${connections} connections:`,
      `${result.non2xx} non-2xx responses (${JSON.stringify(result.statusCodes)}), ${result.errors} errors.`,
      "These figures measure error handling, not inference. The row is marked INVALID.",
    ]);
  }
  return result;
}

async function measureScenario(
  config: BenchConfig,
  scenario: Scenario,
  running: Map<TargetId, RunningTarget>,
): Promise<Cell[]> {
  const cells: Cell[] = [];
  for (const [index, connections] of config.connections.entries()) {
    // Alternate which side goes first so neither systematically gets the "fresher" machine.
    const subjectFirst = index % 2 === 0;
    let subject: LoadResult | null = null;
    let baseline: LoadResult | null = null;
    if (subjectFirst) subject = await measureLeg(config, scenario, scenario.subject, running, connections);
    baseline = await measureLeg(config, scenario, scenario.baseline, running, connections);
    if (!subjectFirst) subject = await measureLeg(config, scenario, scenario.subject, running, connections);
    cells.push({ connections, subject, baseline });
  }
  return cells;
}

async function runCoreStage(config: BenchConfig): Promise<number> {
  mkdirSync(config.outDir, { recursive: true });
  const scenarios = selectScenarios(config.scenarioFilter);
  const startedAt = new Date();
  const warnings: string[] = [];
  log(
    `scenarios: ${scenarios.map((s) => s.name).join(", ")}; connections ${config.connections.join(",")}; ` +
      `${config.warmupSec} s warm-up + ${config.durationSec} s measured per cell`,
  );

  // The in-process baseline runs first, on an otherwise idle machine; its output also serves as the
  // reference answer the servers are checked against.
  const inProcess = await runInProcess(config);
  const running = await startTargets(config, scenarios, warnings);

  const outcomes: ScenarioOutcome[] = [];
  for (const scenario of scenarios) {
    if (config.skipTserve && scenario.subject.target === "tserve") {
      // Baselines only: still check and load the baseline so the harness itself can be exercised.
      const problem = scenario.baseline
        ? await preflightLeg(scenario, "baseline", scenario.baseline, running, undefined, warnings)
        : null;
      if (problem) {
        shout([`scenario ${scenario.name} baseline NOT benchmarked:`, ...problem.split("\n")]);
        outcomes.push({ scenario, skipped: problem, cells: [] });
        continue;
      }
      const cells: Cell[] = [];
      for (const connections of config.connections) {
        cells.push({
          connections,
          subject: null,
          baseline: await measureLeg(config, scenario, scenario.baseline, running, connections),
        });
      }
      outcomes.push({ scenario, skipped: "tserve skipped (BENCH_SKIP_TSERVE)", deliberate: true, cells });
      continue;
    }
    const problem = await preflight(scenario, running, inProcess.report?.output, warnings);
    if (problem) {
      shout([`scenario ${scenario.name} NOT benchmarked:`, ...problem.split("\n")]);
      outcomes.push({ scenario, skipped: problem, cells: [] });
      continue;
    }
    outcomes.push({ scenario, cells: await measureScenario(config, scenario, running) });
  }

  const targets = [...running.values()].map((t) => ({
    id: t.id,
    label: t.label,
    command: t.command,
    readyAfterMs: t.readyAfterMs,
  }));
  for (const t of running.values()) {
    if (!t.process.isRunning())
      warnings.push(`${t.label} exited during the run (see ${relative(config.rootDir, t.process.logPath)})`);
  }
  await stopAll();

  const run: BenchRun = {
    startedAt,
    finishedAt: new Date(),
    command: commandLine(),
    machine: machineInfo(),
    durationSec: config.durationSec,
    warmupSec: config.warmupSec,
    connections: config.connections,
    targets,
    scenarios: outcomes,
    inProcess: inProcess.report,
    inProcessError: inProcess.error,
    warnings,
  };
  const markdown = renderMarkdown(run);
  process.stdout.write(`\n${markdown}\n\n`);

  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const jsonPath = join(config.outDir, `core-${stamp}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(run, null, 2)}\n`);
  log(`raw results: ${relative(config.rootDir, jsonPath)}`);
  if (config.skipTserve) log("BENCH_SKIP_TSERVE set: bench/RESULTS.md left untouched");
  else if (!config.writeResults) log("BENCH_NO_WRITE set: bench/RESULTS.md left untouched");
  else {
    writeResultsSection(config.resultsPath, markdown);
    log(`updated ${relative(config.rootDir, config.resultsPath)}`);
  }

  const failures = collectFailures(run);
  if (failures.length > 0) {
    shout(["INVALID BENCHMARK: some requests failed or scenarios were not measured:", ...failures]);
    return 1;
  }
  const failed = outcomes.flatMap((o) => o.cells.filter((c) => verdict(o.scenario, c) === "FAIL"));
  if (failed.length > 0) {
    log(`${failed.length} target check(s) FAILED${config.strict ? "" : " (exit code 0; set BENCH_STRICT=1 to fail)"}`);
    if (config.strict) return 1;
  }
  return 0;
}

async function runProtocols(config: BenchConfig): Promise<number> {
  const { failures } = await runProtocolsStage({ config, command: commandLine(), log, shout });
  await stopAll();
  if (failures.length > 0) {
    shout(["INVALID BENCHMARK (protocols): some requests failed or were not measured:", ...failures]);
    return 1;
  }
  return 0;
}

async function runGraph(config: BenchConfig): Promise<number> {
  const { failures } = await runGraphStage({ config, command: commandLine(), log, shout });
  await stopAll();
  if (failures.length > 0) {
    shout(["INVALID BENCHMARK (graph): some requests failed or were not measured:", ...failures]);
    return 1;
  }
  return 0;
}

async function runSeldon(config: BenchConfig): Promise<number> {
  const { failures } = await runSeldonStage({ config, command: commandLine(), log, shout });
  await stopAll();
  if (failures.length > 0) {
    shout(["INVALID BENCHMARK (seldon): some requests failed or were not measured:", ...failures]);
    return 1;
  }
  return 0;
}

async function runEngine(config: BenchConfig): Promise<number> {
  const { failures, failedTargets } = await runEngineStage({ config, command: commandLine(), log, shout });
  await stopAll();
  if (failures.length > 0) {
    shout(["INVALID BENCHMARK (engine): some requests failed or were not measured:", ...failures]);
    return 1;
  }
  if (failedTargets > 0) {
    log(`engine: ${failedTargets} target check(s) FAILED${config.strict ? "" : " (exit code 0; set BENCH_STRICT=1 to fail)"}`);
    if (config.strict) return 1;
  }
  return 0;
}

async function main(): Promise<number> {
  installCleanupHandlers();
  const config = loadConfig();
  log(`stages: ${config.stages.join(", ")}`);
  let code = 0;
  for (const stage of config.stages) {
    log(`=== stage ${stage} ===`);
    const result =
      stage === "core"
        ? await runCoreStage(config)
        : stage === "protocols"
          ? await runProtocols(config)
          : stage === "graph"
            ? await runGraph(config)
            : stage === "seldon"
              ? await runSeldon(config)
              : await runEngine(config);
    code = Math.max(code, result);
  }
  return code;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err: unknown) => {
    process.stderr.write(`[bench] fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    process.exitCode = 1;
  },
);
