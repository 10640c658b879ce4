import { Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from "fastify";
import { InvalidInput } from "../../../errors/index.ts";
import { createDispatcher, open } from "../../../net/index.ts";
import type { DataPlane, Model } from "../../../model/index.ts";
import { encodeAnswer, openBayesErrorReply, type PredictInput } from "../../../protocol/openbayes/index.ts";
import { isCustomServerModel, isOpenBayesPredictor, type CustomServerModel, type OpenBayesPredictor } from "../../../runtime/index.ts";
import { logRequestError } from "../../access-log.ts";
import type { Logger } from "../../logger.ts";
import { bodyBytes, sendJson } from "../../rest.ts";

export interface OpenBayesRoutesOptions {
  /** The served predictor or custom server. */
  modelName: string;
  /** `predictor`: GET / and POST / (beside V1/V2); `custom`: every path is proxied to start.sh's server. */
  mode: "predictor" | "custom";
  logger: Logger;
}

/**
 * OpenBayes serving. A predictor answers `GET /` (a status message) and `POST /` (predict), with OpenBayes's
 * request arguments and answer rules and `{"error": …}` bodies. A custom server (start.sh) gets every request
 * on every path, streamed both ways; tserve keeps only /v2/health/live, /v2/health/ready and /metrics.
 */
export function registerOpenBayesRoutes(app: FastifyInstance, dataplane: DataPlane, options: OpenBayesRoutesOptions): void {
  if (options.mode === "custom") registerProxyRoutes(app, dataplane, options);
  else registerPredictorRoutes(app, dataplane, options);
}

function sendFailure(req: FastifyRequest, reply: FastifyReply, err: unknown, logger: Logger): FastifyReply {
  const { status, body, internal } = openBayesErrorReply(err);
  if (internal) {
    logRequestError(logger, req, `${req.method} ${req.url.split("?")[0]} -> ${status}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  return sendJson(reply, status, body);
}

// ---- predictor: GET / and POST / ----

function registerPredictorRoutes(app: FastifyInstance, dataplane: DataPlane, options: OpenBayesRoutesOptions): void {
  const { modelName, logger } = options;

  const predictor = (model: Model): OpenBayesPredictor => {
    if (!isOpenBayesPredictor(model)) throw new InvalidInput(`Model ${modelName} is not an OpenBayes predictor`);
    return model;
  };

  const status: RouteHandlerMethod = async (req, reply) => {
    try {
      if (!(await dataplane.ready()) || !(await dataplane.modelReady(modelName))) {
        return sendJson(reply, 503, { error: `Predictor ${modelName} is not ready` });
      }
      return sendJson(reply, 200, { status: "ok", model: modelName });
    } catch (err) {
      return sendFailure(req, reply, err, logger);
    }
  };

  const predict: RouteHandlerMethod = async (req, reply) => {
    try {
      const input: PredictInput = { method: req.method, url: req.url, headers: req.headers, body: bodyBytes(req), limits: dataplane.limits };
      const result = await dataplane.invoke(modelName, undefined, "predict", (m) => predictor(m).handle(input));
      const accept = req.headers.accept;
      const answer = encodeAnswer(result, Array.isArray(accept) ? accept.join(", ") : accept);
      if (answer.kind === "response") return sendResponse(reply, answer.response);
      if (answer.kind === "invalid") {
        logRequestError(logger, req, `POST / -> 500: ${answer.reason}`);
        return reply.code(500).send();
      }
      return reply.code(200).header("content-type", answer.contentType).send(answer.body);
    } catch (err) {
      return sendFailure(req, reply, err, logger);
    }
  };

  app.get("/", status);
  app.post("/", predict);
}

/** A web Response a predictor returned: its status, headers and (streamed) body. */
async function sendResponse(reply: FastifyReply, response: Response): Promise<FastifyReply> {
  reply.code(response.status);
  const cookies = response.headers.getSetCookie();
  response.headers.forEach((value, key) => {
    if (key !== "set-cookie") reply.header(key, value);
  });
  if (cookies.length > 0) reply.header("set-cookie", cookies);
  if (!response.body) return reply.send();
  return reply.send(Readable.fromWeb(response.body as WebReadableStream));
}

// ---- custom: a reverse proxy to start.sh's server ----

async function* chunksOf(stream: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* stream;
}

/** Headers that describe one connection, not the message: never forwarded either way. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Answered by tserve already (100 Continue): the custom server must not wait to send it again. */
const REQUEST_ONLY = new Set(["expect"]);

function forwardable(headers: Record<string, string | string[] | undefined>, request = false): Record<string, string | string[]> {
  const connectionTokens = new Set(
    String(headers.connection ?? "")
      .split(",")
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || connectionTokens.has(k) || (request && REQUEST_ONLY.has(k))) continue;
    out[k] = v;
  }
  return out;
}

function registerProxyRoutes(app: FastifyInstance, dataplane: DataPlane, options: OpenBayesRoutesOptions): void {
  const { modelName, logger } = options;
  const pool = createDispatcher();
  app.addHook("onClose", async () => pool.destroy().catch(() => {}));

  const server = (): CustomServerModel | undefined => {
    try {
      const model = dataplane.model(modelName);
      return isCustomServerModel(model) ? model : undefined;
    } catch {
      return undefined;
    }
  };

  // tserve's own health: ready (and live) only while start.sh's server runs, so an orchestrator restarts the pod.
  const health = (what: "live" | "ready"): RouteHandlerMethod => async (_req, reply) => {
    const custom = server();
    if (!custom?.target) return sendJson(reply, 503, { error: custom ? custom.unavailableReason : `Model ${modelName} is not loaded` });
    if (what === "ready" && !(await dataplane.ready())) return sendJson(reply, 503, { error: "Server is not ready." });
    return sendJson(reply, 200, { [what]: true });
  };
  app.get("/v2/health/live", health("live"));
  app.get("/v2/health/ready", health("ready"));

  const proxy: RouteHandlerMethod = (req, reply) => {
    const custom = server();
    const target = custom?.target;
    if (!target) {
      return sendJson(reply, 503, { error: custom ? custom.unavailableReason : `Model ${modelName} is not loaded` });
    }
    const headers = forwardable(req.headers, true);
    const forwardedFor = req.headers["x-forwarded-for"];
    headers["x-forwarded-for"] = forwardedFor ? `${forwardedFor}, ${req.ip}` : req.ip;
    headers["x-forwarded-proto"] ??= req.protocol;
    if (req.headers.host) headers["x-forwarded-host"] ??= req.headers.host;
    // A client that goes away takes its upstream request with it.
    const gone = new AbortController();
    reply.raw.on("close", () => {
      if (!reply.raw.writableFinished) gone.abort();
    });
    // Only a request that announces a body has one to stream on (a GET must not turn into a chunked upload).
    const sized = req.headers["content-length"] !== undefined;
    const chunked = !sized && req.headers["transfer-encoding"] !== undefined;
    const host = target.host.includes(":") ? `[${target.host}]` : target.host;
    return open({
      method: req.method,
      url: `http://${host}:${target.port}${req.url}`,
      headers,
      // undici would send a small chunked body that has fully arrived with a content-length: as an iterable it stays chunked.
      body: sized ? req.raw : chunked ? chunksOf(req.raw) : undefined,
      dispatcher: pool,
      signal: gone.signal,
    }).then(
      (res) => {
        reply.code(res.status);
        for (const [k, v] of Object.entries(forwardable(res.headers))) reply.header(k, v);
        res.body.on("error", (err) => reply.raw.destroy(err));
        return reply.send(res.body);
      },
      (err: Error) => {
        if (reply.sent || reply.raw.headersSent || gone.signal.aborted) {
          reply.raw.destroy(err);
          return reply;
        }
        const now = server();
        const message = now && !now.target ? now.unavailableReason : `The custom server of ${modelName} did not answer: ${err.message}`;
        logRequestError(logger, req, `${req.method} ${req.url.split("?")[0]} -> ${now && !now.target ? 503 : 502}: ${message}`);
        return sendJson(reply, now && !now.target ? 503 : 502, { error: message });
      },
    );
  };

  // Bodies stay unread streams here: the proxy pipes them to the custom server as they arrive.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, _payload, done) => done(null));
    scope.all("/", proxy);
    scope.all("/*", proxy);
  });
}
