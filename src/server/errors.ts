import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { InvalidInput, NotFound, PayloadTooLarge, type TServeError, toTServeError } from "../errors/index.ts";

/** Maps Fastify's own errors onto ours, so every REST error leaves as `{"error": "..."}` with the right status. */
export function restError(err: unknown, bodyLimit: number): TServeError {
  const code = (err as FastifyError)?.code;
  if (code === "FST_ERR_CTP_BODY_TOO_LARGE") return new PayloadTooLarge(bodyLimit);
  if (code === "FST_ERR_CTP_INVALID_CONTENT_LENGTH") return new InvalidInput("Content-Length does not match the body");
  if (code === "FST_ERR_CTP_EMPTY_JSON_BODY") return new InvalidInput("The request body is empty; expected JSON.");
  if (code === "FST_ERR_NOT_FOUND") return new NotFound();
  const status = (err as FastifyError)?.statusCode;
  if (typeof code === "string" && code.startsWith("FST_") && status && status < 500) {
    return new InvalidInput((err as Error).message);
  }
  return toTServeError(err);
}

export function sendError(reply: FastifyReply, err: TServeError): FastifyReply {
  return reply
    .code(err.status)
    .header("content-type", "application/json")
    .send(JSON.stringify({ error: err.message }));
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, new NotFound(`Not Found: ${request.method} ${request.url.split("?")[0]}`));
}
