/**
 * What OpenTelemetry tracing costs: iris V1 :predict at 32 connections (autocannon), the same `tserve serve` with
 * tracing off, on (every request sampled) and on at a 10 % sample (OTLP/HTTP JSON to a sink in this process that
 * counts what it gets), alternating, plus — with
 * `--head` — the server as committed at HEAD (`git archive`, read-only) for "before the change".
 *
 *   npx tsx bench/tracing.ts [--rounds 3] [--duration 10] [--head]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { runLoad } from "./load.ts";
import { freePort } from "./ports.ts";
import { installCleanupHandlers, startProcess, stopAll, waitForHttpOk } from "./processes.ts";

const ROOT = join(import.meta.dirname, "..");
const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const ROUNDS = flag("rounds", 3);
const DURATION = flag("duration", 10);
const CONNECTIONS = 32;
const REQUEST = {
  method: "POST" as const,
  path: "/v1/models/iris:predict",
  headers: { "content-type": "application/json" },
  body: Buffer.from(JSON.stringify({ instances: [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]] })),
};

/** An OTLP/HTTP receiver that only counts what it gets (parsing the JSON would load this process, not the server). */
async function startSink(): Promise<{ url: string; exports: () => number; bytes: () => number; close: () => void }> {
  let exports = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      exports++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports: () => exports, bytes: () => bytes, close: () => server.close() };
}

/** HEAD's sources in a temporary folder sharing this checkout's node_modules (no git state changes). */
function headCheckout(): string {
  const dir = "/tmp/tserve-bench-head";
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync("bash", ["-c", `git -C '${ROOT}' archive HEAD bin packages/server examples/iris package.json | tar -x -C '${dir}'`]);
  if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  return dir;
}

interface Variant {
  name: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

async function measure(variant: Variant): Promise<number> {
  const port = await freePort();
  const proc = startProcess(`tserve-${variant.name}`, process.execPath, [
    "bin/tserve.js", "serve", "--model-repository", "examples/iris/models", "--http_port", String(port), "--grpc_port", String(await freePort()),
  ], { cwd: variant.cwd, logPath: join(ROOT, "bench", "logs", `tracing-${variant.name}.log`), env: variant.env });
  try {
    await waitForHttpOk(proc, `http://127.0.0.1:${port}/v2/health/ready`, 60_000);
    const r = await runLoad({ baseUrl: `http://127.0.0.1:${port}`, request: REQUEST, connections: CONNECTIONS, durationSec: DURATION, warmupSec: 3 });
    if (r.non2xx > 0 || r.errors > 0) console.warn(`${variant.name}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    console.log(`${variant.name.padEnd(8)} ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms`);
    return r.requestsPerSec;
  } finally {
    await stopAll();
  }
}

async function main(): Promise<void> {
  installCleanupHandlers();
  const sink = await startSink();
  const clean: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("OTEL_")));
  const variants: Variant[] = [
    { name: "off", cwd: ROOT, env: clean },
    { name: "on", cwd: ROOT, env: { ...clean, OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SERVICE_NAME: "bench" } },
    {
      name: "on-10%",
      cwd: ROOT,
      env: { ...clean, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" },
    },
  ];
  if (args.includes("--head")) variants.unshift({ name: "head", cwd: headCheckout(), env: clean });
  const figures = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  console.log(`iris V1 :predict, ${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} rounds alternating ${variants.map((v) => v.name).join(" / ")}`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) figures.get(v.name)!.push(await measure(v));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const off = median(figures.get("off")!);
  console.log("\nmedian req/s (ratio to off):");
  for (const [name, xs] of figures) console.log(`  ${name.padEnd(6)} ${median(xs).toFixed(0).padStart(7)}  ${(median(xs) / off).toFixed(3)}`);
  console.log(`sink: ${sink.exports()} OTLP exports, ${(sink.bytes() / 1e6).toFixed(1)} MB`);
  sink.close();
}

main().catch(async (err) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
