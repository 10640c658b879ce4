/**
 * Runs the image-transformer example end to end: one predictor and one transformer per protocol, each a
 * real `node bin/tserve.js serve` process on free ports. It sends examples/custom-model/input.json through
 * each transformer, prints the answers, checks that they agree, and stops everything.
 *
 *   npm run example:image-transformer              # v1, v2 and grpc-v2
 *   npm run example:image-transformer -- grpc-v2   # one protocol
 *
 * Exits 0 when every answer is a well-formed top 5 and all the answers agree, 1 otherwise, and 130 on Ctrl-C.
 */
import { readFile } from "node:fs/promises";
import { freePort, type Server, servers, startServer, stopAll, waitReady } from "../shared/processes.ts";
import type { TransformerResponse } from "./transformer.ts";

const INPUT = "examples/custom-model/input.json";
const MODEL_NAME = "classifier";
const PROTOCOLS = ["v1", "v2", "grpc-v2"] as const;
type PredictorProtocol = (typeof PROTOCOLS)[number];

const REQUEST_TIMEOUT_MS = 60_000;
/** Scores may differ by float rounding at most; labels must be the same. */
const TOLERANCE = 1e-6;

function usage(): never {
  console.error(`usage: tsx examples/image-transformer/run.ts [${PROTOCOLS.join("|")}|all]`);
  process.exit(2);
}

function parseProtocols(arg: string | undefined): PredictorProtocol[] {
  if (arg === undefined || arg === "all") return [...PROTOCOLS];
  if ((PROTOCOLS as readonly string[]).includes(arg)) return [arg as PredictorProtocol];
  return usage();
}

function checkAnswer(protocol: string, body: unknown): TransformerResponse {
  const predictions = (body as TransformerResponse | null)?.predictions;
  const ok =
    Array.isArray(predictions) &&
    predictions.length === 1 &&
    predictions[0].length === 5 &&
    predictions[0].every((p) => typeof p.label === "string" && typeof p.score === "number" && p.score >= 0 && p.score <= 1);
  if (!ok) throw new Error(`${protocol}: expected {"predictions": [[5 x {label, score}]]}, got ${JSON.stringify(body)}`);
  return body as TransformerResponse;
}

function sameAnswer(a: TransformerResponse, b: TransformerResponse): boolean {
  return (
    a.predictions.length === b.predictions.length &&
    a.predictions.every(
      (row, i) =>
        row.length === b.predictions[i].length &&
        row.every((p, k) => p.label === b.predictions[i][k].label && Math.abs(p.score - b.predictions[i][k].score) <= TOLERANCE),
    )
  );
}

async function main(): Promise<void> {
  const protocols = parseProtocols(process.argv[2]);
  const body = await readFile(new URL(`../../${INPUT}`, import.meta.url), "utf8");

  const [predictorHttp, predictorGrpc] = [await freePort(), await freePort()];
  const predictor = startServer(
    "predictor",
    ["serve", "examples/custom-model/model/classifier.onnx", "--model_name", MODEL_NAME, "--grpc_port", String(predictorGrpc)],
    predictorHttp,
  );
  const transformers = new Map<PredictorProtocol, Server>();
  for (const protocol of protocols) {
    const host = `127.0.0.1:${protocol === "grpc-v2" ? predictorGrpc : predictorHttp}`;
    const [http, grpc] = [await freePort(), await freePort()];
    const args = [
      "serve",
      "examples/image-transformer/transformer.ts",
      "--model_name",
      MODEL_NAME,
      "--predictor_host",
      host,
      "--predictor_protocol",
      protocol,
      "--grpc_port",
      String(grpc),
    ];
    transformers.set(protocol, startServer(`transformer (${protocol})`, args, http));
  }
  await Promise.all([predictor, ...transformers.values()].map((s) => waitReady(s)));
  console.log("all servers are ready\n");

  const answers = new Map<PredictorProtocol, TransformerResponse>();
  for (const [protocol, transformer] of transformers) {
    const url = `${transformer.url}/v1/models/${MODEL_NAME}:predict`;
    const started = performance.now();
    const r = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await r.text();
    const ms = (performance.now() - started).toFixed(0);
    console.log(`${protocol}: POST ${url} (${INPUT}) -> ${r.status} in ${ms} ms`);
    console.log(text);
    if (r.status !== 200) throw new Error(`${protocol}: the transformer answered ${r.status}`);
    const answer = checkAnswer(protocol, JSON.parse(text));
    for (const { label, score } of answer.predictions[0]) console.log(`  ${label.padEnd(20)} ${score.toFixed(6)}`);
    console.log();
    answers.set(protocol, answer);
  }

  const [first, ...rest] = [...answers];
  for (const [protocol, answer] of rest) {
    if (!sameAnswer(first[1], answer)) {
      throw new Error(`${protocol} and ${first[0]} disagree:\n${JSON.stringify(answer)}\n${JSON.stringify(first[1])}`);
    }
  }
  console.log(
    rest.length > 0
      ? `OK: ${[...answers.keys()].join(", ")} gave the same top 5 (labels equal, scores within ${TOLERANCE}).`
      : `OK: ${first[0]} gave a well-formed top 5.`,
  );
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the servers`);
    void stopAll().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
  });
}

try {
  await main();
  await stopAll();
} catch (err) {
  console.error(`\nFAILED: ${err instanceof Error ? err.message : String(err)}`);
  for (const s of servers) {
    const log = s.log().trim();
    if (log) console.error(`\n--- ${s.label} output ---\n${log}`);
  }
  await stopAll();
  process.exitCode = 1;
}
