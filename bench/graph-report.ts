/** Markdown rendering of the graph stage (the graph section of RESULTS.md). */
import type { GraphLegId, GraphLegOutcome, GraphSpecInfo, PooledResult } from "./graph.ts";
import { isInvalid, type LoadResult } from "./load.ts";
import { describeMachine, type MachineInfo } from "./machine.ts";
import { pct, problems, rps, table, type TargetInfo } from "./report.ts";

export interface GraphRun {
  startedAt: Date;
  finishedAt: Date;
  command: string;
  machine: MachineInfo;
  durationSec: number;
  warmupSec: number;
  rounds: number;
  connections: number[];
  targets: TargetInfo[];
  graphs: GraphSpecInfo[];
  /** Where the YAML files were written (removed after the run; their text is in the report). */
  graphDir: string;
  legs: GraphLegOutcome[];
  /** os.loadavg() (1, 5, 15 min) when the stage started and when it finished: other work on the machine. */
  loadAverage: { start: number[]; end: number[] };
  warnings: string[];
}

/** The target for one in-process step, µs of added p50 latency. */
export const IN_PROCESS_STEP_TARGET_US = 50;

interface Comparison {
  label: string;
  subject: GraphLegId;
  base: GraphLegId;
  /** Divide the difference by this (steps added). */
  per: number;
  /** Added p50 must stay below this many µs. */
  targetUs?: number;
}

const COMPARISONS: Comparison[] = [
  {
    label: "1 in-process step: Sequence(1) POST / − direct :predict, same server",
    subject: "inproc-seq1",
    base: "inproc-direct",
    per: 1,
    targetUs: IN_PROCESS_STEP_TARGET_US,
  },
  {
    label: "per in-process step, slope: (Sequence(4) − Sequence(1)) / 3",
    subject: "inproc-seq4",
    base: "inproc-seq1",
    per: 3,
    targetUs: IN_PROCESS_STEP_TARGET_US,
  },
  { label: "1 HTTP step: tserve graph → iris − iris direct :predict", subject: "http-seq1", base: "http-direct", per: 1 },
  { label: "Ensemble(4) in-process − Sequence(1) in-process", subject: "inproc-ens4", base: "inproc-seq1", per: 1 },
  { label: "Ensemble(4) in-process − Sequence(4) in-process", subject: "inproc-ens4", base: "inproc-seq4", per: 1 },
  { label: "Ensemble(4) HTTP − Sequence(1) HTTP", subject: "http-ens4", base: "http-seq1", per: 1 },
  { label: "tserve direct :predict − bare node:http (in-process graph server)", subject: "inproc-direct", base: "bare", per: 1 },
  { label: "tserve direct :predict − bare node:http (iris server)", subject: "http-direct", base: "bare", per: 1 },
];

const ENDPOINT_GROUP: Record<GraphLegId, string> = {
  bare: "floor",
  "inproc-direct": "in-process",
  "inproc-seq1": "in-process",
  "inproc-seq4": "in-process",
  "inproc-ens4": "in-process",
  "http-direct": "HTTP",
  "http-seq1": "HTTP",
  "http-ens4": "HTTP",
};

function lowHigh(run: GraphRun): { low: number; high: number } {
  return {
    low: run.connections.includes(1) ? 1 : Math.min(...run.connections),
    high: run.connections.includes(16) ? 16 : Math.max(...run.connections),
  };
}

function leg(run: GraphRun, id: GraphLegId): GraphLegOutcome | undefined {
  return run.legs.find((l) => l.id === id);
}

function cell(run: GraphRun, id: GraphLegId, connections: number): PooledResult | null {
  return leg(run, id)?.cells[connections] ?? null;
}

function valid(r: LoadResult | null | undefined): r is LoadResult {
  return r !== null && r !== undefined && !isInvalid(r) && r.ok2xx > 0;
}

function usec(ms: number | undefined, digits = 0): string {
  return ms === undefined || !Number.isFinite(ms) ? "—" : (ms * 1000).toFixed(digits);
}

function signed(us: number | undefined, digits = 0): string {
  if (us === undefined || !Number.isFinite(us)) return "—";
  const text = us.toFixed(digits);
  return us > 0 ? `+${text}` : text;
}

function latencyUs(r: LoadResult | null): string {
  return r ? `${usec(r.p50Ms)} / ${usec(r.p99Ms)}` : "—";
}

function roundP50s(r: PooledResult | null): string {
  return r && r.rounds.length > 1 ? r.rounds.map((x) => usec(x.p50Ms)).join(", ") : "—";
}

function failedText(r: LoadResult | null, skipped: string | undefined): string {
  if (skipped) return `⚠ not measured: ${skipped}`;
  if (!r) return "⚠ not measured";
  const p = problems(r, "");
  return p.length > 0 ? `⚠ ${p.map((s) => s.replace(/^: /, "")).join("; ")}` : "0";
}

interface Derived {
  comparison: Comparison;
  /** Added p50 at the low count, µs (per step when `per` > 1); undefined when not measurable. */
  addedP50Us?: number;
  /** Same, per round (paired: both endpoints ran back to back in each round). */
  roundAddedUs: number[];
  addedP99Us?: number;
  /** req/s subject / base at the high count. */
  throughputRatio?: number;
  verdict: "PASS" | "FAIL" | "INVALID" | "n/a";
  /** Some rounds fall on each side of the target: the verdict is within this machine's noise. */
  marginal: boolean;
}

function derive(run: GraphRun, c: Comparison): Derived {
  const { low, high } = lowHigh(run);
  const s = cell(run, c.subject, low);
  const b = cell(run, c.base, low);
  const out: Derived = {
    comparison: c,
    roundAddedUs: [],
    verdict: c.targetUs === undefined ? "n/a" : "INVALID",
    marginal: false,
  };
  if (valid(s) && valid(b)) {
    out.addedP50Us = ((s.p50Ms - b.p50Ms) * 1000) / c.per;
    out.addedP99Us = ((s.p99Ms - b.p99Ms) * 1000) / c.per;
    const n = Math.min(s.rounds.length, b.rounds.length);
    for (let i = 0; i < n; i++) out.roundAddedUs.push(((s.rounds[i].p50Ms - b.rounds[i].p50Ms) * 1000) / c.per);
    if (c.targetUs !== undefined) {
      out.verdict = out.addedP50Us < c.targetUs ? "PASS" : "FAIL";
      const target = c.targetUs;
      out.marginal =
        out.roundAddedUs.some((v) => v < target) && out.roundAddedUs.some((v) => v >= target);
    }
  }
  const sh = cell(run, c.subject, high);
  const bh = cell(run, c.base, high);
  if (valid(sh) && valid(bh) && bh.requestsPerSec > 0) out.throughputRatio = sh.requestsPerSec / bh.requestsPerSec;
  return out;
}

const VERDICT: Record<Derived["verdict"], string> = { PASS: "✅ PASS", FAIL: "❌ FAIL", INVALID: "⚠ INVALID", "n/a": "—" };

/** Every problem that makes some figure untrustworthy. */
export function graphFailures(run: GraphRun): string[] {
  const out: string[] = [];
  for (const l of run.legs) {
    const where = `${l.title} [${l.server}]`;
    if (l.skipped) {
      out.push(`${where}: not measured — ${l.skipped}`);
      continue;
    }
    for (const c of run.connections) {
      const r = l.cells[c];
      if (!r) out.push(`${where} @${c}: not measured`);
      else out.push(...problems(r, `${where} @${c}`));
    }
  }
  return out;
}

function endpointTable(run: GraphRun): string[] {
  const rows: string[][] = [];
  for (const c of run.connections) {
    for (const l of run.legs) {
      const r = l.cells[c] ?? null;
      rows.push([
        ENDPOINT_GROUP[l.id],
        l.title,
        l.server,
        l.path,
        String(c),
        rps(r?.requestsPerSec),
        latencyUs(r),
        roundP50s(r),
        failedText(r, l.skipped),
      ]);
    }
  }
  return table(
    [
      ["Kind", "left"],
      ["Endpoint", "left"],
      ["Server", "left"],
      ["Request", "left"],
      ["Conns", "right"],
      ["req/s", "right"],
      ["p50 / p99 µs", "right"],
      ["p50 per round µs", "right"],
      ["Failed requests", "left"],
    ],
    rows,
  );
}

function derivedTable(run: GraphRun, derived: Derived[]): string[] {
  const { low, high } = lowHigh(run);
  const rows = derived.map((d) => {
    const range =
      d.roundAddedUs.length > 1
        ? `${signed(Math.min(...d.roundAddedUs))} … ${signed(Math.max(...d.roundAddedUs))}`
        : "—";
    const target =
      d.comparison.targetUs === undefined
        ? "—"
        : `< ${d.comparison.targetUs} µs: ${VERDICT[d.verdict]}${d.marginal ? " (marginal)" : ""}`;
    return [d.comparison.label, signed(d.addedP50Us), range, signed(d.addedP99Us), pct(d.throughputRatio), target];
  });
  return table(
    [
      ["Comparison", "left"],
      [`added p50 µs (c=${low})`, "right"],
      ["per-round range µs", "right"],
      [`added p99 µs (c=${low})`, "right"],
      [`req/s ratio (c=${high})`, "right"],
      ["Target", "center"],
    ],
    rows,
  );
}

function headline(run: GraphRun, derived: Derived[]): string[] {
  const { low, high } = lowHigh(run);
  const byBase = (subject: GraphLegId, base: GraphLegId): Derived | undefined =>
    derived.find((d) => d.comparison.subject === subject && d.comparison.base === base);
  const out: string[] = [];
  const one = byBase("inproc-seq1", "inproc-direct");
  const slope = byBase("inproc-seq4", "inproc-seq1");
  const verdictLine = (d: Derived | undefined, what: string): string =>
    d
      ? `- Target (issue): an in-process step adds < ${IN_PROCESS_STEP_TARGET_US} µs at p50 — ${what}: ` +
        `**${d.verdict}**${d.marginal ? " (marginal: the per-round values fall on both sides of the target)" : ""} ` +
        `(${signed(d.addedP50Us, 1)} µs at c=${low}; per round ${d.roundAddedUs.map((v) => signed(v)).join(", ") || "—"} µs)`
      : "";
  out.push(verdictLine(one, "graph with 1 in-process step vs direct :predict on the same server"));
  out.push(verdictLine(slope, "marginal step, (p50 Sequence(4) − p50 Sequence(1)) / 3"));
  const http = byBase("http-seq1", "http-direct");
  const bare = cell(run, "bare", low);
  if (http?.addedP50Us !== undefined) {
    out.push(
      `- One HTTP step (standalone router → iris server) adds ${signed(http.addedP50Us)} µs at p50 (c=${low})` +
        (valid(bare) ? `, ${(http.addedP50Us / (bare.p50Ms * 1000)).toFixed(1)}× the bare node:http round trip` : "") +
        `; at c=${high} the router path reaches ${pct(http.throughputRatio)} of the direct req/s`,
    );
  }
  if (valid(bare)) {
    const bh = cell(run, "bare", high);
    out.push(
      `- Loopback floor (bare node:http, canned answer, same autocannon client): p50 ${usec(bare.p50Ms)} µs / ` +
        `p99 ${usec(bare.p99Ms)} µs at c=${low}; ${rps(bh?.requestsPerSec)} req/s at c=${high}`,
    );
  }
  const ensIn = byBase("inproc-ens4", "inproc-seq1");
  const ensHttp = byBase("http-ens4", "http-seq1");
  if (ensIn || ensHttp) {
    out.push(
      `- Ensemble fan-out of 4 vs 1 step: in-process ${signed(ensIn?.addedP50Us)} µs p50, ${pct(ensIn?.throughputRatio)} req/s; ` +
        `HTTP ${signed(ensHttp?.addedP50Us)} µs p50, ${pct(ensHttp?.throughputRatio)} req/s (c=${low} latency, c=${high} throughput)`,
    );
  }
  return out.filter((l) => l !== "");
}

function graphBlocks(run: GraphRun): string[] {
  const lines: string[] = [
    "<details><summary>Graph YAML as generated for this run</summary>",
    "",
  ];
  for (const g of run.graphs) {
    lines.push(`\`${g.yamlFile}\` (${g.routerType} of ${g.steps}, ${g.kind}):`, "", "```yaml", g.yaml.trimEnd(), "```", "");
  }
  lines.push("</details>");
  return lines;
}

export function renderGraphMarkdown(run: GraphRun): string {
  const failures = graphFailures(run);
  const derived = COMPARISONS.map((c) => derive(run, c));
  const { low, high } = lowHigh(run);
  const tookSec = Math.round((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000);
  const lines: string[] = [
    "## Inference graph: in-process steps, HTTP steps, Ensemble fan-out (iris)",
    "",
    `- Date: ${run.startedAt.toISOString()} (took ${tookSec} s)`,
    `- Machine: ${describeMachine(run.machine)}; load average (1/5/15 min) ${run.loadAverage.start.map((v) => v.toFixed(2)).join(" / ")} ` +
      `at the start, ${run.loadAverage.end.map((v) => v.toFixed(2)).join(" / ")} at the end (includes this run's own load)`,
    `- Command: \`${run.command}\``,
    `- Load: autocannon (pipelining 1, same machine, loopback, inside the harness process), iris V1 body ` +
      `\`{"instances":[[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]}\` on every endpoint; connections ${run.connections.join(" and ")}; ` +
      `${run.rounds} round(s) per connection count, each endpoint ${run.warmupSec} s warm-up + ${run.durationSec} s ` +
      `measured per round, the order of the endpoints reversed every round; p50 / p99 over the pooled samples of all ` +
      `rounds; req/s counts 2xx responses only`,
    `- Graph YAML written to \`${run.graphDir}\` at run time (removed afterwards; text below); each step has ` +
      "`data: $request`, i.e. gets the client's body",
    ...run.targets.map((t) => `- ${t.label}: \`${t.command}\` (ready after ${Math.round(t.readyAfterMs)} ms)`),
    "- Pre-flight for every endpoint before any load: 200 with 2×3 iris probabilities equal to in-process " +
      "onnxruntime's (each Ensemble answer keyed by exactly the 4 step names); from `/metrics`, one request moved " +
      "`graph_step_duration_seconds_count{code=\"200\"}` by 1 for every step and `request_success_total{model_name=\"iris\"}` " +
      "by the number of steps on the server that runs the model",
    ...headline(run, derived),
    "",
    "### Endpoints",
    "",
    ...endpointTable(run),
    "",
    `### What a step costs (latency at c=${low}, throughput at c=${high})`,
    "",
    "Added p50 = p50(first) − p50(second) of the pooled samples (divided by 3 for the slope); per-round range = the " +
      "same difference within each round, where the two endpoints ran back to back — its spread is the noise of this " +
      `machine; req/s ratio = first / second at c=${high}.`,
    "",
    ...derivedTable(run, derived),
    "",
    ...graphBlocks(run),
    "",
    "Notes:",
    "",
    "- What the in-process figures contain: the graph path of `tserve serve --graph` runs Fastify's POST / route, " +
      "copies the body, runs the node, calls the model through the DataPlane (JSON.parse of the step body, V1 " +
      "decode, onnxruntime, V1 encode, JSON.stringify of the answer), records the node and step histograms and " +
      "JSON-parses the final answer once more to pick the content type; the direct :predict does the model part " +
      "once. So Sequence(1) − direct is the graph's own overhead for one step, while the slope is the full cost of " +
      "one more step, including one more iris inference (one onnxruntime `Run` alone is ~15–35 µs here, see the core section).",
    "- An Ensemble runs its steps with `Promise.all`; in-process steps all run on the one JS thread, so 4 of them " +
      "cost about as much as a Sequence of 4, plus combining 4 JSON answers into one. HTTP steps overlap their " +
      "network waits, but the iris server behind them is one single-threaded process (`--workers` is not " +
      "implemented), so it answers the 4 fanned-out calls one after another: 4 predictions per graph request.",
    `- HTTP rows put three processes on ${run.machine.cores} cores (autocannon in the harness, the router, the iris ` +
      "server); the iris server's own direct figures are the comparison, so the router's CPU competes with the model " +
      "server's. Single run on a shared machine: differences of a few µs between rounds are noise (see the per-round " +
      "ranges); raise BENCH_GRAPH_ROUNDS / BENCH_GRAPH_DURATION for tighter figures.",
    "- Environment knobs: BENCH_GRAPH_DURATION (s per round, default 3), BENCH_GRAPH_WARMUP (default 1), " +
      "BENCH_GRAPH_ROUNDS (default 3), BENCH_GRAPH_CONNECTIONS (default 1,16).",
  ];
  for (const w of run.warnings) lines.push(`- ⚠ ${w}`);
  if (failures.length > 0) {
    lines.push("", "**⚠ INVALID FIGURES — some requests failed or were not measured; do not trust the affected rows:**", "");
    for (const f of failures) lines.push(`- ${f}`);
  }
  return lines.join("\n");
}
