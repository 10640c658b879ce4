import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvalidInput } from "../../../errors/index.ts";
import type { DataPlane, Model, Stage } from "../../../model/index.ts";
import { seldonErrorReply } from "../../../protocol/seldon/index.ts";
import {
  decodeSeldonRequest,
  parseFeedback,
  parseMessageList,
  parseSeldonMessage,
  type SeldonMessage,
} from "../../../protocol/seldon/index.ts";
import { isSeldonComponent, type SeldonComponent } from "../../../runtime/index.ts";
import { seldonRouteConfig } from "../../errors.ts";
import { logRequestError } from "../../access-log.ts";
import type { Logger } from "../../logger.ts";
import { bodyBytes } from "../../rest.ts";

export interface SeldonRoutesOptions {
  /** The served component the Seldon routes call. */
  modelName: string;
  logger: Logger;
}

/** The JSON a Seldon request carries, however it was sent (body, `?json=`, form field, multipart). */
export function seldonRequestBody(req: FastifyRequest): unknown {
  return decodeSeldonRequest({
    method: req.method,
    contentType: req.headers["content-type"],
    body: bodyBytes(req),
    query: req.query as Record<string, string | string[] | undefined>,
  });
}

type Call = (component: SeldonComponent, raw: () => unknown) => Promise<unknown>;

const CORS = {
  "access-control-allow-origin": "*",
  "access-control-allow-methods": "GET, POST, OPTIONS",
  "access-control-allow-headers": "content-type, authorization, seldon-puid, x-request-id",
};

/**
 * Seldon Core's microservice REST API for one component: predictions, transforms, routing, aggregation,
 * feedback, health and metadata, with Seldon's request forms (JSON, `?json=`, form fields, multipart) and
 * Seldon's `{"status": {...}}` error bodies. CORS is open on every route, as Seldon's Flask app has it.
 */
export function registerSeldonRoutes(app: FastifyInstance, dataplane: DataPlane, options: SeldonRoutesOptions): void {
  const { modelName, logger } = options;

  const component = (model: Model): SeldonComponent => {
    if (!isSeldonComponent(model)) {
      throw new InvalidInput(`Model ${modelName} is not a Seldon component; serve a component class with --seldon`);
    }
    return model;
  };

  const fail = (req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply => {
    const { status, body } = seldonErrorReply(err);
    if (status >= 500) {
      logRequestError(logger, req, `${req.method} ${req.url.split("?")[0]} -> ${status}: ${(err as Error)?.message ?? String(err)}`);
      if (err instanceof Error && err.stack) logger.log("debug", err.stack);
    }
    return reply.code(status).headers(CORS).header("content-type", "application/json").send(JSON.stringify(body));
  };

  const handler =
    (stage: Stage, call: Call, statusFromBody = false) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      try {
        const raw = () => seldonRequestBody(req);
        const answer = await dataplane.invoke(modelName, undefined, stage, (m) => call(component(m), raw));
        // A predict answer with status.code sets the HTTP status, as Seldon's wrapper does.
        const code = statusFromBody ? (answer as SeldonMessage)?.status?.code : undefined;
        const status = typeof code === "number" && Number.isInteger(code) && code >= 100 && code <= 599 ? code : 200;
        return reply.code(status).headers(CORS).header("content-type", "application/json").send(JSON.stringify(answer));
      } catch (err) {
        return fail(req, reply, err);
      }
    };

  // Errors Fastify raises before a handler runs (a bad content type, a body too large) get Seldon's body too.
  const seldonRoute = seldonRouteConfig(CORS);
  // Browsers preflight a cross-origin call that sends JSON or an Authorization header: every route answers one.
  const preflight = (url: string) => app.options(url, seldonRoute, async (_req, reply) => reply.code(204).headers(CORS).send());
  const route = (methods: ("GET" | "POST")[], paths: string[], h: ReturnType<typeof handler>) => {
    for (const url of paths) {
      app.route({ method: methods, url, handler: h, ...seldonRoute });
      preflight(url);
    }
  };

  // Each request's tensors are checked against --max_tensor_elements before anything is sized from them.
  const { limits } = dataplane;
  const predict = handler("predict", (c, raw) => c.seldonPredict(parseSeldonMessage(raw(), limits)), true);
  route(["GET", "POST"], ["/predict"], predict);
  route(["POST"], ["/api/v1.0/predictions", "/api/v0.1/predictions"], predict);

  const feedback = handler("predict", (c, raw) => c.seldonSendFeedback(parseFeedback(raw(), limits)));
  route(["GET", "POST"], ["/send-feedback"], feedback);
  route(["POST"], ["/api/v1.0/feedback", "/api/v0.1/feedback"], feedback);

  route(["GET", "POST"], ["/transform-input"], handler("preprocess", (c, raw) => c.seldonTransformInput(parseSeldonMessage(raw(), limits))));
  route(["GET", "POST"], ["/transform-output"], handler("postprocess", (c, raw) => c.seldonTransformOutput(parseSeldonMessage(raw(), limits))));
  route(["GET", "POST"], ["/route"], handler("predict", (c, raw) => c.seldonRoute(parseSeldonMessage(raw(), limits))));
  route(["GET", "POST"], ["/aggregate"], handler("predict", (c, raw) => c.seldonAggregate(parseMessageList(raw(), limits))));

  app.get("/health/ping", seldonRoute, async (_req, reply) => reply.headers(CORS).header("content-type", "text/plain; charset=utf-8").send("pong"));
  const health = handler("predict", (c) => c.seldonHealthStatus());
  route(["GET"], ["/health/status", "/api/v1.0/health/status"], health);

  const metadata = async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      const doc = component(dataplane.model(modelName)).seldonMetadata();
      return reply.code(200).headers(CORS).header("content-type", "application/json").send(JSON.stringify(doc));
    } catch (err) {
      return fail(req, reply, err);
    }
  };
  app.get("/metadata", seldonRoute, metadata);
  app.get("/api/v1.0/metadata", seldonRoute, metadata);
  app.get("/seldon.json", seldonRoute, async (_req, reply) => reply.headers(CORS).header("content-type", "application/json").send(JSON.stringify(openApi(modelName))));
  for (const url of ["/health/ping", "/metadata", "/api/v1.0/metadata", "/seldon.json"]) preflight(url);
}

/** A small OpenAPI document of the routes above (Seldon serves one at /seldon.json). */
function openApi(modelName: string): unknown {
  const message = { $ref: "#/components/schemas/SeldonMessage" };
  const post = (summary: string, body: unknown = message) => ({
    post: {
      summary,
      requestBody: { content: { "application/json": { schema: body } } },
      responses: { "200": { description: "OK", content: { "application/json": { schema: message } } } },
    },
  });
  return {
    openapi: "3.0.0",
    info: { title: `Seldon component ${modelName} (tserve)`, version: "1.0" },
    paths: {
      "/api/v1.0/predictions": post("predict"),
      "/predict": post("predict"),
      "/transform-input": post("transform input"),
      "/transform-output": post("transform output"),
      "/route": post("route"),
      "/aggregate": post("aggregate", { type: "object", properties: { seldonMessages: { type: "array", items: message } } }),
      "/api/v1.0/feedback": post("send feedback", { type: "object", properties: { request: message, response: message, reward: { type: "number" }, truth: message } }),
      "/health/ping": { get: { summary: "liveness", responses: { "200": { description: "pong" } } } },
      "/health/status": { get: { summary: "health_status()", responses: { "200": { description: "OK" } } } },
      "/metadata": { get: { summary: "model metadata", responses: { "200": { description: "OK" }, "500": { description: "MICROSERVICE_BAD_METADATA" } } } },
    },
    components: {
      schemas: {
        SeldonMessage: {
          type: "object",
          properties: {
            data: { type: "object", properties: { names: { type: "array", items: { type: "string" } }, ndarray: { type: "array" }, tensor: { type: "object" } } },
            strData: { type: "string" },
            binData: { type: "string", format: "byte" },
            jsonData: {},
            meta: { type: "object" },
          },
        },
      },
    },
  };
}
