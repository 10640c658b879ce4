import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { GraphRouter } from "../../../graph/index.ts";
import { bodyBytes } from "../../rest.ts";
import { requestSpan } from "../../tracing.ts";

export interface GraphRouteOptions {
  router: GraphRouter;
  /** Standalone router: every path and method runs the graph, as KServe's router does. */
  standalone: boolean;
  /** False once draining has begun: /readyz answers 503. */
  isReady: () => boolean;
}

function looksLikeJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString("utf8"));
    return true;
  } catch {
    return false;
  }
}

/** POST / runs the graph (every path when standalone); GET /readyz reports whether it takes traffic. */
export function registerGraphRoutes(app: FastifyInstance, options: GraphRouteOptions): void {
  const { router } = options;
  app.get("/readyz", async (_req, reply) =>
    options.isReady() ? reply.code(200).send("ok") : reply.code(503).send("shutting down"),
  );
  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const bytes = bodyBytes(req);
    const body = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const result = await router.route(body, req.headers, requestSpan(req));
    reply.code(result.status);
    // KServe sets a JSON content type only when the answer is JSON.
    if (looksLikeJson(result.body)) reply.header("content-type", "application/json");
    return reply.send(result.body);
  };
  if (options.standalone) app.all("/*", handle);
  app.post("/", handle);
}
