/**
 * The protocols stage of `npm run bench` (BENCH_STAGES=protocols): writes the protocols section of RESULTS.md.
 *
 * Part 1 — one model, three protocols: for the iris 2x4 input (model `iris`) and a 1x3x224x224 input
 * (model `classifier`), tserve's V2 REST JSON, V2 REST binary (Triton binary tensor extension) and gRPC
 * ModelInfer (raw_input_contents) endpoints, at each connection / in-flight count; REST through autocannon
 * (load.ts), gRPC through bench/grpc-load.ts. Baselines in the same run: in-process onnxruntime-node
 * session.run() on the same model and input, and a bare @grpc/grpc-js server (baselines/bare-grpc.ts)
 * answering a canned response of the right size.
 *
 * Part 2 — the transformer hop: client -> iris transformer (test/fixtures/modules/iris-transformer.ts) ->
 * iris predictor, for predictor protocols v1, v2 and grpc-v2, vs client -> predictor with the equivalent
 * V1 request.
 *
 * Every endpoint's answer is checked (status, shape, values against in-process onnxruntime) before any
 * load is put on it; an endpoint that fails the check is not measured and the run is marked invalid.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { benchInProcessOnnx, type InProcessResult } from "./baselines/in-process-onnx.ts";
import {
  type CheckResult,
  checkTransformerLabels,
  checkV1Predictions,
  checkV2Binary,
  checkV2Json,
  type ResponseCheck,
} from "./checks.ts";
import type { BenchConfig } from "./config.ts";
import { runGrpcLoad } from "./grpc-load.ts";
import { callRaw, checkGrpcInferResponse, MODEL_INFER_PATH, openChannel, waitForGrpcReady } from "./grpc-proto.ts";
import { isInvalid, type LoadResult, runLoad } from "./load.ts";
import { machineInfo } from "./machine.ts";
import { freePort } from "./ports.ts";
import { waitForHttpOk } from "./processes.ts";
import { IRIS_LABELS, type InputId, type ModelInput, protocolInputs, TRANSFORMER_V1_BODY } from "./protocol-inputs.ts";
import { renderProtocolsMarkdown, type ProtocolsRun, protocolsFailures } from "./protocols-report.ts";
import { writeResultsSection } from "./report.ts";
import { type HttpRequestSpec, V1_BODY } from "./scenarios.ts";
import { HOST, launch, READY_PATH, type RunningTarget, tserveBin } from "./targets.ts";
import { compareWithReference, sendOnce } from "./verify.ts";

export interface StageContext {
  config: BenchConfig;
  command: string;
  log: (message: string) => void;
  shout: (lines: string[]) => void;
}

export type EndpointId = "rest-json" | "rest-binary" | "grpc" | "bare-grpc";
export type HopId = "direct" | "transformer-v1" | "transformer-v2" | "transformer-grpc-v2";
export type PredictorProtocol = "v1" | "v2" | "grpc-v2";

type Target = RunningTarget<string>;

/** One thing to load: an HTTP request (autocannon) or a pre-encoded gRPC ModelInfer (grpc-load.ts). */
type Leg<Id extends string> = {
  id: Id;
  title: string;
  target: Target | undefined;
  /** Compare the answer with in-process onnxruntime's (not for canned baselines). */
  reference: boolean;
} & (
  | { kind: "rest"; request: HttpRequestSpec; check: ResponseCheck }
  | { kind: "grpc"; request: Buffer; check: (bytes: Buffer) => CheckResult }
);

export interface LegOutcome<Id extends string> {
  id: Id;
  title: string;
  kind: "rest" | "grpc";
  /** Request size on the wire (HTTP body or protobuf message), bytes. */
  requestBytes: number;
  /** Response size (HTTP body or protobuf message) seen in pre-flight, bytes. */
  responseBytes?: number;
  /** Why it was not load-tested. */
  skipped?: string;
  /** Load results by connection count. */
  cells: Record<number, LoadResult | null>;
}

export interface InputOutcome {
  input: { id: InputId; title: string; modelName: string; shape: number[] };
  inProcess: InProcessResult[] | null;
  inProcessError?: string;
  legs: LegOutcome<EndpointId>[];
}

export interface HopOutcome extends LegOutcome<HopId> {
  protocol: PredictorProtocol | null;
}

interface Preflighted {
  ok: boolean;
  responseBytes?: number;
  problem?: string;
}

const TRANSFORMER_MODULE = "test/fixtures/modules/iris-transformer.ts";

async function preflightLeg<Id extends string>(
  leg: Leg<Id>,
  reference: number[][] | undefined,
  warnings: string[],
  log: StageContext["log"],
): Promise<Preflighted> {
  const target = leg.target;
  if (!target) return { ok: false, problem: "server not running" };
  let result: CheckResult;
  let responseBytes: number | undefined;
  if (leg.kind === "rest") {
    try {
      const response = await sendOnce(target.baseUrl, leg);
      responseBytes = response.body.length;
      result = leg.check(response);
    } catch (err) {
      result = { ok: false, error: `request failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  } else {
    const client = openChannel(target.grpcTarget ?? "");
    try {
      const bytes = await callRaw(client, MODEL_INFER_PATH, leg.request);
      responseBytes = bytes.length;
      result = leg.check(bytes);
    } catch (err) {
      result = { ok: false, error: `gRPC call failed: ${err instanceof Error ? err.message : String(err)}` };
    } finally {
      client.close();
    }
  }
  const where = `${leg.title} (${target.label})`;
  if (!result.ok) return { ok: false, problem: `${where} failed pre-flight: ${result.error}` };
  if (result.note) warnings.push(`${where}: ${result.note}`);
  if (leg.reference) {
    const mismatch = compareWithReference(where, result.values, reference);
    if (mismatch) warnings.push(mismatch);
  }
  const shown = result.values.map((row) => row.map((v) => Number(v.toFixed(4))));
  log(`pre-flight ${where}: OK ${JSON.stringify(shown)}`);
  return { ok: true, responseBytes };
}

function describe(label: string, r: LoadResult): string {
  const flag = isInvalid(r) ? `  <-- ${r.non2xx} FAILED, ${r.errors} ERRORS ${JSON.stringify(r.statusCodes)}` : "";
  return (
    `${label.padEnd(52)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  ` +
    `p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms${flag}`
  );
}

async function measure<Id extends string>(
  ctx: StageContext,
  leg: Leg<Id>,
  connections: number,
  expectedResponseBytes: number | undefined,
  what: string,
): Promise<LoadResult | null> {
  const { config } = ctx;
  const target = leg.target;
  if (!target) return null;
  if (!target.process.isRunning()) {
    ctx.shout([`${target.label} is no longer running; skipping ${what} @${connections}`, target.process.tail(10)]);
    return null;
  }
  const result =
    leg.kind === "rest"
      ? await runLoad({
          baseUrl: target.baseUrl,
          request: leg.request,
          connections,
          durationSec: config.protocolsDurationSec,
          warmupSec: config.protocolsWarmupSec,
          title: `${what} c${connections}`,
        })
      : await runGrpcLoad({
          target: target.grpcTarget ?? "",
          path: MODEL_INFER_PATH,
          request: leg.request,
          concurrency: connections,
          durationSec: config.protocolsDurationSec,
          warmupSec: config.protocolsWarmupSec,
          expectedResponseBytes,
        });
  ctx.log(describe(`${what} c=${connections}`, result));
  if (isInvalid(result)) {
    ctx.shout([
      `${what} with ${connections} connections / calls in flight:`,
      `${result.non2xx} failed responses (${JSON.stringify(result.statusCodes)}), ${result.errors} errors.`,
      "These figures measure error handling, not inference. The row is marked INVALID.",
    ]);
  }
  return result;
}

/** Pre-flight every leg, then load them at each connection count, alternating the order between counts. */
async function runLegs<Id extends string>(
  ctx: StageContext,
  group: string,
  legs: Leg<Id>[],
  reference: number[][] | undefined,
  warnings: string[],
): Promise<LegOutcome<Id>[]> {
  const outcomes: LegOutcome<Id>[] = [];
  const runnable: { leg: Leg<Id>; outcome: LegOutcome<Id> }[] = [];
  for (const leg of legs) {
    const outcome: LegOutcome<Id> = {
      id: leg.id,
      title: leg.title,
      kind: leg.kind,
      requestBytes: leg.kind === "rest" ? (leg.request.body?.length ?? 0) : leg.request.length,
      cells: {},
    };
    outcomes.push(outcome);
    const pre = await preflightLeg(leg, reference, warnings, ctx.log);
    if (!pre.ok) {
      outcome.skipped = pre.problem;
      ctx.shout([`${group} ${leg.title} NOT benchmarked:`, ...(pre.problem ?? "").split("\n")]);
      continue;
    }
    outcome.responseBytes = pre.responseBytes;
    runnable.push({ leg, outcome });
  }
  for (const [index, connections] of ctx.config.protocolsConnections.entries()) {
    const order = index % 2 === 0 ? runnable : [...runnable].reverse();
    for (const { leg, outcome } of order) {
      outcome.cells[connections] = await measure(
        ctx,
        leg,
        connections,
        outcome.responseBytes,
        `${group} ${leg.title} [${leg.target?.label}]`,
      );
    }
  }
  return outcomes;
}

async function startTserveWithGrpc(
  config: BenchConfig,
  id: string,
  label: string,
  modelArgs: string[],
): Promise<Target> {
  const grpcPort = await freePort(HOST);
  const target = await launch(
    config,
    id,
    label,
    (port) => [
      config.tserveBin,
      "serve",
      ...modelArgs,
      "--http_port",
      String(port),
      "--grpc_port",
      String(grpcPort),
      "--host",
      HOST,
    ],
    async (proc, port) => {
      const started = performance.now();
      await waitForHttpOk(proc, `http://${HOST}:${port}${READY_PATH}`, config.readyTimeoutMs);
      await waitForGrpcReady(proc, `${HOST}:${grpcPort}`, config.readyTimeoutMs);
      return performance.now() - started;
    },
  );
  return { ...target, grpcTarget: `${HOST}:${grpcPort}` };
}

async function startBareGrpc(config: BenchConfig): Promise<Target> {
  let address = "";
  const target = await launch(
    config,
    "bare-grpc",
    "bare grpc-js",
    (port) => ["--import", "tsx", "bench/baselines/bare-grpc.ts", "--port", String(port), "--host", HOST],
    (proc, port) => {
      address = `${HOST}:${port}`;
      return waitForGrpcReady(proc, address, config.readyTimeoutMs);
    },
  );
  return { ...target, baseUrl: `grpc://${address}`, grpcTarget: address };
}

function startTransformer(config: BenchConfig, protocol: PredictorProtocol, predictor: Target): Promise<Target> {
  const predictorHost =
    protocol === "grpc-v2" ? (predictor.grpcTarget ?? "") : predictor.baseUrl.replace(/^http:\/\//, "");
  return launch(config, `transformer-${protocol}`, `transformer (${protocol})`, (port) => [
    config.tserveBin,
    "serve",
    TRANSFORMER_MODULE,
    "--model_name",
    "iris",
    "--predictor_host",
    predictorHost,
    "--predictor_protocol",
    protocol,
    "--http_port",
    String(port),
    "--grpc_port",
    "0",
    "--host",
    HOST,
  ]);
}

/** Starts a server, or records why it could not be started. */
export async function tryStart(
  ctx: StageContext,
  what: string,
  start: () => Promise<Target>,
  started: Target[],
  warnings: string[],
): Promise<Target | undefined> {
  ctx.log(`starting ${what} ...`);
  try {
    const target = await start();
    ctx.log(
      `${target.label} ready at ${target.grpcTarget ?? target.baseUrl} after ${Math.round(target.readyAfterMs)} ms ` +
        `(log: ${relative(ctx.config.rootDir, target.process.logPath)})`,
    );
    started.push(target);
    return target;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    ctx.shout([`could not start ${what}:`, ...message.split("\n")]);
    warnings.push(`could not start ${what}: ${message.split("\n")[0]}`);
    return undefined;
  }
}

async function inProcessBaseline(
  ctx: StageContext,
  input: ModelInput,
): Promise<{ results: InProcessResult[] | null; output?: number[][]; error?: string }> {
  const { config } = ctx;
  try {
    ctx.log(`in-process onnxruntime: ${input.onnxPath}, ${input.title}, ${config.protocolsOrtBudgetMs} ms per level`);
    const report = await benchInProcessOnnx(join(config.rootDir, input.onnxPath), {
      iterations: 10_000_000,
      warmupIterations: input.id === "iris" ? 2_000 : 100,
      maxDurationMs: config.protocolsOrtBudgetMs,
      concurrencies: config.protocolsConnections,
      input: { data: input.data, shape: input.shape },
      outputName: input.outputName,
      log: (m) => ctx.log(`  ${m}`),
    });
    return { results: report.results, output: report.output };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    ctx.log(`in-process baseline for ${input.title} skipped: ${error}`);
    return { results: null, error };
  }
}

/** Warns about servers that died, or that logged warnings or errors, during the run. */
export async function checkHealth(targets: Target[], config: BenchConfig, warnings: string[]): Promise<void> {
  for (const t of targets) {
    const log = relative(config.rootDir, t.process.logPath);
    if (!t.process.isRunning()) {
      const info = await t.process.exited;
      warnings.push(`${t.label} exited during the run (code=${info.code}, signal=${info.signal}; see ${log})`);
    }
    const bad = t.process
      .tail(200)
      .split("\n")
      .filter((line) => /\b(WARN|WARNING|ERROR|FATAL)\b|Error:|Warning:/.test(line));
    if (bad.length > 0) {
      warnings.push(`${t.label} logged ${bad.length} warning/error line(s) (see ${log}), e.g. \`${bad[0].slice(0, 200)}\``);
    }
  }
}

function targetInfo(t: Target): ProtocolsRun["targets"][number] {
  return { id: t.id, label: t.label, command: t.command, readyAfterMs: t.readyAfterMs };
}

export async function runProtocolsStage(ctx: StageContext): Promise<{ failures: string[] }> {
  const { config, log } = ctx;
  mkdirSync(config.outDir, { recursive: true });
  const startedAt = new Date();
  const warnings: string[] = [];
  const inputs = protocolInputs();
  log(
    `protocols stage: inputs ${inputs.map((i) => i.title).join(", ")}; connections ${config.protocolsConnections.join(",")}; ` +
      `${config.protocolsWarmupSec} s warm-up + ${config.protocolsDurationSec} s measured per cell`,
  );

  // In-process baselines first, on an otherwise idle machine; their outputs are the reference answers.
  const references = new Map<InputId, { results: InProcessResult[] | null; output?: number[][]; error?: string }>();
  for (const input of inputs) references.set(input.id, await inProcessBaseline(ctx, input));

  const started: Target[] = [];
  const tserveOk = existsSync(tserveBin(config));
  if (!tserveOk) warnings.push(`${config.tserveBin} not found: tserve not started`);
  const irisServer = tserveOk
    ? await tryStart(
        ctx,
        "tserve (iris)",
        () =>
          startTserveWithGrpc(config, "tserve-iris", "tserve (iris)", ["--model-repository", "examples/iris/models"]),
        started,
        warnings,
      )
    : undefined;
  const classifierServer = await tryStart(
    ctx,
    "tserve (classifier)",
    () =>
      startTserveWithGrpc(config, "tserve-classifier", "tserve (classifier)", [
        "examples/custom-model/model/classifier.onnx",
        "--model_name",
        "classifier",
      ]),
    started,
    warnings,
  );
  const bareGrpc = await tryStart(ctx, "bare grpc-js", () => startBareGrpc(config), started, warnings);

  // Part 1: one model, three protocols.
  const inputOutcomes: InputOutcome[] = [];
  for (const input of inputs) {
    const server = input.id === "iris" ? irisServer : classifierServer;
    const { rows, cols, softmax, outputName } = input;
    const legs: Leg<EndpointId>[] = [
      {
        id: "rest-json",
        title: "REST JSON",
        target: server,
        reference: true,
        kind: "rest",
        request: input.restJson,
        check: checkV2Json(outputName, rows, cols, softmax),
      },
      {
        id: "rest-binary",
        title: "REST binary",
        target: server,
        reference: true,
        kind: "rest",
        request: input.restBinary,
        check: checkV2Binary(outputName, rows, cols, softmax),
      },
      {
        id: "grpc",
        title: "gRPC",
        target: server,
        reference: true,
        kind: "grpc",
        request: input.grpcRequest,
        check: (bytes) => checkGrpcInferResponse(bytes, outputName, rows, cols, softmax),
      },
      {
        id: "bare-grpc",
        title: "bare gRPC",
        target: bareGrpc,
        reference: false,
        kind: "grpc",
        request: input.grpcRequest,
        check: (bytes) => checkGrpcInferResponse(bytes, outputName, rows, cols, false),
      },
    ];
    const reference = references.get(input.id);
    const legOutcomes = await runLegs(ctx, input.title, legs, reference?.output, warnings);
    inputOutcomes.push({
      input: { id: input.id, title: input.title, modelName: input.modelName, shape: input.shape },
      inProcess: reference?.results ?? null,
      inProcessError: reference?.error,
      legs: legOutcomes,
    });
  }
  // Not needed for part 2: free their memory (they are idle, so CPU is not the point).
  const early = [classifierServer, bareGrpc].filter((t): t is Target => t !== undefined);
  await checkHealth(early, config, warnings);
  for (const t of early) await t.process.stop();

  // Part 2: the transformer hop, in front of the iris predictor.
  const transformers = new Map<PredictorProtocol, Target | undefined>();
  for (const protocol of ["v1", "v2", "grpc-v2"] as const) {
    transformers.set(
      protocol,
      irisServer
        ? await tryStart(
            ctx,
            `transformer (${protocol})`,
            () => startTransformer(config, protocol, irisServer),
            started,
            warnings,
          )
        : undefined,
    );
  }
  const v1Request = (body: Buffer): HttpRequestSpec => ({
    method: "POST",
    path: "/v1/models/iris:predict",
    headers: { "content-type": "application/json" },
    body,
  });
  const hopLegs: (Leg<HopId> & { protocol: PredictorProtocol | null })[] = [
    {
      id: "direct",
      title: "direct V1",
      protocol: null,
      target: irisServer,
      reference: true,
      kind: "rest",
      request: v1Request(V1_BODY),
      check: checkV1Predictions(2, IRIS_LABELS.length),
    },
    ...(["v1", "v2", "grpc-v2"] as const).map(
      (protocol): Leg<HopId> & { protocol: PredictorProtocol } => ({
        id: `transformer-${protocol}`,
        title: `transformer -> ${protocol}`,
        protocol,
        target: transformers.get(protocol),
        reference: true,
        kind: "rest",
        request: v1Request(TRANSFORMER_V1_BODY),
        check: checkTransformerLabels(IRIS_LABELS, 2),
      }),
    ),
  ];
  const irisReference = references.get("iris")?.output;
  const hopOutcomes = (await runLegs(ctx, "hop", hopLegs, irisReference, warnings)).map(
    (o, i): HopOutcome => ({ ...o, protocol: hopLegs[i].protocol }),
  );

  const late = started.filter((t) => !early.includes(t));
  await checkHealth(late, config, warnings);
  for (const t of late) await t.process.stop();

  const run: ProtocolsRun = {
    startedAt,
    finishedAt: new Date(),
    command: ctx.command,
    machine: machineInfo(),
    durationSec: config.protocolsDurationSec,
    warmupSec: config.protocolsWarmupSec,
    connections: config.protocolsConnections,
    ortBudgetMs: config.protocolsOrtBudgetMs,
    targets: started.map(targetInfo),
    inputs: inputOutcomes,
    hops: hopOutcomes,
    warnings,
  };
  const markdown = renderProtocolsMarkdown(run);
  process.stdout.write(`\n${markdown}\n\n`);

  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const jsonPath = join(config.outDir, `protocols-${stamp}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(run, null, 2)}\n`);
  log(`raw results: ${relative(config.rootDir, jsonPath)}`);
  if (!tserveOk) log("tserve binary not found: bench/RESULTS.md left untouched");
  else if (!config.writeResults) log("BENCH_NO_WRITE set: bench/RESULTS.md left untouched");
  else {
    writeResultsSection(config.resultsPath, markdown, "protocols");
    log(`updated ${relative(config.rootDir, config.resultsPath)} (protocols section)`);
  }
  return { failures: protocolsFailures(run) };
}
