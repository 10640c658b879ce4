import { maxHeaderSize, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { InvalidInput, NotFound, Overloaded, PayloadTooLarge, type TServeError, toTServeError } from "../errors/index.ts";
import { seldonErrorReply } from "../protocol/seldon/index.ts";

/** How a route family answers an error Fastify raises around its handler (a bad content type, a body too large). */
export type ErrorReplier = (reply: FastifyReply, err: TServeError) => FastifyReply;

declare module "fastify" {
  interface FastifyContextConfig {
    /** The route family's error body; without it, `{"error": "..."}`. */
    errorReply?: ErrorReplier;
  }
}

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

/** `{"error": …}` as exactly `application/json` (sent as bytes, so Fastify adds no charset: KServe's SDK reads it then). */
export function sendError(reply: FastifyReply, err: TServeError): FastifyReply {
  if (err instanceof Overloaded) reply.header("retry-after", String(err.retryAfterSeconds));
  return reply
    .code(err.status)
    .header("content-type", "application/json")
    .send(Buffer.from(JSON.stringify({ error: err.message })));
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, new NotFound(`Not Found: ${request.method} ${request.url.split("?")[0]}`));
}

/** Seldon's `{"status": {...}}` error body, with the route's extra headers (CORS on component routes). */
export function sendSeldonError(reply: FastifyReply, err: TServeError, headers: Record<string, string> = {}): FastifyReply {
  const { status, body } = seldonErrorReply(err);
  return reply.code(status).headers(headers).header("content-type", "application/json").send(Buffer.from(JSON.stringify(body)));
}

/** Marks a Seldon route: errors Fastify raises for it are answered in Seldon's body. */
export function seldonRouteConfig(headers: Record<string, string> = {}): { config: { errorReply: ErrorReplier } } {
  return { config: { errorReply: (reply, err) => sendSeldonError(reply, err, headers) } };
}

/**
 * The status node's HTTP parser errors get (node's own choice: 431, 413, 408, else 400) and a message that says
 * what was wrong with the request.
 */
export function clientErrorStatus(err: NodeJS.ErrnoException & { reason?: unknown }, headersTimeoutMs: number): { status: number; message: string } {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, message: `Request Header Fields Too Large: the request line and headers exceed ${maxHeaderSize} bytes` };
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return { status: 413, message: "Payload Too Large: the chunk extensions of the request body are too large" };
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, message: `Request Timeout: the request headers did not arrive within --headers_timeout (${headersTimeoutMs / 1000} s)` };
    default: {
      // llhttp's reason ("Invalid char in url path", "Invalid method encountered"…), kept printable.
      const reason = typeof err.reason === "string" ? err.reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 200) : "";
      return { status: 400, message: `Bad Request: the request is not valid HTTP/1.1${reason ? ` (${reason})` : ""}` };
    }
  }
}

/**
 * Fastify's `clientErrorHandler`: answers a request node's HTTP parser refused (before any route) in the server's
 * error body (`{"error": …}`, or the body of the family the server is: Seldon's status object…), then closes the
 * connection.
 */
export function clientErrorHandler(options: { body?: (status: number, message: string) => unknown; headersTimeoutMs: number }) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    // A reset connection has nobody to answer.
    if (err.code === "ECONNRESET" || socket.destroyed) return;
    const { status, message } = clientErrorStatus(err, options.headersTimeoutMs);
    const body = JSON.stringify(options.body ? options.body(status, message) : { error: message });
    // As node does: no answer once a response on this connection has started, or its bytes would corrupt that one.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      // A HEAD request's answer has no body (a client would read one as the start of a next response).
      const raw = (err as { rawPacket?: unknown }).rawPacket;
      const head = Buffer.isBuffer(raw) && raw.subarray(0, 5).toString("latin1") === "HEAD ";
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\nContent-Type: application/json\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? "" : body}`,
      );
    }
    socket.destroy();
  };
}
