import Fastify, { type FastifyInstance } from "fastify";
import type { GraphRouter, SeldonGraphExecutor } from "../graph/index.ts";
import type { DataPlane } from "../model/index.ts";
import { type ConnectionLimits, guardConnections, httpServerOptions, resolveConnectionLimits } from "./connections.ts";
import { clientErrorHandler, notFoundHandler, restError, sendError, sendSeldonError } from "./errors.ts";
import { logRequestError, registerAccessLog, requestIdOptions } from "./access-log.ts";
import type { Logger } from "./logger.ts";
import { ModelControl } from "./model-control.ts";
import type { ServerMetrics } from "./metrics.ts";
import { registerGraphRoutes } from "./routes/graph.ts";
import { registerOpenBayesRoutes } from "./routes/openbayes.ts"; // OpenBayes
import { registerRepositoryRoutes } from "./routes/repository.ts";
import { registerSeldonRoutes } from "./routes/seldon.ts";
import { registerSeldonGraphRoutes } from "./routes/seldon-graph.ts";
import { registerUploadRoutes, type UploadRouteOptions } from "./routes/upload.ts"; // uploads
import { registerV1Routes } from "./routes/v1.ts";
import { registerV2Routes } from "./routes/v2.ts";

export interface HttpAppOptions {
  dataplane: DataPlane;
  metrics: ServerMetrics;
  logger: Logger;
  /** One info line per answered request (method, path, status, duration, model, protocol); default false. */
  accessLog?: boolean;
  /** Largest accepted request body in bytes; larger bodies get 413. */
  maxBufferSize: number;
  keepAliveTimeoutMs?: number;
  /** Slow-client timeouts and the connection limit (defaults: see connections.ts). */
  connectionLimits?: Partial<ConnectionLimits>;
  /** An inference graph on POST / (standalone: on every path, with no model routes). */
  graph?: { router: GraphRouter; standalone: boolean; isReady: () => boolean };
  /** Seldon's microservice routes for this served component. */
  seldon?: { modelName: string };
  /** Seldon's executor API for a SeldonDeployment graph. */
  seldonGraph?: { executor: SeldonGraphExecutor; isReady: () => boolean };
  /** Model uploads (POST /v2/repository/models/{m}/upload): size limit, repository root, code policy. */
  upload?: Omit<UploadRouteOptions, "logger" | "control">;
  /** Who may load, unload and upload models (default: nobody, `--model_control_mode none`). */
  modelControl?: ModelControl;
  /** OpenBayes: a predictor on GET / and POST /, or (custom) every path proxied to start.sh's server. */
  openbayes?: { modelName: string; mode: "predictor" | "custom" };
}

/** Assembles the REST app: one route module per protocol family, one error mapping for all of them. */
export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const { dataplane, metrics, logger, maxBufferSize } = options;
  const limits = resolveConnectionLimits(options.connectionLimits);
  // Errors that come before any route (node's HTTP parser, a bad URL) take the server's family: Seldon's on a Seldon server.
  const seldonServer = options.seldon !== undefined || options.seldonGraph !== undefined;
  const rootProtocol = options.graph ? "graph" : options.openbayes ? "openbayes" : seldonServer ? "seldon" : undefined;
  const app = Fastify({
    http: httpServerOptions(limits),
    ...requestIdOptions(),
    bodyLimit: maxBufferSize,
    // A model name may contain characters Fastify would otherwise reject in a param.
    routerOptions: { maxParamLength: 1024, ignoreTrailingSlash: false },
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 65_000,
    // Errors Fastify raises before routing (a bad URL encoding…) get our body too.
    frameworkErrors: (err, _request, reply) => {
      const mapped = restError(err, maxBufferSize);
      if (seldonServer) sendSeldonError(reply, mapped);
      else sendError(reply, mapped);
    },
    // Requests node's HTTP parser refuses (a URL past the header limit, a raw non-ASCII byte): our body, then close.
    clientErrorHandler: clientErrorHandler({ seldon: seldonServer, headersTimeoutMs: limits.headersTimeoutMs }),
  });

  guardConnections(app.server, limits, logger);
  registerAccessLog(app, logger, options.accessLog === true, rootProtocol);

  // Codecs decide how to read a body, so every content type arrives as raw bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, request, reply) => {
    const mapped = restError(err, maxBufferSize);
    if (mapped.status >= 500) {
      logRequestError(logger, request, `${request.method} ${request.url} -> ${mapped.status}: ${mapped.message}`);
      const cause = (mapped as Error).cause;
      if (cause instanceof Error && cause.stack) logger.log("debug", cause.stack);
    }
    // The route family decides its error body (Seldon routes answer Seldon's status object).
    const familyReply = request.routeOptions.config?.errorReply;
    return familyReply ? familyReply(reply, mapped) : sendError(reply, mapped);
  });
  app.setNotFoundHandler(notFoundHandler);

  // OpenBayes owns / (GET status, POST predict); a custom server takes every path itself.
  if (options.openbayes) registerOpenBayesRoutes(app, dataplane, { ...options.openbayes, logger });
  if (!options.graph?.standalone && options.openbayes?.mode !== "custom") {
    registerV1Routes(app, dataplane, { root: !options.openbayes });
    registerV2Routes(app, dataplane);
    const control = options.modelControl ?? new ModelControl({ mode: "none" });
    registerRepositoryRoutes(app, dataplane, control);
    registerUploadRoutes(app, dataplane, { ...options.upload, control, logger }); // uploads
  }
  if (options.graph) registerGraphRoutes(app, options.graph);
  if (options.seldon) registerSeldonRoutes(app, dataplane, { modelName: options.seldon.modelName, logger });
  if (options.seldonGraph) registerSeldonGraphRoutes(app, { ...options.seldonGraph, logger, metrics, limits: dataplane.limits });
  app.get("/metrics", async (_req, reply) => {
    const { body, contentType } = await metrics.render();
    return reply.header("content-type", contentType).send(body);
  });
  return app;
}
