import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { type Model, ModelServer, type ModelServerOptions } from "../../packages/server/src/index.ts";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
export const IRIS_REPO = fileURLToPath(new URL("../../examples/iris/models", import.meta.url));

const quiet = { log() {} };

/** Starts a real ModelServer on a free port; remember to `await server.stop()`. */
export async function startServer(
  options: ModelServerOptions = {},
  models: Model[] = [],
): Promise<{ server: ModelServer; url: string }> {
  const server = new ModelServer({ httpPort: 0, grpcPort: 0, host: "127.0.0.1", logger: quiet, ...options });
  await server.start(models);
  return { server, url: `http://127.0.0.1:${server.port}` };
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, "close");
  return port;
}

/** This process's environment without the variables `drop` names (a string: that name; a RegExp: every name it matches), plus `extra`. */
export function envWithout(drop: (string | RegExp)[], extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!drop.some((d) => (typeof d === "string" ? k === d : d.test(k)))) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Where, and with what environment, a `node bin/tserve.js` child runs. */
export interface CliOptions {
  /** The child's whole environment (see `envWithout`); default: this process's. */
  env?: NodeJS.ProcessEnv;
  /** The child's working folder; default: the project root. */
  cwd?: string;
}

export interface StartCliOptions extends CliOptions {
  /** The path polled until it answers 200; default /v2/health/ready. */
  readyPath?: string;
  /** Also wait until the output contains this (e.g. "listening on": then a foreign server on the port is never taken for ours). */
  readyOutput?: string;
  /** How long to wait for readiness before the child is killed; default 30 s. */
  timeoutMs?: number;
  /**
   * The flags added after `args`. "all" (the default): --http_port PORT, --host 127.0.0.1 and, unless `args` set gRPC
   * themselves, --grpc_port 0. "http": --http_port and --host only (`tserve graph` has no gRPC). "none": nothing, as
   * `args` or `env` say it all; `port` is then only where to look.
   */
  portFlags?: "all" | "http" | "none";
}

export interface RunningCli {
  child: ChildProcess;
  url: string;
  /** Everything the child wrote so far, stdout and stderr interleaved. */
  output: () => string;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as written. */
  output: string;
}

/** Spawns `node bin/tserve.js ...args`, collecting what it writes. */
function spawnCli(args: string[], options: CliOptions) {
  const child = spawn(process.execPath, ["bin/tserve.js", ...args], {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const text = { stdout: "", stderr: "", output: "" };
  child.stdout.on("data", (d) => {
    text.stdout += d;
    text.output += d;
  });
  child.stderr.on("data", (d) => {
    text.stderr += d;
    text.output += d;
  });
  return { child, text };
}

function addedFlags(args: string[], port: number, which: StartCliOptions["portFlags"]): string[] {
  if (which === "none") return [];
  const http = ["--http_port", String(port), "--host", "127.0.0.1"];
  if (which === "http" || args.some((a) => a.startsWith("--grpc_port") || a.startsWith("--enable_grpc"))) return http;
  return [...http, "--grpc_port", "0"];
}

/**
 * Runs the real CLI (`node bin/tserve.js ...args`, with the flags `options.portFlags` adds) and waits until
 * `options.readyPath` answers 200 on `port`; throws with the output if it exits or times out first.
 */
export async function startCli(args: string[], port: number, options: StartCliOptions = {}): Promise<RunningCli> {
  const { readyPath = "/v2/health/ready", readyOutput, timeoutMs = 30_000 } = options;
  const { child, text } = spawnCli([...args, ...addedFlags(args, port, options.portFlags ?? "all")], options);
  const output = () => text.output;
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`tserve ${args.join(" ")} exited with ${child.exitCode ?? child.signalCode}:\n${output()}`);
    }
    if (readyOutput === undefined || output().includes(readyOutput)) {
      try {
        if ((await fetch(`${url}${readyPath}`)).status === 200) return { child, url, output };
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`tserve ${args.join(" ")} did not answer ${readyPath} on ${url}:\n${output()}`);
}

/** Runs `node bin/tserve.js ...args` to completion; after `timeoutMs` (default 20 s) it is killed and `code` is null. */
export async function runCli(args: string[], options: CliOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
  const { child, text } = spawnCli(args, options);
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000);
  const [code] = await once(child, "exit");
  clearTimeout(timer);
  return { code: code as number | null, ...text };
}

/** SIGTERMs a running CLI child and returns its exit code (at once, if it has already exited). */
export async function stopCli(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  return code as number | null;
}
