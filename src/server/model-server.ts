import type { Server as GrpcServer } from "@grpc/grpc-js";
import type { FastifyInstance } from "fastify";
import {
  applyPredictorSettings,
  DataPlane,
  type Model,
  type ModelLoader,
  ModelRepository,
  type ModelSource,
  type PredictorSettings,
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
import { isSeldonComponent, loadModel } from "../runtime/index.ts";
import { configureOpenBayesModel, resolveOpenBayesServing } from "../runtime/index.ts"; // OpenBayes
import { recoverUploads } from "../storage/index.ts"; // uploads
import { buildGrpcServer, listenGrpc, stopGrpc } from "./grpc.ts";
import { addSeldonGrpcServices } from "./seldon-grpc.ts";
import { buildHttpApp } from "./http.ts";
import { consoleLogger, type Logger } from "./logger.ts";
import { ServerMetrics } from "./metrics.ts";

export interface ModelServerOptions {
  /** REST port (KServe `--http_port`); 0 picks a free one. */
  httpPort?: number;
  host?: string;
  /** A folder of model folders to serve (`--model-repository`). */
  modelRepository?: string;
  /** Largest request body in bytes (`--max_buffer_size`), default 64 MiB. */
  maxBufferSize?: number;
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
  /** Bearer token that enables model uploads (POST /v2/repository/models/{m}/upload); without it they answer 403. */
  adminToken?: string;
  /** Largest upload body in bytes (`--max_upload_size`, default 1 GiB). */
  maxUploadSize?: number;
  logger?: Logger;
}

export const DEFAULT_MAX_BUFFER_SIZE = 64 * 1024 * 1024;

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

  constructor(options: ModelServerOptions = {}) {
    this.options = options;
    this.logger = options.logger ?? consoleLogger();
    const predictor = options.predictor;
    const loader: ModelLoader = async (source, version) => {
      const model = await loadModel(source, version);
      if (predictor && !model.predictorHost) applyPredictorSettings(model, predictor);
      if (isSeldonComponent(model)) model.metricsSink = this.metrics;
      configureOpenBayesModel(model, { logger: this.logger, gracePeriodMs: options.gracePeriodMs }); // OpenBayes
      return model;
    };
    this.repository = new ModelRepository({
      root: options.modelRepository,
      loader,
      events: {
        onLoaded: (name, version, seconds) => this.metrics.modelLoaded(name, version, seconds),
        log: (level, message) => this.logger.log(level, message),
      },
    });
    this.dataplane = new DataPlane(this.repository, this.metrics);
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
    for (const m of models) {
      if (this.options.predictor && !m.predictorHost) applyPredictorSettings(m, this.options.predictor);
      if (isSeldonComponent(m)) m.metricsSink = this.metrics;
      configureOpenBayesModel(m, { logger: this.logger, gracePeriodMs: this.options.gracePeriodMs }); // OpenBayes
      await this.repository.register(m);
    }
    for (const s of sources) await this.repository.addSource(s);
    // uploads: undo swaps a crash interrupted and clear stale upload files before the repository is scanned
    if (this.options.modelRepository) await recoverUploads(this.options.modelRepository, (level, message) => this.logger.log(level, message));
    await this.repository.loadAll();
    if (this.options.graph) {
      this.graphRouter = new GraphRouter(this.options.graph, {
        localModels: dataPlaneModels(this.dataplane),
        serviceUrlTemplate: this.options.serviceUrlTemplate,
        propagateHeaders: this.options.propagateHeaders,
        observer: this.metrics,
      });
      for (const p of this.graphRouter.headerPolicy.invalid) this.logger.log("warn", `ignoring invalid header pattern '${p}'`);
    }
    if (this.options.seldonGraph) {
      if (this.options.seldon) throw new Error("Serve either one Seldon component (seldon) or a Seldon graph (seldonGraph), not both");
      const spec = this.options.seldonGraph;
      // The graph's components report their custom metrics under this deployment and predictor.
      for (const node of graphNodes(spec.graph)) {
        const served = this.repository.names().includes(node.name) && this.repository.isReady(node.name);
        const model = served ? this.repository.get(node.name) : undefined;
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
      upload: { adminToken: this.options.adminToken, maxUploadSize: this.options.maxUploadSize, repositoryRoot: this.options.modelRepository }, // uploads
      keepAliveTimeoutMs: this.options.keepAliveTimeoutMs ?? 65_000,
    });
    await this.app.listen({ port: this.options.httpPort ?? 8080, host: this.options.host ?? "0.0.0.0" });
    const addr = this.app.server.address();
    this.boundPort = typeof addr === "object" && addr ? addr.port : this.options.httpPort;
    if (this.options.enableGrpc !== false) {
      const defaultSize = DEFAULT_MAX_BUFFER_SIZE;
      this.grpcServer = buildGrpcServer({
        dataplane: this.dataplane,
        logger: this.logger,
        maxSendMessageLength: this.options.grpcMaxSendMessageLength ?? defaultSize,
        maxReceiveMessageLength: this.options.grpcMaxReceiveMessageLength ?? defaultSize,
      });
      // Seldon mode: Seldon's gRPC services (seldon.protos.*) beside the OIP service, on the same port.
      if (seldon) addSeldonGrpcServices(this.grpcServer, { dataplane: this.dataplane, modelName: () => seldon.modelName, logger: this.logger });
      this.boundGrpcPort = await listenGrpc(this.grpcServer, this.options.host ?? "0.0.0.0", this.options.grpcPort ?? 8081);
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
      return resolveOpenBayesServing(this.repository, this.options.openbayes);
    } catch (err) {
      await this.repository.unloadAll();
      throw err;
    }
  }

  /** Graceful stop: refuse new inferences, drain open requests, unload every model. */
  async stop(): Promise<void> {
    this.dataplane.markStopping();
    this.draining = true;
    const grace = this.options.gracePeriodMs ?? 30_000;
    const grpcStopped = this.grpcServer ? stopGrpc(this.grpcServer, grace) : Promise.resolve();
    const app = this.app;
    if (app) {
      // close() ends idle keep-alive connections only once; busy ones go idle later and would hold the
      // process open until the keep-alive timeout, so keep closing them until the server is done.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 25);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
    }
    await grpcStopped;
    await this.seldonExecutor?.close();
    await this.repository.unloadAll();
  }
}
