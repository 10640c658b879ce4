import type { FastifyInstance } from "fastify";
import { ModelNotReady, ServerNotReady } from "../../../errors/index.ts";
import type { DataPlane } from "../../../model/index.ts";
import { encodeModelStatistics, parseJsonBody, v2 } from "../../../protocol/index.ts";
import { LARGE_JSON_BYTES, parseLargeJson } from "../../json-off-loop.ts";
import { applyHeaders, bodyBytes, requestContext, sendJson } from "../../rest.ts";
import { classifyResponse, modelConfig } from "./triton.ts";

interface ModelParams {
  name: string;
  version?: string;
}

/** Open Inference Protocol V2 over REST, with Triton's binary tensor extension in both directions. */
export function registerV2Routes(app: FastifyInstance, dataplane: DataPlane): void {
  const serverMetadata = async (_req: unknown, reply: import("fastify").FastifyReply) =>
    sendJson(reply, 200, dataplane.serverMetadata());
  app.get("/v2", serverMetadata);
  app.get("/v2/", serverMetadata);

  app.get("/v2/health/live", async (_req, reply) => sendJson(reply, 200, { live: dataplane.live() }));
  app.get("/v2/health/ready", async (_req, reply) => {
    if (!(await dataplane.ready())) throw new ServerNotReady();
    return sendJson(reply, 200, { ready: true });
  });

  app.get("/v2/models", async (_req, reply) => sendJson(reply, 200, { models: dataplane.modelNames() }));

  // Triton's statistics extension: every READY model version, one model's, or one version's.
  const stats = async (req: import("fastify").FastifyRequest, reply: import("fastify").FastifyReply) => {
    const { name, version } = req.params as Partial<ModelParams>;
    return sendJson(reply, 200, encodeModelStatistics(dataplane.statistics(name, version)));
  };
  app.get("/v2/models/stats", stats);
  app.get("/v2/models/:name/stats", stats);
  app.get("/v2/models/:name/versions/:version/stats", stats);

  // Triton's model configuration extension.
  const config = async (req: import("fastify").FastifyRequest, reply: import("fastify").FastifyReply) => {
    const { name, version } = req.params as ModelParams;
    return sendJson(reply, 200, await modelConfig(dataplane, name, version));
  };
  app.get("/v2/models/:name/config", config);
  app.get("/v2/models/:name/versions/:version/config", config);

  const metadata = async (req: import("fastify").FastifyRequest, reply: import("fastify").FastifyReply) => {
    const { name, version } = req.params as ModelParams;
    return sendJson(reply, 200, v2.encodeModelMetadata(await dataplane.modelMetadata(name, version)));
  };
  app.get("/v2/models/:name", metadata);
  app.get("/v2/models/:name/versions/:version", metadata);

  const ready = async (req: import("fastify").FastifyRequest, reply: import("fastify").FastifyReply) => {
    const { name, version } = req.params as ModelParams;
    if (!(await dataplane.modelReady(name, version))) throw new ModelNotReady(name);
    return sendJson(reply, 200, { name, ready: true });
  };
  app.get("/v2/models/:name/ready", ready);
  app.get("/v2/models/:name/versions/:version/ready", ready);

  const infer = async (req: import("fastify").FastifyRequest, reply: import("fastify").FastifyReply) => {
    const { name, version } = req.params as ModelParams;
    // The model first, as Triton and KServe do: an unknown model is 404 whatever the body holds.
    dataplane.resolveVersion(name, version);
    const ctx = requestContext(req, "v2");
    const bytes = bodyBytes(req);
    const headerLength = req.headers["inference-header-content-length"];
    // A large all-JSON body is parsed off the event loop (json-off-loop.ts); the tensors are decoded here as always.
    const request =
      headerLength === undefined && bytes.byteLength >= LARGE_JSON_BYTES
        ? v2.decodeInferRequestJson(await parseLargeJson(bytes, (b) => parseJsonBody(b, "inference request header")), new Uint8Array(0), dataplane.limits)
        : v2.decodeInferRequest(bytes, headerLength, dataplane.limits);
    const options = v2.tritonRequestOptions(request);
    const response = await classifyResponse(dataplane, name, request, await dataplane.infer(name, version, request, ctx, options));
    const encoded = v2.encodeInferResponse(response, request);
    applyHeaders(reply, ctx);
    if (encoded.inferenceHeaderContentLength !== undefined) {
      reply.header("inference-header-content-length", String(encoded.inferenceHeaderContentLength));
    }
    return reply.code(200).header("content-type", encoded.contentType).send(encoded.body);
  };
  app.post("/v2/models/:name/infer", infer);
  app.post("/v2/models/:name/versions/:version/infer", infer);
}
