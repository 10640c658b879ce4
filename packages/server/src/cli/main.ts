import { SERVER_VERSION } from "../model/index.ts";
import type { ModelServer } from "../server/index.ts";
import { clusterWorkerId, WorkerStartError } from "../server/index.ts";
import { UsageError } from "./args.ts";
import { graph } from "./graph.ts";
import { pack } from "./pack.ts";
import { pull } from "./pull.ts";
import { SELDON_GRAPH_USAGE, SERVE_USAGE, serveCommand } from "./serve.ts";

const USAGE = `tserve ${SERVER_VERSION}: serve ONNX and TypeScript models over KServe V1 and Open Inference Protocol V2.

Usage:
  tserve serve [MODEL] [options]   serve a model file, a model folder, or --model-repository DIR
  tserve graph GRAPH.yaml          run a KServe InferenceGraph as a standalone router (tserve graph --help)
  tserve seldon-graph DEPLOY.yaml  run a SeldonDeployment graph with Seldon's executor API (port 8000)
  tserve pack DIR [-o OUT.tar.gz]  pack a model folder into a deterministic .tar.gz/.tgz/.tar/.zip (serve or upload it)
  tserve pull SRC_URI DIR [...]    download models (s3://, gs://, Azure Blob, http(s)) into folders (an init container)
  tserve --version

${SERVE_USAGE}`;

/**
 * Stops on SIGINT/SIGTERM/SIGQUIT (as KServe does): drain requests, unload models, exit. A second signal exits at
 * once, except in a worker of `--workers N`: a terminal's Ctrl-C reaches it both directly and through the primary.
 */
function stopOnSignals(server: ModelServer): void {
  let stopping = false;
  const worker = clusterWorkerId() !== undefined;
  const stop = (signal: string) => {
    if (stopping && worker) return;
    if (stopping) process.exit(1);
    stopping = true;
    server.logger.log("info", `received ${signal}; draining and stopping (grace period ${server.gracePeriodMs / 1000} s)`);
    // stop() is bounded by the grace period already; this is the backstop should anything still hang.
    setTimeout(() => {
      server.logger.log("error", "still not stopped well past the grace period; exiting");
      process.exit(1);
    }, server.gracePeriodMs + 15_000).unref();
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  for (const s of ["SIGINT", "SIGTERM", "SIGQUIT"] as const) process.on(s, () => stop(s));
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "serve": {
        const server = await serveCommand(argv, rest);
        if (server) stopOnSignals(server);
        return 0;
      }
      case "seldon-graph": {
        if (rest.some((a) => a === "-h" || a === "--help")) {
          process.stdout.write(`${SELDON_GRAPH_USAGE}\n`);
          return 0;
        }
        if (!rest[0] || rest[0].startsWith("--")) {
          throw new UsageError("Usage: tserve seldon-graph DEPLOYMENT.yaml [serve options]  (Seldon's executor API on port 8000)");
        }
        const server = await serveCommand(argv, ["--seldon_graph", rest[0], ...rest.slice(1)], { seldonGraphHttpPort: 8000 });
        if (server) stopOnSignals(server);
        return 0;
      }
      case "pull":
        return await pull(rest);
      case "pack":
        return await pack(rest);
      case "graph": {
        const server = await graph(rest);
        if (server) stopOnSignals(server);
        return 0;
      }
      case "--version":
      case "version":
        process.stdout.write(`${SERVER_VERSION}\n`);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`Unknown command '${command}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`tserve: ${err.message}\n`);
      return 2;
    }
    // A worker of --workers N failed to start: it said why; the command exits as it did.
    if (err instanceof WorkerStartError) {
      process.stderr.write(`tserve: ${err.message}\n`);
      return err.exitCode;
    }
    // A startup failure (a port in use, a missing folder…) is one line; the stack only under TSERVE_LOGLEVEL=debug.
    const debug = (process.env.TSERVE_LOGLEVEL ?? process.env.KSERVE_LOGLEVEL)?.toLowerCase() === "debug";
    process.stderr.write(`tserve: ${err instanceof Error ? (debug ? err.stack : err.message) : String(err)}\n`);
    return 1;
  }
}
