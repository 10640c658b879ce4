/** Markdown rendering of the protocols stage (the protocols section of RESULTS.md). */
import type { InProcessResult } from "./baselines/in-process-onnx.ts";
import type { LoadResult } from "./load.ts";
import { describeMachine, type MachineInfo } from "./machine.ts";
import { IMAGE_SEED } from "./protocol-inputs.ts";
import type { EndpointId, HopOutcome, InputOutcome, LegOutcome } from "./protocols.ts";
import { type Align, latency, pct, problems, rps, table, type TargetInfo } from "./report.ts";

export interface ProtocolsRun {
  startedAt: Date;
  finishedAt: Date;
  command: string;
  machine: MachineInfo;
  durationSec: number;
  warmupSec: number;
  connections: number[];
  ortBudgetMs: number;
  targets: TargetInfo[];
  inputs: InputOutcome[];
  hops: HopOutcome[];
  warnings: string[];
}

const ENDPOINT_LABEL: Record<EndpointId, string> = {
  "rest-json": "tserve REST JSON (V2 infer)",
  "rest-binary": "tserve REST binary (V2 + binary tensor ext.)",
  grpc: "tserve gRPC (ModelInfer, raw_input_contents)",
  "bare-grpc": "bare grpc-js (decode, canned raw answer)",
};

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || !(b > 0) ? undefined : a / b;
}

function times(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "—" : `${value.toFixed(2)}×`;
}

function bytes(n: number | undefined): string {
  if (n === undefined) return "—";
  if (n < 10_000) return `${n} B`;
  if (n < 10_000_000) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function cell<Id extends string>(leg: LegOutcome<Id> | undefined, connections: number): LoadResult | null {
  return leg?.cells[connections] ?? null;
}

function usable(result: LoadResult | null): number | undefined {
  return result && result.non2xx === 0 && result.errors === 0 ? result.requestsPerSec : undefined;
}

function failedText(result: LoadResult | null, skipped: string | undefined): string {
  if (skipped) return `⚠ not measured: ${skipped}`;
  if (!result) return "⚠ not measured";
  const p = problems(result, "");
  return p.length > 0 ? `⚠ ${p.map((s) => s.replace(/^: /, "")).join("; ")}` : "0";
}

function inProcessAt(results: InProcessResult[] | null, connections: number): InProcessResult | undefined {
  return results?.find((r) => r.concurrency === connections);
}

/** Every problem that makes some figure untrustworthy. */
export function protocolsFailures(run: ProtocolsRun): string[] {
  const out: string[] = [];
  const legs: [string, LegOutcome<string>][] = [
    ...run.inputs.flatMap((i) => i.legs.map((l): [string, LegOutcome<string>] => [`${i.input.title} ${l.title}`, l])),
    ...run.hops.map((h): [string, LegOutcome<string>] => [`hop ${h.title}`, h]),
  ];
  for (const [where, leg] of legs) {
    if (leg.skipped) {
      out.push(`${where}: not measured — ${leg.skipped}`);
      continue;
    }
    for (const c of run.connections) {
      const result = leg.cells[c];
      if (!result) out.push(`${where} @${c}: not measured`);
      else out.push(...problems(result, `${where} @${c}`));
    }
  }
  for (const i of run.inputs) {
    if (!i.inProcess) out.push(`${i.input.title} in-process baseline: not run — ${i.inProcessError ?? "?"}`);
  }
  return out;
}

function protocolTable(run: ProtocolsRun): string[] {
  const rows: string[][] = [];
  for (const i of run.inputs) {
    for (const c of run.connections) {
      const ort = inProcessAt(i.inProcess, c);
      for (const leg of i.legs) {
        const r = cell(leg, c);
        rows.push([
          i.input.title,
          String(c),
          ENDPOINT_LABEL[leg.id],
          rps(r?.requestsPerSec),
          latency(r),
          leg.id === "bare-grpc" ? "—" : pct(ratio(usable(r), ort?.runsPerSec)),
          failedText(r, leg.skipped),
        ]);
      }
      rows.push([
        i.input.title,
        String(c),
        "in-process session.run (runs/s)",
        rps(ort?.runsPerSec),
        ort ? `${(ort.p50Us / 1000).toFixed(3)} / ${(ort.p99Us / 1000).toFixed(3)}` : "—",
        ort ? "100 %" : "—",
        ort ? "—" : `⚠ ${i.inProcessError ?? "not run"}`,
      ]);
    }
  }
  return table(
    [
      ["Input", "left"],
      ["Conns", "right"],
      ["Endpoint", "left"],
      ["req/s", "right"],
      ["p50 / p99 ms", "right"],
      ["/ in-process", "right"],
      ["Failed requests", "left"],
    ],
    rows,
  );
}

function ratioTable(run: ProtocolsRun): string[] {
  const rows: string[][] = [];
  for (const i of run.inputs) {
    const leg = (id: EndpointId): LegOutcome<EndpointId> | undefined => i.legs.find((l) => l.id === id);
    for (const c of run.connections) {
      const json = usable(cell(leg("rest-json"), c));
      const binary = usable(cell(leg("rest-binary"), c));
      const grpc = usable(cell(leg("grpc"), c));
      const bare = usable(cell(leg("bare-grpc"), c));
      rows.push([
        i.input.title,
        String(c),
        times(ratio(binary, json)),
        times(ratio(grpc, json)),
        times(ratio(grpc, binary)),
        pct(ratio(grpc, bare)),
      ]);
    }
  }
  return table(
    [
      ["Input", "left"],
      ["Conns", "right"],
      ["REST binary / REST JSON", "right"],
      ["gRPC / REST JSON", "right"],
      ["gRPC / REST binary", "right"],
      ["tserve gRPC / bare gRPC", "right"],
    ],
    rows,
  );
}

function sizeLines(run: ProtocolsRun): string[] {
  return run.inputs.map((i) => {
    const parts = i.legs
      .filter((l) => l.id !== "bare-grpc")
      .map((l) => `${l.title} ${bytes(l.requestBytes)} → ${bytes(l.responseBytes)}`);
    return `- ${i.input.title} (model \`${i.input.modelName}\`) request → response body sizes: ${parts.join(", ")}`;
  });
}

/** Latency at the lowest connection count (1), throughput at the highest (16). */
function hopTable(run: ProtocolsRun): { lines: string[]; low: number; high: number } {
  const low = run.connections.includes(1) ? 1 : Math.min(...run.connections);
  const high = run.connections.includes(16) ? 16 : Math.max(...run.connections);
  const direct = run.hops.find((h) => h.protocol === null);
  const directLow = cell(direct, low);
  const directHigh = usable(cell(direct, high));
  const rows = run.hops.map((h) => {
    const l = cell(h, low);
    const hi = cell(h, high);
    const added =
      h.protocol !== null && l && directLow && usable(l) !== undefined && usable(directLow) !== undefined
        ? `${Math.round((l.p50Ms - directLow.p50Ms) * 1000)}`
        : "—";
    const problemsText = [l, hi].map((r) => failedText(r, h.skipped)).filter((t, idx, all) => all.indexOf(t) === idx);
    return [
      h.protocol === null ? "client → predictor (V1 JSON)" : `client → transformer → predictor`,
      h.protocol ?? "—",
      latency(l),
      added,
      rps(hi?.requestsPerSec),
      h.protocol === null ? "100 %" : pct(ratio(usable(hi), directHigh)),
      latency(hi),
      problemsText.join("; "),
    ];
  });
  const lines = table(
    [
      ["Path", "left"],
      ["Predictor protocol", "left"],
      [`c=${low} p50 / p99 ms`, "right"],
      [`added p50 µs (c=${low})`, "right"],
      [`c=${high} req/s`, "right"],
      [`c=${high} / direct`, "right"],
      [`c=${high} p50 / p99 ms`, "right"],
      ["Failed requests", "left"],
    ] satisfies [string, Align][],
    rows,
  );
  return { lines, low, high };
}

function headline(run: ProtocolsRun): string[] {
  const out: string[] = [];
  for (const i of run.inputs) {
    const get = (id: EndpointId, c: number): number | undefined =>
      usable(cell(
        i.legs.find((l) => l.id === id),
        c,
      ));
    const parts = run.connections.map((c) => {
      const grpc = get("grpc", c);
      return (
        `c=${c}: JSON ${rps(get("rest-json", c))}, binary ${rps(get("rest-binary", c))}, gRPC ${rps(grpc)} req/s ` +
        `(gRPC = ${pct(ratio(grpc, get("bare-grpc", c)))} of bare grpc-js)`
      );
    });
    out.push(`- ${i.input.title}: ${parts.join("; ")}`);
  }
  return out;
}

export function renderProtocolsMarkdown(run: ProtocolsRun): string {
  const failures = protocolsFailures(run);
  const hop = hopTable(run);
  const tookSec = Math.round((run.finishedAt.getTime() - run.startedAt.getTime()) / 1000);
  const lines: string[] = [
    "## Protocols: REST JSON vs REST binary vs gRPC, and the transformer hop",
    "",
    `- Date: ${run.startedAt.toISOString()} (took ${tookSec} s)`,
    `- Machine: ${describeMachine(run.machine)}`,
    `- Command: \`${run.command}\``,
    `- Load: REST through autocannon (pipelining 1); gRPC through \`bench/grpc-load.ts\` (@grpc/grpc-js, closed loop, ` +
      `one channel, N calls in flight, ModelInfer request protobuf-encoded once, responses checked by byte size only). ` +
      `${run.warmupSec} s warm-up + ${run.durationSec} s measured per cell; connections / calls in flight ` +
      `${run.connections.join(" and ")}; same machine, loopback; req/s counts successful responses only`,
    `- In-process baseline: onnxruntime-node \`session.run()\` on the same model and input, ${run.ortBudgetMs} ms per ` +
      `concurrency level, run before any server starts`,
    `- Inputs: iris 2x4 FP32 (the core stage's); image 1x3x224x224 FP32, seeded pseudo-random values in [-1, 1] ` +
      `with 3 decimals (mulberry32, seed 0x${IMAGE_SEED.toString(16)}), identical float32 tensor in every protocol`,
    ...sizeLines(run),
    ...run.targets.map((t) => `- ${t.label}: \`${t.command}\` (ready after ${Math.round(t.readyAfterMs)} ms)`),
    ...headline(run),
    "",
    "### Same model, three protocols",
    "",
    ...protocolTable(run),
    "",
    "Ratios (req/s; ratios only from cells without failed requests):",
    "",
    ...ratioTable(run),
    "",
    "### Transformer hop: client → iris transformer → iris predictor",
    "",
    "The transformer is `test/fixtures/modules/iris-transformer.ts` (divides the values by 10, forwards, labels the " +
      "answer), sent V1 JSON `{\"instances\": [[68,28,48,14],[60,34,45,16]]}`; the direct path sends the equivalent " +
      "V1 request (`[[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]`) to the same predictor (the `tserve (iris)` server). " +
      "Predictor protocol v1 = V1 JSON over REST, v2 = V2 over REST with binary tensors, grpc-v2 = ModelInfer over " +
      `gRPC with raw contents. Added p50 = transformer path p50 − direct p50 at c=${hop.low}, i.e. the cost of ` +
      "the extra hop (transformer server + its client call).",
    "",
    ...hop.lines,
    "",
    "Notes:",
    "",
    "- Load generators, servers and the in-process baseline share the same machine; on few cores the load generator " +
      "competes with the server for CPU (with the transformer, three processes share the cores).",
    "- The gRPC load generator and autocannon both run inside the harness process and neither decodes responses, " +
      "but the grpc-js client does more per call (HTTP/2 stream, call object, deadline timer) than autocannon's " +
      "HTTP/1.1 writer, and the client shares the cores with the server, so gRPC / REST ratios include the client " +
      "library; the bare grpc-js row is the ceiling of a grpc-js client + server pair here. gRPC multiplexes all " +
      "in-flight calls over one HTTP/2 connection; autocannon opens one HTTP/1.1 connection per concurrent request.",
    "- At c=1, req/s is 1 / mean latency, so a few long stalls (see p99) move it more than the p50 does; where req/s " +
      "and p50 disagree (e.g. a tserve / bare gRPC ratio above 100 %), trust the p50s.",
    `- Every server starts fresh for this stage and the first cell of each endpoint gets only the ${run.warmupSec} s ` +
      "warm-up; a fresh tserve reaches steady throughput after roughly 2 s of load. Single run on a shared machine: " +
      "repeat (or raise BENCH_PROTOCOLS_WARMUP / BENCH_PROTOCOLS_DURATION) before reading much into differences " +
      "of a few tens of percent.",
    "- The bare gRPC baseline is built like tserve's gRPC server (same .proto via @grpc/proto-loader, same grpc-js), " +
      "so the ratio isolates what tserve does per call beyond protobuf decoding/encoding and grpc-js itself.",
  ];
  for (const w of run.warnings) lines.push(`- ⚠ ${w}`);
  if (failures.length > 0) {
    lines.push("", "**⚠ INVALID FIGURES — some requests failed; do not trust the affected rows:**", "");
    for (const f of failures) lines.push(`- ${f}`);
  }
  return lines.join("\n");
}
