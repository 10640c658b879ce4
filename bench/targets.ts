/** Starting and stopping the servers under test, each as its own child process on a free port. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BenchConfig } from "./config.ts";
import { freePort } from "./ports.ts";
import { type ManagedProcess, startProcess, waitForHttpOk } from "./processes.ts";
import type { TargetId } from "./scenarios.ts";

export interface RunningTarget<Id extends string = TargetId> {
  id: Id;
  label: string;
  /** http://host:port of the REST listener (for a gRPC-only server: its gRPC address as a URL). */
  baseUrl: string;
  /** host:port of the gRPC listener, if the target serves gRPC. */
  grpcTarget?: string;
  command: string;
  process: ManagedProcess;
  readyAfterMs: number;
}

export const HOST = "127.0.0.1";
export const READY_PATH = "/v2/health/ready";

/**
 * Starts `node <args(port)>` on a free port and waits until it is ready (by default: GET /v2/health/ready
 * answers 200 on that port). Its output goes to bench/.out/<id>.log.
 */
export async function launch<Id extends string>(
  config: BenchConfig,
  id: Id,
  label: string,
  args: (port: number) => string[],
  ready?: (proc: ManagedProcess, port: number) => Promise<number>,
): Promise<RunningTarget<Id>> {
  const port = await freePort(HOST);
  const argv = args(port);
  const proc = startProcess(label, process.execPath, argv, {
    cwd: config.rootDir,
    logPath: join(config.outDir, `${id}.log`),
  });
  const baseUrl = `http://${HOST}:${port}`;
  try {
    const readyAfterMs = ready
      ? await ready(proc, port)
      : await waitForHttpOk(proc, baseUrl + READY_PATH, config.readyTimeoutMs);
    return { id, label, baseUrl, command: `node ${argv.join(" ")}`, process: proc, readyAfterMs };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

export function tserveBin(config: BenchConfig): string {
  return resolve(config.rootDir, config.tserveBin);
}

/** tserve as users run it: node bin/tserve.js serve ... (--grpc_port 0: no gRPC listener needed here). */
export async function startTserve(config: BenchConfig): Promise<RunningTarget> {
  if (!existsSync(tserveBin(config))) {
    throw new Error(
      `bin/tserve.js not found under ${config.rootDir} (set BENCH_SKIP_TSERVE=1 to run the baselines only)`,
    );
  }
  const target = await launch(config, "tserve", "tserve", (port) => [
    config.tserveBin,
    "serve",
    "--model-repository",
    config.modelRepository,
    "--http_port",
    String(port),
    "--grpc_port",
    "0",
  ]);
  if (!target.process.sawOutput("listening")) {
    console.warn(`[bench] note: tserve answered ${READY_PATH} but never printed a "listening" line`);
  }
  return target;
}

/** Baseline A: bare node:http with the same Node binary (TypeScript loaded through tsx once at start-up). */
export function startBareHttp(config: BenchConfig): Promise<RunningTarget> {
  return launch(config, "bare-http", "bare node:http", (port) => [
    "--import",
    "tsx",
    "bench/baselines/bare-http.ts",
    "--port",
    String(port),
    "--host",
    HOST,
  ]);
}

export const TARGET_STARTERS: Record<TargetId, (config: BenchConfig) => Promise<RunningTarget>> = {
  tserve: startTserve,
  "bare-http": startBareHttp,
};
