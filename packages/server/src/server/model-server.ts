import { stat } from "node:fs/promises";
import { type Server as GrpcServer, setLogger as setGrpcLogger } from "@grpc/grpc-js";
import type { FastifyInstance } from "fastify";
import type { GraphRouter } from "../graph/index.ts";
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
import { builtinRuntimes, type RuntimeRegistry, seldonUnitFromEnv, setOrtLogLevel } from "../runtime/index.ts";
import {
  BUILTIN_FAMILIES,
  type GraphFamilyOptions,
  type OpenBayesFamilyOptions,
  type RepositoryFamilyOptions,
  type SeldonFamilyOptions,
  type SeldonGraphFamilyOptions,
} from "./families/index.ts";
import type { FamilyContext, FamilyMount, ProtocolFamily } from "./family.ts";
import { createGrpcServer, listenGrpc, stopGrpc } from "./grpc.ts";
import { closeWithin } from "./connections.ts";
import { guardFaults } from "./fault-guard.ts";
import { buildHttpApp } from "./http.ts";
import type { Tracer } from "../net/index.ts";
import { tracerFromEnv } from "./tracing.ts";
import { ModelControl, type ModelControlMode } from "./model-control.ts";
import { createLogger, type Logger } from "./logger.ts";
import { ServerMetrics } from "./metrics.ts";
import { PayloadLogger, type PayloadLogOptions } from "./payload-log.ts";

/**
 * The server's own options, and each built-in protocol family's (families/<name>/index.ts documents its own).
 */
export interface ModelServerOptions
  extends RepositoryFamilyOptions,
    SeldonFamilyOptions,
    SeldonGraphFamilyOptions,
    GraphFamilyOptions,
    OpenBayesFamilyOptions {
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
  /** Bearer token that load, unload and upload need (REST `Authorization: Bearer …`, gRPC `authorization` metadata). */
  adminToken?: string;
  /**
   * Triton's `--model_control_mode`: `none` (load, unload and upload answer 403), `explicit` (allowed, behind the
   * admin token when one is set) or `poll` (the repository folder is re-read every repositoryPollSecs and decides
   * what is served; the API answers 403). Default: `explicit` with an admin token, `none` without.
   */
  modelControlMode?: ModelControlMode;
  /** Seconds between repository scans in poll mode (`--repository_poll_secs`, default 15). */
  repositoryPollSecs?: number;
  /**
   * A model whose load() (module import included) takes longer than this many ms is abandoned as UNAVAILABLE
   * (`--model_load_timeout`, default 600 s; 0: no limit): a load failure like any other (see exitOnError).
   */
  modelLoadTimeoutMs?: number;
  /**
   * Triton's `--strict-readiness` (default true): `/v2/health/ready` and gRPC `ServerReady` answer ready only while
   * every model that should be served is READY (one that failed to load, timed out or faulted keeps the server not
   * ready; one unloaded on purpose does not). False: ready whenever the server is up (Triton's
   * `--strict-readiness=false`); each model's own readiness still tells the truth.
   */
  strictReadiness?: boolean;
  /**
   * Triton's `--exit-on-error`: when a model fails to load at start (its load throws, times out or faults), start()
   * unloads what did load and rejects with every failure's reason ("failed to load all models: …"). Default false
   * for a ModelServer made in code: it starts and serves the models that loaded (not ready while strictReadiness
   * holds). The CLI's `--exit_on_error` defaults to true, as Triton's does.
   */
  exitOnError?: boolean;
  logger?: Logger;
  /** The default logger's level (`--log_level`; default TSERVE_LOGLEVEL or KSERVE_LOGLEVEL, else info); ONNX Runtime's follows it. */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** One info line per answered HTTP request (`--access_log`, default false: it cost ~25 % of req/s on iris). */
  accessLog?: boolean;
  /**
   * KServe's payload logger: each inference request and response POSTed as a CloudEvent to `payloadLog.url`
   * (`--logger_url`, `--logger_mode`…); a model's model-settings.json `logger` overrides it (server/payload-log.ts).
   */
  payloadLog?: PayloadLogOptions;
  /** Swagger UI on GET /docs (KServe's `--enable_docs_url`, default false); GET /openapi.json is always served. */
  enableDocsUrl?: boolean;
  /**
   * The runtimes models are served with, and the remote predictor transformers use (default: the built-in ones,
   * Seldon's unit settings read from PREDICTIVE_UNIT_ID … in the environment at each load).
   */
  runtimes?: RuntimeRegistry;
  /** OpenTelemetry tracing (server/tracing.ts): default from the OTEL_* variables (off unless they ask); false: off. */
  tracer?: Tracer | false;
  /** The protocol families served (default BUILTIN_FAMILIES: V1, V2, repository, Seldon, graphs, OpenBayes, metrics). */
  families?: readonly ProtocolFamily<never>[];
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

/** start() with `exitOnError`: a model failed to load at start (the message names each one and why). */
class ModelLoadFailure extends Error {
  readonly code = "TSERVE_MODEL_LOAD_FAILED";
  constructor(message: string) {
    super(message);
    this.name = "ModelLoadFailure";
  }
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
  /** Sends inference payloads to the --logger_url sink or a model's own (payload-log.ts). */
  readonly payloadLog: PayloadLogger;
  readonly logger: Logger;
  private readonly options: ModelServerOptions;
  private app?: FastifyInstance;
  /** The protocol families served, and what each mounted once the models were loaded. */
  private readonly families: readonly ProtocolFamily<never>[];
  private readonly mounts = new Map<string, FamilyMount>();
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
  /** Makes the requests' spans when tracing is on. */
  readonly tracer?: Tracer;

  constructor(options: ModelServerOptions = {}) {
    this.options = options;
    const logger = options.logger ?? createLogger({ level: options.logLevel });
    this.logger = logger;
    let exportWarned = false;
    this.tracer = options.tracer === false ? undefined : (options.tracer ?? tracerFromEnv(process.env, (err) => {
      if (!exportWarned) logger.log("warn", `exporting traces failed (reported once): ${(err as Error).message}`);
      exportWarned = true;
    }));
    const level = options.logLevel ?? ("level" in logger && typeof logger.level === "string" ? logger.level : undefined);
    if (level === "debug" || level === "info" || level === "warn" || level === "error") setOrtLogLevel(level);
    const runtimes = options.runtimes ?? builtinRuntimes({ seldon: { unit: () => seldonUnitFromEnv(process.env) } });
    setRemotePredictorFactory(runtimes.remotePredictor);
    this.families = options.families ?? BUILTIN_FAMILIES;
    const loader: ModelLoader = async (source, version) => {
      const model = await runtimes.create(source, version);
      this.setupModel(model);
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
    this.dataplane = new DataPlane(this.repository, this.metrics, {
      limits: { maxTensorElements: options.maxTensorElements },
      strictReadiness: options.strictReadiness ?? true,
    });
    this.metrics.watchInFlight(() => this.dataplane.inFlight());
    this.modelControl = new ModelControl({ mode: options.modelControlMode, adminToken: options.adminToken });
    this.payloadLog = new PayloadLogger(options.payloadLog ?? {}, {
      registry: this.metrics.registry,
      settingsOf: (name) => this.dataplane.settingsOf(name),
      // A Seldon component's, an OpenBayes predictor's or a graph's routes name no model: the one served, if one.
      defaultModel: () => {
        const names = this.repository.names();
        return names.length === 1 ? names[0] : undefined;
      },
      log: (level, message) => this.logger.log(level, message),
    });
  }

  /** What every family gets: the DataPlane, metrics, logger, model control and these options. */
  private get familyContext(): FamilyContext<never> {
    return {
      dataplane: this.dataplane,
      metrics: this.metrics,
      logger: this.logger,
      modelControl: this.modelControl,
      options: this.options as never,
      isDraining: () => this.draining,
    };
  }

  /** The server's predictor settings, then each family's per-model setup. */
  private setupModel(model: Model): void {
    if (this.options.predictor && !model.predictorHost) applyPredictorSettings(model, this.options.predictor);
    model.engineObserver ??= this.metrics.engineObserver(model.name);
    const ctx = this.familyContext;
    for (const family of this.families) family.setupModel?.(model, ctx);
  }

  /** What the named family mounted (its `handle`), when it is enabled. */
  mounted(family: string): unknown {
    return this.mounts.get(family)?.handle;
  }

  /** The InferenceGraph's router, when a graph is served. */
  get graphRouter(): GraphRouter | undefined {
    return this.mounted("graph") as GraphRouter | undefined;
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
      this.setupModel(m);
      await this.repository.register(m);
    }
    for (const s of sources) await this.repository.addSource(s);
    if (this.options.modelRepository && !(await isDirectory(this.options.modelRepository))) {
      throw new Error(`the model repository folder ${this.options.modelRepository} does not exist`);
    }
    const ctx = this.familyContext;
    for (const family of this.families) await family.beforeLoad?.(ctx);
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
    await this.mountFamilies();
    // After the families mounted: one that cannot serve without its model (an OpenBayes predictor) says why first.
    if (this.options.exitOnError) await this.failOnLoadErrors();
    const ownsAllPaths = [...this.mounts.values()].some((m) => m.ownsAllPaths);
    this.app = buildHttpApp({
      mounts: this.families.flatMap((family) => {
        const mount = this.mounts.get(family.name);
        // A family that answers every path leaves no room for the models' own routes.
        return mount ? [{ mount, routes: !(ownsAllPaths && family.modelRoutes && !mount.ownsAllPaths) }] : [];
      }),
      logger: this.logger,
      maxBufferSize: this.options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE,
      accessLog: this.options.accessLog,
      tracer: this.tracer,
      payloadLog: this.payloadLog,
      enableDocsUrl: this.options.enableDocsUrl,
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
      const grpcServer = createGrpcServer({
        maxSendMessageLength: this.options.grpcMaxSendMessageLength ?? defaultSize,
        maxReceiveMessageLength: this.options.grpcMaxReceiveMessageLength ?? defaultSize,
        maxConnectionIdleMs: this.options.keepAliveTimeoutMs ?? 65_000,
      });
      // Each family adds its services (OIP's inference service; Seldon's seldon.protos.* in Seldon mode) on the one port.
      for (const mount of this.mounts.values()) mount.grpc?.(grpcServer);
      this.grpcServer = grpcServer;
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
    const unready = this.repository.unready();
    if (unready.length > 0 && this.options.strictReadiness !== false) {
      const which = unready.map((m) => `${m.name}${m.version !== undefined ? ` version ${m.version}` : ""} (${m.state})`).join(", ");
      this.logger.log("warn", `the server is not ready (strict readiness) until these load or are unloaded: ${which}`);
    }
    return this;
  }

  /**
   * `exitOnError`: after the start-up loads, any model that should be served and is not READY stops the start, as
   * Triton's "failed to load all models" does; each failure was already logged by the repository with its reason.
   */
  private async failOnLoadErrors(): Promise<void> {
    const failed = this.repository.unready();
    if (failed.length === 0) return;
    await Promise.all([...this.mounts.values()].map((m) => m.close?.().catch(() => undefined)));
    this.mounts.clear();
    await this.repository.unloadAll();
    const reasons = failed.map((m) => `${m.name}${m.version !== undefined ? ` version ${m.version}` : ""}: ${m.reason || m.state}`);
    throw new ModelLoadFailure(`failed to load all models: ${reasons.join("; ")}`);
  }

  /** Asks each family what it serves, now that the models are loaded; a family that fails unloads what was loaded. */
  private async mountFamilies(): Promise<void> {
    const ctx = this.familyContext;
    try {
      for (const family of this.families) {
        const mount = await family.mount(ctx);
        if (mount) this.mounts.set(family.name, mount);
      }
    } catch (err) {
      await Promise.all([...this.mounts.values()].map((m) => m.close?.().catch(() => undefined)));
      this.mounts.clear();
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
   * connections still open (cutting those requests off) and unload every model. Closing what the families
   * mounted (a Seldon graph's executor) and unloading get what is left of the grace period plus UNLOAD_ALLOWANCE_MS; one that hangs past it is
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
    for (const [name, mount] of this.mounts) await within(`closing ${name}`, mount.close?.());
    // The last answers' payload log events get a moment to leave (at most one send deadline).
    await within("sending the payload log", this.payloadLog.close());
    await within(`unloading models (${this.repository.names().join(", ")})`, this.repository.unloadAll());
    this.releaseFaults?.();
    this.releaseFaults = undefined;
    await within("exporting traces", this.tracer?.shutdown());
  }
}
