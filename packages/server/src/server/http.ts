import Fastify, { type FastifyInstance } from "fastify";
import { compressReply, inflateRequestBodies, isBodyDecodingError } from "./compression.ts";
import { type ConnectionLimits, guardConnections, httpServerOptions, isUpload, resolveConnectionLimits } from "./connections.ts";
import { clientErrorHandler, notFoundHandler, restError, sendError } from "./errors.ts";
import { exactJsonContentType } from "./rest.ts";
import { echoRequestIds, logRequestError, registerAccessLog, requestIdOptions } from "./access-log.ts";
import type { Assembly, FamilyMount } from "./family.ts";
import type { Logger } from "./logger.ts";
import type { PayloadLogger } from "./payload-log.ts";
import type { Tracer } from "../net/index.ts";
import { registerTracing } from "./tracing.ts";
import { registerOpenApiRoutes } from "./openapi/index.ts";
import { SERVER_VERSION } from "../model/index.ts";

export interface HttpAppOptions {
  logger: Logger;
  /** The mounted protocol families, in registration order, each with whether its REST routes are served. */
  mounts: { mount: FamilyMount; routes: boolean }[];
  /** One info line per answered request (method, path, status, duration, model, protocol); default false. */
  accessLog?: boolean;
  /** Largest accepted request body in bytes; larger bodies get 413. */
  maxBufferSize: number;
  keepAliveTimeoutMs?: number;
  /** Slow-client timeouts and the connection limit (defaults: see connections.ts). */
  connectionLimits?: Partial<ConnectionLimits>;
  /** OpenTelemetry: a server span per request (server/tracing.ts); absent, no tracing hook is registered. */
  tracer?: Tracer;
  /** Sends inference requests and responses to a CloudEvents sink (payload-log.ts), as they leave, before compression. */
  payloadLog?: PayloadLogger;
  /** Serve Swagger UI on GET /docs (KServe's --enable_docs_url); GET /openapi.json is always served. Default false. */
  enableDocsUrl?: boolean;
}

/**
 * Assembles the REST app: the server-wide parts (body as bytes, gzip/deflate bodies and answers, one error mapping,
 * request ids, access log, slow-client guards), then each mounted family's routes as an encapsulated plugin.
 */
export function buildHttpApp(options: HttpAppOptions): FastifyInstance {
  const { logger, maxBufferSize } = options;
  const limits = resolveConnectionLimits(options.connectionLimits);
  // Errors that come before any route (node's HTTP parser, a bad URL) take the body of the family the server is (Seldon's…).
  const serverWide = options.mounts.find((m) => m.mount.serverWide)?.mount.serverWide;
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
      if (serverWide?.errorReply) serverWide.errorReply(reply, mapped);
      else sendError(reply, mapped);
    },
    // Requests node's HTTP parser refuses (a URL past the header limit, a raw non-ASCII byte): our body, then close.
    clientErrorHandler: clientErrorHandler({ body: serverWide?.clientErrorBody, headersTimeoutMs: limits.headersTimeoutMs }),
  });

  guardConnections(app.server, limits, logger);
  echoRequestIds(app.server);
  registerAccessLog(app, logger, options.accessLog === true, serverWide?.protocol);
  if (options.tracer) registerTracing(app.server, options.tracer);

  // Codecs decide how to read a body, so every content type arrives as raw bytes.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  // gzip / deflate bodies are inflated before any parser reads them; the inflated size counts against the body
  // limit (an upload counts its own bytes against --max_upload_size).
  app.addHook("preParsing", inflateRequestBodies((request) => (isUpload(request.raw) ? Infinity : (request.routeOptions.bodyLimit ?? maxBufferSize))));
  const payloadLog = options.payloadLog;
  app.addHook("onSend", (request, reply, payload, done) => {
    exactJsonContentType(reply, payload);
    payloadLog?.onSend(request, reply, payload);
    compressReply(request, reply, payload, done);
  });

  app.setErrorHandler((err, request, reply) => {
    const mapped = restError(err, maxBufferSize);
    if (mapped.status >= 500) {
      logRequestError(logger, request, `${request.method} ${request.url} -> ${mapped.status}: ${mapped.message}`);
      const cause = (mapped as Error).cause;
      if (cause instanceof Error && cause.stack) logger.log("debug", cause.stack);
    }
    // The rest of a body that could not be inflated is not read: the connection closes after the answer.
    if (isBodyDecodingError(err)) reply.header("connection", "close");
    // The route family decides its error body (Seldon routes answer Seldon's status object).
    const familyReply = request.routeOptions.config?.errorReply;
    return familyReply ? familyReply(reply, mapped) : sendError(reply, mapped);
  });
  app.setNotFoundHandler(notFoundHandler);

  const assembly: Assembly = { claimed: new Set(options.mounts.flatMap((m) => m.mount.claims ?? [])) };
  for (const { mount, routes } of options.mounts) {
    const register = mount.routes;
    if (routes && register) app.register(async (scope) => register(scope, assembly));
  }
  const openapiHooks = options.mounts.flatMap(({ mount, routes }) => (routes && mount.openapi ? [mount.openapi] : []));
  app.register(async (scope) => registerOpenApiRoutes(scope, { hooks: openapiHooks, docs: options.enableDocsUrl === true, version: SERVER_VERSION }));
  return app;
}
