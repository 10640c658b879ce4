/**
 * How the REST client moves bytes: on Node, the shared outbound layer (`net/`, undici: pooled keep-alive
 * connections, TLS options); anywhere else, or when the caller hands one in, `fetch`. Either way a failure is a
 * net NetworkError or TimeoutError, which the client turns into its own error types.
 *
 * Only net's pure modules are imported statically: undici comes through node-net.ts on first use, on Node only, and
 * @tserve/client's browser bundle leaves that module out, so no bundler ever meets undici.
 */
import { NetworkError, TimeoutError } from "../net/errors.ts";
import type { Dispatcher, TlsOptions } from "../net/dispatcher.ts";
import { loadNet, type Net } from "./node-net.ts";

export interface TransportRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array;
  /** The whole exchange, from sending to the end of the answer. */
  timeoutMs: number;
}

export interface TransportReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** A Buffer from the Node transport, a plain Uint8Array from fetch. */
  body: Uint8Array;
}

export interface RESTTransport {
  send(request: TransportRequest): Promise<TransportReply>;
  /** Drops kept-alive connections. */
  close(): void;
}

/** A `fetch` (the global one, or e.g. undici's or a test double). */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

const onNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

/** Node's pooled transport unless a fetch is given, or when not on Node. */
export function defaultTransport(options: { fetch?: FetchFunction; tls?: TlsOptions }): RESTTransport {
  if (options.fetch) return fetchTransport(options.fetch);
  const net = onNode ? loadNet() : undefined;
  if (net) return nodeTransport(net, options.tls);
  return fetchTransport((input, init) => globalThis.fetch(input, init));
}

/** The client's own pool from the shared layer: `close()` ends exactly its connections (a later call opens new ones). */
function nodeTransport(net: Promise<Net>, tls: TlsOptions | undefined): RESTTransport {
  let pool: Promise<Dispatcher> | undefined;
  return {
    async send(request) {
      pool ??= net.then((n) => n.createDispatcher({ tls }));
      const [{ send }, dispatcher] = await Promise.all([net, pool]);
      return send({ ...request, dispatcher });
    },
    close() {
      const closing = pool;
      pool = undefined;
      void closing?.then((p) => p.destroy()).catch(() => {});
    },
  };
}

/** Over `fetch`: the deadline is an AbortSignal; failures become NetworkError / TimeoutError as on Node. */
export function fetchTransport(fetchFn: FetchFunction): RESTTransport {
  return {
    async send(request) {
      const controller = new AbortController();
      const deadline = new TimeoutError(`${request.method} ${request.url} timed out after ${request.timeoutMs} ms`, request.timeoutMs, "exchange");
      const timer = setTimeout(() => controller.abort(deadline), request.timeoutMs);
      try {
        const response = await fetchFn(request.url, {
          method: request.method,
          headers: withoutLength(request.headers),
          body: request.method === "GET" || request.method === "HEAD" ? undefined : (request.body as NonNullable<RequestInit["body"]>),
          signal: controller.signal,
        });
        const body = new Uint8Array(await response.arrayBuffer());
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          headers[name] = value;
        });
        return { status: response.status, headers, body };
      } catch (err) {
        if (controller.signal.aborted) throw deadline;
        throw fetchFailure(err);
      } finally {
        clearTimeout(timer);
      }
    },
    close() {},
  };
}

/** fetch computes content-length itself and refuses to be told. */
function withoutLength(headers: Record<string, string>): Record<string, string> {
  const { "content-length": _length, ...rest } = headers;
  return rest;
}

/** fetch's "TypeError: fetch failed" carries the socket error as its cause (Node), or nothing (browsers). */
function fetchFailure(err: unknown): NetworkError {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const code = typeof cause?.code === "string" ? cause.code : "EUNKNOWN";
  const message = typeof cause?.message === "string" ? cause.message : err instanceof Error ? err.message : String(err);
  return new NetworkError(message, code === "UND_ERR_SOCKET" ? "ECONNRESET" : code, { cause: err });
}
