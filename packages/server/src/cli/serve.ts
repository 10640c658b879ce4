import cluster from "node:cluster";
import { readdir, readFile, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  discoverModel,
  type ModelSource,
  type PredictorProtocol,
  type PredictorSettings,
  SETTINGS_FILE,
  validatePredictorSettings,
} from "../model/index.ts";
import { graphNodes, parameterValues, parseSeldonDeployment, type SeldonGraphSpec } from "../graph/index.ts";
import { seldon as seldonProtocol } from "../protocol/index.ts";
import { builtinRuntimes, type RuntimeRegistry } from "../runtime/index.ts";
import { detectOpenBayesSource } from "../runtime/index.ts"; // OpenBayes
import { DEFAULT_MAX_TENSOR_ELEMENTS } from "../tensor/index.ts";
import {
  BUILTIN_FAMILIES,
  consoleLogger,
  DEFAULT_MAX_BUFFER_SIZE,
  DEFAULT_MODEL_LOAD_TIMEOUT_MS,
  FAMILY_FLAGS,
  ModelServer,
  type ProtocolFamily,
} from "../server/index.ts";
import { clusterWorkerId, connectWorker, superviseWorkers, workerLogger } from "../server/index.ts";
import { PAYLOAD_LOG_FLAGS } from "../server/index.ts";
import {
  downloadModel,
  isArchivePath,
  isRemoteUri,
  modelFolderIn,
  prepareModelPath,
  recoverUploads,
  redactUri,
  terminalProgress,
} from "../storage/index.ts";
import { ADMIN_TOKEN_ENV, resolveAdminToken } from "./admin-token.ts";
import { compatFlags } from "../config/flags.ts";
import { defineFlags, envName, formatHelp, HELP_FLAG, parseArgs, UsageError } from "./args.ts";
import { MODEL_CONTROL_FLAGS, modelControlOptions } from "./model-control-flags.ts";
import { CONNECTION_FLAGS, connectionOptions } from "./connection-flags.ts";
import { headerPatterns, loadGraphFile } from "./graph.ts";

/** KServe's flags accepted so existing command lines keep working; they have no effect here (one warning each). */
const KSERVE_COMPAT = [
  "max_threads",
  "max_asyncio_workers",
  "enable_latency_logging",
  "configure_logging",
  "log_config_file",
  "access_log_format",
  "event_loop",
  "protocol",
] as const;

const PREDICTOR_PROTOCOLS = ["v1", "v2", "grpc-v2"] as const satisfies readonly PredictorProtocol[];

/** `--log_level` values: ours, Python logging's WARNING and CRITICAL, any case (KServe passes them in capitals). */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

export const SERVE_FLAGS = defineFlags({
  http_port: { aliases: ["http-port"], type: "number", check: "nonNegativeInteger", default: 8080, help: "REST port" },
  grpc_port: { type: "number", check: "nonNegativeInteger", default: 8081, help: "gRPC port (inference.GRPCInferenceService)" },
  enable_grpc: { type: "boolean", default: true, help: "serve gRPC" },
  host: { type: "string", default: "0.0.0.0", help: "address to listen on" },
  model_name: { type: "string", help: "name to serve a single model under (default: the file or folder name)" },
  model_dir: {
    aliases: ["model-dir"],
    type: "string",
    help: "the model to serve, as KServe's runtimes pass it (--model_dir=/mnt/models): MODEL by another name; an archive unpacked there with one top folder is the model in it",
  },
  model_repository: { aliases: ["model-repository"], type: "string", help: "a folder of model folders to serve" },
  max_buffer_size: { type: "number", check: "nonNegativeInteger", default: DEFAULT_MAX_BUFFER_SIZE, help: "largest REST request body in bytes; larger bodies get 413" },
  max_tensor_elements: { type: "number", check: "positiveInteger", default: DEFAULT_MAX_TENSOR_ELEMENTS, help: "most tensor elements one request may declare (all its tensors together, over REST and gRPC); more answers 400 / INVALID_ARGUMENT" },
  ...MODEL_CONTROL_FLAGS,
  grpc_max_send_message_length: { type: "number", check: "nonNegativeInteger", default: DEFAULT_MAX_BUFFER_SIZE, help: "largest gRPC response in bytes" },
  grpc_max_receive_message_length: { type: "number", check: "nonNegativeInteger", default: DEFAULT_MAX_BUFFER_SIZE, help: "largest gRPC request in bytes" },
  predictor_host: { type: "string", help: "host[:port] of the predictor a transformer forwards predict to" },
  predictor_protocol: { type: "enum", values: PREDICTOR_PROTOCOLS, default: "v1", help: "v1, v2 or grpc-v2" },
  predictor_use_ssl: { type: "boolean", default: false, help: "call the predictor over https / TLS" },
  predictor_request_timeout_seconds: { type: "number", check: "positive", unit: "seconds", default: 600, help: "timeout of one predictor call" },
  predictor_request_retries: { type: "number", check: "nonNegativeInteger", default: 0, help: "retries (exponential backoff) on connection errors, 502/503 and gRPC UNAVAILABLE" },
  enable_predictor_health_check: { type: "boolean", default: false, help: "readiness also asks the predictor" },
  predictor_model_name: { type: "string", help: "model name on the predictor (default: the transformer's own name)" },
  timeout_keep_alive: { aliases: ["timeout-keep-alive"], type: "number", check: "nonNegative", unit: "seconds", default: 65, help: "seconds an idle keep-alive connection stays open" },
  grace_period: { type: "number", check: "nonNegative", unit: "seconds", default: 30, help: "seconds in-flight requests get to finish on SIGTERM; then their connections are closed and the process exits (model unloading gets what is left, plus 5 s)" },
  ...CONNECTION_FLAGS,
  model_load_timeout: { aliases: ["model-load-timeout"], type: "number", check: "nonNegative", unit: "seconds", default: DEFAULT_MODEL_LOAD_TIMEOUT_MS / 1000, help: "seconds a model's load() may take; past it the model is UNAVAILABLE with the reason, a failed load: at start tserve exits (--exit_on_error) or starts without it (0: no limit)" },
  exit_on_error: { aliases: ["exit-on-error"], type: "boolean", default: true, help: "Triton's --exit-on-error: a model that fails to load at start (throws, times out or faults) makes tserve log why, unload the others and exit 1; false starts without it (the server is then not ready while --strict_readiness holds). A ModelServer made in code defaults to false (exitOnError)" },
  strict_readiness: { aliases: ["strict-readiness"], type: "boolean", default: true, help: "Triton's --strict-readiness: /v2/health/ready and gRPC ServerReady answer ready only while every model that should be served is READY (a failed, timed-out or faulted one makes the server not ready; one unloaded on purpose does not); false: ready whenever the server is up" },
  log_level: {
    aliases: ["log-level"],
    type: "enum",
    values: LOG_LEVELS,
    synonyms: { warning: "warn", critical: "error" },
    ignoreCase: true,
    help: "least severe messages logged: debug, info, warn (warning) or error, any case (default: TSERVE_LOGLEVEL or KSERVE_LOGLEVEL, else info)",
  },
  enable_docs_url: { type: "boolean", default: false, help: "serve Swagger UI on GET /docs (GET /openapi.json is always served)" },
  access_log: { aliases: ["access-log"], type: "boolean", default: false, help: "log one line per request (method, path, status, duration, model, protocol, request id); costs ~25 % of req/s on tiny models" },
  workers: {
    type: "string",
    default: "1",
    help: "server processes sharing the HTTP and gRPC ports: a whole number >= 1, or auto (one per CPU core); load, unload and upload reach every one, /metrics sums them (1: this process alone)",
  },
  // Each protocol family's own flags (graph, Seldon, Seldon graph, uploads): src/server/families/<name>/index.ts.
  ...FAMILY_FLAGS,
  // KServe's payload logger (its agent's --log-url, --log-mode, --source-uri …): src/server/payload-log.ts.
  ...PAYLOAD_LOG_FLAGS,
  ...compatFlags(KSERVE_COMPAT, "KServe"),
  ...HELP_FLAG,
});

export const SERVE_USAGE = `Usage: tserve serve [MODEL] [options]

MODEL is a .onnx file, a TypeScript/JavaScript module exporting a Model class, or a model folder
(model.onnx or a module, optionally in numbered version folders, with an optional ${SETTINGS_FILE}).

Every option can also be set by an environment variable: TSERVE_ and the option's name in capitals
(TSERVE_HTTP_PORT, TSERVE_PREDICTOR_HOST, …). A flag on the command line wins.

Options:
${formatHelp(SERVE_FLAGS)}`;

export const SELDON_GRAPH_USAGE = `Usage: tserve seldon-graph DEPLOYMENT.yaml [serve options]

Serves a SeldonDeployment's graph with Seldon's executor API (/api/v1.0/predictions, /api/v1.0/feedback,
/api/v1.0/metadata, /ready, /live) on port 8000 unless --http_port says otherwise: nodes with a modelUri are
loaded here, nodes with an endpoint are called over REST. The same as tserve serve --seldon_graph DEPLOYMENT.yaml.

Serve options:
${formatHelp(SERVE_FLAGS)}`;

/**
 * Works out what a positional MODEL argument is: one file, one model folder, or a repository of them. A file or
 * folder is a model when one of the registered runtimes recognises it (or it has settings or version folders).
 */
export async function resolveModelArg(
  path: string,
  modelName?: string,
  runtimes: RuntimeRegistry = builtinRuntimes(),
): Promise<{ source?: ModelSource; repository?: string }> {
  const full = resolve(path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(full);
  } catch {
    throw new UsageError(`${path} does not exist`);
  }
  if (info.isFile()) {
    const file = basename(full);
    const runtime = runtimes.forFile(file);
    if (!runtime) throw new UsageError(`${path} is neither a .onnx file nor a .ts/.js module`);
    const name = modelName ?? basename(file, extname(file));
    return {
      source: {
        name,
        dir: dirname(full),
        settings: { runtime: runtime.name, modelFile: file },
        versions: [{ dir: dirname(full) }],
      },
    };
  }
  const entries = await readdir(full, { withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => e.name).sort();
  const looksLikeModel =
    files.some((f) => f === SETTINGS_FILE || runtimes.forFile(f)) ||
    runtimes.recognisers().some((r) => r.recognise!({ dir: full, files, settings: {} })) || // start.sh (OpenBayes custom mode) …
    entries.some((e) => e.isDirectory() && /^0*[1-9]\d*$/.test(e.name));
  if (!looksLikeModel) return { repository: full };
  const source = await discoverModel(full, modelName);
  // An unknown runtime stops the command here, naming the registered ones, rather than at load.
  if (source.settings.runtime !== undefined) runtimes.named(source.settings.runtime, join(full, SETTINGS_FILE));
  return { source };
}

/**
 * Reads a SeldonDeployment and turns its nodes' `modelUri`s (relative to the file) into model sources named
 * after the nodes: module files are Seldon components, with the node's parameters as constructor arguments.
 */
export async function loadSeldonGraphFile(path: string): Promise<{ spec: SeldonGraphSpec; sources: ModelSource[] }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new UsageError(`Cannot read SeldonDeployment file ${path}`);
  }
  let spec: SeldonGraphSpec;
  try {
    spec = parseSeldonDeployment(text, path);
  } catch (err) {
    const message = (err as Error).message;
    throw new UsageError(message.startsWith(path) ? `Invalid SeldonDeployment ${message}` : `Invalid SeldonDeployment ${path}: ${message}`);
  }
  const sources: ModelSource[] = [];
  for (const node of graphNodes(spec.graph)) {
    if (!node.modelUri || node.endpoint) continue;
    const uri = node.modelUri.startsWith("file://") ? new URL(node.modelUri).pathname : node.modelUri;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new UsageError(`Node ${node.name}: modelUri ${node.modelUri} is not a local path (remote storage is not supported yet)`);
    let resolved: Awaited<ReturnType<typeof resolveModelArg>>;
    try {
      resolved = await resolveModelArg(resolve(dirname(path), uri), node.name);
    } catch (err) {
      throw new UsageError(`Node ${node.name}: modelUri ${node.modelUri}: ${(err as Error).message}`);
    }
    if (!resolved.source) throw new UsageError(`Node ${node.name}: modelUri ${node.modelUri} is a folder of models, not one model`);
    const source = resolved.source;
    if (source.settings.runtime === "module") source.settings = { ...source.settings, runtime: "seldon" };
    if (node.parameters.length > 0) source.settings = { ...source.settings, parameters: { ...source.settings.parameters, ...parameterValues(node.parameters) } };
    sources.push(source);
  }
  return { spec, sources };
}

/** `s3://b/models/iris/iris.tar.gz`, `./iris.tgz`, `https://h/x/resnet/` -> `iris`, `iris`, `resnet`. */
export function modelNameOf(arg: string): string {
  const path = arg.replace(/[?#].*$/, "").replace(/\/+$/, "");
  const last = path.slice(path.lastIndexOf("/") + 1) || "model";
  return last.replace(/\.(tar\.gz|tgz|tar|zip|onnx)$/i, "") || "model";
}

/**
 * Turns the MODEL argument into a local path: storage URIs (s3://, gs://, Azure, http(s)://, file://) are
 * downloaded into the cache (archives extracted), local .tar.gz/.tgz/.zip files are extracted into the cache.
 */
export async function materializeModel(arg: string): Promise<string> {
  try {
    if (isRemoteUri(arg)) return await downloadModel(arg, { progress: terminalProgress() });
    const path = arg.startsWith("file://") ? fileURLToPath(arg) : arg;
    return isArchivePath(path) ? await prepareModelPath(path) : path;
  } catch (err) {
    throw new UsageError(`Cannot get model ${redactUri(arg)}: ${(err as Error).message}`);
  }
}

/** What to serve: the MODEL argument or KServe's `--model_dir`, not both. */
function modelArgument(positionals: readonly string[], modelDir: string | undefined): string | undefined {
  if (positionals[0] !== undefined && modelDir !== undefined) throw new UsageError("Give either a MODEL argument or --model_dir, not both");
  return positionals[0] ?? modelDir;
}

/** `--model_dir` as KServe's storage initializer leaves it: an archive's lone top folder unpacked there is the model. */
async function modelDirFolder(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  return info?.isDirectory() ? modelFolderIn(path) : path;
}

/** `--workers`: a whole number >= 1, or `auto`: one per CPU core (os.availableParallelism()). */
export function parseWorkers(value: string): number {
  const v = value.trim().toLowerCase();
  if (v === "auto") return availableParallelism();
  const n = Number(v);
  if (/^\d+$/.test(v) && Number.isSafeInteger(n) && n >= 1) return n;
  throw new UsageError(`--workers must be a whole number >= 1 or auto (one per CPU core), got '${value}'`);
}

const ADMIN_TOKEN_FLAGS = /^--admin[-_]token(?:[-_]file)?(=|$)/;

/** The command line without the admin token flags (workers get the token in their environment instead). */
function withoutAdminToken(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = ADMIN_TOKEN_FLAGS.exec(args[i]);
    if (!m) out.push(args[i]);
    else if (m[1] === "") i++; // its value is the next argument
  }
  return out;
}

/**
 * The `tserve serve` (and `seldon-graph`) command: with `--workers N` (N > 1) this process becomes the primary of N
 * worker processes that each run `command` (the whole command line) and serve; it returns undefined and the
 * workers' supervisor (server/workers.ts) takes over signals and the exit. Otherwise (and in each worker) it is serve().
 */
export async function serveCommand(
  command: readonly string[],
  argv: string[],
  defaults: { seldonGraphHttpPort?: number } = {},
): Promise<ModelServer | undefined> {
  const quick = parseArgs(argv, SERVE_FLAGS, { warn: () => {} }).flags;
  const workers = quick.help ? 1 : parseWorkers(quick.workers);
  if (workers <= 1 || clusterWorkerId() !== undefined) return serve(argv, defaults);
  if (!cluster.isPrimary) {
    // Another program's cluster worker (pm2's cluster mode…): it decides how many processes there are.
    process.stderr.write(`tserve: warning: --workers ${quick.workers}: this process is already a cluster worker; serving in it alone\n`);
    return serve(argv, defaults);
  }
  const { positionals, flags } = parseArgs(argv, SERVE_FLAGS);
  // As serve() does, first: the token leaves process.env and process.argv; the workers get it in their environment.
  const adminToken = await resolveAdminToken(argv, flags, (message) => process.stderr.write(`tserve: warning: ${message}\n`));
  if (positionals.length > 1) throw new UsageError(`serve takes one MODEL argument, got ${positionals.length}`);
  let repository = flags.model_repository ? resolve(flags.model_repository) : undefined;
  const modelArg = modelArgument(positionals, flags.model_dir);
  if (modelArg) {
    // Downloaded or unpacked once, here: the workers find it in the cache.
    const local = await materializeModel(modelArg);
    const resolved = await resolveModelArg(flags.model_dir === undefined ? local : await modelDirFolder(local), flags.model_name);
    if (resolved.repository) {
      if (repository) throw new UsageError("Give either a model repository folder or --model-repository, not both");
      repository = resolved.repository;
    }
  } else if (!repository && !flags.graph && !flags.seldon_graph) {
    throw new UsageError(`Nothing to serve: give a MODEL path or --model-repository.\n\n${SERVE_USAGE}`);
  }
  const logger = consoleLogger(flags.log_level);
  // Once, before any worker scans the repository (the workers skip it: see workerFamilies).
  if (repository) await recoverUploads(repository, (level, message) => logger.log(level, message));
  await superviseWorkers({
    workers,
    exec: process.argv[1],
    args: withoutAdminToken(command),
    env: { [ADMIN_TOKEN_ENV]: adminToken ?? "", [envName("admin_token_file", {})]: "" },
    gracePeriodMs: flags.grace_period * 1000,
    logger,
    host: flags.host,
  });
  return undefined;
}

/**
 * The built-in families as a worker serves them: the repository family's start-up recovery of interrupted uploads
 * is the primary's (once, before the workers start; a replacement worker must not undo another's upload).
 */
function workerFamilies(): readonly ProtocolFamily<never>[] {
  return BUILTIN_FAMILIES.map((family) => (family.name === "repository" ? { ...family, beforeLoad: undefined } : family));
}

/** Serves in this process (a worker of `--workers N` too: then linked to the primary); see serveCommand for the command. */
export async function serve(argv: string[], defaults: { seldonGraphHttpPort?: number } = {}): Promise<ModelServer | undefined> {
  const workerId = clusterWorkerId();
  // The primary already warned about the command line: its workers do not repeat it.
  const quiet = workerId !== undefined;
  const { positionals, flags, defaulted } = parseArgs(argv, SERVE_FLAGS, quiet ? { warn: () => {} } : {});
  if (flags.help) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return undefined;
  }
  // First, before any user module is imported: the token leaves process.env and process.argv.
  const adminToken = await resolveAdminToken(argv, flags, (message) => {
    if (!quiet) process.stderr.write(`tserve: warning: ${message}\n`);
  });
  if (positionals.length > 1) throw new UsageError(`serve takes one MODEL argument, got ${positionals.length}`);
  let repository = flags.model_repository ? resolve(flags.model_repository) : undefined;
  const sources: ModelSource[] = [];
  const modelArg = modelArgument(positionals, flags.model_dir);
  if (modelArg) {
    const local = await materializeModel(modelArg);
    const resolved = await resolveModelArg(flags.model_dir === undefined ? local : await modelDirFolder(local), flags.model_name);
    // A download or an extracted archive lives in a cache folder: name the model after the URI or archive.
    if (resolved.source && local !== modelArg && !flags.model_name && !resolved.source.settings.name) {
      resolved.source.name = modelNameOf(modelArg);
    }
    if (resolved.source) sources.push(resolved.source);
    if (resolved.repository) {
      if (repository) throw new UsageError("Give either a model repository folder or --model-repository, not both");
      repository = resolved.repository;
    }
  }
  const seldon = flags.seldon || sources.some((s) => s.settings.runtime === "seldon");
  if (seldon) {
    if (sources.length !== 1 || repository) throw new UsageError("--seldon serves one component module: tserve serve ./MyModel.ts --seldon");
    const source = sources[0];
    if (flags.seldon) {
      if (source.settings.runtime === "onnx") throw new UsageError("--seldon wraps a TypeScript/JavaScript component class, not a .onnx file");
      source.settings = { ...source.settings, runtime: "seldon" };
    }
    if (flags.parameters !== undefined) {
      try {
        source.settings = { ...source.settings, parameters: { ...source.settings.parameters, ...seldonProtocol.parseSeldonParameters(flags.parameters) } };
      } catch (err) {
        throw new UsageError(`MICROSERVICE_BAD_PARAMETER: ${(err as Error).message}`);
      }
    }
  }
  let seldonGraph: SeldonGraphSpec | undefined;
  if (flags.seldon_graph) {
    if (seldon) throw new UsageError("Give either --seldon (one component) or --seldon_graph (a graph), not both");
    const loaded = await loadSeldonGraphFile(flags.seldon_graph);
    seldonGraph = loaded.spec;
    sources.push(...loaded.sources);
  }
  // OpenBayes: one predictor class (not a Model subclass) or a start.sh folder answers on / (runtime/openbayes).
  const openbayes =
    !seldon && !seldonGraph && !flags.graph && !repository && sources.length === 1 && (await detectOpenBayesSource(sources[0]));
  if (!repository && sources.length === 0 && !flags.graph && !seldonGraph) {
    throw new UsageError(`Nothing to serve: give a MODEL path or --model-repository.\n\n${SERVE_USAGE}`);
  }
  const predictor: PredictorSettings | undefined = flags.predictor_host
    ? {
        predictorHost: flags.predictor_host,
        predictorProtocol: flags.predictor_protocol,
        predictorUseSsl: flags.predictor_use_ssl,
        predictorRequestTimeoutSeconds: flags.predictor_request_timeout_seconds,
        predictorRequestRetries: flags.predictor_request_retries,
        enablePredictorHealthCheck: flags.enable_predictor_health_check,
        predictorModelName: flags.predictor_model_name,
      }
    : undefined;
  if (predictor) {
    try {
      validatePredictorSettings(predictor);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const graphSpec = flags.graph ? await loadGraphFile(flags.graph) : undefined;
  const server = new ModelServer({
    graph: graphSpec,
    serviceUrlTemplate: flags.service_url_template,
    propagateHeaders: headerPatterns(flags.propagate_headers),
    graphStepTimeoutMs: flags.graph_step_timeout * 1000,
    // Seldon's microservice listens on 9000 unless told otherwise.
    httpPort: !defaulted.has("http_port")
      ? flags.http_port
      : seldon
        ? 9000
        : seldonGraph && defaults.seldonGraphHttpPort !== undefined
          ? defaults.seldonGraphHttpPort
          : flags.http_port,
    seldon,
    seldonGraph,
    openbayes: openbayes || undefined, // OpenBayes (undefined: on when the only loaded model is one)
    seldonGraphTimeoutMs: flags.seldon_graph_timeout * 1000,
    grpcPort: flags.grpc_port,
    enableGrpc: flags.enable_grpc,
    host: flags.host,
    modelRepository: repository,
    maxBufferSize: flags.max_buffer_size,
    maxTensorElements: flags.max_tensor_elements,
    ...modelControlOptions(flags, adminToken, repository),
    maxUploadSize: flags.max_upload_size,
    allowCodeUploads: flags.allow_code_uploads,
    grpcMaxSendMessageLength: flags.grpc_max_send_message_length,
    grpcMaxReceiveMessageLength: flags.grpc_max_receive_message_length,
    keepAliveTimeoutMs: flags.timeout_keep_alive * 1000,
    gracePeriodMs: flags.grace_period * 1000,
    ...connectionOptions(flags),
    modelLoadTimeoutMs: flags.model_load_timeout * 1000,
    exitOnError: flags.exit_on_error,
    strictReadiness: flags.strict_readiness,
    logLevel: flags.log_level,
    accessLog: flags.access_log,
    payloadLog: {
      url: flags.logger_url,
      mode: flags.logger_mode,
      sourceUri: flags.logger_source_uri,
      inferenceService: flags.inference_service,
      namespace: flags.namespace,
      component: flags.component,
      endpoint: flags.endpoint,
    },
    enableDocsUrl: flags.enable_docs_url,
    predictor,
    ...(workerId !== undefined ? { logger: workerLogger(workerId, flags.log_level), families: workerFamilies() } : {}),
  });
  // Linked before it starts, so GET /metrics sums every worker's from its first answer.
  const link = workerId !== undefined ? connectWorker(workerId, server) : undefined;
  try {
    await server.start([], sources);
  } catch (err) {
    link?.close();
    // A bad graph or template is the user's command line, not a crash.
    if ((err as { code?: string }).code === "TSERVE_INVALID_INPUT") throw new UsageError((err as Error).message);
    if ((err as { code?: string }).code === "TSERVE_MODEL_LOAD_FAILED") {
      throw new Error(`${(err as Error).message} (--exit_on_error false starts without them)`, { cause: err });
    }
    throw err;
  }
  link?.listening(server.port, server.grpcPort);
  return server;
}
