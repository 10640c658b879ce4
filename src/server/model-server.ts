import type { FastifyInstance } from "fastify";
import { DataPlane, type Model, ModelRepository, type ModelSource } from "../model/index.ts";
import { loadModel } from "../runtime/index.ts";
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
  private boundPort?: number;

  constructor(options: ModelServerOptions = {}) {
    this.options = options;
    this.logger = options.logger ?? consoleLogger();
    this.repository = new ModelRepository({
      root: options.modelRepository,
      loader: loadModel,
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

  /** Registers the given models, loads the repository, then listens. */
  async start(models: Model[] = [], sources: ModelSource[] = []): Promise<this> {
    for (const m of models) await this.repository.register(m);
    for (const s of sources) await this.repository.addSource(s);
    await this.repository.loadAll();
    this.app = buildHttpApp({
      dataplane: this.dataplane,
      metrics: this.metrics,
      logger: this.logger,
      maxBufferSize: this.options.maxBufferSize ?? DEFAULT_MAX_BUFFER_SIZE,
    });
    await this.app.listen({ port: this.options.httpPort ?? 8080, host: this.options.host ?? "0.0.0.0" });
    const addr = this.app.server.address();
    this.boundPort = typeof addr === "object" && addr ? addr.port : this.options.httpPort;
    const index = this.repository.index();
    this.logger.log(
      "info",
      `tserve listening on http://${this.options.host ?? "0.0.0.0"}:${this.boundPort} with ${index.filter((m) => m.state === "READY").length}/${index.length} model versions ready`,
    );
    return this;
  }

  /** Graceful stop: refuse new inferences, drain open requests, unload every model. */
  async stop(): Promise<void> {
    this.dataplane.markStopping();
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
    await this.repository.unloadAll();
  }
}
