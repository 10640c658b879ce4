import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { InvalidInput, ModelNotReady, NotFound, Unsupported } from "../../errors/index.ts";
import type { DataPlane, RequestContext } from "../../model/index.ts";
import { parseJsonBody } from "../../protocol/index.ts";
import { applyHeaders, bodyBytes, isJsonContentType, requestContext, sendJson } from "./common.ts";

/** `name`, `name/versions/N` or `name/labels/L`, then an optional `:verb` (TF Serving's URL grammar). */
const V1_PATH = /^([^/:]+)(?:\/versions\/([^/:]+)|\/labels\/([^/:]+))?(?::([A-Za-z]+))?$/;

interface V1Target {
  name: string;
  version?: string;
  label?: string;
  verb?: string;
}

function parseTarget(rest: string): V1Target {
  const m = V1_PATH.exec(decodeURIComponent(rest));
  if (!m) throw new NotFound(`Not Found: /v1/models/${rest}`);
  return { name: m[1], version: m[2], label: m[3], verb: m[4] };
}

/** KServe V1 (and the TF Serving URL shapes it shares): health, model status, :predict and :explain. */
export function registerV1Routes(app: FastifyInstance, dataplane: DataPlane): void {
  app.get("/", async (_req, reply) => sendJson(reply, 200, { status: "alive" }));

  app.get("/v1/models", async (_req, reply) => sendJson(reply, 200, { models: dataplane.repository.names() }));

  app.get("/v1/models/*", async (req, reply) => {
    const target = parseTarget((req.params as { "*": string })["*"]);
    if (target.verb) throw new NotFound(`Not Found: GET ${req.url}; use POST for :${target.verb}`);
    if (target.label) throw new Unsupported("Version labels are not supported yet; use /versions/{n}");
    // 404 for unknown models or versions and 503 when not ready (or its predictor is not), as KServe does.
    if (!(await dataplane.modelReady(target.name, target.version))) throw new ModelNotReady(target.name);
    return sendJson(reply, 200, { name: target.name, ready: true });
  });

  app.post("/v1/models/*", async (req, reply) => {
    const target = parseTarget((req.params as { "*": string })["*"]);
    if (target.label) throw new Unsupported("Version labels are not supported yet; use /versions/{n}");
    if (target.verb !== "predict" && target.verb !== "explain") {
      if (target.verb === "classify" || target.verb === "regress") {
        throw new Unsupported(`:${target.verb} is not supported for model ${target.name}`);
      }
      throw new NotFound(`Not Found: POST ${req.url}; expected :predict or :explain`);
    }
    const ctx = requestContext(req, "v1");
    const body = decodeV1Body(req);
    const result = await dataplane.predictV1(target.name, target.version, body, ctx, target.verb);
    return sendV1Result(reply, result, ctx);
  });
}

function decodeV1Body(req: FastifyRequest): unknown {
  const bytes = bodyBytes(req);
  if (!isJsonContentType(req.headers["content-type"])) return bytes;
  if (bytes.byteLength === 0)
    throw new InvalidInput('The request body is empty; expected JSON such as {"instances": [...]}');
  return parseJsonBody(bytes);
}

/** Objects go out as JSON, strings as text, bytes as octet-stream, a web Response as it is. */
async function sendV1Result(reply: FastifyReply, result: unknown, ctx: RequestContext): Promise<FastifyReply> {
  applyHeaders(reply, ctx);
  if (result instanceof Response) {
    reply.code(result.status);
    result.headers.forEach((v, k) => {
      reply.header(k, v);
    });
    return reply.send(Buffer.from(await result.arrayBuffer()));
  }
  if (typeof result === "string")
    return reply.code(200).header("content-type", "text/plain; charset=utf-8").send(result);
  if (result instanceof Uint8Array)
    return reply
      .code(200)
      .header("content-type", "application/octet-stream")
      .send(Buffer.from(result.buffer, result.byteOffset, result.byteLength));
  return sendJson(reply, 200, result ?? null);
}
