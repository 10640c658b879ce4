/** Markdown rendering of a bench run, and the RESULTS.md section update. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { InProcessReport } from "./baselines/in-process-onnx.ts";
import { isInvalid, type LoadResult } from "./load.ts";
import { describeMachine, type MachineInfo } from "./machine.ts";
import type { Scenario } from "./scenarios.ts";

export const SECTION_START = "<!-- core:start -->";
export const SECTION_END = "<!-- core:end -->";

function sectionMarkers(name: string): [start: string, end: string] {
  return [`<!-- ${name}:start -->`, `<!-- ${name}:end -->`];
}

export interface Cell {
  connections: number;
  subject: LoadResult | null;
  baseline: LoadResult | null;
}

export interface ScenarioOutcome {
  scenario: Scenario;
  /** Why the scenario (or its subject) was not load-tested (failed pre-flight, target not started, ...). */
  skipped?: string;
  /** The skip was asked for (e.g. BENCH_SKIP_TSERVE), so it is not a failure. */
  deliberate?: boolean;
  cells: Cell[];
}

export interface TargetInfo {
  id: string;
  label: string;
  command: string;
  readyAfterMs: number;
}

export interface BenchRun {
  startedAt: Date;
  finishedAt: Date;
  command: string;
  machine: MachineInfo;
  durationSec: number;
  warmupSec: number;
  connections: number[];
  targets: TargetInfo[];
  scenarios: ScenarioOutcome[];
  inProcess: InProcessReport | null;
  inProcessError?: string;
  warnings: string[];
}

const int = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function rps(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "—" : int.format(value);
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return "—";
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

export function us(value: number): string {
  return Number.isFinite(value) ? value.toFixed(1) : "—";
}

export function pct(ratio: number | undefined): string {
  return ratio === undefined || !Number.isFinite(ratio) ? "—" : `${(ratio * 100).toFixed(1)} %`;
}

export function latency(result: LoadResult | null): string {
  return result ? `${ms(result.p50Ms)} / ${ms(result.p99Ms)}` : "—";
}

export function problems(result: LoadResult | null, label: string): string[] {
  if (!result) return [];
  const out: string[] = [];
  if (result.non2xx > 0) {
    const codes = Object.entries(result.statusCodes)
      // HTTP 2xx, or gRPC OK ("0", see grpc-load.ts), are successes.
      .filter(([code]) => !code.startsWith("2") && code !== "0")
      .map(([code, n]) => `${n}×${code}`)
      .join(", ");
    out.push(`${label}: ${result.non2xx} non-2xx (${codes})`);
  }
  if (result.errors > 0) out.push(`${label}: ${result.errors} errors (${result.timeouts} timeouts)`);
  if (result.warmupNon2xx > 0 || result.warmupErrors > 0) {
    out.push(`${label} warm-up: ${result.warmupNon2xx} non-2xx, ${result.warmupErrors} errors`);
  }
  return out;
}

export function ratioOf(cell: Cell): number | undefined {
  if (!cell.subject || !cell.baseline || cell.baseline.requestsPerSec <= 0) return undefined;
  return cell.subject.requestsPerSec / cell.baseline.requestsPerSec;
}

export type Verdict = "PASS" | "FAIL" | "INVALID" | "n/a";

export function verdict(scenario: Scenario, cell: Cell, deliberate = false): Verdict {
  if (scenario.targetRatio === undefined || (deliberate && !cell.subject)) return "n/a";
  if (!cell.subject || !cell.baseline) return "INVALID";
  if (isInvalid(cell.subject) || isInvalid(cell.baseline)) return "INVALID";
  const ratio = ratioOf(cell);
  return ratio !== undefined && ratio >= scenario.targetRatio ? "PASS" : "FAIL";
}

/** Every problem that makes some figure untrustworthy; printed loudly and listed in the report. */
export function collectFailures(run: BenchRun): string[] {
  const out: string[] = [];
  for (const outcome of run.scenarios) {
    if (outcome.skipped && !outcome.deliberate) out.push(`${outcome.scenario.name}: not measured — ${outcome.skipped}`);
    for (const cell of outcome.cells) {
      const where = `${outcome.scenario.name} @${cell.connections}`;
      out.push(...problems(cell.subject, `${where} tserve`), ...problems(cell.baseline, `${where} baseline`));
    }
  }
  return out;
}

/** Markdown-table-safe text. */
function cellText(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

const VERDICT_LABEL: Record<Verdict, string> = { PASS: "✅ PASS", FAIL: "❌ FAIL", INVALID: "⚠ INVALID", "n/a": "—" };

function targetCell(scenario: Scenario, v: Verdict): string {
  if (scenario.targetRatio === undefined || v === "n/a") return "—";
  return `≥ ${(scenario.targetRatio * 100).toFixed(0)} %: ${VERDICT_LABEL[v]}`;
}

export type Align = "left" | "right" | "center";

/** Terminal/Markdown display width: wide emoji count as two columns. */
function displayWidth(text: string): number {
  let width = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (code === 0xfe0f) continue;
    width += code >= 0x1f300 || code === 0x2705 || code === 0x274c ? 2 : 1;
  }
  return width;
}

function pad(text: string, width: number, align: Align): string {
  const gap = Math.max(0, width - displayWidth(text));
  if (align === "right") return " ".repeat(gap) + text;
  if (align === "center") return " ".repeat(Math.floor(gap / 2)) + text + " ".repeat(gap - Math.floor(gap / 2));
  return text + " ".repeat(gap);
}

/** A column-aligned Markdown table (readable on the console as well as rendered). */
export function table(columns: [title: string, align: Align][], rows: string[][]): string[] {
  const widths = columns.map(([title], i) =>
    Math.max(3, displayWidth(title), ...rows.map((r) => displayWidth(r[i] ?? ""))),
  );
  const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;
  const rule = columns.map(([, align], i) => {
    const dashes = "-".repeat(widths[i] - (align === "left" ? 0 : align === "right" ? 1 : 2));
    return align === "right" ? `${dashes}:` : align === "center" ? `:${dashes}:` : dashes;
  });
  return [
    line(columns.map(([title, align], i) => pad(title, widths[i], align))),
    line(rule),
    ...rows.map((r) => line(columns.map(([, align], i) => pad(cellText(r[i] ?? ""), widths[i], align)))),
  ];
}

function loadTable(run: BenchRun): string[] {
  const rows: string[][] = [];
  for (const outcome of run.scenarios) {
    const { scenario } = outcome;
    if (outcome.cells.length === 0) {
      rows.push([scenario.title, "—", "—", "—", "—", "—", "—", "—", `⚠ not measured: ${outcome.skipped ?? "?"}`]);
      continue;
    }
    for (const cell of outcome.cells) {
      const failed = [...problems(cell.subject, "tserve"), ...problems(cell.baseline, "bare")];
      rows.push([
        scenario.title,
        String(cell.connections),
        rps(cell.subject?.requestsPerSec),
        rps(cell.baseline?.requestsPerSec),
        pct(ratioOf(cell)),
        latency(cell.subject),
        latency(cell.baseline),
        targetCell(scenario, verdict(scenario, cell, outcome.deliberate)),
        failed.length > 0 ? `⚠ ${failed.join("; ")}` : "0",
      ]);
    }
  }
  return table(
    [
      ["Scenario", "left"],
      ["Conns", "right"],
      ["tserve req/s", "right"],
      ["bare node:http req/s", "right"],
      ["tserve / bare", "right"],
      ["tserve p50 / p99 ms", "right"],
      ["bare p50 / p99 ms", "right"],
      ["Target", "center"],
      ["Failed requests", "left"],
    ],
    rows,
  );
}

function inProcessTable(run: BenchRun): string[] {
  if (!run.inProcess) return [`In-process baseline not run: ${run.inProcessError ?? "unknown reason"}`];
  const compared = run.scenarios.find((o) => o.scenario.compareInProcess);
  const columns: [string, Align][] = [
    ["Concurrency", "right"],
    ["session.run runs/s", "right"],
    ["p50 µs", "right"],
    ["p99 µs", "right"],
  ];
  if (compared) columns.push([`tserve ${compared.scenario.title} req/s`, "right"], ["tserve / in-process", "right"]);
  const rows = run.inProcess.results.map((r) => {
    const row = [String(r.concurrency), rps(r.runsPerSec), us(r.p50Us), us(r.p99Us)];
    if (compared) {
      const tserveRps = compared.cells.find((c) => c.connections === r.concurrency)?.subject?.requestsPerSec;
      row.push(rps(tserveRps), pct(tserveRps === undefined ? undefined : tserveRps / r.runsPerSec));
    }
    return row;
  });
  return table(columns, rows);
}

function targetSummary(run: BenchRun): string[] {
  const out: string[] = [];
  for (const outcome of run.scenarios) {
    const { scenario } = outcome;
    if (scenario.targetRatio === undefined) continue;
    const goal = `${scenario.title} iris ≥ ${(scenario.targetRatio * 100).toFixed(0)} % of bare node:http req/s`;
    const verdicts =
      outcome.cells.length === 0
        ? "not measured"
        : outcome.cells
            .map((c) => `${c.connections} conn: **${verdict(scenario, c, outcome.deliberate)}** (${pct(ratioOf(c))})`)
            .join(", ");
    out.push(`- Target: ${goal} — ${verdicts}`);
  }
  return out;
}

/** The body of the RESULTS.md section (also what is printed to the console). */
export function renderMarkdown(run: BenchRun): string {
  const failures = collectFailures(run);
  const lines: string[] = [
    "## Core: tserve vs bare node:http vs in-process onnxruntime (iris)",
    "",
    `- Date: ${run.startedAt.toISOString()} (took ${Math.round((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000)} s)`,
    `- Machine: ${describeMachine(run.machine)}`,
    `- Command: \`${run.command}\``,
    `- Load: autocannon (same machine, loopback), ${run.warmupSec} s warm-up + ${run.durationSec} s measured per cell, ` +
      `connections ${run.connections.join(" and ")}, pipelining 1; req/s counts 2xx responses only; latency from per-response timings`,
    ...run.targets.map((t) => `- ${t.label}: \`${t.command}\` (ready after ${Math.round(t.readyAfterMs)} ms)`),
    ...targetSummary(run),
    "",
    ...loadTable(run),
    "",
    `### In-process onnxruntime-node (${run.inProcess ? `${run.inProcess.results[0]?.iterations ?? 0} session.run() calls per level, 2x4 FP32 input` : "skipped"})`,
    "",
    ...inProcessTable(run),
    "",
    "Notes:",
    "",
    "- Load generator, servers and the in-process baseline share the same machine; on few cores the load generator competes with the server for CPU.",
    "- onnxruntime-node runs `session.run()` synchronously on the JS thread (deferred via setImmediate), so concurrent in-flight promises queue rather than run in parallel.",
  ];
  for (const w of run.warnings) lines.push(`- ⚠ ${w}`);
  if (failures.length > 0) {
    lines.push("", "**⚠ INVALID FIGURES — some requests failed; do not trust the affected rows:**", "");
    for (const f of failures) lines.push(`- ${f}`);
  }
  return lines.join("\n");
}

const FILE_HEADER = `# tserve benchmarks

Produced by \`npm run bench\` (\`bench/run.ts\`). Each section between \`<!-- name:start -->\` and
\`<!-- name:end -->\` markers is rewritten by the harness that owns it; anything outside the markers is kept.
`;

/**
 * Replaces (or appends) one section of RESULTS.md (default: core), leaving everything else untouched.
 * A section not in the file yet is appended at its end.
 */
export function writeResultsSection(path: string, markdown: string, name = "core"): void {
  const [startMarker, endMarker] = sectionMarkers(name);
  const section = `${startMarker}\n${markdown}\n${endMarker}`;
  const current = existsSync(path) ? readFileSync(path, "utf8") : FILE_HEADER;
  const start = current.indexOf(startMarker);
  const end = start >= 0 ? current.indexOf(endMarker, start) : -1;
  let next: string;
  if (start >= 0 && end >= 0) {
    next = current.slice(0, start) + section + current.slice(end + endMarker.length);
  } else {
    next = `${current.replace(/\s*$/, "")}\n\n${section}\n`;
  }
  writeFileSync(path, next);
}
