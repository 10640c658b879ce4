/** Markdown rendering of the seldon stage (the seldon section of RESULTS.md). */
import { describeMachine, type MachineInfo } from "./machine.ts";
import { pct, rps, table, type TargetInfo } from "./report.ts";
import {
  BODIES,
  type CodecResult,
  EXPECTED,
  median,
  type PayloadId,
  type SeldonCell,
  type SeldonLegId,
  type SeldonLegOutcome,
  V1_MODEL,
} from "./seldon.ts";

export interface SeldonRun {
  startedAt: Date;
  finishedAt: Date;
  command: string;
  machine: MachineInfo;
  durationSec: number;
  warmupSec: number;
  rounds: number;
  connections: number[];
  targets: TargetInfo[];
  /** Source of the served component, shown in the report. */
  component: string;
  componentFile: string;
  legs: SeldonLegOutcome[];
  /** In-process protocol work without HTTP (empty when it could not run). */
  codec: CodecResult[];
  codecError?: string;
  /** os.loadavg() (1, 5, 15 min) when the stage started and when it finished: other work on the machine. */
  loadAverage: { start: number[]; end: number[] };
  warnings: string[];
}

/**
 * Fastify's own cost over node:http for the same canned reply, CPU µs per request, from the hand measurement in
 * RESULTS.md ("Why the V1 target … is not met yet": 59–61 µs vs 45 µs on this machine).
 */
const FASTIFY_OVER_NODE_HTTP_US = 15;

const PAYLOAD_TITLE: Record<PayloadId, string> = {
  ndarray: "ndarray 1×4",
  tensor: "tensor 1×4",
  ping: "canned reply",
  v1: "V1 instances 1×4",
};

function lowHigh(run: SeldonRun): { low: number; high: number } {
  return {
    low: run.connections.includes(1) ? 1 : Math.min(...run.connections),
    high: run.connections.includes(16) ? 16 : Math.max(...run.connections),
  };
}

function leg(run: SeldonRun, id: SeldonLegId): SeldonLegOutcome | undefined {
  return run.legs.find((l) => l.id === id);
}

function cell(run: SeldonRun, id: SeldonLegId, connections: number): SeldonCell | null {
  return leg(run, id)?.cells[connections] ?? null;
}

function bad(c: SeldonCell): boolean {
  return c.non2xx > 0 || c.errors > 0;
}

function valid(c: SeldonCell | null | undefined): c is SeldonCell {
  return c !== null && c !== undefined && !bad(c) && c.requestsPerSec > 0;
}

function usec(ms: number | undefined, digits = 0): string {
  return ms === undefined || !Number.isFinite(ms) ? "—" : (ms * 1000).toFixed(digits);
}

function num(v: number | undefined, digits = 1): string {
  return v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits);
}

function signed(v: number | undefined, digits = 0): string {
  if (v === undefined || !Number.isFinite(v)) return "—";
  const text = v.toFixed(digits);
  return v > 0 ? `+${text}` : text;
}

/** Share of one core the server process was busy during the measured runs (median CPU/req × median req/s). */
function busy(c: SeldonCell | null): number | undefined {
  if (!c || c.cpuUsPerRequest === undefined) return undefined;
  const values = c.rounds
    .filter((r) => r.cpuUsPerRequest !== undefined && r.durationSec > 0)
    .map((r) => (r.cpuUsPerRequest! * r.responses) / (r.durationSec * 1e6));
  return values.length > 0 ? median(values) : undefined;
}

function failedText(c: SeldonCell | null, skipped: string | undefined): string {
  if (skipped) return `⚠ not measured: ${skipped}`;
  if (!c) return "⚠ not measured";
  const out: string[] = [];
  if (c.non2xx > 0) {
    const codes = Object.entries(c.statusCodes)
      .filter(([code]) => !code.startsWith("2"))
      .map(([code, n]) => `${n}×${code}`)
      .join(", ");
    out.push(`${c.non2xx} non-2xx (${codes})`);
  }
  if (c.errors > 0) out.push(`${c.errors} errors (${c.timeouts} timeouts)`);
  if (c.warmupNon2xx > 0 || c.warmupErrors > 0) out.push(`warm-up: ${c.warmupNon2xx} non-2xx, ${c.warmupErrors} errors`);
  return out.length > 0 ? `⚠ ${out.join("; ")}` : "0";
}

/** Every problem that makes some figure untrustworthy. */
export function seldonFailures(run: SeldonRun): string[] {
  const out: string[] = [];
  for (const l of run.legs) {
    const where = `${l.title} (${l.server})`;
    if (l.skipped) {
      out.push(`${where}: not measured — ${l.skipped}`);
      continue;
    }
    for (const c of run.connections) {
      const r = l.cells[c];
      if (!r) out.push(`${where} @${c}: not measured`);
      else if (bad(r)) out.push(`${where} @${c}: ${failedText(r, undefined).replace(/^⚠ /, "")}`);
    }
  }
  return out;
}

function ratio(subject: SeldonCell | null, base: SeldonCell | null): number | undefined {
  return valid(subject) && valid(base) ? subject.requestsPerSec / base.requestsPerSec : undefined;
}

/** subject / base req/s within each round, where the two ran back to back. */
function roundRatios(subject: SeldonCell | null, base: SeldonCell | null): number[] {
  if (!valid(subject) || !valid(base)) return [];
  return subject.rounds.map((r, i) => r.requestsPerSec / (base.rounds[i]?.requestsPerSec ?? Number.NaN));
}

function ratioRange(values: number[]): string {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length < 2) return "—";
  return `${pct(Math.min(...v))} … ${pct(Math.max(...v))}`;
}

const ORDER: SeldonLegId[] = [
  "seldon-ndarray",
  "bare-ndarray",
  "v1-module",
  "seldon-tensor",
  "bare-tensor",
  "seldon-ping",
  "bare-ping",
];

function endpointTable(run: SeldonRun): string[] {
  const rows: string[][] = [];
  for (const c of run.connections) {
    for (const id of ORDER) {
      const l = leg(run, id);
      if (!l) continue;
      const r = l.cells[c] ?? null;
      rows.push([
        PAYLOAD_TITLE[l.payload],
        l.server,
        l.path,
        String(c),
        rps(r?.requestsPerSec),
        r ? `${usec(r.p50Ms)} / ${usec(r.p99Ms)}` : "—",
        num(r?.cpuUsPerRequest),
        pct(busy(r)),
        r && r.rounds.length > 1 ? r.rounds.map((x) => rps(x.requestsPerSec)).join(", ") : "—",
        failedText(r, l.skipped),
      ]);
    }
  }
  return table(
    [
      ["Payload", "left"],
      ["Server", "left"],
      ["Request", "left"],
      ["Conns", "right"],
      ["req/s", "right"],
      ["p50 / p99 µs", "right"],
      ["server CPU µs / req", "right"],
      ["server busy", "right"],
      ["req/s per round", "right"],
      ["Failed requests", "left"],
    ],
    rows,
  );
}

interface Pair {
  label: string;
  subject: SeldonLegId;
  base: SeldonLegId;
}

const PAIRS: Pair[] = [
  { label: "ndarray: tserve --seldon / bare", subject: "seldon-ndarray", base: "bare-ndarray" },
  { label: "tensor: tserve --seldon / bare", subject: "seldon-tensor", base: "bare-tensor" },
  { label: "canned GET /health/ping: tserve / bare", subject: "seldon-ping", base: "bare-ping" },
  { label: "reference: tserve V1 module / bare ndarray", subject: "v1-module", base: "bare-ndarray" },
  { label: "reference: tserve --seldon ndarray / tserve V1 module", subject: "seldon-ndarray", base: "v1-module" },
];

function ratioTable(run: SeldonRun): string[] {
  const rows: string[][] = [];
  for (const p of PAIRS) {
    for (const c of run.connections) {
      const s = cell(run, p.subject, c);
      const b = cell(run, p.base, c);
      const addedP50 = valid(s) && valid(b) ? (s.p50Ms - b.p50Ms) * 1000 : undefined;
      const addedCpu =
        valid(s) && valid(b) && s.cpuUsPerRequest !== undefined && b.cpuUsPerRequest !== undefined
          ? s.cpuUsPerRequest - b.cpuUsPerRequest
          : undefined;
      const cpuRatio =
        valid(s) && valid(b) && s.cpuUsPerRequest && b.cpuUsPerRequest ? b.cpuUsPerRequest / s.cpuUsPerRequest : undefined;
      rows.push([
        p.label,
        String(c),
        rps(s?.requestsPerSec),
        rps(b?.requestsPerSec),
        `**${pct(ratio(s, b))}**`,
        ratioRange(roundRatios(s, b)),
        signed(addedP50),
        signed(addedCpu, 1),
        pct(cpuRatio),
      ]);
    }
  }
  return table(
    [
      ["Comparison", "left"],
      ["Conns", "right"],
      ["first req/s", "right"],
      ["second req/s", "right"],
      ["req/s ratio", "right"],
      ["per-round ratio", "right"],
      ["added p50 µs", "right"],
      ["added CPU µs / req", "right"],
      ["CPU ratio (second / first)", "right"],
    ],
    rows,
  );
}

function codecTable(run: SeldonRun): string[] {
  const rows = run.codec.map((c) => [
    PAYLOAD_TITLE[c.payload],
    num(c.tserveUs, 2),
    num(c.bareUs, 2),
    signed(c.tserveUs - c.bareUs, 2),
    `${c.roundsTserveUs.map((v) => v.toFixed(2)).join(", ")} / ${c.roundsBareUs.map((v) => v.toFixed(2)).join(", ")}`,
  ]);
  return table(
    [
      ["Payload", "left"],
      ["tserve Seldon codec µs", "right"],
      ["bare parse/build/stringify µs", "right"],
      ["difference µs", "right"],
      ["per round µs (tserve / bare)", "right"],
    ],
    rows,
  );
}

function headline(run: SeldonRun): string[] {
  const { low, high } = lowHigh(run);
  const out: string[] = [];
  for (const payload of ["ndarray", "tensor"] as const) {
    const s = `seldon-${payload}` as const;
    const b = `bare-${payload}` as const;
    const lo = [cell(run, s, low), cell(run, b, low)] as const;
    const hi = [cell(run, s, high), cell(run, b, high)] as const;
    out.push(
      `- **${payload}**: tserve / bare req/s = **${pct(ratio(...lo))}** at c=${low} ` +
        `(${rps(lo[0]?.requestsPerSec)} vs ${rps(lo[1]?.requestsPerSec)} req/s, p50 ${usec(lo[0]?.p50Ms)} vs ${usec(lo[1]?.p50Ms)} µs), ` +
        `**${pct(ratio(...hi))}** at c=${high} (${rps(hi[0]?.requestsPerSec)} vs ${rps(hi[1]?.requestsPerSec)} req/s, ` +
        `p50 ${usec(hi[0]?.p50Ms)} vs ${usec(hi[1]?.p50Ms)} µs)`,
    );
  }
  const v = [cell(run, "v1-module", low), cell(run, "v1-module", high)];
  const sh = cell(run, "seldon-ndarray", high);
  if (valid(v[0]) || valid(v[1])) {
    const vc = cpuOf(v[1]);
    const sc = cpuOf(sh);
    out.push(
      `- Reference, the same identity as a tserve V1 module model: ${rps(v[0]?.requestsPerSec)} req/s at c=${low}, ` +
        `${rps(v[1]?.requestsPerSec)} at c=${high}` +
        (vc !== undefined && sc !== undefined
          ? `; server CPU at c=${high} ${num(vc)} µs per request vs the Seldon route's ${num(sc)} µs (${signed(sc - vc, 1)} µs)`
          : ""),
    );
  }
  return out;
}

function cpuOf(c: SeldonCell | null): number | undefined {
  return valid(c) ? c.cpuUsPerRequest : undefined;
}

/** The "where the time goes" paragraph, from this run's CPU figures and the in-process codec timing. */
function analysis(run: SeldonRun): string[] {
  const { low, high } = lowHigh(run);
  const s = cell(run, "seldon-ndarray", high);
  const b = cell(run, "bare-ndarray", high);
  const T = cpuOf(s);
  const B = cpuOf(b);
  if (T === undefined || B === undefined) {
    return ["Not enough valid figures (or no /proc CPU times) for a breakdown this time; see the tables."];
  }
  const delta = T - B;
  const sBusy = busy(s);
  const bBusy = busy(b);
  const lines: string[] = [];
  const saturated = sBusy !== undefined && bBusy !== undefined && sBusy >= 0.85 && bBusy >= 0.85;
  lines.push(
    `Server CPU per request is the steadiest figure here: tserve spent **${num(T)} µs** per ndarray request, bare ` +
      `node:http **${num(B)} µs** (${signed(delta, 1)} µs), so a CPU-bound tserve would reach ${pct(B / T)} of bare's ` +
      `req/s; measured: ${pct(ratio(s, b))}. ` +
      (saturated
        ? `Both servers were saturated at c=${high} (busy ${pct(sBusy)} and ${pct(bBusy)} of a core), so req/s follows CPU per request.`
        : `At c=${high} tserve was busy ${pct(sBusy)} and bare ${pct(bBusy)} of a core: below 100 %, the server shared the ` +
          `${run.machine.cores} cores with the autocannon client and other jobs, which moves req/s more than CPU per request.`),
    "",
  );

  const parts: string[] = [];
  let rest = delta;
  const pingT = cpuOf(cell(run, "seldon-ping", high));
  const pingB = cpuOf(cell(run, "bare-ping", high));
  if (pingT !== undefined && pingB !== undefined) {
    const d = pingT - pingB;
    rest -= d;
    parts.push(
      `- **${signed(d, 1)} µs: Fastify itself.** The canned GET /health/ping costs ${num(pingT)} µs on tserve (Fastify ` +
        `route, three CORS headers, "pong") and ${num(pingB)} µs on bare node:http — no body, no protocol work, so this is ` +
        `the framework's own price per request (the core section's hand measurement found +14–16 µs for a canned POST).`,
    );
  } else {
    rest -= FASTIFY_OVER_NODE_HTTP_US;
    parts.push(
      `- **≈ +${FASTIFY_OVER_NODE_HTTP_US} µs: Fastify itself** (not measured in this run; the hand measurement in ` +
        `"Why the V1 target … is not met yet" above: 59–61 vs 45 µs of CPU per request for the same canned reply).`,
    );
  }
  const codec = run.codec.find((c) => c.payload === "ndarray");
  if (codec) {
    const d = codec.tserveUs - codec.bareUs;
    rest -= d;
    parts.push(
      `- **${signed(d, 1)} µs: the Seldon protocol work, in a tight loop** (in-process table above): ` +
        `decodeSeldonRequest (content-type, form and query checks, JSON.parse), parseSeldonMessage's validation, ` +
        `SeldonComponent.seldonPredict (payload copied into a Float64Array NDArray and back to nested arrays, names, meta) ` +
        `and JSON.stringify take ${num(codec.tserveUs, 2)} µs, the bare JSON.parse / build / JSON.stringify ${num(codec.bareUs, 2)} µs. ` +
        `A lower bound: inside the busy server the same code runs several times slower (cold caches and inline caches ` +
        `between requests; see the profile below).`,
    );
  }
  parts.push(
    rest > 5
      ? `- **≈ +${num(rest, 0)} µs: the rest of the POST route** (what tserve's POST adds over its ping, minus what ` +
          `bare's POST adds over its ping, minus the tight-loop codec), not split by this stage: the codec's in-server ` +
          `excess over its tight-loop time, Fastify's body handling (content-type parser collecting a Buffer through ` +
          `stream events) beyond node:http's own reading, \`DataPlane.invoke\` (model lookup, a stage histogram and ` +
          `the success counter in prom-client), the handler's closures and awaits — plus the noise of CPU times read ` +
          `at 10 ms ticks.`
      : `- nothing measurable beyond these (remainder ${signed(rest, 0)} µs, within the noise of CPU times read at 10 ms ticks).`,
  );
  parts.push(
    "- For the split inside the server, a CPU profile taken by hand (not re-measured by this stage: `node --cpu-prof` " +
      "on each server, ndarray body, autocannon c=16 for 8 s, 2026-11-22, this machine). The kernel's loopback send " +
      "(`writev`, system time) is 56 % of bare's busy time and 36 % of tserve's — roughly the same 35–50 µs per request " +
      "in both. The rest of tserve's busy time: node's http / stream / event code 21 % (bare 23 %), Fastify 11 %, the " +
      "Seldon codec and component 10 % (≈ 12 µs per request, 2–3× its tight-loop time), the route handler (with " +
      "inlined JSON.stringify) 5 %, DataPlane + metrics + prom-client 5 %, V8 (GC, microtasks, runtime) ≈ 10 %. So " +
      "tserve's extra cost is almost all user-space JavaScript, spread over Fastify, node's stream machinery, the codec " +
      "and the bookkeeping around it, with no single hot spot.",
  );
  lines.push(`Where tserve's ${signed(delta, 1)} µs of CPU per request go (c=${high}):`, "", ...parts, "");

  const tail: string[] = [];
  const st = cpuOf(cell(run, "seldon-tensor", high));
  const bt = cpuOf(cell(run, "bare-tensor", high));
  if (st !== undefined && bt !== undefined) {
    tail.push(`The tensor payload: tserve ${num(st)} µs, bare ${num(bt)} µs per request (${signed(st - bt, 1)} µs).`);
  }
  const v = cpuOf(cell(run, "v1-module", high));
  if (v !== undefined) {
    const d = T - v;
    tail.push(
      `The same identity as a V1 module model costs ${num(v)} µs per request on the same framework, so the Seldon ` +
        `route is ${signed(d, 1)} µs ${d >= 0 ? "dearer" : "cheaper"} than tserve's V1 path (V1: JSON.parse, ` +
        `preprocess / predict / postprocess with three stage histograms, no NDArray copy).`,
    );
  }
  const sl = cell(run, "seldon-ndarray", low);
  const bl = cell(run, "bare-ndarray", low);
  if (low !== high && valid(sl) && valid(bl)) {
    tail.push(
      `At c=${low} a request is one loopback round trip at a time, so the extra work shows as latency: p50 ` +
        `${signed((sl.p50Ms - bl.p50Ms) * 1000)} µs over bare (ndarray); CPU per request at c=${low} also counts the idle ` +
        `server's wake-ups, so use the c=${high} CPU figures for the split.`,
    );
  }
  if (tail.length > 0) lines.push(tail.join(" "));
  return lines;
}

export function renderSeldonMarkdown(run: SeldonRun): string {
  const failures = seldonFailures(run);
  const tookSec = Math.round((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000);
  const { high } = lowHigh(run);
  const lines: string[] = [
    "## Seldon Core component: tserve --seldon vs bare node:http (identity, 1×4)",
    "",
    `- Date: ${run.startedAt.toISOString()} (took ${tookSec} s)`,
    `- Machine: ${describeMachine(run.machine)}; load average (1/5/15 min) ${run.loadAverage.start.map((v) => v.toFixed(2)).join(" / ")} ` +
      `at the start, ${run.loadAverage.end.map((v) => v.toFixed(2)).join(" / ")} at the end (includes this run's own load)`,
    `- Command: \`${run.command}\``,
    `- Load: autocannon (pipelining 1, same machine, loopback, inside the harness process); connections ${run.connections.join(" and ")}; ` +
      `${run.rounds} round(s) per connection count, **rounds interleaved**: within a round the endpoints run back to back ` +
      "(tserve ndarray, bare ndarray, V1 module, tserve tensor, bare tensor, tserve ping, bare ping), the order reversed every round, so each tserve " +
      `run sits next to its bare baseline in time; every run ${run.warmupSec} s warm-up (discarded) + ${run.durationSec} s ` +
      "measured. **Figures are medians over the rounds** (req/s of 2xx responses; p50 / p99 = median of the rounds' percentiles)",
    "- Server CPU: user + system time of the server process (`/proc/<pid>/stat`, 10 ms ticks) read just before and after " +
      "each measured run, divided by its responses, median over rounds; server busy = that CPU time / the run's duration " +
      "(100 % = one core)",
    `- Component \`${run.componentFile}\`, served with \`--seldon\`; the V1 reference is \`bench/fixtures/v1-identity.ts\` ` +
      `(a \`Model\` subclass returning \`{"predictions": instances}\`) as model \`${V1_MODEL}\`; the bare baseline is ` +
      "`bench/baselines/bare-seldon.ts` (read body, JSON.parse, build the same-shaped Seldon answer, JSON.stringify)",
    `- Requests: ndarray \`${BODIES.ndarray}\`, tensor \`${BODIES.tensor}\`, V1 \`${BODIES.v1}\` (content-type ` +
      "application/json); plus `GET /health/ping` on the Seldon server and the bare one (a canned `pong`: the framework " +
      "floor without protocol work)",
    ...run.targets.map((t) => `- ${t.label}: \`${t.command}\` (ready after ${Math.round(t.readyAfterMs)} ms)`),
    "- Pre-flight for every endpoint before any load: 200, JSON content type and exactly the expected document — " +
      `ndarray \`${JSON.stringify(EXPECTED.ndarray)}\`, tensor \`${JSON.stringify(EXPECTED.tensor)}\`, V1 ` +
      `\`${JSON.stringify(EXPECTED.v1)}\`, ping text/plain \`pong\`; the bare answers are byte-for-byte tserve's`,
    ...headline(run),
    "",
    "```ts",
    run.component.trimEnd(),
    "```",
    "",
    "### Endpoints (medians over rounds)",
    "",
    ...endpointTable(run),
    "",
    "### tserve / bare",
    "",
    "req/s ratio = first / second of the medians; per-round ratio = the same within each round, where the two ran back " +
      "to back (its spread is this machine's noise); added p50 = p50(first) − p50(second); added CPU = server CPU µs per " +
      "request, first − second; CPU ratio = what the CPU figures alone predict for the req/s ratio of a CPU-bound server.",
    "",
    ...ratioTable(run),
    "",
  ];
  if (run.codec.length > 0) {
    lines.push(
      "### Seldon protocol work alone, in-process (no HTTP)",
      "",
      "Timed in the harness process before any server started: `decodeSeldonRequest` → `parseSeldonMessage` → " +
        "`SeldonComponent.seldonPredict` (the identity component) → `JSON.stringify`, i.e. the /api/v1.0/predictions " +
        "route minus Fastify and the DataPlane, against the bare baseline's JSON.parse → answer → JSON.stringify; every " +
        `call awaited; ${run.codec[0].roundsTserveUs.length} alternating rounds of 300 ms each, median.`,
      "",
      ...codecTable(run),
      "",
    );
  } else if (run.codecError) {
    lines.push(`In-process codec timing not available: ${run.codecError}`, "");
  }
  lines.push(`### Where the time goes (c=${high})`, "", ...analysis(run), "");
  lines.push(
    "Notes:",
    "",
    `- autocannon, the servers and other people's jobs share ${run.machine.cores} cores; the interleaved rounds put tserve ` +
      "and its baseline under the same conditions, and the per-round columns show how much the machine moved between rounds. " +
      "CPU µs per request is much less sensitive to that noise than req/s.",
    `- Where "server busy" is well below 100 % at c=${high}, the client or other jobs, not the server, limited req/s ` +
      "(typically bare node:http's canned ping, faster than autocannon can ask); read the CPU columns there.",
    "- Environment knobs: BENCH_SELDON_DURATION (s per round, default 3), BENCH_SELDON_WARMUP (default 1), " +
      "BENCH_SELDON_ROUNDS (default 3), BENCH_SELDON_CONNECTIONS (default 1,16).",
  );
  for (const w of run.warnings) lines.push(`- ⚠ ${w}`);
  if (failures.length > 0) {
    lines.push("", "**⚠ INVALID FIGURES — some requests failed or were not measured; do not trust the affected rows:**", "");
    for (const f of failures) lines.push(`- ${f}`);
  }
  return lines.join("\n");
}
