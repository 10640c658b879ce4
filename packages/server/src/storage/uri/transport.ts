/**
 * One storage HTTP(S) exchange over the shared outbound layer (`net/`): pooled keep-alive connections whose TLS
 * options may differ per backend (S3_VERIFY_SSL=0, AWS_CA_BUNDLE), separate connect and read (idle) timeouts, an
 * AbortSignal, and a body that streams, never buffered. Failures are storage's typed errors.
 */
import type { Readable } from "node:stream";
import { UpstreamTimeout } from "../../errors/index.ts";
import { abortError as netAbortError, type IncomingHeaders, open, TimeoutError } from "../../net/index.ts";
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
  headers: IncomingHeaders;
  body: Readable;
  url: URL;
}

/** The error an AbortSignal carries, or a plain AbortError. */
export function abortError(signal: AbortSignal | undefined): Error {
  return netAbortError(signal, "The download was aborted");
}

/** Sends one request and resolves with the answer's status and headers once they arrive; the body streams. */
export async function send(exchange: HttpExchange, options: TransportOptions): Promise<HttpResponse> {
  const { url, what } = exchange;
  const { signal } = options;
  if (signal?.aborted) throw abortError(signal);
  const headers: Record<string, string> = { ...exchange.headers };
  if (exchange.body !== undefined) headers["content-length"] = String(Buffer.byteLength(exchange.body));
  const tls = url.protocol === "https:" ? { rejectUnauthorized: options.rejectUnauthorized !== false, ...(options.ca ? { ca: options.ca } : {}) } : undefined;
  const res = await open({
    method: exchange.method,
    url,
    headers,
    body: exchange.body,
    connectTimeoutMs: options.connectTimeoutMs,
    idleTimeoutMs: options.readTimeoutMs,
    tls,
    signal,
    mapError: (err) => {
      if (err instanceof TimeoutError) {
        return retryable(
          new UpstreamTimeout(
            err.phase === "connect"
              ? `Connecting to ${what} timed out after ${options.connectTimeoutMs} ms`
              : `${what} sent nothing for ${options.readTimeoutMs} ms (read timeout)`,
            { cause: err },
          ),
        );
      }
      if (err.name === "AbortError" || err === signal?.reason) return err;
      return connectionError(err, what, options.tlsHint);
    },
  });
  return { ...res, url };
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
