/** Markdown rendering of the engine stage (the engine section of RESULTS.md). */
import {
  type BigBodyCell,
  type EngineRun,
  engineFailures,
  type HealthSummary,
  IDENTITY_BODY,
  type LoadCell,
  meanBatch,
  type MemorySnapshot,
  type MlpCell,
  mlpRequest,
  inProcessFor,
  type TargetCheck,
} from "./engine.ts";
import { describeMachine } from "./machine.ts";
import { latency, ms, pct, problems, rps, table } from "./report.ts";

const VERDICT: Record<TargetCheck["verdict"], string> = { PASS: "✅ PASS", FAIL: "❌ FAIL", INVALID: "⚠ INVALID" };

function mib(kib: number | undefined): string {
  return kib === undefined || !Number.isFinite(kib) ? "—" : (kib / 1024).toFixed(0);
}

function valid(cell: LoadCell | undefined): boolean {
  return cell?.load !== undefined && problems(cell.load, "x").length === 0 && cell.load.requestsPerSec > 0;
}

function failedText(cell: LoadCell | undefined): string {
  if (!cell) return "⚠ not measured";
  if (cell.skipped) return `⚠ not measured: ${cell.skipped}`;
  if (!cell.load) return "⚠ not measured";
  const out = problems(cell.load, "").map((p) => p.replace(/^: /, "").replace(/^ warm-up/, "warm-up"));
  if (cell.health && cell.health.failed > 0) out.push(`${cell.health.failed} health polls failed`);
  return out.length > 0 ? `⚠ ${out.join("; ")}` : "0";
}

function ratio(subject: LoadCell | undefined, base: LoadCell | undefined): number | undefined {
  if (!valid(subject) || !valid(base)) return undefined;
  return subject!.load!.requestsPerSec / base!.load!.requestsPerSec;
}

function times(v: number | undefined): string {
  return v === undefined || !Number.isFinite(v) ? "—" : `${v.toFixed(2)}×`;
}

function check(run: EngineRun, id: string): TargetCheck | undefined {
  return run.checks.find((c) => c.id === id);
}

function verdictCell(c: TargetCheck | undefined): string {
  if (!c) return "—";
  return c.expectedFail && c.verdict === "FAIL" ? `${VERDICT[c.verdict]} (expected)` : VERDICT[c.verdict];
}

function cellById(cells: LoadCell[], id: string): LoadCell | undefined {
  return cells.find((c) => c.id === id);
}

function pairTable(rows: { label: string; subject?: LoadCell; base?: LoadCell; target?: TargetCheck; goal: string }[]): string[] {
  return table(
    [
      ["Comparison", "left"],
      ["tserve req/s", "right"],
      ["bare req/s", "right"],
      ["tserve / bare", "right"],
      ["tserve p50 / p99 ms", "right"],
      ["bare p50 / p99 ms", "right"],
      ["Target", "center"],
      ["Failed requests", "left"],
    ],
    rows.map((r) => {
      const failed = [failedText(r.subject), failedText(r.base)];
      return [
        r.label,
        rps(r.subject?.load?.requestsPerSec),
        rps(r.base?.load?.requestsPerSec),
        pct(ratio(r.subject, r.base)),
        latency(r.subject?.load ?? null),
        latency(r.base?.load ?? null),
        `${r.goal}: ${verdictCell(r.target)}`,
        failed.every((f) => f === "0") ? "0" : `tserve ${failed[0]}; bare ${failed[1]}`,
      ];
    }),
  );
}

function settingsText(cell: MlpCell): string {
  if (cell.kind === "http-floor") return "— (bench/baselines/bare-http.ts, canned answer)";
  return `\`${JSON.stringify(cell.settings)}\``;
}

function bucketsText(cell: MlpCell): string {
  if (!cell.batch) return cell.kind === "loop-unbatched" ? "1 (no batcher)" : cell.kind === "http-floor" ? "no inference" : "—";
  return cell.batch.buckets
    .filter(([, share]) => share >= 0.01)
    .map(([le, share]) => `≤${le}: ${(share * 100).toFixed(0)} %`)
    .join(", ");
}

function mlpTable(run: EngineRun): string[] {
  const unbatched = run.mlp.find((c) => c.kind === "unbatched");
  return table(
    [
      ["Server", "left"],
      ["model-settings.json", "left"],
      ["req/s = rows/s", "right"],
      ["p50 / p99 ms", "right"],
      ["mean batch (runs)", "right"],
      ["runs by batch size", "left"],
      ["in-process rows/s at that batch", "right"],
      ["tserve / in-process", "right"],
      ["× batching off", "right"],
      ["Failed requests", "left"],
    ],
    run.mlp.map((cell) => {
      const ip = inProcessFor(run, cell);
      const mean = meanBatch(cell);
      const best = cell.kind === "batched" && cell.delayUs === run.bestDelayUs ? " **(best)**" : "";
      return [
        `${cell.title}${best}`,
        settingsText(cell),
        rps(cell.load?.requestsPerSec),
        latency(cell.load ?? null),
        mean === undefined ? "—" : `${mean.toFixed(1)}${cell.batch ? ` (${rps(cell.batch.runs)})` : ""}`,
        bucketsText(cell),
        ip ? `${rps(ip.rowsPerSec)} @${ip.batch}` : "—",
        pct(valid(cell) && ip ? cell.load!.requestsPerSec / ip.rowsPerSec : undefined),
        cell === unbatched ? "1×" : cell.kind === "http-floor" ? "—" : times(ratio(cell, unbatched)),
        failedText(cell),
      ];
    }),
  );
}

function healthCells(h: HealthSummary | undefined): string[] {
  if (!h || h.samples === 0) return ["—", "—", "—", "—", "—"];
  return [String(h.samples), ms(h.p50Ms), ms(h.p99Ms), ms(h.maxMs), String(h.failed)];
}

function healthTable(run: EngineRun): string[] {
  const d = check(run, "d");
  return table(
    [
      ["Server under (c) load", "left"],
      ["polls", "right"],
      ["p50 ms", "right"],
      ["p99 ms", "right"],
      ["max ms", "right"],
      ["failed", "right"],
      ["Target", "center"],
    ],
    run.mlp.map((cell) => {
      const best = cell.kind === "batched" && cell.delayUs === run.bestDelayUs;
      return [
        `${cell.title}${best ? " **(best)**" : ""}`,
        ...healthCells(cell.health),
        best ? `< 50 ms: ${verdictCell(d)}` : "(contrast)",
      ];
    }),
  );
}

function bigTable(run: EngineRun): string[] {
  const e = check(run, "e");
  return table(
    [
      ["Server", "left"],
      ["Request", "left"],
      ["body MiB", "right"],
      ["answer", "left"],
      ["request ms", "right"],
      ["idle p99 ms before", "right"],
      ["polls during", "right"],
      ["p50 ms", "right"],
      ["p99 ms", "right"],
      ["max ms", "right"],
      ["time-weighted p99 ms", "right"],
      ["failed", "right"],
      ["Target", "center"],
    ],
    run.big.map((b: BigBodyCell) => {
      const h = healthCells(b.health);
      return [
        b.server,
        b.request,
        (b.bodyBytes / 2 ** 20).toFixed(1),
        b.skipped ? `⚠ not measured: ${b.skipped}` : b.error ? `⚠ ${b.error}` : String(b.status ?? "—"),
        b.requestMs === undefined ? "—" : b.requestMs.toFixed(0),
        b.healthBefore && b.healthBefore.samples > 0 ? ms(b.healthBefore.p99Ms) : "—",
        h[0],
        h[1],
        h[2],
        h[3],
        b.healthTimeP99Ms === undefined ? "—" : ms(b.healthTimeP99Ms),
        h[4],
        b.id === "tserve" ? `p99 < 100 ms: ${verdictCell(e)}` : "(contrast)",
      ];
    }),
  );
}

function perProcess(m: MemorySnapshot | undefined): string {
  if (!m) return "—";
  if (m.processes.length === 1) return "1 process";
  return m.processes.map((p) => `${p.role === "other" ? p.name : p.role} ${mib(p.rssKiB)}`).join(" + ");
}

function memoryTable(run: EngineRun): string[] {
  const rows: string[][] = [];
  const add = (label: string, idle: MemorySnapshot | undefined, after: MemorySnapshot | undefined, when: string) => {
    const workers = (after ?? idle)?.processes.filter((p) => p.role === "worker").length ?? 0;
    const n = workers > 0 ? workers : 1;
    rows.push([
      label,
      String((after ?? idle)?.processes.length ?? "—"),
      mib(idle?.rssKiB),
      mib(after?.rssKiB),
      when,
      mib(after?.hwmKiB),
      after ? mib(after.rssKiB / n) : "—",
      perProcess(after),
    ]);
  };
  for (const cell of [...run.identity, ...run.iris]) add(`${cell.title}`, cell.memIdle, cell.memAfter, `after ${cell.load ? "32 conns" : "—"}`);
  for (const cell of run.mlp) add(cell.title, cell.memIdle, cell.memAfter, "end of (c), 64 conns");
  for (const b of run.big) add(`${b.server}, ${b.title}`, undefined, b.memAfter, "right after the big body");
  return table(
    [
      ["Server", "left"],
      ["processes", "right"],
      ["idle RSS MiB", "right"],
      ["RSS MiB under load", "right"],
      ["measured", "left"],
      ["peak (VmHWM) MiB", "right"],
      ["per worker MiB", "right"],
      ["by process (MiB, under load)", "left"],
    ],
    rows,
  );
}

function inProcessTable(run: EngineRun): string[] {
  if (run.inProcess.length === 0) return [`Not run: ${run.inProcessError ?? "no batch size measured"}`];
  return table(
    [
      ["batch rows", "right"],
      ["session.run calls", "right"],
      ["runs/s", "right"],
      ["rows/s", "right"],
      ["p50 / p99 ms per run", "right"],
    ],
    run.inProcess.map((r) => [String(r.batch), String(r.runs), rps(r.runsPerSec), rps(r.rowsPerSec), `${ms(r.p50Ms)} / ${ms(r.p99Ms)}`]),
  );
}

function targetTable(run: EngineRun): string[] {
  return table(
    [
      ["", "left"],
      ["Target", "left"],
      ["Measured", "left"],
      ["Verdict", "center"],
    ],
    run.checks.map((c) => [c.id, c.goal, c.measured, verdictCell(c)]),
  );
}

export function renderEngineMarkdown(run: EngineRun): string {
  const s = run.settings;
  const m = run.machine;
  const failures = engineFailures(run);
  const id = (x: string) => cellById(run.identity, x);
  const iris = (x: string) => cellById(run.iris, x);
  const la = (v: number[]) => v.map((x) => x.toFixed(2)).join(" / ");
  const lines: string[] = [
    "## Engine: --workers, adaptive batching, event-loop health under load, big bodies, memory",
    "",
    `- Date: ${run.startedAt.toISOString()} (took ${Math.round((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000)} s)`,
    `- Machine: ${describeMachine(m)}`,
    `- Command: \`${run.command}\``,
    `- Load: autocannon in the harness process (loopback), pipelining 1, ${s.warmupSec} s warm-up (discarded) + ${s.durationSec} s measured per cell; ` +
      "req/s counts 2xx responses only; latency from per-response timings. " +
      `(a) and (b): ${s.connections} connections; (c): ${s.mlpConnections} connections, each request ONE row as ` +
      (s.encoding === "json"
        ? `V2 JSON (\`POST /v2/models/mlp/infer\`, x 1×256 FP32, ${mlpRequest("json").body.length} B)`
        : `a V2 binary tensor (\`POST /v2/models/mlp/infer\`, JSON header + 1024 B of FP32, ${mlpRequest("binary").body.length} B, JSON answer)`) +
      `. Identity body: \`${IDENTITY_BODY}\`.`,
    `- Health (d, e): a second load generator in its own process (bench/engine-probe.ts): \`GET /v2/health/live\`, one at a time on one ` +
      `keep-alive connection, a new one every ${s.probeIntervalMs} ms (at once after a slower answer), during every (c) measured window and around the big body.`,
    `- **The load generator (autocannon), the health poller and the server(s) all share this machine's ${m.cores} cores** ` +
      `(availableParallelism ${m.availableParallelism}): with --workers 2 or a worker thread busy, autocannon competes with the server for CPU, ` +
      "so every tserve and bare figure here is lower than on a machine with a separate client, and the ratios are the comparable part.",
    `- Load average (1 / 5 / 15 min) at start: ${la(run.loadAverage.start)}; at end: ${la(run.loadAverage.end)}`,
    `- Batching delays tried (maxQueueDelayMicroseconds): ${s.delaysUs.join(", ")} µs; best: ${run.bestDelayUs ?? "—"} µs (highest req/s), used for the instanceCount 0 contrast.`,
    ...run.targets.map((t) => `- ${t.label}: \`${t.command}\` (ready after ${Math.round(t.readyAfterMs)} ms)`),
    "",
    "### Targets",
    "",
    ...targetTable(run),
    "",
    `### (a) Identity module model (bench/fixtures/v1-identity.ts), KServe V1 \`:predict\`, ${s.connections} connections`,
    "",
    "Bare baseline: bench/baselines/bare-http-cluster.ts — node:http, JSON.parse, `JSON.stringify({predictions: instances})`; with `--workers 2` the same on 2 node:cluster workers.",
    "",
    ...pairTable([
      { label: "tserve --workers 1 vs bare node:http", subject: id("tserve-w1"), base: id("bare-w1"), target: check(run, "a1"), goal: "≥ 80 %" },
      {
        label: "tserve --workers 2 vs bare node:http on 2 cluster workers",
        subject: id("tserve-w2"),
        base: id("bare-w2"),
        target: check(run, "a2"),
        goal: "≥ 80 %",
      },
    ]),
    "",
    `### (b) iris ONNX (examples/iris/models), KServe V1 \`:predict\` (2×4), ${s.connections} connections`,
    "",
    "Bare baseline: bench/baselines/bare-http.ts — node:http, JSON.parse, a canned answer of the same size (as the core stage).",
    "",
    ...pairTable([{ label: "tserve vs bare node:http", subject: iris("tserve"), base: iris("bare"), target: check(run, "b"), goal: "≥ 70 %" }]),
    "",
    `### (c) MLP (test/fixtures/models/mlp/model.onnx, x [-1,256] → y [-1,10]), one row per request, ${s.mlpConnections} connections`,
    "",
    "Each server is `tserve serve --model_repository <tmp>` with the MLP and the model-settings.json shown. Mean batch = rows ÷ runs from " +
      "`tserve_batch_size_sum/_count` over the measured window (deltas of GET /metrics before and after). The in-process figure runs " +
      "that batch size (rounded) back to back, after all servers stopped (table below). The last row is bare node:http taking the very " +
      "same request (read, JSON.parse, canned answer) with no inference: the one-row-per-request ceiling of a Node server under this " +
      "load generator on this machine, against which the in-process rows/s can be read.",
    "",
    ...mlpTable(run),
    "",
    `### (d) \`GET /v2/health/live\` while (c) saturates the server`,
    "",
    ...healthTable(run),
    "",
    `### (e) One ${s.bodyMiB} MiB V1 JSON body while health is polled`,
    "",
    "tserve: the batching-off MLP server of (c) (instanceCount 1), after its (c) cell; the request time includes running all its rows on the " +
      "worker thread. p50 / p99 / max are over the polls whose request overlapped the big request; since polls go one at a time, a stall of any " +
      "length is ONE poll, so the p99 over polls undercounts it (read max). Time-weighted p99: the wait of a check arriving at a random moment " +
      "of the request (a kubelet probe), from the poll timeline. The target needs both p99s < 100 ms. " +
      "Bare node:http JSON.parse()s the same body (its GET answers `{}`) for contrast.",
    "",
    ...bigTable(run),
    "",
    "### (f) Resident memory (VmRSS from /proc/<pid>/status; --workers: primary and workers summed)",
    "",
    "Idle: 1 s after the server answered ready (model loaded), before any request. Under load: read the moment its measured run ended. " +
      "Per worker: the total divided by the workers (primary included) for --workers 2, the process itself otherwise.",
    "",
    ...memoryTable(run),
    "",
    `### In-process onnxruntime-node, MLP, session options as the server (cpu, graphOptimizationLevel all, intraOpNumThreads 1), ${s.ortSeconds} s per batch size`,
    "",
    ...inProcessTable(run),
    "",
    "Notes:",
    "",
    "- Each request in (c) is one row, so req/s and rows/s are the same number.",
    "- The in-process baseline runs one session.run after another on an otherwise idle machine (no server, no load generator); the server " +
      "shares the cores with autocannon and its own event loop. The server's batches vary in size around the mean and onnxruntime's rows/s grows " +
      "with the batch, so timing the mean batch size slightly flatters the in-process side.",
    "- The health poller's latency includes its own process being scheduled on the shared cores.",
    "- (e): a body of 4 MiB or more is JSON.parse()d on a worker thread (src/server/json-off-loop.ts) and rebuilt here in slices of ~4 ms; the ONNX runtime then turns the V1 rows into a tensor in ~4 ms slices too (src/engine/steps.ts); what runs in one piece is copying the body for the JSON worker and the tensor for the model's thread.",
  ];
  for (const w of run.warnings) lines.push(`- ⚠ ${w}`);
  if (failures.length > 0) {
    lines.push("", "**⚠ INVALID FIGURES — some requests failed or were not measured; do not trust the affected rows:**", "");
    for (const f of failures) lines.push(`- ${f}`);
  }
  return lines.join("\n");
}
