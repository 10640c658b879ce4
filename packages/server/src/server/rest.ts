import type { FastifyReply, FastifyRequest } from "fastify";
import type { Protocol, RequestContext } from "../model/index.ts";
import { requestSpan } from "./tracing.ts";

export function requestContext(request: FastifyRequest, protocol: Protocol): RequestContext {
  const id = request.headers["x-request-id"];
  return {
    headers: request.headers,
    protocol,
    requestId: typeof id === "string" ? id : undefined,
    responseHeaders: {},
    span: requestSpan(request),
  };
}

export function sendJson(reply: FastifyReply, status: number, body: unknown, ctx?: RequestContext): FastifyReply {
  if (ctx) applyHeaders(reply, ctx);
  return reply.code(status).header("content-type", "application/json").send(JSON.stringify(body));
}

/**
 * Fastify appends `; charset=utf-8` to a JSON type sent as a string; KServe, Triton and Seldon send exactly
 * `application/json` (and KServe's Python SDK shows an error's text only for exactly that type). An onSend step.
 */
export function exactJsonContentType(reply: FastifyReply, payload: unknown): void {
  if (typeof payload === "string" && reply.getHeader("content-type") === "application/json; charset=utf-8") {
    reply.header("content-type", "application/json");
  }
}

export function applyHeaders(reply: FastifyReply, ctx: RequestContext): void {
  for (const [k, v] of Object.entries(ctx.responseHeaders)) reply.header(k, v);
}

/** The raw request body as bytes (the server registers one catch-all parser that keeps buffers). */
export function bodyBytes(request: FastifyRequest): Uint8Array {
  const body = request.body;
  if (body instanceof Uint8Array) return body;
  if (body === undefined || body === null) return new Uint8Array(0);
  return Buffer.from(String(body));
}

/** curl's `-d` sends form-urlencoded; treating it as JSON is what every `curl -d @input.json` user expects. */
const JSON_TYPES = [
  "application/json",
  "application/cloudevents+json",
  "application/ld+json",
  "application/octet-stream",
  "application/x-www-form-urlencoded",
  "text/plain",
];

/** KServe's V1 rule: JSON-ish (or absent) content types are parsed; anything else reaches the model as bytes. */
export function isJsonContentType(contentType: string | undefined): boolean {
  if (!contentType || contentType === "application/json") return true;
  const base = contentType.split(";")[0].trim().toLowerCase();
  return JSON_TYPES.includes(base) || base.endsWith("+json");
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
