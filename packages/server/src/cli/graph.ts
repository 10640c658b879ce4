import { readFile } from "node:fs/promises";
import { type InferenceGraph, parseGraph } from "../graph/index.ts";
import { GRAPH_ROUTING_FLAGS, ModelServer } from "../server/index.ts";
import { defineFlags, formatHelp, HELP_FLAG, parseArgs, UsageError } from "./args.ts";
import { CONNECTION_FLAGS, connectionOptions } from "./connection-flags.ts";

export const GRAPH_FLAGS = defineFlags({
  http_port: { aliases: ["http-port"], type: "number", check: "nonNegativeInteger", default: 8080, help: "port of the router" },
  host: { type: "string", default: "0.0.0.0", help: "address to listen on" },
  graph_json: { aliases: ["graph-json"], type: "string", help: "the graph as JSON text (KServe's router flag)" },
  grace_period: { type: "number", check: "nonNegative", unit: "seconds", default: 30, help: "seconds in-flight requests get to finish on SIGTERM; then their connections are closed and the process exits" },
  ...GRAPH_ROUTING_FLAGS,
  ...CONNECTION_FLAGS,
  ...HELP_FLAG,
});

export const GRAPH_USAGE = `Usage: tserve graph GRAPH.yaml [options]

Runs a KServe InferenceGraph (YAML or JSON) as a standalone router: every path runs the graph, GET /readyz
reports readiness (503 while draining after SIGTERM), GET /metrics has per-node and per-step latency.

Options:
${formatHelp(GRAPH_FLAGS)}`;

/** Reads and validates a graph file; a bad file is a usage error that names the problem. */
export async function loadGraphFile(path: string): Promise<InferenceGraph> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UsageError(`Cannot read graph file ${path}`);
  }
  try {
    return parseGraph(text, path);
  } catch (err) {
    throw new UsageError(`Invalid graph ${path}: ${(err as Error).message}`);
  }
}

export function headerPatterns(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(",");
}

export async function graph(argv: string[]): Promise<ModelServer | undefined> {
  const { positionals, flags } = parseArgs(argv, GRAPH_FLAGS);
  if (flags.help) {
    process.stdout.write(`${GRAPH_USAGE}\n`);
    return undefined;
  }
  let spec: InferenceGraph;
  if (flags.graph_json) {
    try {
      spec = parseGraph(flags.graph_json, "--graph_json");
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  } else if (positionals.length === 1) {
    spec = await loadGraphFile(positionals[0]);
  } else {
    throw new UsageError(`graph takes one GRAPH file (or --graph_json).\n\n${GRAPH_USAGE}`);
  }
  const server = new ModelServer({
    httpPort: flags.http_port,
    host: flags.host,
    enableGrpc: false,
    graph: spec,
    graphStandalone: true,
    serviceUrlTemplate: flags.service_url_template,
    propagateHeaders: headerPatterns(flags.propagate_headers),
    gracePeriodMs: flags.grace_period * 1000,
    ...connectionOptions(flags),
    graphStepTimeoutMs: flags.graph_step_timeout * 1000,
  });
  try {
    await server.start();
  } catch (err) {
    if ((err as { code?: string }).code === "TSERVE_INVALID_INPUT") throw new UsageError((err as Error).message);
    throw err;
  }
  return server;
}
