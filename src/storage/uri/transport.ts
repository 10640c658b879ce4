/**
 * One HTTP(S) exchange over node:http/https (not fetch: S3_VERIFY_SSL=0 and AWS_CA_BUNDLE need per-request TLS
 * options), with separate connect and read (idle) timeouts and an AbortSignal. The body is streamed, never buffered.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { UpstreamTimeout } from "../../errors/index.ts";
import { connectionError, retryable } from "./errors.ts";

export interface TransportOptions {
  connectTimeoutMs: number;
  /** Longest silence on the socket, waiting for the answer or between body chunks. */
  readTimeoutMs: number;
  /** false skips TLS certificate verification (S3_VERIFY_SSL=0). */
  rejectUnauthorized?: boolean;
  /** Extra CA certificates (AWS_CA_BUNDLE). */
  ca?: Buffer;
  signal?: AbortSignal;
  /** Added to TLS errors (e.g. "set S3_VERIFY_SSL=0 to skip verification"). */
  tlsHint?: string;
}

export interface HttpExchange {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** How the request is named in errors (a redacted URI). */
  what: string;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  url: URL;
}

/** The error an AbortSignal carries, or a plain AbortError. */
export function abortError(signal: AbortSignal | undefined): Error {
  const reason = signal?.reason;
  if (reason instanceof Error) return reason;
  const err = new Error("The download was aborted");
  err.name = "AbortError";
  return err;
}

/** Sends one request and resolves with the answer's status and headers once they arrive; the body streams. */
export function send(exchange: HttpExchange, options: TransportOptions): Promise<HttpResponse> {
  const { url, what } = exchange;
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));
  const isHttps = url.protocol === "https:";
  const doRequest = isHttps ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { ...exchange.headers };
  if (exchange.body !== undefined) headers["content-length"] = String(Buffer.byteLength(exchange.body));

  return new Promise<HttpResponse>((resolve, reject) => {
    let response: IncomingMessage | undefined;
    let settled = false;

    const req = doRequest(url, {
      method: exchange.method,
      headers,
      ...(isHttps ? { rejectUnauthorized: options.rejectUnauthorized !== false, ...(options.ca ? { ca: options.ca } : {}) } : {}),
    });

    const fail = (err: Error) => {
      clearTimeout(connectTimer);
      signal?.removeEventListener("abort", onAbort);
      if (response) response.destroy(err);
      else req.destroy(err);
    };
    const onAbort = () => fail(abortError(signal));
    signal?.addEventListener("abort", onAbort, { once: true });

    const connectTimer = setTimeout(
      () => fail(retryable(new UpstreamTimeout(`Connecting to ${what} timed out after ${options.connectTimeoutMs} ms`))),
      options.connectTimeoutMs,
    );
    req.on("socket", (socket: Socket) => {
      const connected = () => clearTimeout(connectTimer);
      if (!socket.connecting) connected();
      else socket.once(isHttps ? "secureConnect" : "connect", connected);
    });
    req.setTimeout(options.readTimeoutMs, () =>
      fail(retryable(new UpstreamTimeout(`${what} sent nothing for ${options.readTimeoutMs} ms (read timeout)`))),
    );

    req.on("error", (err) => {
      clearTimeout(connectTimer);
      signal?.removeEventListener("abort", onAbort);
      if (settled) return;
      settled = true;
      reject(err.name === "AbortError" || err instanceof UpstreamTimeout ? err : connectionError(err, what, options.tlsHint));
    });
    req.on("response", (res) => {
      clearTimeout(connectTimer);
      response = res;
      res.once("close", () => signal?.removeEventListener("abort", onAbort));
      settled = true;
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    req.end(exchange.body);
  });
}

/** Reads a (small) answer body as text, up to `limit` bytes; the rest is discarded. */
export async function readText(res: HttpResponse, limit = 1 << 20): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(chunk);
    size += chunk.length;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString("utf8");
}

/** Drops an answer's body without reading it (so the connection can be reused or closed). */
export function discard(res: HttpResponse): void {
  res.body.resume();
}

/** Header value as one string. */
export function header(res: HttpResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(", ") : v;
}
