/**
 * What reading 64-bit integers exactly costs JSON request bodies (issue 13, item 7). Each body is decoded the way
 * the server decodes it (V2: parse + tensors; V1: parseV1Json + rows -> tensor), several times; the median is
 * reported. Bodies: 1M FP32 values at full precision (the common path, which must not get slower; also with a
 * TF Serving NaN token, whose re-parse now shares the literal rewriter), 1M INT64 token ids (small values: no exact
 * reading either), and 1M INT64 values of 19-20 digits (the exact reading).
 * Also timed: an eager pre-scan of the FP32 text for 16-digit integers, the design not taken.
 *
 *   npx tsx bench/json-int64.ts [--runs 9]
 *   BENCH_BASELINE_SRC=/path/to/other/src npx tsx bench/json-int64.ts   (also another checkout's src/, runs alternating)
 *
 * A baseline from the last commit: git archive HEAD src | tar -x -C /tmp/base && ln -s "$PWD/node_modules" /tmp/base/
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const SRC = resolve(process.env.BENCH_SRC ?? resolve(import.meta.dirname, "../src"));
const N = 1_000_000;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Protocol {
  v1: {
    parseV1Json(body: Uint8Array): unknown;
    v1ToInferRequest(body: unknown, inputs: { name: string; datatype: string; shape: number[] }[]): { request: { inputs: { data: ArrayLike<unknown> }[] } };
  };
  v2: { decodeInferRequest(body: Uint8Array): { inputs: { data: ArrayLike<unknown> }[] } };
}

function v2Body(datatype: string, values: string): Uint8Array {
  return Buffer.from(`{"inputs":[{"name":"x","datatype":"${datatype}","shape":[${N}],"data":[${values}]}]}`);
}

function v1Body(values: string): Uint8Array {
  return Buffer.from(`{"instances":[${values}]}`);
}

/** A timed step: its median ms over the runs, or why it was refused (the request's 400). */
type Result = { ms: number[] } | { refused: string };

/**
 * Times each step `runs` times after two warm-up calls. With several sources the runs alternate between them, so a
 * busy machine slows every source alike rather than whichever ran during the busy spell.
 */
function timeAlternating(runs: number, fns: (() => unknown)[]): Result[] {
  const results: Result[] = fns.map((fn) => {
    try {
      fn();
      fn();
      return { ms: [] };
    } catch (err) {
      return { refused: (err as Error).message.slice(0, 60) };
    }
  });
  for (let r = 0; r < runs; r++) {
    fns.forEach((fn, k) => {
      const result = results[k];
      if ("refused" in result) return;
      const t = performance.now();
      fn();
      result.ms.push(performance.now() - t);
    });
  }
  return results;
}

function show(result: Result): string {
  if ("refused" in result) return `refused (400: ${result.refused}…)`;
  const sorted = [...result.ms].sort((a, b) => a - b);
  return `${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms`;
}

async function load(src: string): Promise<Protocol> {
  return (await import(pathToFileURL(resolve(src, "protocol/index.ts")).href)) as Protocol;
}

async function main(): Promise<void> {
  const runs = arg("runs", 9);
  const sources = [SRC, ...(process.env.BENCH_BASELINE_SRC ? [resolve(process.env.BENCH_BASELINE_SRC)] : [])];
  const protocols = await Promise.all(sources.map(load));

  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const floats = Array.from({ length: N }, () => String(Math.fround(random() * 2 - 1))).join(",");
  const tokenIds = Array.from({ length: N }, () => String(Math.floor(random() * 30_000))).join(",");
  const bigInts = Array.from({ length: N }, (_, i) => String((i % 2 ? -1n : 1n) * (2n ** 62n + BigInt(Math.floor(random() * 2 ** 40))))).join(",");

  const fp32V2 = v2Body("FP32", floats);
  const fp32V1 = v1Body(floats);
  const nanV1 = v1Body(`${floats},NaN`);
  const tokensV2 = v2Body("INT64", tokenIds);
  const bigV2 = v2Body("INT64", bigInts);
  const bigV1 = v1Body(bigInts);
  const fp32Input = [{ name: "x", datatype: "FP32", shape: [-1] }];
  const int64Input = [{ name: "x", datatype: "INT64", shape: [-1] }];
  const mib = (b: Uint8Array) => `${(b.byteLength / 2 ** 20).toFixed(1)} MiB`;
  const fp32Text = Buffer.from(fp32V2).toString("utf8");

  const steps: [string, (p: Protocol) => () => unknown][] = [
    [`V2 JSON, 1M FP32 (${mib(fp32V2)}): decodeInferRequest`, ({ v2 }) => () => v2.decodeInferRequest(fp32V2)],
    [
      `V1 rows, 1M FP32 (${mib(fp32V1)}): parseV1Json + v1ToInferRequest`,
      ({ v1 }) => () => v1.v1ToInferRequest(v1.parseV1Json(fp32V1), fp32Input),
    ],
    [
      `V1 rows, 1M FP32 and one NaN token (${mib(nanV1)}): the non-finite re-parse`,
      ({ v1 }) => () => v1.v1ToInferRequest(v1.parseV1Json(nanV1), fp32Input),
    ],
    [`V2 JSON, 1M INT64 token ids (${mib(tokensV2)}): no exact reading`, ({ v2 }) => () => v2.decodeInferRequest(tokensV2)],
    [`V2 JSON, 1M INT64 of 19-20 digits (${mib(bigV2)}): exact reading`, ({ v2 }) => () => v2.decodeInferRequest(bigV2)],
    [
      `V1 rows, 1M INT64 of 19-20 digits (${mib(bigV1)}): exact reading`,
      ({ v1 }) => () => v1.v1ToInferRequest(v1.parseV1Json(bigV1), int64Input),
    ],
  ];
  console.log(`Node ${process.version}; median of ${runs} runs, sources alternating`);
  console.log(`| body | ${sources.join(" | ")} |\n| --- |${sources.map(() => " ---: |").join("")}`);
  for (const [what, step] of steps) {
    const results = timeAlternating(runs, protocols.map(step));
    console.log(`| ${what} | ${results.map(show).join(" | ")} |`);
  }
  const [scan, parse] = timeAlternating(runs, [() => /(?:^|[^\d.])\d{16}/.test(fp32Text), () => JSON.parse(fp32Text)]);
  console.log(`\nFor comparison, on the FP32 V2 text: JSON.parse ${show(parse)}; an eager pre-scan for 16-digit integers`);
  console.log(`(/(?:^|[^\\d.])\\d{16}/, the design not taken) ${show(scan)}.`);
}

await main();
