/**
 * The engine stage of `npm run bench` (BENCH_STAGES=engine): the execution engine's figures — `--workers`,
 * adaptive batching, event-loop health under load, big-body decoding and memory — each next to its baseline
 * measured in the same run; writes the engine section of RESULTS.md.
 *
 *   a. identity module model (bench/fixtures/v1-identity.ts), KServe V1 :predict, 32 connections:
 *      `tserve serve --workers 1` vs bare node:http doing the same JSON echo (baselines/bare-http-cluster.ts), and
 *      `--workers 2` vs the same bare server on 2 node:cluster workers; target ≥ 80 % each.
 *   b. iris ONNX (examples/iris/models), V1 :predict, 32 connections, vs bare node:http (baselines/bare-http.ts,
 *      as the core stage); target ≥ 70 %.
 *   c. the MLP (test/fixtures/models/mlp/model.onnx, x [-1,256] → y [-1,10]), one row per request (V2 JSON, or
 *      binary with BENCH_ENGINE_ENCODING=binary),
 *      64 connections, adaptive batching on (model-settings.json in a temp repository; every delay in
 *      BENCH_ENGINE_DELAYS tried, the best kept), vs (i) in-process onnxruntime-node running the server's mean batch
 *      size (from /metrics `tserve_batch_size`, over the measured window) back to back, target ≥ 90 % of its rows/s,
 *      and (ii) the same server with batching off, target ≥ 3×; plus batching on and off with `instanceCount: 0`
 *      (inference on the event loop) for contrast.
 *   d. GET /v2/health/live latency from a second, low-rate load generator (engine-probe.ts, its own process)
 *      during every (c) window; target p99 < 50 ms with batching on.
 *   e. one ~60 MiB V1 JSON body posted to the unbatched MLP server while health is polled: p99 and max of the
 *      health answers that overlapped the request; target p99 < 100 ms. Bare node:http parsing the same body (its
 *      GET answers {}) for contrast.
 *   f. resident memory (VmRSS / VmHWM from /proc, summed over a --workers primary and its workers) of every server:
 *      idle after start-up (model loaded), and right at the end of its measured load.
 * Every server is started fresh for its cells and stopped after them; autocannon runs in this process.
 *
 * Environment: BENCH_ENGINE_DURATION=<s> (default 8 per cell), BENCH_ENGINE_WARMUP=<s> (default 2),
 * BENCH_ENGINE_DELAYS=<µs,…> (default 0,2000,5000), BENCH_ENGINE_PROBE_MS=<ms> (health poll interval, default 10),
 * BENCH_ENGINE_ORT_SECONDS=<s> (in-process timing per batch size, default 2), BENCH_ENGINE_BODY_MIB=<MiB>
 * (default 60), BENCH_ENGINE_ENCODING=json|binary (the (c) row as V2 JSON, the default, or a V2 binary tensor);
 * BENCH_QUICK=1 makes cells 3 s + 1 s.
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { loadavg, tmpdir } from "node:os";
import { join, relative } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { InferenceSession, Tensor } from "onnxruntime-node";
import { type CapturedResponse, type CheckResult, checkV1Predictions, checkV2Json, maxAbsDiff } from "./checks.ts";
import type { BenchConfig } from "./config.ts";
import type { ProbeCommand, ProbeMessage, ProbeSample } from "./engine-probe.ts";
import { renderEngineMarkdown } from "./engine-report.ts";
import { isInvalid, type LoadResult, runLoad } from "./load.ts";
import { machineInfo, type MachineInfo } from "./machine.ts";
import { type ManagedProcess, waitForHttpOk } from "./processes.ts";
import { checkHealth, type StageContext, tryStart } from "./protocols.ts";
import { problems, type TargetInfo, writeResultsSection } from "./report.ts";
import { V1_BODY } from "./scenarios.ts";
import { SampleBuffer, summarize } from "./stats.ts";
import { HOST, launch, READY_PATH, type RunningTarget } from "./targets.ts";

type Target = RunningTarget<string>;

export interface EngineSettings {
  /** Measured seconds per cell (BENCH_ENGINE_DURATION; 8, quick 3). */
  durationSec: number;
  /** Warm-up seconds before every measured run, discarded (BENCH_ENGINE_WARMUP; 2, quick 1). */
  warmupSec: number;
  /** maxQueueDelayMicroseconds values tried with batching on (BENCH_ENGINE_DELAYS; 0,2000,5000). */
  delaysUs: number[];
  /** Health poll interval, ms (BENCH_ENGINE_PROBE_MS; 10). */
  probeIntervalMs: number;
  /** In-process session.run timing per batch size, s (BENCH_ENGINE_ORT_SECONDS; 2, quick 1). */
  ortSeconds: number;
  /** Size of the big V1 body, MiB (BENCH_ENGINE_BODY_MIB; 60). */
  bodyMiB: number;
  /** How each (c) request carries its row (BENCH_ENGINE_ENCODING: json, the default, or binary). */
  encoding: "json" | "binary";
  /** autocannon connections for (a) and (b), and for (c). */
  connections: number;
  mlpConnections: number;
}

function envPositive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

export function engineSettings(config: BenchConfig): EngineSettings {
  const delays = (process.env.BENCH_ENGINE_DELAYS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 0) throw new Error(`BENCH_ENGINE_DELAYS entries must be whole numbers of µs >= 0, got ${s}`);
      return n;
    });
  const encoding = process.env.BENCH_ENGINE_ENCODING?.trim() || "json";
  if (encoding !== "json" && encoding !== "binary") throw new Error(`BENCH_ENGINE_ENCODING must be json or binary, got ${JSON.stringify(encoding)}`);
  return {
    durationSec: envPositive("BENCH_ENGINE_DURATION", config.quick ? 3 : 8),
    warmupSec: envPositive("BENCH_ENGINE_WARMUP", config.quick ? 1 : 2),
    delaysUs: delays.length > 0 ? [...new Set(delays)] : [0, 2000, 5000],
    probeIntervalMs: envPositive("BENCH_ENGINE_PROBE_MS", 10),
    ortSeconds: envPositive("BENCH_ENGINE_ORT_SECONDS", config.quick ? 1 : 2),
    bodyMiB: envPositive("BENCH_ENGINE_BODY_MIB", 60),
    encoding,
    connections: 32,
    mlpConnections: 64,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// What is sent

export const IDENTITY_FILE = "bench/fixtures/v1-identity.ts";
export const IDENTITY_MODEL = "identity";
export const IDENTITY_BODY = '{"instances":[[1,2,3,4]]}';
export const IDENTITY_ANSWER = '{"predictions":[[1,2,3,4]]}';
export const MLP_FILE = "test/fixtures/models/mlp/model.onnx";
export const MLP_MODEL = "mlp";
const MLP_COLS = 256;
const MLP_OUT = 10;
const JSON_HEADERS = { "content-type": "application/json" };

/** The one MLP row every (c) request sends: deterministic, 6 decimals. */
export const MLP_ROW = Array.from({ length: MLP_COLS }, (_, i) => Number(Math.sin(i * 0.37).toFixed(6)));
export const MLP_V2_BODY = JSON.stringify({
  inputs: [{ name: "x", shape: [1, MLP_COLS], datatype: "FP32", data: MLP_ROW }],
});

/** A request as sent: path, headers, body. */
export interface EngineRequest {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

function jsonRequest(path: string, body: string): EngineRequest {
  return { path, headers: JSON_HEADERS, body: Buffer.from(body) };
}

/** The (c) request: the row as V2 JSON, or as a V2 binary tensor (JSON header + 1 KiB of FP32; JSON answer). */
export function mlpRequest(encoding: "json" | "binary"): EngineRequest {
  const path = `/v2/models/${MLP_MODEL}/infer`;
  if (encoding === "json") return jsonRequest(path, MLP_V2_BODY);
  const tensor = Buffer.alloc(MLP_COLS * 4);
  for (const [i, v] of MLP_ROW.entries()) tensor.writeFloatLE(v, i * 4);
  const header = Buffer.from(
    JSON.stringify({ inputs: [{ name: "x", shape: [1, MLP_COLS], datatype: "FP32", parameters: { binary_data_size: tensor.length } }] }),
  );
  return {
    path,
    headers: { "content-type": "application/octet-stream", "inference-header-content-length": String(header.length) },
    body: Buffer.concat([header, tensor]),
  };
}

/** Session options as OnnxModel's defaults (src/runtime/onnx/onnx-model.ts): the in-process side runs the same. */
const ORT_OPTIONS: InferenceSession.SessionOptions = {
  executionProviders: ["cpu"],
  graphOptimizationLevel: "all",
  intraOpNumThreads: 1,
};

// ---------------------------------------------------------------------------------------------------------------
// Results

export interface ProcessMemory {
  pid: number;
  /** A descendant that is not node (e.g. tsx's esbuild service) is "other". */
  role: "main" | "primary" | "worker" | "other";
  /** /proc/<pid>/comm. */
  name: string;
  rssKiB: number;
  hwmKiB: number;
}

export interface MemorySnapshot {
  processes: ProcessMemory[];
  rssKiB: number;
  hwmKiB: number;
}

export interface HealthSummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers other than 200, or no answer. */
  failed: number;
  errors: string[];
}

export interface BatchStats {
  /** Model runs and rows over the measured window (deltas of tserve_batch_size_count / _sum). */
  runs: number;
  rows: number;
  mean: number;
  /** Share of runs per histogram bucket (upper bound → fraction), measured window only. */
  buckets: [le: string, share: number][];
}

/** One server under one load (or not measured, and why). */
export interface LoadCell {
  id: string;
  title: string;
  server: string;
  request: string;
  skipped?: string;
  load?: LoadResult;
  health?: HealthSummary;
  batch?: BatchStats;
  memIdle?: MemorySnapshot;
  memAfter?: MemorySnapshot;
  responseBody?: string;
}

export interface MlpCell extends LoadCell {
  /** "http-floor": bare node:http reading and JSON.parse()ing the same request, no inference (bench/baselines/bare-http.ts). */
  kind: "batched" | "unbatched" | "loop-batched" | "loop-unbatched" | "http-floor";
  settings: Record<string, number>;
  delayUs?: number;
}

export interface InProcessBatch {
  batch: number;
  runs: number;
  seconds: number;
  runsPerSec: number;
  rowsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export interface BigBodyCell {
  id: string;
  title: string;
  server: string;
  path: string;
  request: string;
  bodyBytes: number;
  rows: number;
  skipped?: string;
  status?: number;
  error?: string;
  requestMs?: number;
  /** Health answers that overlapped the request. */
  health?: HealthSummary;
  /** timeWeightedP99 over the request. */
  healthTimeP99Ms?: number;
  /** Health answers in the idle ~0.5 s before it. */
  healthBefore?: HealthSummary;
  memAfter?: MemorySnapshot;
}

export type Verdict = "PASS" | "FAIL" | "INVALID";

export interface TargetCheck {
  id: string;
  goal: string;
  measured: string;
  verdict: Verdict;
  /** Expected to fail today (documented in the issue). */
  expectedFail?: boolean;
}

export interface EngineRun {
  startedAt: Date;
  finishedAt: Date;
  command: string;
  machine: MachineInfo;
  settings: EngineSettings;
  loadAverage: { start: number[]; end: number[] };
  targets: TargetInfo[];
  identity: LoadCell[];
  iris: LoadCell[];
  mlp: MlpCell[];
  bestDelayUs?: number;
  big: BigBodyCell[];
  inProcess: InProcessBatch[];
  inProcessError?: string;
  checks: TargetCheck[];
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// /proc: memory of a server and its workers

function statusKiB(pid: number): { rss: number; hwm: number; name: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(text)?.[1] ?? Number.NaN);
    const name = /^Name:\s+(.*)$/m.exec(text)?.[1]?.trim() ?? "?";
    return { rss: field("VmRSS"), hwm: field("VmHWM"), name };
  } catch {
    return undefined;
  }
}

/** Direct children of `pid`: /proc/<pid>/task/<tid>/children, else `pgrep -P`. */
function childrenOf(pid: number): number[] {
  const out = new Set<number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim().split(/\s+/)) {
          if (c !== "") out.add(Number(c));
        }
      } catch {
        // thread gone, or the kernel lacks CONFIG_PROC_CHILDREN
      }
    }
  } catch {
    return [];
  }
  if (out.size === 0) {
    try {
      for (const c of execFileSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).trim().split(/\s+/)) {
        if (c !== "") out.add(Number(c));
      }
    } catch {
      // none (pgrep exits 1), or no pgrep
    }
  }
  return [...out];
}

/** RSS and peak RSS of the server process and every descendant (--workers: the primary and its workers). */
export function memoryOf(pid: number): MemorySnapshot | undefined {
  const own = statusKiB(pid);
  if (!own) return undefined;
  const descendants: number[] = [];
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const next = queue.shift()!;
    descendants.push(next);
    queue.push(...childrenOf(next));
  }
  const others: ProcessMemory[] = [];
  for (const d of descendants) {
    const m = statusKiB(d);
    if (m) others.push({ pid: d, role: m.name === own.name ? "worker" : "other", name: m.name, rssKiB: m.rss, hwmKiB: m.hwm });
  }
  const primary = others.some((p) => p.role === "worker");
  const processes: ProcessMemory[] = [
    { pid, role: primary ? "primary" : "main", name: own.name, rssKiB: own.rss, hwmKiB: own.hwm },
    ...others,
  ];
  return {
    processes,
    rssKiB: processes.reduce((s, p) => s + p.rssKiB, 0),
    hwmKiB: processes.reduce((s, p) => s + p.hwmKiB, 0),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The health probe (engine-probe.ts in its own process)

class Probe {
  private constructor(
    private readonly child: ChildProcess,
    private readonly messages: ProbeMessage[],
    private readonly waiters: ((m: ProbeMessage) => void)[],
  ) {}

  static async start(config: BenchConfig): Promise<Probe> {
    const child = fork(join(config.rootDir, "bench/engine-probe.ts"), [], {
      cwd: config.rootDir,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    const messages: ProbeMessage[] = [];
    const waiters: ((m: ProbeMessage) => void)[] = [];
    child.on("message", (m: ProbeMessage) => {
      const waiter = waiters.shift();
      if (waiter) waiter(m);
      else messages.push(m);
    });
    const probe = new Probe(child, messages, waiters);
    const first = await probe.next(30_000);
    if (first.type !== "ready") throw new Error(`health probe said ${JSON.stringify(first)}`);
    return probe;
  }

  private next(timeoutMs: number): Promise<ProbeMessage> {
    const queued = this.messages.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error("health probe exited"));
      const timer = setTimeout(() => {
        this.child.off("exit", onExit);
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`health probe silent for ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (m: ProbeMessage) => {
        clearTimeout(timer);
        this.child.off("exit", onExit);
        resolve(m);
      };
      this.child.once("exit", onExit);
      this.waiters.push(waiter);
    });
  }

  private send(command: ProbeCommand): void {
    this.child.send(command);
  }

  begin(url: string, intervalMs: number): void {
    this.send({ type: "start", url, intervalMs });
  }

  async end(): Promise<{ samples: ProbeSample[]; errors: string[] }> {
    this.send({ type: "stop" });
    const m = await this.next(180_000);
    if (m.type !== "result") throw new Error(`health probe: ${m.type === "error" ? m.message : m.type}`);
    return { samples: m.samples, errors: m.errors };
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
    if (this.child.exitCode === null) this.child.kill();
  }
}

function healthOf(samples: ProbeSample[], errors: string[]): HealthSummary {
  const ok = new SampleBuffer();
  let failed = 0;
  for (const [, ms, status] of samples) {
    // A failed poll counts in the latency too: it is time the health check went unanswered.
    ok.push(ms);
    if (status !== 200) failed++;
  }
  const s = summarize(ok.values());
  return { samples: samples.length, p50Ms: s.p50, p99Ms: s.p99, maxMs: s.max, failed, errors };
}

/**
 * The p99 wait of a health check arriving at a uniformly random moment of [fromEpochMs, toEpochMs] — what a kubelet
 * probe would see — reconstructed from the poll timeline: a check arriving at t while a poll [start, start + ms] was
 * outstanding waits until that poll's answer, start + ms - t; between polls it waits ~0. Unlike the p99 over polls
 * (one sample per stall however long, since polls go one at a time), it weighs a stall by how long it lasted.
 */
export function timeWeightedP99(samples: ProbeSample[], fromEpochMs: number, toEpochMs: number, resolutionMs = 0.25): number {
  const span = toEpochMs - fromEpochMs;
  if (!(span > 0)) return Number.NaN;
  const n = Math.ceil(span / resolutionMs);
  const wait = new Float64Array(n);
  for (const [start, ms] of samples) {
    const end = start + ms;
    const first = Math.max(0, Math.ceil((start - fromEpochMs) / resolutionMs));
    const last = Math.min(n - 1, Math.floor((end - fromEpochMs) / resolutionMs));
    for (let i = first; i <= last; i++) wait[i] = Math.max(wait[i], end - (fromEpochMs + i * resolutionMs));
  }
  return summarize(wait).p99;
}

/** Samples whose request overlapped [fromEpochMs, toEpochMs]. */
function overlapping(samples: ProbeSample[], fromEpochMs: number, toEpochMs: number): ProbeSample[] {
  return samples.filter(([start, ms]) => start <= toEpochMs && start + ms >= fromEpochMs);
}

// ---------------------------------------------------------------------------------------------------------------
// Requests, answers, metrics

async function sendOnce(baseUrl: string, request: EngineRequest): Promise<CapturedResponse> {
  const res = await fetch(new URL(request.path, baseUrl), {
    method: "POST",
    headers: request.headers,
    body: request.body,
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

function snippet(text: string): string {
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}

/** Exactly the identity answer. */
function checkIdentity(res: CapturedResponse): CheckResult {
  const text = res.body.toString("utf8");
  if (res.status !== 200) return { ok: false, error: `HTTP ${res.status}: ${snippet(text)}` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `not JSON: ${snippet(text)}` };
  }
  if (JSON.stringify(json) !== IDENTITY_ANSWER) return { ok: false, error: `answered ${snippet(text)}, expected ${IDENTITY_ANSWER}` };
  return { ok: true, values: [[1, 2, 3, 4]] };
}

async function scrapeBatchCounters(baseUrl: string, model: string): Promise<Map<string, number> | undefined> {
  try {
    const res = await fetch(new URL("/metrics", baseUrl), { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status !== 200) return undefined;
    const out = new Map<string, number>();
    for (const line of text.split("\n")) {
      const m = /^tserve_batch_size_(bucket|sum|count)\{([^}]*)\}\s+(\S+)/.exec(line);
      if (!m || !m[2].includes(`model_name="${model}"`)) continue;
      const le = /le="([^"]*)"/.exec(m[2])?.[1];
      out.set(m[1] === "bucket" ? `le:${le}` : m[1], Number(m[3]));
    }
    return out;
  } catch {
    return undefined;
  }
}

function batchDelta(before: Map<string, number> | undefined, after: Map<string, number> | undefined): BatchStats | undefined {
  if (!after) return undefined;
  const delta = (key: string) => (after.get(key) ?? 0) - (before?.get(key) ?? 0);
  const runs = delta("count");
  const rows = delta("sum");
  if (!(runs > 0)) return undefined;
  const buckets: [string, number][] = [];
  let previous = 0;
  for (const key of after.keys()) {
    if (!key.startsWith("le:")) continue;
    const cumulative = delta(key);
    const share = (cumulative - previous) / runs;
    previous = cumulative;
    if (share > 0) buckets.push([key.slice(3), share]);
  }
  return { runs, rows, mean: rows / runs, buckets };
}

function describe(label: string, r: LoadResult, health?: HealthSummary, batch?: BatchStats): string {
  const flag = isInvalid(r) ? `  <-- ${r.non2xx} FAILED, ${r.errors} ERRORS ${JSON.stringify(r.statusCodes)}` : "";
  const h = health ? `  health p99 ${health.p99Ms.toFixed(1)} ms max ${health.maxMs.toFixed(1)} ms (${health.samples})` : "";
  const b = batch ? `  mean batch ${batch.mean.toFixed(1)}` : "";
  return (
    `${label.padEnd(44)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  ` +
    `p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms${b}${h}${flag}`
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Servers

function tserveArgs(config: BenchConfig, port: number, model: string[], extra: string[] = []): string[] {
  return [config.tserveBin, "serve", ...model, "--http_port", String(port), "--enable_grpc", "false", "--host", HOST, ...extra];
}

/** Ready once the readiness route answers 200 and the process printed `text` (a --workers primary: all listen). */
function readyWhen(config: BenchConfig, text: string) {
  return async (proc: ManagedProcess, port: number): Promise<number> => {
    const started = performance.now();
    await waitForHttpOk(proc, `http://${HOST}:${port}${READY_PATH}`, config.readyTimeoutMs);
    while (!proc.sawOutput(text)) {
      if (!proc.isRunning()) throw new Error(`${proc.name} exited before printing "${text}"\n${proc.tail()}`);
      if (performance.now() - started > config.readyTimeoutMs) {
        throw new Error(`${proc.name} never printed "${text}"\n${proc.tail()}`);
      }
      await sleep(50);
    }
    return performance.now() - started;
  };
}

function bareEcho(config: BenchConfig, workers: number): () => Promise<Target> {
  return () =>
    launch(
      config,
      `engine-bare-echo-w${workers}`,
      workers === 1 ? "bare node:http echo" : `bare node:http echo, ${workers} cluster workers`,
      (port) => ["--import", "tsx", "bench/baselines/bare-http-cluster.ts", "--port", String(port), "--host", HOST, "--workers", String(workers)],
      workers === 1 ? undefined : readyWhen(config, `${workers} workers listening`),
    );
}

function bareCanned(config: BenchConfig, id: string): () => Promise<Target> {
  return () =>
    launch(config, id, "bare node:http", (port) => [
      "--import",
      "tsx",
      "bench/baselines/bare-http.ts",
      "--port",
      String(port),
      "--host",
      HOST,
    ]);
}

/** A temp repository holding the MLP with one model-settings.json. */
function mlpRepository(root: string, id: string, settings: Record<string, number>, config: BenchConfig): string {
  const repo = join(root, id);
  mkdirSync(join(repo, MLP_MODEL, "1"), { recursive: true });
  copyFileSync(join(config.rootDir, MLP_FILE), join(repo, MLP_MODEL, "1", "model.onnx"));
  writeFileSync(join(repo, MLP_MODEL, "model-settings.json"), `${JSON.stringify(settings)}\n`);
  return repo;
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring

interface MeasureOptions {
  probe?: Probe;
  probeIntervalMs: number;
  /** Scrape tserve_batch_size for this model around the measured run. */
  metricsModel?: string;
}

/** Warm-up (discarded), then the measured run: batch counters and health polling around it, memory right after. */
async function measure(
  ctx: StageContext,
  cell: LoadCell,
  target: Target,
  request: EngineRequest,
  connections: number,
  settings: EngineSettings,
  options: MeasureOptions,
): Promise<void> {
  if (!target.process.isRunning()) {
    cell.skipped = `${target.label} is no longer running`;
    ctx.shout([`${target.label} is no longer running; skipping ${cell.title}`, target.process.tail(10)]);
    return;
  }
  const spec = { method: "POST" as const, ...request };
  const common = { baseUrl: target.baseUrl, request: spec, connections, warmupSec: 0 };
  const warm = await runLoad({ ...common, durationSec: settings.warmupSec, title: `engine ${cell.id} warm-up` });
  const before = options.metricsModel ? await scrapeBatchCounters(target.baseUrl, options.metricsModel) : undefined;
  options.probe?.begin(new URL("/v2/health/live", target.baseUrl).href, options.probeIntervalMs);
  let result: LoadResult;
  try {
    result = await runLoad({ ...common, durationSec: settings.durationSec, title: `engine ${cell.id}` });
  } finally {
    cell.memAfter = memoryOf(target.process.pid);
    if (options.probe) {
      const { samples, errors } = await options.probe.end();
      cell.health = healthOf(samples, errors);
    }
  }
  if (options.metricsModel) cell.batch = batchDelta(before, await scrapeBatchCounters(target.baseUrl, options.metricsModel));
  cell.load = { ...result, warmupNon2xx: warm.non2xx, warmupErrors: warm.errors };
  ctx.log(describe(`${cell.title} (${target.label}) c=${connections}`, cell.load, cell.health, cell.batch));
  if (isInvalid(result)) {
    ctx.shout([
      `${cell.title} (${target.label}) with ${connections} connections:`,
      `${result.non2xx} failed responses (${JSON.stringify(result.statusCodes)}), ${result.errors} errors.`,
      "These figures measure error handling, not the engine. The row is marked INVALID.",
    ]);
  }
}

/** Sends the request once and checks the answer; on failure marks the cell skipped and says why. */
async function preflight(
  ctx: StageContext,
  cell: LoadCell,
  target: Target | undefined,
  request: EngineRequest,
  check: (res: CapturedResponse) => CheckResult,
): Promise<CheckResult | undefined> {
  if (!target) {
    cell.skipped = "server not running";
    return undefined;
  }
  cell.server = target.label;
  let result: CheckResult;
  try {
    const res = await sendOnce(target.baseUrl, request);
    result = check(res);
    if (result.ok) cell.responseBody = res.body.toString("utf8");
  } catch (err) {
    result = { ok: false, error: `request failed: ${(err as Error).message}` };
  }
  if (!result.ok) {
    cell.skipped = `failed pre-flight: ${result.error}`;
    ctx.shout([`engine ${cell.title} (${target.label}) NOT benchmarked:`, ...result.error.split("\n")]);
    return undefined;
  }
  ctx.log(`pre-flight ${cell.title} (${target.label}): OK ${snippet(cell.responseBody ?? "")}`);
  return result;
}

/** Waits for the fresh server to settle, then reads its memory: idle, model loaded, no request served yet. */
async function idleMemory(target: Target | undefined): Promise<MemorySnapshot | undefined> {
  if (!target) return undefined;
  await sleep(1_000);
  return memoryOf(target.process.pid);
}

function newCell(id: string, title: string, request: string): LoadCell {
  return { id, title, server: "(not started)", request };
}

// ---------------------------------------------------------------------------------------------------------------
// In-process onnxruntime

async function inProcessReference(config: BenchConfig): Promise<number[]> {
  const session = await InferenceSession.create(join(config.rootDir, MLP_FILE), ORT_OPTIONS);
  try {
    const out = await session.run({ x: new Tensor("float32", Float32Array.from(MLP_ROW), [1, MLP_COLS]) }, ["y"]);
    return Array.from(out.y.data as Float32Array);
  } finally {
    await session.release();
  }
}

/** session.run on `batch` rows back to back for `seconds` (after a quarter of that as warm-up). */
async function timeBatches(config: BenchConfig, batches: number[], seconds: number, log: (m: string) => void): Promise<InProcessBatch[]> {
  const session = await InferenceSession.create(join(config.rootDir, MLP_FILE), ORT_OPTIONS);
  const out: InProcessBatch[] = [];
  try {
    for (const batch of batches) {
      const data = new Float32Array(batch * MLP_COLS);
      for (let r = 0; r < batch; r++) data.set(MLP_ROW, r * MLP_COLS);
      // A fresh tensor per call, as the server builds one per batch.
      const once = () => session.run({ x: new Tensor("float32", data, [batch, MLP_COLS]) }, ["y"]);
      const warmUntil = performance.now() + (seconds * 1000) / 4;
      while (performance.now() < warmUntil) await once();
      const samples = new SampleBuffer();
      const t0 = performance.now();
      const until = t0 + seconds * 1000;
      let runs = 0;
      while (performance.now() < until) {
        const s = performance.now();
        await once();
        samples.push(performance.now() - s);
        runs++;
      }
      const elapsed = (performance.now() - t0) / 1000;
      const summary = summarize(samples.values());
      const result: InProcessBatch = {
        batch,
        runs,
        seconds: elapsed,
        runsPerSec: runs / elapsed,
        rowsPerSec: (runs * batch) / elapsed,
        p50Ms: summary.p50,
        p99Ms: summary.p99,
      };
      log(
        `in-process session.run batch ${batch}: ${result.runsPerSec.toFixed(0)} runs/s = ${result.rowsPerSec.toFixed(0)} rows/s, ` +
          `p50 ${result.p50Ms.toFixed(2)} ms`,
      );
      out.push(result);
    }
  } finally {
    await session.release();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The big body

/** `{"instances": [[256 floats], …]}` up to `bytes` long (16 distinct rows, repeated). */
export function bigV1Body(bytes: number): { body: Buffer; rows: number } {
  const distinct = Array.from(
    { length: 16 },
    (_, r) => `[${Array.from({ length: MLP_COLS }, (_, c) => Math.sin(r * MLP_COLS + c).toFixed(6)).join(",")}]`,
  );
  const head = '{"instances":[';
  const tail = "]}";
  const parts: string[] = [];
  let size = head.length + tail.length;
  for (;;) {
    const next = distinct[parts.length % distinct.length];
    const add = next.length + (parts.length > 0 ? 1 : 0);
    if (size + add > bytes) break;
    parts.push(next);
    size += add;
  }
  return { body: Buffer.from(head + parts.join(",") + tail), rows: parts.length };
}

function postBig(baseUrl: string, path: string, body: Buffer): Promise<{ status: number; responseBytes: number; response: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(path, baseUrl),
      { method: "POST", headers: { ...JSON_HEADERS, "content-length": body.length }, timeout: 300_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const response = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, responseBytes: response.length, response });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 300 s")));
    req.on("error", reject);
    req.end(body);
  });
}

async function measureBig(
  ctx: StageContext,
  cell: BigBodyCell,
  target: Target | undefined,
  body: Buffer,
  probe: Probe | undefined,
  settings: EngineSettings,
  expectRows: number | undefined,
): Promise<void> {
  if (!target) {
    cell.skipped = "server not running";
    return;
  }
  cell.server = target.label;
  if (!probe) {
    cell.skipped = "no health probe";
    return;
  }
  probe.begin(new URL("/v2/health/live", target.baseUrl).href, settings.probeIntervalMs);
  await sleep(500);
  const from = performance.timeOrigin + performance.now();
  const t0 = performance.now();
  try {
    const res = await postBig(target.baseUrl, cell.path, body);
    cell.status = res.status;
    if (res.status !== 200) cell.error = `HTTP ${res.status}: ${snippet(res.response.subarray(0, 300).toString("utf8"))}`;
    else if (expectRows !== undefined) {
      const got = (JSON.parse(res.response.toString("utf8")) as { predictions?: unknown[] }).predictions;
      if (!Array.isArray(got) || got.length !== expectRows) cell.error = `answered ${Array.isArray(got) ? got.length : "no"} rows, expected ${expectRows}`;
    }
  } catch (err) {
    cell.error = (err as Error).message;
  }
  cell.requestMs = performance.now() - t0;
  const to = performance.timeOrigin + performance.now();
  cell.memAfter = memoryOf(target.process.pid);
  await sleep(300);
  const { samples, errors } = await probe.end();
  cell.health = healthOf(overlapping(samples, from, to), errors);
  cell.healthTimeP99Ms = timeWeightedP99(samples, from, to);
  cell.healthBefore = healthOf(
    samples.filter(([start, ms]) => start + ms < from),
    [],
  );
  ctx.log(
    `${cell.title} (${target.label}): ${(cell.bodyBytes / 2 ** 20).toFixed(1)} MiB in ${cell.requestMs.toFixed(0)} ms, ` +
      `status ${cell.status ?? "—"}${cell.error ? ` (${cell.error})` : ""}; health during it: ${cell.health.samples} answers, ` +
      `p99 ${cell.health.p99Ms.toFixed(1)} ms, max ${cell.health.maxMs.toFixed(1)} ms; time-weighted p99 ${cell.healthTimeP99Ms.toFixed(1)} ms`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Targets

function valid(cell: LoadCell | undefined): cell is LoadCell & { load: LoadResult } {
  return cell?.load !== undefined && !isInvalid(cell.load) && cell.load.requestsPerSec > 0;
}

function ratioCheck(id: string, goal: string, subject: LoadCell | undefined, base: LoadCell | undefined, min: number): TargetCheck {
  if (!valid(subject) || !valid(base)) return { id, goal, measured: "not measured", verdict: "INVALID" };
  const ratio = subject.load.requestsPerSec / base.load.requestsPerSec;
  return {
    id,
    goal,
    measured: `${(ratio * 100).toFixed(1)} % (${subject.load.requestsPerSec.toFixed(0)} vs ${base.load.requestsPerSec.toFixed(0)} req/s)`,
    verdict: ratio >= min ? "PASS" : "FAIL",
  };
}

export function inProcessFor(run: Pick<EngineRun, "inProcess">, cell: MlpCell): InProcessBatch | undefined {
  const batch = meanBatch(cell);
  if (batch === undefined) return undefined;
  return run.inProcess.find((r) => r.batch === Math.max(1, Math.round(batch)));
}

/** Mean rows per run over the measured window; 1 for a server without a batcher (no histogram). */
export function meanBatch(cell: MlpCell): number | undefined {
  if (cell.batch) return cell.batch.mean;
  return cell.kind === "loop-unbatched" && valid(cell) ? 1 : undefined;
}

function computeChecks(run: EngineRun): TargetCheck[] {
  const id = (cells: LoadCell[], which: string) => cells.find((c) => c.id === which);
  const checks: TargetCheck[] = [
    ratioCheck(
      "a1",
      "identity V1 :predict, 32 conns: tserve --workers 1 ≥ 80 % of bare node:http",
      id(run.identity, "tserve-w1"),
      id(run.identity, "bare-w1"),
      0.8,
    ),
    ratioCheck(
      "a2",
      "identity V1 :predict, 32 conns: tserve --workers 2 ≥ 80 % of bare node:http on 2 cluster workers",
      id(run.identity, "tserve-w2"),
      id(run.identity, "bare-w2"),
      0.8,
    ),
    ratioCheck("b", "iris V1 :predict, 32 conns: tserve ≥ 70 % of bare node:http", id(run.iris, "tserve"), id(run.iris, "bare"), 0.7),
  ];
  const best = run.mlp.find((c) => c.kind === "batched" && c.delayUs === run.bestDelayUs);
  const unbatched = run.mlp.find((c) => c.kind === "unbatched");
  const ip = best ? inProcessFor(run, best) : undefined;
  const bestName = best ? `batching on (delay ${best.delayUs} µs)` : "batching on";
  if (valid(best) && ip) {
    const ratio = best.load.requestsPerSec / ip.rowsPerSec;
    checks.push({
      id: "c-i",
      goal: `MLP 1 row/request, 64 conns, ${bestName}: ≥ 90 % of in-process session.run rows/s at the mean batch size`,
      measured: `${(ratio * 100).toFixed(1)} % (${best.load.requestsPerSec.toFixed(0)} vs ${ip.rowsPerSec.toFixed(0)} rows/s at batch ${ip.batch})`,
      verdict: ratio >= 0.9 ? "PASS" : "FAIL",
    });
  } else {
    checks.push({ id: "c-i", goal: `MLP ${bestName}: ≥ 90 % of in-process rows/s`, measured: "not measured", verdict: "INVALID" });
  }
  if (valid(best) && valid(unbatched)) {
    const ratio = best.load.requestsPerSec / unbatched.load.requestsPerSec;
    checks.push({
      id: "c-ii",
      goal: `MLP 1 row/request, 64 conns: ${bestName} ≥ 3× batching off`,
      measured: `${ratio.toFixed(2)}× (${best.load.requestsPerSec.toFixed(0)} vs ${unbatched.load.requestsPerSec.toFixed(0)} rows/s)`,
      verdict: ratio >= 3 ? "PASS" : "FAIL",
    });
  } else {
    checks.push({ id: "c-ii", goal: "MLP batching on ≥ 3× batching off", measured: "not measured", verdict: "INVALID" });
  }
  const h = best?.health;
  checks.push(
    h && h.samples > 0 && valid(best)
      ? {
          id: "d",
          goal: `GET /v2/health/live p99 < 50 ms while (c) ${bestName} saturates the server`,
          measured: `p99 ${h.p99Ms.toFixed(1)} ms, max ${h.maxMs.toFixed(1)} ms (${h.samples} polls${h.failed > 0 ? `, ${h.failed} failed` : ""})`,
          verdict: h.failed > 0 ? "FAIL" : h.p99Ms < 50 ? "PASS" : "FAIL",
        }
      : { id: "d", goal: "GET /v2/health/live p99 < 50 ms during (c)", measured: "not measured", verdict: "INVALID" },
  );
  const big = run.big.find((b) => b.id === "tserve");
  const bh = big?.health;
  const tw = big?.healthTimeP99Ms ?? Number.NaN;
  checks.push(
    big && bh && bh.samples > 0 && big.status === 200 && !big.error
      ? {
          id: "e",
          goal: `GET /v2/health/live p99 < 100 ms while a ${(big.bodyBytes / 2 ** 20).toFixed(0)} MiB V1 JSON body is decoded (over polls and time-weighted)`,
          measured:
            `p99 over polls ${bh.p99Ms.toFixed(1)} ms, time-weighted p99 ${tw.toFixed(1)} ms, max ${bh.maxMs.toFixed(1)} ms ` +
            `(${bh.samples} polls during a ${big.requestMs?.toFixed(0)} ms request)`,
          verdict: bh.failed > 0 ? "FAIL" : bh.p99Ms < 100 && tw < 100 ? "PASS" : "FAIL",
          expectedFail: true,
        }
      : {
          id: "e",
          goal: "GET /v2/health/live p99 < 100 ms during a big JSON decode",
          measured: big?.error ?? big?.skipped ?? "not measured",
          verdict: "INVALID",
          expectedFail: true,
        },
  );
  return checks;
}

/** Every problem that makes some figure untrustworthy. */
export function engineFailures(run: EngineRun): string[] {
  const out: string[] = [];
  for (const cell of [...run.identity, ...run.iris, ...run.mlp]) {
    const where = `${cell.title} (${cell.server})`;
    if (cell.skipped) out.push(`${where}: not measured — ${cell.skipped}`);
    else if (cell.load) out.push(...problems(cell.load, where));
    if (cell.health && cell.health.failed > 0) out.push(`${where}: ${cell.health.failed} health polls failed (${cell.health.errors[0] ?? "non-200"})`);
  }
  for (const b of run.big) {
    if (b.skipped) out.push(`${b.title} (${b.server}): not measured — ${b.skipped}`);
    else if (b.error) out.push(`${b.title} (${b.server}): ${b.error}`);
  }
  if (run.inProcessError) out.push(`in-process onnxruntime: ${run.inProcessError}`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The stage

export async function runEngineStage(ctx: StageContext): Promise<{ failures: string[]; failedTargets: number }> {
  const { config, log } = ctx;
  const settings = engineSettings(config);
  mkdirSync(config.outDir, { recursive: true });
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const warnings: string[] = [];
  log(
    `engine stage: ${settings.warmupSec} s warm-up + ${settings.durationSec} s measured per cell; batching delays ` +
      `${settings.delaysUs.join(", ")} µs; health poll every ${settings.probeIntervalMs} ms; big body ${settings.bodyMiB} MiB`,
  );

  let reference: number[] | undefined;
  try {
    reference = await inProcessReference(config);
  } catch (err) {
    warnings.push(`in-process reference answer for the MLP not computed: ${(err as Error).message}`);
  }

  const run: EngineRun = {
    startedAt,
    finishedAt: startedAt,
    command: ctx.command,
    machine: machineInfo(),
    settings,
    loadAverage: { start: loadAtStart, end: loadAtStart },
    targets: [],
    identity: [],
    iris: [],
    mlp: [],
    big: [],
    inProcess: [],
    checks: [],
    warnings,
  };

  const started: Target[] = [];
  const everStarted: Target[] = [];
  const repoRoot = mkdtempSync(join(tmpdir(), "tserve-bench-engine-"));
  let probe: Probe | undefined;
  const start = async (what: string, fn: () => Promise<Target>) => {
    const t = await tryStart(ctx, what, fn, started, warnings);
    if (t) everStarted.push(t);
    return t;
  };
  const stop = async (...targets: (Target | undefined)[]) => {
    for (const t of targets) {
      if (!t) continue;
      await checkHealth([t], config, warnings);
      await t.process.stop();
      const i = started.indexOf(t);
      if (i >= 0) started.splice(i, 1);
    }
  };
  try {
    try {
      probe = await Probe.start(config);
    } catch (err) {
      warnings.push(`health probe not started, no health figures: ${(err as Error).message}`);
    }
    const measureOptions = { probeIntervalMs: settings.probeIntervalMs };

    // (a) identity: --workers 1 and 2 against bare node:http on 1 process and on 2 cluster workers.
    {
      const path = `/v1/models/${IDENTITY_MODEL}:predict`;
      const request = jsonRequest(path, IDENTITY_BODY);
      const identityModel = [IDENTITY_FILE, "--model_name", IDENTITY_MODEL];
      const legs: { cell: LoadCell; startFn: () => Promise<Target>; what: string }[] = [
        {
          cell: newCell("tserve-w1", "identity, tserve --workers 1", `POST ${path}`),
          what: "tserve --workers 1 (identity)",
          startFn: () =>
            launch(config, "engine-tserve-w1", "tserve --workers 1", (port) => tserveArgs(config, port, identityModel, ["--workers", "1"])),
        },
        { cell: newCell("bare-w1", "identity, bare node:http", `POST ${path}`), what: "bare node:http echo", startFn: bareEcho(config, 1) },
        {
          cell: newCell("bare-w2", "identity, bare node:http ×2 cluster", `POST ${path}`),
          what: "bare node:http echo on 2 cluster workers",
          startFn: bareEcho(config, 2),
        },
        {
          cell: newCell("tserve-w2", "identity, tserve --workers 2", `POST ${path}`),
          what: "tserve --workers 2 (identity)",
          startFn: () =>
            launch(
              config,
              "engine-tserve-w2",
              "tserve --workers 2",
              (port) => tserveArgs(config, port, identityModel, ["--workers", "2"]),
              readyWhen(config, "2 workers listening"),
            ),
        },
      ];
      const targets: (Target | undefined)[] = [];
      for (const leg of legs) {
        const t = await start(leg.what, leg.startFn);
        targets.push(t);
        run.identity.push(leg.cell);
      }
      for (const [i, leg] of legs.entries()) leg.cell.memIdle = await idleMemory(targets[i]);
      const ok: boolean[] = [];
      for (const [i, leg] of legs.entries()) ok.push((await preflight(ctx, leg.cell, targets[i], request, checkIdentity)) !== undefined);
      const [t1, b1] = [legs[0].cell.responseBody, legs[1].cell.responseBody];
      if (t1 !== undefined && b1 !== undefined && t1 !== b1) warnings.push(`identity: bare answer ${b1} differs in bytes from tserve's ${t1}`);
      // tserve 1, bare 1, bare 2, tserve 2: each pair back to back.
      for (const [i, leg] of legs.entries()) {
        if (ok[i]) await measure(ctx, leg.cell, targets[i]!, request, settings.connections, settings, measureOptions);
      }
      await stop(...targets);
    }

    // (b) iris ONNX against bare node:http (canned answer, as the core stage).
    {
      const path = "/v1/models/iris:predict";
      const request = jsonRequest(path, V1_BODY.toString("utf8"));
      const bareCell = newCell("bare", "iris, bare node:http", `POST ${path}`);
      const tserveCell = newCell("tserve", "iris, tserve", `POST ${path}`);
      run.iris.push(tserveCell, bareCell);
      const bare = await start("bare node:http (canned iris answer)", bareCanned(config, "engine-bare-iris"));
      const tserve = await start("tserve (iris)", () =>
        launch(config, "engine-tserve-iris", "tserve", (port) => tserveArgs(config, port, ["--model_repository", "examples/iris/models"])),
      );
      bareCell.memIdle = await idleMemory(bare);
      tserveCell.memIdle = await idleMemory(tserve);
      const check = checkV1Predictions(2, 3);
      const bareOk = await preflight(ctx, bareCell, bare, request, check);
      const tserveOk = await preflight(ctx, tserveCell, tserve, request, check);
      if (bareOk && bare) await measure(ctx, bareCell, bare, request, settings.connections, settings, measureOptions);
      if (tserveOk && tserve) await measure(ctx, tserveCell, tserve, request, settings.connections, settings, measureOptions);
      await stop(bare, tserve);
    }

    // (c) + (d): the MLP, one row per request, batching on with each delay, then off, then on the event loop.
    const mlpReq = mlpRequest(settings.encoding);
    const mlpCheck = (res: CapturedResponse): CheckResult => {
      const result = checkV2Json("y", 1, MLP_OUT, false)(res);
      if (result.ok && reference) {
        const diff = maxAbsDiff(result.values, [reference]);
        if (diff > 1e-3) return { ok: false, error: `answer differs from in-process onnxruntime by ${diff}` };
      }
      return result;
    };
    const mlpCell = async (
      cell: MlpCell,
      after?: (target: Target | undefined) => Promise<void>,
    ): Promise<void> => {
      run.mlp.push(cell);
      const repo = mlpRepository(repoRoot, cell.id, cell.settings, config);
      const target = await start(`tserve (MLP, ${JSON.stringify(cell.settings)})`, () =>
        launch(config, `engine-mlp-${cell.id}`, `tserve (${cell.id})`, (port) => tserveArgs(config, port, ["--model_repository", repo])),
      );
      if (target) target.command = target.command.replace(repo, `<tmp>/${cell.id}`);
      cell.memIdle = await idleMemory(target);
      if (await preflight(ctx, cell, target, mlpReq, mlpCheck)) {
        await measure(ctx, cell, target!, mlpReq, settings.mlpConnections, settings, {
          ...measureOptions,
          probe,
          metricsModel: MLP_MODEL,
        });
      }
      await after?.(target);
      await stop(target);
    };
    const v2Request = `POST ${mlpReq.path} (V2 ${settings.encoding === "json" ? "JSON" : "binary tensor"}, 1×256 FP32, ${mlpReq.body.length} B)`;
    for (const delay of settings.delaysUs) {
      await mlpCell({
        ...newCell(`batched-d${delay}`, `MLP, batching on, delay ${delay} µs`, v2Request),
        kind: "batched",
        delayUs: delay,
        settings: { maxBatchSize: 64, maxQueueDelayMicroseconds: delay, instanceCount: 1 },
      });
    }
    const batched = run.mlp.filter((c) => c.kind === "batched" && valid(c));
    const best = batched.sort((x, y) => y.load!.requestsPerSec - x.load!.requestsPerSec)[0];
    run.bestDelayUs = best?.delayUs ?? settings.delaysUs[0];
    log(`best batching delay: ${run.bestDelayUs} µs${best ? ` (${best.load!.requestsPerSec.toFixed(0)} req/s)` : " (none valid)"}`);

    // (e) runs on the unbatched server once its (c) cell is done.
    const { body: bigBody, rows: bigRows } = bigV1Body(Math.round(settings.bodyMiB * 2 ** 20));
    const bigPath = `/v1/models/${MLP_MODEL}:predict`;
    const bigRequest = `POST ${bigPath} (V1 JSON, ${bigRows}×256 instances)`;
    const bigCell = (id: BigBodyCell["id"]): BigBodyCell => ({
      id,
      title: "big V1 body",
      server: "(not started)",
      path: bigPath,
      request: bigRequest,
      bodyBytes: bigBody.length,
      rows: bigRows,
    });
    await mlpCell(
      {
        ...newCell("unbatched", "MLP, batching off", v2Request),
        kind: "unbatched",
        settings: { instanceCount: 1 },
      },
      async (target) => {
        const cell = bigCell("tserve");
        run.big.push(cell);
        await measureBig(ctx, cell, target, bigBody, probe, settings, bigRows);
      },
    );
    await mlpCell({
      ...newCell("loop-batched", `MLP, batching on (delay ${run.bestDelayUs} µs), instanceCount 0`, v2Request),
      kind: "loop-batched",
      delayUs: run.bestDelayUs,
      settings: { maxBatchSize: 64, maxQueueDelayMicroseconds: run.bestDelayUs, instanceCount: 0 },
    });
    await mlpCell({
      ...newCell("loop-unbatched", "MLP, batching off, instanceCount 0", v2Request),
      kind: "loop-unbatched",
      settings: { instanceCount: 0 },
    });

    // The HTTP floor of (c) — bare node:http taking the same request, no inference — and the (e) contrast: the same
    // server JSON.parse()s the big body (both answer canned bytes).
    {
      const bare = await start("bare node:http (MLP request floor, big body contrast)", bareCanned(config, "engine-bare-mlp"));
      const floor: MlpCell = {
        ...newCell("http-floor", "bare node:http, same request, no inference", v2Request),
        kind: "http-floor",
        settings: {},
      };
      run.mlp.push(floor);
      floor.memIdle = await idleMemory(bare);
      const answered = (res: CapturedResponse): CheckResult =>
        res.status === 200 ? { ok: true, values: [] } : { ok: false, error: `HTTP ${res.status}: ${snippet(res.body.toString("utf8"))}` };
      if (await preflight(ctx, floor, bare, mlpReq, answered)) {
        await measure(ctx, floor, bare!, mlpReq, settings.mlpConnections, settings, { ...measureOptions, probe });
      }
      const cell = bigCell("bare");
      run.big.push(cell);
      await measureBig(ctx, cell, bare, bigBody, probe, settings, undefined);
      await stop(bare);
    }

    // (c)(i): in-process onnxruntime at each server's mean batch size, with no server running.
    const sizes = new Set<number>([1]);
    for (const cell of run.mlp) {
      const mean = meanBatch(cell);
      if (mean !== undefined) sizes.add(Math.max(1, Math.round(mean)));
    }
    try {
      run.inProcess = await timeBatches(config, [...sizes].sort((a, b) => a - b), settings.ortSeconds, log);
    } catch (err) {
      run.inProcessError = (err as Error).message;
    }
  } finally {
    probe?.close();
    for (const t of [...started]) await t.process.stop();
    rmSync(repoRoot, { recursive: true, force: true });
  }

  run.finishedAt = new Date();
  run.loadAverage.end = loadavg();
  run.targets = everStarted.map((t) => ({ id: t.id, label: t.label, command: t.command, readyAfterMs: t.readyAfterMs }));
  run.checks = computeChecks(run);
  const markdown = renderEngineMarkdown(run);
  process.stdout.write(`\n${markdown}\n\n`);

  for (const c of run.checks) {
    log(`target ${c.id}: ${c.verdict}${c.expectedFail && c.verdict === "FAIL" ? " (expected today)" : ""} — ${c.goal}: ${c.measured}`);
  }

  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const jsonPath = join(config.outDir, `engine-${stamp}.json`);
  writeFileSync(jsonPath, `${JSON.stringify(run, null, 2)}\n`);
  log(`raw results: ${relative(config.rootDir, jsonPath)}`);
  if (!config.writeResults) log("BENCH_NO_WRITE set: bench/RESULTS.md left untouched");
  else {
    writeResultsSection(config.resultsPath, markdown, "engine");
    log(`updated ${relative(config.rootDir, config.resultsPath)} (engine section)`);
  }
  return { failures: engineFailures(run), failedTargets: run.checks.filter((c) => c.verdict === "FAIL").length };
}
