/**
 * The graph stage of `npm run bench` (BENCH_STAGES=graph): what an InferenceGraph step costs; writes the graph
 * section of RESULTS.md.
 *
 * Servers, all started fresh for this stage (graph YAML generated into a temp dir, see graph-specs.ts):
 *   - bare node:http (baselines/bare-http.ts): the loopback floor;
 *   - three `tserve serve --model-repository examples/iris/models --graph G.yaml` servers, G = a Sequence of 1
 *     `serviceName: iris` step, a Sequence of 4 such steps, an Ensemble of 4 (in-process steps, no HTTP hop);
 *   - `tserve serve --model-repository examples/iris/models` (the iris server the HTTP steps call);
 *   - two standalone `tserve graph G.yaml` routers, G = a Sequence of 1 / an Ensemble of 4 `serviceUrl` steps
 *     pointing at that iris server's V1 :predict.
 * Every step sends the node input (`data: $request`): the iris V1 body.
 *
 * Endpoints loaded with autocannon at each connection count (default 1 and 16), `BENCH_GRAPH_ROUNDS` rounds
 * over all endpoints per count (order reversed every round, so compared endpoints run next to each other in
 * time), latency samples pooled over the rounds. Every endpoint's answer is checked before any load: iris
 * predictions matching in-process onnxruntime, Ensemble answers keyed by the step names, and, from /metrics,
 * that each graph step ran once and the model was called as many times as there are steps.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { benchInProcessOnnx } from "./baselines/in-process-onnx.ts";
import { type CapturedResponse, type CheckResult, checkV1Predictions, type ResponseCheck } from "./checks.ts";
import type { BenchConfig } from "./config.ts";
import { type BenchGraph, benchGraph } from "./graph-specs.ts";
import { type GraphRun, graphFailures, renderGraphMarkdown } from "./graph-report.ts";
import { IRIS_CLASSES, IRIS_INPUT_SHAPE } from "./iris.ts";
import { isInvalid, type LoadResult, runLoad } from "./load.ts";
import { machineInfo } from "./machine.ts";
import { waitForHttpOk } from "./processes.ts";
import { checkHealth, type StageContext, tryStart } from "./protocols.ts";
import { writeResultsSection } from "./report.ts";
import { type HttpRequestSpec, V1_BODY } from "./scenarios.ts";
import { SampleBuffer, summarize } from "./stats.ts";
import { HOST, launch, type RunningTarget, startBareHttp } from "./targets.ts";
import { compareWithReference, sendOnce } from "./verify.ts";

type Target = RunningTarget<string>;

export type GraphLegId =
  | "bare"
  | "inproc-direct"
  | "inproc-seq1"
  | "inproc-seq4"
  | "inproc-ens4"
  | "http-direct"
  | "http-seq1"
  | "http-ens4";

/** A Prometheus series that must grow by `delta` when the endpoint answers one request. */
interface MetricExpectation {
  target: Target | undefined;
  name: string;
  labels: Record<string, string>;
  delta: number;
}

interface GraphLeg {
  id: GraphLegId;
  title: string;
  target: Target | undefined;
  request: HttpRequestSpec;
  check: ResponseCheck;
  /** Compare the predictions with in-process onnxruntime's (not for the canned bare answer). */
  reference: boolean;
  metrics: MetricExpectation[];
}

/** Load results of one endpoint at one connection count, pooled over the rounds. */
export interface PooledResult extends LoadResult {
  /** Each round's own figures, in round order. */
  rounds: LoadResult[];
}

export interface GraphLegOutcome {
  id: GraphLegId;
  title: string;
  server: string;
  path: string;
  responseBytes?: number;
  /** Why it was not load-tested. */
  skipped?: string;
  cells: Record<number, PooledResult | null>;
}

const ROWS = IRIS_INPUT_SHAPE[0];
const COLS = IRIS_CLASSES;
const JSON_HEADERS = { "content-type": "application/json" };
const MODEL = "iris";
const MODEL_REPOSITORY = "examples/iris/models";

function v1Request(path: string): HttpRequestSpec {
  return { method: "POST", path, headers: JSON_HEADERS, body: V1_BODY };
}

const DIRECT = v1Request(`/v1/models/${MODEL}:predict`);
const GRAPH = v1Request("/");

/** Ensemble answer: `{"<step>": {"predictions": [...]}, ...}` with exactly the step names as keys. */
function checkEnsemble(steps: string[]): ResponseCheck {
  const each = checkV1Predictions(ROWS, COLS);
  return (res) => {
    if (res.status !== 200) return { ok: false, error: `HTTP ${res.status}: ${res.body.subarray(0, 300).toString()}` };
    let json: unknown;
    try {
      json = JSON.parse(res.body.toString("utf8"));
    } catch {
      return { ok: false, error: `not JSON: ${res.body.subarray(0, 300).toString()}` };
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return { ok: false, error: `expected an object keyed by step name, got ${res.body.subarray(0, 300).toString()}` };
    }
    const keys = Object.keys(json).sort();
    if (JSON.stringify(keys) !== JSON.stringify([...steps].sort())) {
      return { ok: false, error: `expected keys ${steps.join(", ")}, got ${keys.join(", ")}` };
    }
    let first: CheckResult | undefined;
    for (const step of steps) {
      const part: CapturedResponse = {
        status: 200,
        headers: res.headers,
        body: Buffer.from(JSON.stringify((json as Record<string, unknown>)[step])),
      };
      const result = each(part);
      if (!result.ok) return { ok: false, error: `step ${step}: ${result.error}` };
      if (first?.ok && JSON.stringify(first.values) !== JSON.stringify(result.values)) {
        return { ok: false, error: `step ${step} answered ${JSON.stringify(result.values)}, step ${steps[0]} something else` };
      }
      first ??= result;
    }
    return first ?? { ok: false, error: "no steps" };
  };
}

/** `name{a="x",b="y"} value` lines of a Prometheus text exposition. */
function parseMetrics(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

async function metricValue(e: MetricExpectation): Promise<number> {
  if (!e.target) throw new Error("server not running");
  const res = await fetch(new URL("/metrics", e.target.baseUrl), { signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics on ${e.target.label}: HTTP ${res.status}`);
  return parseMetrics(text)
    .filter((s) => s.name === e.name && Object.entries(e.labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

function describeSeries(e: MetricExpectation): string {
  const labels = Object.entries(e.labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  return `${e.name}{${labels}} on ${e.target?.label ?? "?"}`;
}

interface Preflighted {
  ok: boolean;
  responseBytes?: number;
  problem?: string;
}

/** One request: answer checked, predictions compared, and the expected metric deltas seen. */
async function preflightLeg(
  ctx: StageContext,
  leg: GraphLeg,
  reference: number[][] | undefined,
  warnings: string[],
): Promise<Preflighted> {
  const target = leg.target;
  if (!target) return { ok: false, problem: "server not running" };
  const where = `${leg.title} (${target.label})`;
  let before: number[];
  try {
    before = await Promise.all(leg.metrics.map((e) => metricValue(e)));
  } catch (err) {
    return { ok: false, problem: `${where}: reading /metrics failed: ${(err as Error).message}` };
  }
  let response: CapturedResponse;
  let result: CheckResult;
  try {
    response = await sendOnce(target.baseUrl, leg);
    result = leg.check(response);
  } catch (err) {
    return { ok: false, problem: `${where} failed pre-flight: request failed: ${(err as Error).message}` };
  }
  if (!result.ok) return { ok: false, problem: `${where} failed pre-flight: ${result.error}` };
  if (result.note) warnings.push(`${where}: ${result.note}`);
  if (leg.reference) {
    const mismatch = compareWithReference(where, result.values, reference);
    if (mismatch) return { ok: false, problem: mismatch };
  }
  const seen: string[] = [];
  for (const [i, e] of leg.metrics.entries()) {
    let after: number;
    try {
      after = await metricValue(e);
    } catch (err) {
      return { ok: false, problem: `${where}: reading /metrics failed: ${(err as Error).message}` };
    }
    const delta = after - before[i];
    if (delta !== e.delta) {
      return {
        ok: false,
        problem: `${where}: one request moved ${describeSeries(e)} by ${delta}, expected ${e.delta}`,
      };
    }
    seen.push(`${e.labels.step ?? e.labels.model_name ?? e.name}+${delta}`);
  }
  const shown = result.values.map((row) => row.map((v) => Number(v.toFixed(4))));
  ctx.log(
    `pre-flight ${where}: OK ${JSON.stringify(shown)} (${response.body.length} B)` +
      (seen.length > 0 ? `; metrics ${seen.join(" ")}` : ""),
  );
  return { ok: true, responseBytes: response.body.length };
}

function pool(rounds: LoadResult[], samples: SampleBuffer): PooledResult {
  const latency = summarize(samples.values());
  const sum = (f: (r: LoadResult) => number): number => rounds.reduce((s, r) => s + f(r), 0);
  const durationSec = sum((r) => r.durationSec);
  const statusCodes: Record<string, number> = {};
  for (const r of rounds) {
    for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  }
  const ok2xx = sum((r) => r.ok2xx);
  return {
    connections: rounds[0].connections,
    durationSec,
    requestsPerSec: durationSec > 0 ? ok2xx / durationSec : 0,
    responses: sum((r) => r.responses),
    ok2xx,
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    statusCodes,
    p50Ms: latency.p50,
    p99Ms: latency.p99,
    meanMs: latency.mean,
    maxMs: latency.max,
    warmupNon2xx: sum((r) => r.warmupNon2xx),
    warmupErrors: sum((r) => r.warmupErrors),
    rounds,
  };
}

function describe(label: string, r: LoadResult): string {
  const flag = isInvalid(r) ? `  <-- ${r.non2xx} FAILED, ${r.errors} ERRORS ${JSON.stringify(r.statusCodes)}` : "";
  return (
    `${label.padEnd(58)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  ` +
    `p50 ${(r.p50Ms * 1000).toFixed(0)} µs  p99 ${(r.p99Ms * 1000).toFixed(0)} µs${flag}`
  );
}

/** Pre-flights every leg, then loads them: per connection count, `rounds` passes, order reversed each pass. */
async function runLegs(ctx: StageContext, legs: GraphLeg[], reference: number[][] | undefined, warnings: string[]) {
  const { config } = ctx;
  const outcomes: GraphLegOutcome[] = [];
  const runnable: { leg: GraphLeg; outcome: GraphLegOutcome }[] = [];
  for (const leg of legs) {
    const outcome: GraphLegOutcome = {
      id: leg.id,
      title: leg.title,
      server: leg.target?.label ?? "(not started)",
      path: `${leg.request.method} ${leg.request.path}`,
      cells: {},
    };
    outcomes.push(outcome);
    const pre = await preflightLeg(ctx, leg, reference, warnings);
    if (!pre.ok) {
      outcome.skipped = pre.problem;
      ctx.shout([`graph ${leg.title} NOT benchmarked:`, ...(pre.problem ?? "").split("\n")]);
      continue;
    }
    outcome.responseBytes = pre.responseBytes;
    runnable.push({ leg, outcome });
  }
  let pass = 0;
  for (const connections of config.graphConnections) {
    const rounds = new Map<GraphLegId, LoadResult[]>();
    const samples = new Map<GraphLegId, SampleBuffer>();
    const dead = new Set<GraphLegId>();
    for (let round = 0; round < config.graphRounds; round++, pass++) {
      const order = pass % 2 === 0 ? runnable : [...runnable].reverse();
      for (const { leg } of order) {
        const target = leg.target!;
        if (dead.has(leg.id)) continue;
        if (!target.process.isRunning()) {
          ctx.shout([`${target.label} is no longer running; skipping ${leg.title} @${connections}`, target.process.tail(10)]);
          dead.add(leg.id);
          continue;
        }
        const buffer = samples.get(leg.id) ?? new SampleBuffer();
        samples.set(leg.id, buffer);
        const result = await runLoad({
          baseUrl: target.baseUrl,
          request: leg.request,
          connections,
          durationSec: config.graphDurationSec,
          warmupSec: config.graphWarmupSec,
          title: `graph ${leg.id} c${connections}`,
          collect: (latencies) => {
            for (const v of latencies) buffer.push(v);
          },
        });
        const label = `${leg.title} c=${connections} round ${round + 1}/${config.graphRounds}`;
        ctx.log(describe(label, result));
        if (isInvalid(result)) {
          ctx.shout([
            `${leg.title} with ${connections} connections:`,
            `${result.non2xx} failed responses (${JSON.stringify(result.statusCodes)}), ${result.errors} errors.`,
            "These figures measure error handling, not the graph. The row is marked INVALID.",
          ]);
        }
        rounds.set(leg.id, [...(rounds.get(leg.id) ?? []), result]);
      }
    }
    for (const { leg, outcome } of runnable) {
      const got = rounds.get(leg.id);
      outcome.cells[connections] =
        got && got.length === config.graphRounds ? pool(got, samples.get(leg.id)!) : null;
    }
  }
  return outcomes;
}

function tserveArgs(config: BenchConfig, port: number, extra: string[]): string[] {
  return [
    config.tserveBin,
    "serve",
    "--model-repository",
    MODEL_REPOSITORY,
    ...extra,
    "--http_port",
    String(port),
    "--enable_grpc",
    "false",
    "--host",
    HOST,
  ];
}

function startGraphServer(config: BenchConfig, id: string, label: string, yamlPath: string): Promise<Target> {
  return launch(config, id, label, (port) => tserveArgs(config, port, ["--graph", yamlPath]));
}

function startRouter(config: BenchConfig, id: string, label: string, yamlPath: string): Promise<Target> {
  return launch(
    config,
    id,
    label,
    (port) => [config.tserveBin, "graph", yamlPath, "--http_port", String(port), "--host", HOST],
    (proc, port) => waitForHttpOk(proc, `http://${HOST}:${port}/readyz`, config.readyTimeoutMs),
  );
}

function stepMetrics(target: Target | undefined, graph: BenchGraph): MetricExpectation[] {
  return graph.steps.map((step) => ({
    target,
    name: "graph_step_duration_seconds_count",
    labels: { graph: graph.name, node: "root", step, code: "200" },
    delta: 1,
  }));
}

function modelCalls(target: Target | undefined, calls: number): MetricExpectation {
  return { target, name: "request_success_total", labels: { model_name: MODEL }, delta: calls };
}

export interface GraphSpecInfo {
  id: string;
  name: string;
  routerType: string;
  steps: number;
  kind: "in-process" | "http";
  yamlFile: string;
  yaml: string;
}

export async function runGraphStage(ctx: StageContext): Promise<{ failures: string[] }> {
  const { config, log } = ctx;
  mkdirSync(config.outDir, { recursive: true });
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const warnings: string[] = [];
  log(
    `graph stage: connections ${config.graphConnections.join(",")}; ${config.graphRounds} round(s) of ` +
      `${config.graphWarmupSec} s warm-up + ${config.graphDurationSec} s measured per endpoint and count`,
  );

  // The model's own answer, the reference every endpoint must reproduce.
  let reference: number[][] | undefined;
  try {
    reference = (
      await benchInProcessOnnx(config.onnxModelPath, { iterations: 1, warmupIterations: 0, concurrencies: [] })
    ).output;
  } catch (err) {
    warnings.push(`no in-process reference answer (predictions not cross-checked): ${(err as Error).message}`);
  }

  const dir = mkdtempSync(join(tmpdir(), "tserve-bench-graph-"));
  const specs: GraphSpecInfo[] = [];
  const writeGraph = (id: string, graph: BenchGraph, kind: GraphSpecInfo["kind"]): string => {
    const file = join(dir, `${id}.yaml`);
    writeFileSync(file, graph.yaml);
    specs.push({
      id,
      name: graph.name,
      routerType: graph.routerType,
      steps: graph.steps.length,
      kind,
      yamlFile: file,
      yaml: graph.yaml,
    });
    return file;
  };

  const started: Target[] = [];
  try {
    const local = { serviceName: MODEL };
    const seq1 = benchGraph("bench-seq1", "Sequence", 1, local);
    const seq4 = benchGraph("bench-seq4", "Sequence", 4, local);
    const ens4 = benchGraph("bench-ens4", "Ensemble", 4, local);
    const seq1File = writeGraph("inproc-seq1", seq1, "in-process");
    const seq4File = writeGraph("inproc-seq4", seq4, "in-process");
    const ens4File = writeGraph("inproc-ens4", ens4, "in-process");

    const start = (what: string, fn: () => Promise<Target>) => tryStart(ctx, what, fn, started, warnings);
    const bare = await start("bare node:http", () => startBareHttp(config));
    const inSeq1 = await start("tserve serve --graph (Sequence of 1)", () =>
      startGraphServer(config, "graph-inproc-seq1", "tserve + graph seq1", seq1File),
    );
    const inSeq4 = await start("tserve serve --graph (Sequence of 4)", () =>
      startGraphServer(config, "graph-inproc-seq4", "tserve + graph seq4", seq4File),
    );
    const inEns4 = await start("tserve serve --graph (Ensemble of 4)", () =>
      startGraphServer(config, "graph-inproc-ens4", "tserve + graph ens4", ens4File),
    );
    const iris = await start("tserve (iris)", () =>
      launch(config, "graph-iris", "tserve (iris)", (port) => tserveArgs(config, port, [])),
    );
    let httpSeq1Graph: BenchGraph | undefined;
    let httpEns4Graph: BenchGraph | undefined;
    let routerSeq1: Target | undefined;
    let routerEns4: Target | undefined;
    if (iris) {
      const remote = { serviceUrl: `${iris.baseUrl}/v1/models/${MODEL}:predict` };
      httpSeq1Graph = benchGraph("bench-http-seq1", "Sequence", 1, remote);
      httpEns4Graph = benchGraph("bench-http-ens4", "Ensemble", 4, remote);
      const httpSeq1File = writeGraph("http-seq1", httpSeq1Graph, "http");
      const httpEns4File = writeGraph("http-ens4", httpEns4Graph, "http");
      routerSeq1 = await start("tserve graph (Sequence of 1, HTTP)", () =>
        startRouter(config, "graph-router-seq1", "tserve graph seq1", httpSeq1File),
      );
      routerEns4 = await start("tserve graph (Ensemble of 4, HTTP)", () =>
        startRouter(config, "graph-router-ens4", "tserve graph ens4", httpEns4File),
      );
    }

    const v1 = checkV1Predictions(ROWS, COLS);
    const legs: GraphLeg[] = [
      { id: "bare", title: "bare node:http (canned answer)", target: bare, request: GRAPH, check: v1, reference: false, metrics: [] },
      {
        id: "inproc-direct",
        title: "direct V1 :predict",
        target: inSeq1,
        request: DIRECT,
        check: v1,
        reference: true,
        metrics: [modelCalls(inSeq1, 1)],
      },
      {
        id: "inproc-seq1",
        title: "graph: Sequence of 1 in-process step",
        target: inSeq1,
        request: GRAPH,
        check: v1,
        reference: true,
        metrics: [...stepMetrics(inSeq1, seq1), modelCalls(inSeq1, 1)],
      },
      {
        id: "inproc-seq4",
        title: "graph: Sequence of 4 in-process steps",
        target: inSeq4,
        request: GRAPH,
        check: v1,
        reference: true,
        metrics: [...stepMetrics(inSeq4, seq4), modelCalls(inSeq4, 4)],
      },
      {
        id: "inproc-ens4",
        title: "graph: Ensemble of 4 in-process steps",
        target: inEns4,
        request: GRAPH,
        check: checkEnsemble(ens4.steps),
        reference: true,
        metrics: [...stepMetrics(inEns4, ens4), modelCalls(inEns4, 4)],
      },
      {
        id: "http-direct",
        title: "direct V1 :predict",
        target: iris,
        request: DIRECT,
        check: v1,
        reference: true,
        metrics: [modelCalls(iris, 1)],
      },
      {
        id: "http-seq1",
        title: "graph: Sequence of 1 HTTP step",
        target: routerSeq1,
        request: GRAPH,
        check: v1,
        reference: true,
        metrics: httpSeq1Graph ? [...stepMetrics(routerSeq1, httpSeq1Graph), modelCalls(iris, 1)] : [],
      },
      {
        id: "http-ens4",
        title: "graph: Ensemble of 4 HTTP steps",
        target: routerEns4,
        request: GRAPH,
        check: checkEnsemble(ens4.steps),
        reference: true,
        metrics: httpEns4Graph ? [...stepMetrics(routerEns4, httpEns4Graph), modelCalls(iris, 4)] : [],
      },
    ];
    const outcomes = await runLegs(ctx, legs, reference, warnings);

    await checkHealth(started, config, warnings);
    const run: GraphRun = {
      startedAt,
      finishedAt: new Date(),
      command: ctx.command,
      machine: machineInfo(),
      durationSec: config.graphDurationSec,
      warmupSec: config.graphWarmupSec,
      rounds: config.graphRounds,
      connections: config.graphConnections,
      targets: started.map((t) => ({ id: t.id, label: t.label, command: t.command, readyAfterMs: t.readyAfterMs })),
      graphs: specs.map((s) => ({ ...s, yamlFile: relative(dir, s.yamlFile) })),
      graphDir: dir,
      legs: outcomes,
      loadAverage: { start: loadAtStart, end: loadavg() },
      warnings,
    };
    const markdown = renderGraphMarkdown(run);
    process.stdout.write(`\n${markdown}\n\n`);

    const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
    const jsonPath = join(config.outDir, `graph-${stamp}.json`);
    writeFileSync(jsonPath, `${JSON.stringify(run, null, 2)}\n`);
    log(`raw results: ${relative(config.rootDir, jsonPath)}`);
    if (!config.writeResults) log("BENCH_NO_WRITE set: bench/RESULTS.md left untouched");
    else {
      writeResultsSection(config.resultsPath, markdown, "graph");
      log(`updated ${relative(config.rootDir, config.resultsPath)} (graph section)`);
    }
    return { failures: graphFailures(run) };
  } finally {
    for (const t of started) await t.process.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
