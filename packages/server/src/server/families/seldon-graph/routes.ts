import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { NotFound, ServerNotReady } from "../../../errors/index.ts";
import type { SeldonGraphExecutor } from "../../../graph/index.ts";
import { seldon } from "../../../protocol/index.ts";
import type { TensorLimits } from "../../../tensor/index.ts";
import { seldonRouteConfig } from "../../errors.ts";
import { logRequestError } from "../../access-log.ts";
import type { Logger } from "../../logger.ts";
import type { ServerMetrics } from "../../metrics.ts";
import { seldonRequestBody } from "../seldon/routes.ts";

export interface SeldonGraphRoutesOptions {
  executor: SeldonGraphExecutor;
  logger: Logger;
  metrics: ServerMetrics;
  /** False once the server drains. */
  isReady: () => boolean;
  /** What one request may declare (`--max_tensor_elements`; default DEFAULT_MAX_TENSOR_ELEMENTS). */
  limits?: Partial<TensorLimits>;
}

/**
 * Seldon's executor API in front of a SeldonDeployment graph: predictions and feedback through the graph,
 * the graph's metadata, health, /ready and /live.
 */
export function registerSeldonGraphRoutes(app: FastifyInstance, options: SeldonGraphRoutesOptions): void {
  const { executor, logger, metrics, isReady, limits } = options;
  const json = (reply: FastifyReply, status: number, body: unknown) =>
    reply.code(status).header("content-type", "application/json").send(JSON.stringify(body));

  const run =
    (service: "predictions" | "feedback", call: (raw: unknown, req: FastifyRequest) => Promise<seldon.SeldonMessage>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const started = performance.now();
      let status = 200;
      try {
        if (!isReady()) throw new ServerNotReady("Server is shutting down.");
        const answer = await call(seldonRequestBody(req), req);
        return json(reply, status, answer);
      } catch (err) {
        const mapped = seldon.seldonErrorReply(err);
        status = mapped.status;
        if (status >= 500) logRequestError(logger, req, `${req.method} ${req.url.split("?")[0]} -> ${status}: ${(err as Error)?.message ?? String(err)}`);
        return json(reply, status, mapped.body);
      } finally {
        metrics.seldonServerRequest(executor.spec, service, req.method, status, (performance.now() - started) / 1000);
      }
    };

  const predictions = run("predictions", (raw, req) => executor.predict(seldon.parseSeldonMessage(raw, limits), { headers: req.headers }));
  const feedback = run("feedback", (raw, req) => executor.sendFeedback(seldon.parseFeedback(raw, limits), { headers: req.headers }));
  // Errors Fastify raises before a handler runs (a bad content type, a body too large) get Seldon's body too.
  const seldonRoute = seldonRouteConfig();
  for (const version of ["v1.0", "v0.1"]) {
    app.post(`/api/${version}/predictions`, seldonRoute, predictions);
    app.post(`/api/${version}/feedback`, seldonRoute, feedback);
  }

  app.get("/api/v1.0/metadata", seldonRoute, async (_req, reply) => json(reply, 200, await executor.metadata()));
  app.get("/api/v1.0/metadata/:model", seldonRoute, async (req, reply) => {
    const name = (req.params as { model: string }).model;
    const meta = (await executor.metadata()) as { models?: Record<string, unknown> };
    const model = meta.models?.[name];
    if (model === undefined) {
      // Seldon's status body, as every other executor route answers its errors.
      const mapped = seldon.seldonErrorReply(new NotFound(`Model ${name} is not in graph ${executor.deploymentName}`));
      return json(reply, mapped.status, mapped.body);
    }
    return json(reply, 200, model);
  });

  const health = async (_req: FastifyRequest, reply: FastifyReply) => {
    const ok = isReady() && (await executor.healthy());
    return ok ? json(reply, 200, { status: "ok" }) : json(reply, 503, seldon.seldonStatusBody("graph not ready", "MICROSERVICE_INTERNAL_ERROR"));
  };
  app.get("/api/v1.0/health/status", seldonRoute, health);
  app.get("/ready", seldonRoute, health);
  app.get("/live", seldonRoute, async (_req, reply) => reply.code(200).header("content-type", "text/plain; charset=utf-8").send("ok"));
}
