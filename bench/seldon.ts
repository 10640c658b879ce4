/**
 * The seldon stage of `npm run bench` (BENCH_STAGES=seldon): what tserve's Seldon Core microservice API costs
 * against the least a Node server must do to give the same answer; writes the seldon section of RESULTS.md.
 *
 * Servers, all started fresh for this stage:
 *   - `tserve serve bench/fixtures/seldon-identity.ts --seldon`: a plain class whose predict(X) returns X,
 *     load-tested through POST /api/v1.0/predictions with an ndarray and a tensor payload (1×4);
 *   - bare node:http (baselines/bare-seldon.ts): reads the body, JSON.parse, builds the same-shaped Seldon
 *     answer, JSON.stringify — the floor;
 *   - GET /health/ping on both of those: a canned reply, i.e. the framework's own cost without protocol work;
 *   - for reference, `tserve serve bench/fixtures/v1-identity.ts`: the same identity as a tserve module model
 *     (a `Model` subclass) through KServe V1 `/v1/models/identity:predict`.
 * Before any server starts, the Seldon protocol work alone (decode, validate, seldonPredict, stringify) is timed
 * in-process against the bare baseline's parse / build / stringify, to split tserve's extra cost.
 *
 * Every endpoint's answer is checked before any load (status 200, JSON, exactly the expected document; the bare
 * answer must be byte-for-byte tserve's). Then, per connection count (default 1 and 16), `BENCH_SELDON_ROUNDS`
 * rounds over all endpoints, the order reversed every round, so tserve and its bare baseline always run back to
 * back (tserve, bare, tserve, bare, … then the other way round; the V1 reference sits next to the bare ndarray
 * run). Each run: a discarded warm-up, then the measured
 * run, with the server process's CPU time (/proc/<pid>/stat) read around it. Figures are medians over rounds.
 *
 * Environment: BENCH_SELDON_DURATION=<s> (default 3 per round), BENCH_SELDON_WARMUP=<s> (default 1),
 * BENCH_SELDON_ROUNDS=<n> (default 3), BENCH_SELDON_CONNECTIONS=1,16; BENCH_QUICK=1 makes it 1 s × 1 round.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, relative } from "node:path";
import { isDeepStrictEqual } from "node:util";
import type { SeldonComponent } from "../packages/server/src/runtime/seldon/component.ts";
import { identity, type SeldonData } from "./baselines/bare-seldon.ts";
import type { CapturedResponse } from "./checks.ts";
import type { BenchConfig } from "./config.ts";
import { isInvalid, type LoadResult, runLoad } from "./load.ts";
import { machineInfo } from "./machine.ts";
import { checkHealth, type StageContext, tryStart } from "./protocols.ts";
import { writeResultsSection } from "./report.ts";
import type { HttpRequestSpec } from "./scenarios.ts";
import { renderSeldonMarkdown, type SeldonRun, seldonFailures } from "./seldon-report.ts";
import { HOST, launch, type RunningTarget } from "./targets.ts";

type Target = RunningTarget<string>;

export type SeldonLegId =
  | "seldon-ndarray"
  | "bare-ndarray"
  | "seldon-tensor"
  | "bare-tensor"
  | "seldon-ping"
  | "bare-ping"
  | "v1-module";
export type PayloadId = "ndarray" | "tensor" | "ping" | "v1";

export interface SeldonSettings {
  /** Measured seconds per endpoint, count and round (BENCH_SELDON_DURATION; 3, quick 1). */
  durationSec: number;
  /** Warm-up seconds before every measured run, discarded (BENCH_SELDON_WARMUP; 1, quick 0.5). */
  warmupSec: number;
  /** Rounds over all endpoints per connection count (BENCH_SELDON_ROUNDS; 3, quick 1). */
  rounds: number;
  /** autocannon connection counts (BENCH_SELDON_CONNECTIONS; default 1,16). */
  connections: number[];
}

function envPositive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

export function seldonSettings(config: BenchConfig): SeldonSettings {
  const connections = (process.env.BENCH_SELDON_CONNECTIONS ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((c) => {
      const n = Number(c);
      if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_SELDON_CONNECTIONS entries must be positive integers, got ${c}`);
      return n;
    });
  return {
    durationSec: envPositive("BENCH_SELDON_DURATION", config.quick ? 1 : 3),
    warmupSec: envPositive("BENCH_SELDON_WARMUP", config.quick ? 0.5 : 1),
    rounds: Math.max(1, Math.round(envPositive("BENCH_SELDON_ROUNDS", config.quick ? 1 : 3))),
    connections: connections.length > 0 ? connections : [1, 16],
  };
}

export const COMPONENT_FILE = "bench/fixtures/seldon-identity.ts";
export const V1_MODULE_FILE = "bench/fixtures/v1-identity.ts";
export const V1_MODEL = "identity";
const JSON_HEADERS = { "content-type": "application/json" };

export const BODIES: Record<PayloadId, string> = {
  ndarray: '{"data":{"ndarray":[[1,2,3,4]]}}',
  tensor: '{"data":{"tensor":{"shape":[1,4],"values":[1,2,3,4]}}}',
  ping: "",
  v1: '{"instances":[[1,2,3,4]]}',
};

const NAMES = ["t:0", "t:1", "t:2", "t:3"];

/** What an identity component must answer: parsed JSON, or (ping) the exact text/plain body. */
export const EXPECTED: Record<PayloadId, unknown> = {
  ndarray: { data: { names: NAMES, ndarray: [[1, 2, 3, 4]] }, meta: {} },
  tensor: { data: { names: NAMES, tensor: { shape: [1, 4], values: [1, 2, 3, 4] } }, meta: {} },
  ping: "pong",
  v1: { predictions: [[1, 2, 3, 4]] },
};

function post(path: string, payload: PayloadId): HttpRequestSpec {
  return { method: "POST", path, headers: JSON_HEADERS, body: Buffer.from(BODIES[payload]) };
}

/** Seldon's liveness route: a canned reply, i.e. what the framework costs without any protocol work. */
const PING: HttpRequestSpec = { method: "GET", path: "/health/ping", headers: {} };

interface SeldonLeg {
  id: SeldonLegId;
  title: string;
  payload: PayloadId;
  side: "tserve" | "bare";
  target: Target | undefined;
  request: HttpRequestSpec;
}

/** One measured run, with the server's CPU time per response (µs) when /proc could be read. */
export interface SeldonRound extends LoadResult {
  cpuUsPerRequest?: number;
}

/** Medians over the rounds of one endpoint at one connection count. */
export interface SeldonCell {
  connections: number;
  rounds: SeldonRound[];
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest?: number;
  /** Sums over the rounds, for the failure columns. */
  responses: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  warmupNon2xx: number;
  warmupErrors: number;
  statusCodes: Record<string, number>;
}

export interface SeldonLegOutcome {
  id: SeldonLegId;
  title: string;
  payload: PayloadId;
  side: "tserve" | "bare";
  server: string;
  path: string;
  requestBody: string;
  responseBody?: string;
  /** Why it was not load-tested. */
  skipped?: string;
  cells: Record<number, SeldonCell | null>;
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (getconf CLK_TCK, almost always 100). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds of a process so far, or undefined where /proc is not available. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

function describe(label: string, r: SeldonRound): string {
  const flag = isInvalid(r) ? `  <-- ${r.non2xx} FAILED, ${r.errors} ERRORS ${JSON.stringify(r.statusCodes)}` : "";
  const cpu = r.cpuUsPerRequest === undefined ? "" : `  cpu ${r.cpuUsPerRequest.toFixed(1)} µs/req`;
  return (
    `${label.padEnd(52)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  ` +
    `p50 ${(r.p50Ms * 1000).toFixed(0)} µs  p99 ${(r.p99Ms * 1000).toFixed(0)} µs${cpu}${flag}`
  );
}

async function sendOnce(baseUrl: string, request: HttpRequestSpec): Promise<CapturedResponse> {
  const res = await fetch(new URL(request.path, baseUrl), {
    method: request.method,
    headers: request.headers,
    body: request.body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

function snippet(body: Buffer): string {
  const text = body.subarray(0, 300).toString("utf8");
  return body.length > 300 ? `${text}...` : text;
}

/**
 * Status 200, a JSON content type and exactly the expected document (ping: text/plain "pong"); returns the body
 * text or the problem.
 */
function checkAnswer(res: CapturedResponse, payload: PayloadId): { ok: true; body: string } | { ok: false; error: string } {
  const expected = EXPECTED[payload];
  if (res.status !== 200) return { ok: false, error: `HTTP ${res.status}: ${snippet(res.body)}` };
  const type = res.headers.get("content-type") ?? "";
  if (payload === "ping") {
    if (!type.startsWith("text/plain")) return { ok: false, error: `content-type ${JSON.stringify(type)}, expected text/plain` };
    const text = res.body.toString("utf8");
    return text === expected ? { ok: true, body: text } : { ok: false, error: `answered ${snippet(res.body)}, expected ${expected}` };
  }
  if (!type.startsWith("application/json")) return { ok: false, error: `content-type ${JSON.stringify(type)}, expected application/json` };
  let json: unknown;
  try {
    json = JSON.parse(res.body.toString("utf8"));
  } catch {
    return { ok: false, error: `not JSON: ${snippet(res.body)}` };
  }
  if (!isDeepStrictEqual(json, expected)) {
    return { ok: false, error: `answered ${snippet(res.body)}, expected ${JSON.stringify(expected)}` };
  }
  return { ok: true, body: res.body.toString("utf8") };
}

function toCell(connections: number, rounds: SeldonRound[]): SeldonCell {
  const sum = (f: (r: SeldonRound) => number): number => rounds.reduce((s, r) => s + f(r), 0);
  const cpu = rounds.map((r) => r.cpuUsPerRequest).filter((v): v is number => v !== undefined);
  const statusCodes: Record<string, number> = {};
  for (const r of rounds) {
    for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
  }
  return {
    connections,
    rounds,
    requestsPerSec: median(rounds.map((r) => r.requestsPerSec)),
    p50Ms: median(rounds.map((r) => r.p50Ms)),
    p99Ms: median(rounds.map((r) => r.p99Ms)),
    cpuUsPerRequest: cpu.length === rounds.length ? median(cpu) : undefined,
    responses: sum((r) => r.responses),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
    timeouts: sum((r) => r.timeouts),
    warmupNon2xx: sum((r) => r.warmupNon2xx),
    warmupErrors: sum((r) => r.warmupErrors),
    statusCodes,
  };
}

/** In-process cost of one request's protocol work, without HTTP: tserve's Seldon codec vs the bare baseline's. */
export interface CodecResult {
  payload: "ndarray" | "tensor";
  /** decodeSeldonRequest → parseSeldonMessage → SeldonComponent.seldonPredict → JSON.stringify, µs per request. */
  tserveUs: number;
  /** JSON.parse → same-shaped answer → JSON.stringify (bench/baselines/bare-seldon.ts), µs per request. */
  bareUs: number;
  /** Per-round figures (tserve, bare alternating within each round). */
  roundsTserveUs: number[];
  roundsBareUs: number[];
}

const CODEC_ROUNDS = 5;
const CODEC_ROUND_MS = 300;
const CODEC_BATCH = 256;

/** µs per call of `fn` over about `budgetMs`, each call awaited (as a route handler awaits it). */
async function timeCalls(fn: () => Promise<string>, budgetMs: number): Promise<number> {
  let calls = 0;
  const started = performance.now();
  let now = started;
  while (now - started < budgetMs) {
    for (let i = 0; i < CODEC_BATCH; i++) await fn();
    calls += CODEC_BATCH;
    now = performance.now();
  }
  return ((now - started) * 1000) / calls;
}

/**
 * Runs in the harness process before any server starts: the Seldon protocol work of one request, as the
 * /api/v1.0/predictions route does it minus Fastify and the DataPlane (its metrics), against the bare
 * baseline's JSON.parse / build / JSON.stringify. Both must produce the expected answer first.
 */
async function measureCodec(ctx: StageContext): Promise<CodecResult[]> {
  // Loaded here, not at the top: the other stages treat tserve as a black box and need none of src/.
  const { SeldonComponent: Component } = await import("../packages/server/src/runtime/seldon/component.ts");
  const { decodeSeldonRequest, parseSeldonMessage } = await import("../packages/server/src/protocol/seldon/index.ts");
  const { default: Identity } = await import("./fixtures/seldon-identity.ts");
  const component: SeldonComponent = new Component(new Identity(), "identity");
  const out: CodecResult[] = [];
  for (const payload of ["ndarray", "tensor"] as const) {
    const body = Buffer.from(BODIES[payload]);
    const viaTserve = async (): Promise<string> => {
      const raw = decodeSeldonRequest({ method: "POST", contentType: "application/json", body, query: {} });
      return JSON.stringify(await component.seldonPredict(parseSeldonMessage(raw)));
    };
    const viaBare = async (): Promise<string> => {
      const msg = JSON.parse(body.toString("utf8")) as { data?: SeldonData };
      return JSON.stringify({ data: identity(msg.data), meta: {} });
    };
    for (const [who, fn] of [["tserve", viaTserve], ["bare", viaBare]] as const) {
      const got = JSON.parse(await fn()) as unknown;
      if (!isDeepStrictEqual(got, EXPECTED[payload])) {
        throw new Error(`in-process ${who} ${payload} answered ${JSON.stringify(got)}, expected ${JSON.stringify(EXPECTED[payload])}`);
      }
    }
    await timeCalls(viaTserve, CODEC_ROUND_MS);
    await timeCalls(viaBare, CODEC_ROUND_MS);
    const roundsTserveUs: number[] = [];
    const roundsBareUs: number[] = [];
    for (let round = 0; round < CODEC_ROUNDS; round++) {
      if (round % 2 === 0) {
        roundsTserveUs.push(await timeCalls(viaTserve, CODEC_ROUND_MS));
        roundsBareUs.push(await timeCalls(viaBare, CODEC_ROUND_MS));
      } else {
        roundsBareUs.push(await timeCalls(viaBare, CODEC_ROUND_MS));
        roundsTserveUs.push(await timeCalls(viaTserve, CODEC_ROUND_MS));
      }
    }
    const result = { payload, tserveUs: median(roundsTserveUs), bareUs: median(roundsBareUs), roundsTserveUs, roundsBareUs };
    ctx.log(
      `in-process ${payload}: tserve Seldon codec ${result.tserveUs.toFixed(2)} µs, bare ${result.bareUs.toFixed(2)} µs per request`,
    );
    out.push(result);
  }
  return out;
}

/** Warm-up (discarded), then the measured run with the server's CPU time read before and after. */
async function measure(leg: SeldonLeg, target: Target, connections: number, settings: SeldonSettings): Promise<SeldonRound> {
  const common = { baseUrl: target.baseUrl, request: leg.request, connections, warmupSec: 0 };
  const warm = await runLoad({ ...common, durationSec: settings.warmupSec, title: `seldon ${leg.id} c${connections} warm-up` });
  const before = cpuSeconds(target.process.pid);
  const result = await runLoad({ ...common, durationSec: settings.durationSec, title: `seldon ${leg.id} c${connections}` });
  const after = cpuSeconds(target.process.pid);
  const cpuUsPerRequest =
    before !== undefined && after !== undefined && result.responses > 0
      ? ((after - before) * 1e6) / result.responses
      : undefined;
  return { ...result, warmupNon2xx: warm.non2xx, warmupErrors: warm.errors, cpuUsPerRequest };
}

async function runLegs(ctx: StageContext, settings: SeldonSettings, legs: SeldonLeg[], warnings: string[]) {
  const outcomes: SeldonLegOutcome[] = [];
  const runnable: { leg: SeldonLeg; outcome: SeldonLegOutcome }[] = [];
  for (const leg of legs) {
    const outcome: SeldonLegOutcome = {
      id: leg.id,
      title: leg.title,
      payload: leg.payload,
      side: leg.side,
      server: leg.target?.label ?? "(not started)",
      path: `${leg.request.method} ${leg.request.path}`,
      requestBody: BODIES[leg.payload],
      cells: {},
    };
    outcomes.push(outcome);
    if (!leg.target) {
      outcome.skipped = "server not running";
      ctx.shout([`seldon ${leg.title} NOT benchmarked: server not running`]);
      continue;
    }
    let problem: string | undefined;
    try {
      const checked = checkAnswer(await sendOnce(leg.target.baseUrl, leg.request), leg.payload);
      if (checked.ok) outcome.responseBody = checked.body;
      else problem = checked.error;
    } catch (err) {
      problem = `request failed: ${(err as Error).message}`;
    }
    if (problem) {
      outcome.skipped = `failed pre-flight: ${problem}`;
      ctx.shout([`seldon ${leg.title} (${leg.target.label}) NOT benchmarked:`, ...problem.split("\n")]);
      continue;
    }
    ctx.log(`pre-flight ${leg.title} (${leg.target.label}): OK ${outcome.responseBody}`);
    runnable.push({ leg, outcome });
  }

  // The baseline must give the very answer tserve gives, or the comparison is not like for like.
  for (const payload of ["ndarray", "tensor", "ping"] as const) {
    const [t, b] = (["tserve", "bare"] as const).map(
      (side) => outcomes.find((o) => o.payload === payload && o.side === side)?.responseBody,
    );
    if (t !== undefined && b !== undefined && t !== b) {
      warnings.push(`${payload}: bare answer ${b} (${b.length} B) differs in bytes from tserve's ${t} (${t.length} B)`);
    }
  }

  let pass = 0;
  for (const connections of settings.connections) {
    const rounds = new Map<SeldonLegId, SeldonRound[]>();
    const dead = new Set<SeldonLegId>();
    for (let round = 0; round < settings.rounds; round++, pass++) {
      const order = pass % 2 === 0 ? runnable : [...runnable].reverse();
      for (const { leg } of order) {
        const target = leg.target!;
        if (dead.has(leg.id)) continue;
        if (!target.process.isRunning()) {
          ctx.shout([`${target.label} is no longer running; skipping ${leg.title} @${connections}`, target.process.tail(10)]);
          dead.add(leg.id);
          continue;
        }
        const result = await measure(leg, target, connections, settings);
        ctx.log(describe(`${leg.title} (${target.label}) c=${connections} round ${round + 1}/${settings.rounds}`, result));
        if (isInvalid(result)) {
          ctx.shout([
            `${leg.title} with ${connections} connections:`,
            `${result.non2xx} failed responses (${JSON.stringify(result.statusCodes)}), ${result.errors} errors.`,
            "These figures measure error handling, not the Seldon path. The row is marked INVALID.",
          ]);
        }
        rounds.set(leg.id, [...(rounds.get(leg.id) ?? []), result]);
      }
    }
    for (const { leg, outcome } of runnable) {
      const got = rounds.get(leg.id);
      outcome.cells[connections] = got && got.length === settings.rounds ? toCell(connections, got) : null;
    }
  }
  return outcomes;
}

function tserveArgs(config: BenchConfig, port: number, model: string[]): string[] {
  return [config.tserveBin, "serve", ...model, "--http_port", String(port), "--enable_grpc", "false", "--host", HOST];
}

export async function runSeldonStage(ctx: StageContext): Promise<{ failures: string[] }> {
  const { config, log } = ctx;
  const settings = seldonSettings(config);
  mkdirSync(config.outDir, { recursive: true });
  const startedAt = new Date();
  const loadAtStart = loadavg();
  const warnings: string[] = [];
  log(
    `seldon stage: connections ${settings.connections.join(",")}; ${settings.rounds} round(s) of ` +
      `${settings.warmupSec} s warm-up + ${settings.durationSec} s measured per endpoint and count`,
  );

  // The protocol work alone, in-process, while no server competes for the cores.
  let codec: CodecResult[] = [];
  let codecError: string | undefined;
  try {
    codec = await measureCodec(ctx);
  } catch (err) {
    codecError = (err as Error).message;
    warnings.push(`in-process codec measurement skipped: ${codecError}`);
  }

  const started: Target[] = [];
  try {
    const start = (what: string, fn: () => Promise<Target>) => tryStart(ctx, what, fn, started, warnings);
    const seldon = await start("tserve --seldon (identity component)", () =>
      launch(config, "seldon-tserve", "tserve --seldon", (port) => tserveArgs(config, port, [COMPONENT_FILE, "--seldon"])),
    );
    const bare = await start("bare node:http (Seldon identity)", () =>
      launch(config, "seldon-bare", "bare node:http", (port) => [
        "--import",
        "tsx",
        "bench/baselines/bare-seldon.ts",
        "--port",
        String(port),
        "--host",
        HOST,
      ]),
    );
    const v1 = await start("tserve (V1 identity module)", () =>
      launch(config, "seldon-v1-module", "tserve (V1 module)", (port) =>
        tserveArgs(config, port, [V1_MODULE_FILE, "--model_name", V1_MODEL]),
      ),
    );

    const predictions = "/api/v1.0/predictions";
    const legs: SeldonLeg[] = [
      { id: "seldon-ndarray", title: "Seldon ndarray", payload: "ndarray", side: "tserve", target: seldon, request: post(predictions, "ndarray") },
      { id: "bare-ndarray", title: "Seldon ndarray", payload: "ndarray", side: "bare", target: bare, request: post(predictions, "ndarray") },
      { id: "v1-module", title: "V1 module model", payload: "v1", side: "tserve", target: v1, request: post(`/v1/models/${V1_MODEL}:predict`, "v1") },
      { id: "seldon-tensor", title: "Seldon tensor", payload: "tensor", side: "tserve", target: seldon, request: post(predictions, "tensor") },
      { id: "bare-tensor", title: "Seldon tensor", payload: "tensor", side: "bare", target: bare, request: post(predictions, "tensor") },
      { id: "seldon-ping", title: "canned GET /health/ping", payload: "ping", side: "tserve", target: seldon, request: PING },
      { id: "bare-ping", title: "canned GET /health/ping", payload: "ping", side: "bare", target: bare, request: PING },
    ];
    const outcomes = await runLegs(ctx, settings, legs, warnings);

    await checkHealth(started, config, warnings);
    const run: SeldonRun = {
      startedAt,
      finishedAt: new Date(),
      command: ctx.command,
      machine: machineInfo(),
      durationSec: settings.durationSec,
      warmupSec: settings.warmupSec,
      rounds: settings.rounds,
      connections: settings.connections,
      targets: started.map((t) => ({ id: t.id, label: t.label, command: t.command, readyAfterMs: t.readyAfterMs })),
      component: readFileSync(join(config.rootDir, COMPONENT_FILE), "utf8"),
      componentFile: COMPONENT_FILE,
      legs: outcomes,
      codec,
      codecError,
      loadAverage: { start: loadAtStart, end: loadavg() },
      warnings,
    };
    const markdown = renderSeldonMarkdown(run);
    process.stdout.write(`\n${markdown}\n\n`);

    const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
    const jsonPath = join(config.outDir, `seldon-${stamp}.json`);
    writeFileSync(jsonPath, `${JSON.stringify(run, null, 2)}\n`);
    log(`raw results: ${relative(config.rootDir, jsonPath)}`);
    if (!config.writeResults) log("BENCH_NO_WRITE set: bench/RESULTS.md left untouched");
    else {
      writeResultsSection(config.resultsPath, markdown, "seldon");
      log(`updated ${relative(config.rootDir, config.resultsPath)} (seldon section)`);
    }
    return { failures: seldonFailures(run) };
  } finally {
    for (const t of started) await t.process.stop();
  }
}
