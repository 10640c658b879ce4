import { stat } from "node:fs/promises";
import { type Server as GrpcServer, setLogger as setGrpcLogger } from "@grpc/grpc-js";
import type { FastifyInstance } from "fastify";
import {
  applyPredictorSettings,
  DataPlane,
  type Model,
  type ModelLoader,
  ModelRepository,
  type ModelSource,
  type PredictorSettings,
  RepositoryPoller,
  setRemotePredictorFactory,
} from "../model/index.ts";
import {
  dataPlaneModels,
  dataPlaneSeldonUnits,
  GraphRouter,
  graphNodes,
  type InferenceGraph,
  SeldonGraphExecutor,
  type SeldonGraphSpec,
} from "../graph/index.ts";
import { builtinRuntimes, isSeldonComponent, type RuntimeRegistry, seldonUnitFromEnv, setOrtLogLevel } from "../runtime/index.ts";
import { configureOpenBayesModel, resolveOpenBayesServing } from "../runtime/index.ts"; // OpenBayes
import { recoverUploads } from "../storage/index.ts"; // uploads
import { buildGrpcServer, listenGrpc, stopGrpc } from "./grpc.ts";
import { addSeldonGrpcServices } from "./seldon-grpc.ts";
import { closeWithin } from "./connections.ts";
import { guardFaults } from "./fault-guard.ts";
import { buildHttpApp } from "./http.ts";
import { ModelControl, type ModelControlMode } from "./model-control.ts";
import { createLogger, type Logger } from "./logger.ts";
import { ServerMetrics } from "./metrics.ts";

export interface ModelServerOptions {
  /** REST port (KServe `--http_port`); 0 picks a free one. */
  httpPort?: number;
  host?: string;
  /** A folder of model folders to serve (`--model-repository`). */
  modelRepository?: string;
  /** Largest request body in bytes (`--max_buffer_size`), default 64 MiB. */
  maxBufferSize?: number;
  /**
   * The most tensor elements one request may declare across its tensors (`--max_tensor_elements`, default 64 Mi):
   * shapes, counts and MessagePack lengths past it answer 400 / INVALID_ARGUMENT before anything is allocated.
   */
  maxTensorElements?: number;
  /** gRPC port (KServe `--grpc_port`, default 8081); 0 picks a free one. */
  grpcPort?: number;
  /** Serve gRPC at all (`--enable_grpc`, default true). */
  enableGrpc?: boolean;
  /** Largest gRPC message in bytes, each direction (default 64 MiB, not gRPC's 4 MiB). */
  grpcMaxSendMessageLength?: number;
  grpcMaxReceiveMessageLength?: number;
  /** How long stop() lets in-flight requests finish, in ms (KServe's grace_period, default 30 s). */
  gracePeriodMs?: number;
  /** Idle keep-alive connections close after this many ms (KServe's --timeout-keep-alive, default 65 s). */
  keepAliveTimeoutMs?: number;
  /** A request's headers must arrive within this many ms (`--headers_timeout`, default 30 s; 0: no limit). */
  headersTimeoutMs?: number;
  /** A whole request must arrive within this many ms (`--request_timeout`, default 300 s; uploads exempt; 0: no limit). */
  requestTimeoutMs?: number;
  /** A request body may pause this many ms (`--body_timeout`, default 30 s; 0: no limit). */
  bodyTimeoutMs?: number;
  /** After bodyTimeoutMs, a request body must average this many bytes/s (`--min_body_rate`, default 1024; 0: off). */
  minBodyRate?: number;
  /** REST connections beyond this many are closed on accept (`--max_connections`, default 80% of `ulimit -n`; 0: no limit). */
  maxConnections?: number;
  /** Predictor settings (`--predictor_host` …) given to every served model that has none of its own. */
  predictor?: PredictorSettings;
  /** A KServe InferenceGraph served on POST / (its serviceName steps call this server's models in-process). */
  graph?: InferenceGraph;
  /** Serve only the graph, on every path (`tserve graph`), like KServe's router. */
  graphStandalone?: boolean;
  /** serviceName -> URL for steps whose model is not served here (default http://{name}.{namespace}/v1/models/{name}:predict). */
  serviceUrlTemplate?: string;
  /** Header name patterns forwarded to graph steps (default: PROPAGATE_HEADERS from the environment). */
  propagateHeaders?: string[];
  /**
   * How long one graph step call may take, in ms, when the graph sets no `routerTimeouts.serviceClient` and the
   * step no `timeout` of its own (default 60 s; 504 past it).
   */
  graphStepTimeoutMs?: number;
  /**
   * Serve Seldon's microservice API (/predict, /api/v1.0/predictions, /route, /aggregate, /send-feedback,
   * /health/*, /metadata) for this component (`true`: the only served model), beside V1/V2.
   */
  seldon?: boolean | { modelName: string };
  /**
   * A SeldonDeployment graph served with Seldon's executor API (/api/v1.0/predictions, /api/v1.0/feedback,
   * /api/v1.0/metadata, /ready, /live). Nodes named like a model served here run in-process; nodes with an
   * endpoint are called over REST; RANDOM_ABTEST is built in.
   */
  seldonGraph?: SeldonGraphSpec;
  /** How long one graph component call may take, in ms (504 past it). */
  seldonGraphTimeoutMs?: number;
  /**
   * OpenBayes serving for one model (`true`: the only served model): a predictor class answers GET / and POST /,
   * a start.sh server gets every path proxied. Left undefined, it is on when the only model is one of these;
   * when asked for, a predictor that fails to start fails start().
   */
  openbayes?: boolean | { modelName: string };
  /** Bearer token that load, unload and upload need (REST `Authorization: Bearer …`, gRPC `authorization` metadata). */
  adminToken?: string;
  /** Largest upload body in bytes (`--max_upload_size`, default 1 GiB). */
  maxUploadSize?: number;
  /**
   * Triton's `--model_control_mode`: `none` (load, unload and upload answer 403), `explicit` (allowed, behind the
   * admin token when one is set) or `poll` (the repository folder is re-read every repositoryPollSecs and decides
   * what is served; the API answers 403). Default: `explicit` with an admin token, `none` without.
   */
  modelControlMode?: ModelControlMode;
  /** Seconds between repository scans in poll mode (`--repository_poll_secs`, default 15). */
  repositoryPollSecs?: number;
  /** Accept uploaded archives that hold code: modules, scripts, executables (`--allow_code_uploads`, default false). */
  allowCodeUploads?: boolean;
  /**
   * A model whose load() (module import included) takes longer than this many ms is abandoned as UNAVAILABLE
   * and the server starts without it (`--model_load_timeout`, default 600 s; 0: no limit).
   */
  modelLoadTimeoutMs?: number;
  logger?: Logger;
  /** The default logger's level (`--log_level`; default TSERVE_LOGLEVEL or KSERVE_LOGLEVEL, else info); ONNX Runtime's follows it. */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** One info line per answered HTTP request (`--access_log`, default false: it cost ~25 % of req/s on iris). */
  accessLog?: boolean;
  /**
   * The runtimes models are served with, and the remote predictor transformers use (default: the built-in ones,
   * Seldon's unit settings read from PREDICTIVE_UNIT_ID … in the environment at each load).
   */
  runtimes?: RuntimeRegistry;
}

export const DEFAULT_MAX_BUFFER_SIZE = 64 * 1024 * 1024;
/** `--repository_poll_secs` default, as Triton's. */
export const DEFAULT_REPOSITORY_POLL_SECS = 15;
/** `--model_load_timeout` default: generous for big weights, but a load() that never finishes cannot keep the server down. */
export const DEFAULT_MODEL_LOAD_TIMEOUT_MS = 600_000;

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/** A port that cannot be bound, as one line: `cannot listen on 0.0.0.0:8080: address already in use`. */
function listenError(err: unknown, host: string, port: number, what: string): Error {
  const text = err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? ""} ${err.message}` : String(err);
  const reason = /EADDRINUSE|address already in use/i.test(text)
    ? "address already in use"
    : /EACCES|permission denied/i.test(text)
      ? "permission denied"
      : err instanceof Error ? err.message : String(err);
  return new Error(`cannot listen on ${host}:${port}${what}: ${reason}`, { cause: err });
}

/** Beyond the grace period, how long stop() still waits for models to unload (a custom process's SIGKILL…). */
const UNLOAD_ALLOWANCE_MS = 5_000;

/**
 * Serves models over REST. `await new ModelServer({ httpPort: 8080 }).start([new MyModel("m")])`
 * is KServe's `ModelServer().start([model])`.
 */
export class ModelServer {
  readonly repository: ModelRepository;
  readonly dataplane: DataPlane;
  readonly metrics = new ServerMetrics();
  readonly logger: Logger;
  private readonly options: ModelServerOptions;
  private app?: FastifyInstance;
  /** The graph router, when a graph is served. */
  graphRouter?: GraphRouter;
  /** The Seldon graph executor, when a SeldonDeployment graph is served. */
  seldonExecutor?: SeldonGraphExecutor;
  private draining = false;
  private grpcServer?: GrpcServer;
  private boundPort?: number;
  private boundGrpcPort?: number;
  /** Who may load, unload and upload models, over REST and gRPC alike. */
  readonly modelControl: ModelControl;
  /** Re-reads the repository folder in poll mode. */
  private poller?: RepositoryPoller;
  /** Removes this server's process-level fault handlers (fault-guard.ts). */
  private releaseFaults?: () => void;

  constructor(options: ModelServerOptions = {}) {
    this.options = options;
    const logger = options.logger ?? createLogger({ level: options.logLevel });
    this.logger = logger;
    const level = options.logLevel ?? ("level" in logger && typeof logger.level === "string" ? logger.level : undefined);
    if (level === "debug" || level === "info" || level === "warn" || level === "error") setOrtLogLevel(level);
    const predictor = options.predictor;
    const runtimes = options.runtimes ?? builtinRuntimes({ seldon: { unit: () => seldonUnitFromEnv(process.env) } });
    setRemotePredictorFactory(runtimes.remotePredictor);
    const loader: ModelLoader = async (source, version) => {
      const model = await runtimes.create(source, version);
      if (predictor && !model.predictorHost) applyPredictorSettings(model, predictor);
      if (isSeldonComponent(model)) model.metricsSink = this.metrics;
      configureOpenBayesModel(model, { logger: this.logger, gracePeriodMs: options.gracePeriodMs }); // OpenBayes
      return model;
    };
    this.repository = new ModelRepository({
      root: options.modelRepository,
      loader,
      loadTimeoutMs: options.modelLoadTimeoutMs ?? DEFAULT_MODEL_LOAD_TIMEOUT_MS,
      events: {
        onLoaded: (name, version, seconds) => this.metrics.modelLoaded(name, version, seconds),
        log: (level, message) => this.logger.log(level, message),
      },
    });
    this.dataplane = new DataPlane(this.repository, this.metrics, { limits: { maxTensorElements: options.maxTensorElements } });
    this.modelControl = new ModelControl({ mode: options.modelControlMode, adminToken: options.adminToken });
  }

  /** The port the REST server listens on (useful with httpPort 0). */
  get port(): number {
    if (this.boundPort === undefined) throw new Error("The server is not started");
    return this.boundPort;
  }

  /** The port gRPC listens on (undefined when gRPC is disabled). */
  get grpcPort(): number | undefined {
    return this.boundGrpcPort;
  }

  /** Registers the given models, loads the repository, then listens. */
  async start(models: Model[] = [], sources: ModelSource[] = []): Promise<this> {
    // A stray error in one model's code (a timer, an unhandled rejection) marks and reloads that model, not the process.
    this.releaseFaults ??= guardFaults(this.repository, this.logger);
    try {
      return await this.startServing(models, sources);
    } catch (err) {
      this.releaseFaults();
      this.releaseFaults = undefined;
      throw err;
    }
  }

  private async startServing(models: Model[], sources: ModelSource[]): Promise<this> {
    for (const m of models) {
      if (this.options.predictor && !m.predictorHost) applyPredictorSettings(m, this.options.predictor);
      if (isSeldonComponent(m)) m.metricsSink = this.metrics;
      configureOpenBayesModel(m, { logger: this.logger, gracePeriodMs: this.options.gracePeriodMs }); // OpenBayes
      await this.repository.register(m);
    }
    for (const s of sources) await this.repository.addSource(s);
    if (this.options.modelRepository && !(await isDirectory(this.options.modelRepository))) {
      throw new Error(`the model repository folder ${this.options.modelRepository} does not exist`);
    }
    // uploads: undo swaps a crash interrupted and clear stale upload files before the repository is scanned
    if (this.options.modelRepository) await recoverUploads(this.options.modelRepository, (level, message) => this.logger.log(level, message));
    if (this.modelControl.mode === "poll") {
      if (!this.options.modelRepository) throw new Error("--model_control_mode poll needs a model repository to watch (--model_repository)");
      const secs = this.options.repositoryPollSecs ?? DEFAULT_REPOSITORY_POLL_SECS;
      if (!(secs > 0)) throw new Error(`--repository_poll_secs must be a positive number of seconds, got ${secs}`);
      this.poller = new RepositoryPoller({
        repository: this.repository,
        root: this.options.modelRepository,
        intervalMs: secs * 1000,
        log: (level, message) => this.logger.log(level, message),
      });
      await this.poller.prime(); // before the first load, so a folder changed meanwhile is reloaded by the first scan
    }
    await this.repository.loadAll();
    if (this.options.graph) {
      this.graphRouter = new GraphRouter(this.options.graph, {
        localModels: dataPlaneModels(this.dataplane),
        serviceUrlTemplate: this.options.serviceUrlTemplate,
        propagateHeaders: this.options.propagateHeaders,
        observer: this.metrics,
        stepTimeoutSeconds: this.options.graphStepTimeoutMs === undefined ? undefined : this.options.graphStepTimeoutMs / 1000,
      });
      for (const p of this.graphRouter.headerPolicy.invalid) this.logger.log("warn", `ignoring invalid header pattern '${p}'`);
    }
    if (this.options.seldonGraph) {
      if (this.options.seldon) throw new Error("Serve either one Seldon component (seldon) or a Seldon graph (seldonGraph), not both");
      const spec = this.options.seldonGraph;
      // The graph's components report their custom metrics under this deployment and predictor.
      for (const node of graphNodes(spec.graph)) {
        const served = this.dataplane.hasModel(node.name) && this.dataplane.isModelReady(node.name);
        const model = served ? this.dataplane.model(node.name) : undefined;
        if (isSeldonComponent(model)) model.deployment = { deploymentName: spec.deploymentName, predictorName: spec.predictorName };
      }
      this.seldonExecutor = new SeldonGraphExecutor(spec, {
        resolveUnit: dataPlaneSeldonUnits(this.dataplane),
        observer: this.metrics.seldonGraphObserver(spec),
        timeoutMs: this.options.seldonGraphTimeoutMs,
      });
    }
    // OpenBayes: decided once the models are loaded; a predictor asked for that did not start fails start().
    const openbayes = this.options.graph || this.options.seldon || this.options.seldonGraph ? undefined : this.openbayesRoutes();
    const seldon = this.seldonRoutes();
    this.app = buildHttpApp({
      openbayes: await openbayes,
      graph: this.graphRouter
        ? { router: this.graphRouter, standalone: this.options.graphStandalone === true, isReady: () => !this.draining }
        : undefined,
      dataplane: this.dataplane,
      metrics: this.metrics,
      logger: this.logger,
      seldon,
      seldonGraph: this.seldonExecutor ? { executor: this.seldonExecutor, isReady: () => !this.draining } : undefined,
      maxBufferSize: this.options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE,
      accessLog: this.options.accessLog,
      upload: { maxUploadSize: this.options.maxUploadSize, repositoryRoot: this.options.modelRepository, allowCodeUploads: this.options.allowCodeUploads }, // uploads
      modelControl: this.modelControl,
      keepAliveTimeoutMs: this.options.keepAliveTimeoutMs ?? 65_000,
      connectionLimits: {
        headersTimeoutMs: this.options.headersTimeoutMs,
        requestTimeoutMs: this.options.requestTimeoutMs,
        bodyTimeoutMs: this.options.bodyTimeoutMs,
        minBodyRate: this.options.minBodyRate,
        maxConnections: this.options.maxConnections,
      },
    });
    const host = this.options.host ?? "0.0.0.0";
    await this.app.listen({ port: this.options.httpPort ?? 8080, host }).catch((err: unknown) => {
      throw listenError(err, host, this.options.httpPort ?? 8080, "");
    });
    const addr = this.app.server.address();
    this.boundPort = typeof addr === "object" && addr ? addr.port : this.options.httpPort;
    if (this.options.enableGrpc !== false) {
      const defaultSize = DEFAULT_MAX_BUFFER_SIZE;
      this.grpcServer = buildGrpcServer({
        dataplane: this.dataplane,
        logger: this.logger,
        maxSendMessageLength: this.options.grpcMaxSendMessageLength ?? defaultSize,
        maxReceiveMessageLength: this.options.grpcMaxReceiveMessageLength ?? defaultSize,
        maxConnectionIdleMs: this.options.keepAliveTimeoutMs ?? 65_000,
        modelControl: this.modelControl,
      });
      // Seldon mode: Seldon's gRPC services (seldon.protos.*) beside the OIP service, on the same port.
      if (seldon) addSeldonGrpcServices(this.grpcServer, { dataplane: this.dataplane, modelName: () => seldon.modelName, logger: this.logger });
      const grpcPort = this.options.grpcPort ?? 8081;
      // grpc-js's own lines ("E No address added…") go through our logger, at debug.
      setGrpcLogger({ error: (...args: unknown[]) => this.logger.log("debug", `grpc: ${args.join(" ")}`) } as Partial<Console>);
      this.boundGrpcPort = await listenGrpc(this.grpcServer, host, grpcPort).catch(async (err: unknown) => {
        await this.app?.close();
        throw listenError(err, host, grpcPort, " (gRPC)");
      });
    }
    this.poller?.start();
    if (this.modelControl.openToAnyone) {
      this.logger.log("warn", "--model_control_mode explicit without an admin token: anyone who can reach this server may load and unload models");
    }
    const index = this.repository.index();
    this.logger.log(
      "info",
      `tserve listening on http://${this.options.host ?? "0.0.0.0"}:${this.boundPort}${this.boundGrpcPort !== undefined ? ` and grpc ${this.boundGrpcPort}` : ""} with ${index.filter((m) => m.state === "READY").length}/${index.length} model versions ready`,
    );
    return this;
  }

  private seldonRoutes(): { modelName: string } | undefined {
    const option = this.options.seldon;
    if (!option) return undefined;
    if (option !== true) return option;
    const names = this.repository.names();
    if (names.length !== 1) {
      throw new Error(`Seldon mode serves exactly one component; this server has ${names.length} models (${names.join(", ")}). Name one with seldon: { modelName }.`);
    }
    return { modelName: names[0] };
  }

  /** OpenBayes: which model the OpenBayes routes serve, if any (a startup error unloads what was loaded). */
  private async openbayesRoutes(): Promise<ReturnType<typeof resolveOpenBayesServing>> {
    try {
      return resolveOpenBayesServing(this.dataplane, this.options.openbayes);
    } catch (err) {
      await this.repository.unloadAll();
      throw err;
    }
  }

  /** How long stop() lets in-flight requests finish, in ms. */
  get gracePeriodMs(): number {
    return this.options.gracePeriodMs ?? 30_000;
  }

  /**
   * Graceful stop: refuse new requests, let in-flight ones finish for up to the grace period, then end the
   * connections still open (cutting those requests off) and unload every model. Closing the graph executor
   * and unloading get what is left of the grace period plus UNLOAD_ALLOWANCE_MS; one that hangs past it is
   * logged and left behind, so stop() always finishes.
   */
  async stop(): Promise<void> {
    this.dataplane.markStopping();
    this.draining = true;
    await this.poller?.stop();
    const grace = this.gracePeriodMs;
    const deadline = Date.now() + grace + UNLOAD_ALLOWANCE_MS;
    const grpcStopped = this.grpcServer ? stopGrpc(this.grpcServer, grace, this.logger) : Promise.resolve();
    if (this.app) await closeWithin(this.app, grace, this.logger);
    await grpcStopped;
    const within = async (what: string, work: Promise<unknown> | undefined) => {
      if (!work) return;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), Math.max(0, deadline - Date.now()))));
      const outcome = await Promise.race([work.then(() => "done" as const, () => "done" as const), late]);
      clearTimeout(timer);
      if (outcome === "late") this.logger.log("warn", `${what} did not finish within the grace period (${grace / 1000} s) plus ${UNLOAD_ALLOWANCE_MS / 1000} s; stopping without waiting for it`);
    };
    await within("closing the Seldon graph executor", this.seldonExecutor?.close());
    await within(`unloading models (${this.repository.names().join(", ")})`, this.repository.unloadAll());
    this.releaseFaults?.();
    this.releaseFaults = undefined;
  }
}
